#include <string.h>

#include "mr_link.h"

static uint16_t
get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static uint32_t
get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void
put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void
put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int
mr_link_hdr_decode(const uint8_t *p, size_t n, mr_link_hdr *h)
{
	memset(h, 0, sizeof(*h));
	if (p == NULL || n < MR_LINK_HDR_LEN || p[0] != 'M' || p[1] != 'R')
		return MR_E_PROTO;
	h->version = p[2];
	h->op = p[3];
	h->seq = get16(p + 4);
	h->status = get16(p + 6);
	h->len = get32(p + 8);
	if (h->version != MR_LINK_VERSION)
		return MR_E_VERSION;
	if (h->len > MR_LINK_MAX_PAYLOAD)
		return MR_E_RANGE;
	return MR_OK;
}

void
mr_link_hdr_encode(const mr_link_hdr *h, uint8_t out[MR_LINK_HDR_LEN])
{
	out[0] = 'M';
	out[1] = 'R';
	out[2] = h->version;
	out[3] = h->op;
	put16(out + 4, h->seq);
	put16(out + 6, h->status);
	put32(out + 8, h->len);
}

int
mr_link_frame_decode(const uint8_t *buf, size_t n, mr_link_hdr *h, mr_der *payload)
{
	int r = mr_link_hdr_decode(buf, n, h);

	if (r != MR_OK)
		return r;
	/* h->len <= MR_LINK_MAX_PAYLOAD, so the sum cannot overflow. */
	if (n != MR_LINK_HDR_LEN + (size_t)h->len)
		return MR_E_PROTO;
	*payload = mr_der_view(buf + MR_LINK_HDR_LEN, h->len);
	return MR_OK;
}

int
mr_link_frame_encode(uint8_t op, uint16_t seq, uint16_t status, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len)
{
	mr_link_hdr h = { MR_LINK_VERSION, op, seq, status, 0 };

	if (payload_len > MR_LINK_MAX_PAYLOAD || cap < MR_LINK_HDR_LEN ||
	    payload_len > cap - MR_LINK_HDR_LEN)
		return MR_E_RANGE;
	h.len = (uint32_t)payload_len;
	mr_link_hdr_encode(&h, out);
	if (payload_len > 0)
		memmove(out + MR_LINK_HDR_LEN, payload, payload_len);
	*len = MR_LINK_HDR_LEN + payload_len;
	return MR_OK;
}

void
mr_link_w_init(mr_link_w *w, uint8_t *buf, size_t cap)
{
	w->p = buf;
	w->cap = cap > MR_LINK_MAX_PAYLOAD ? MR_LINK_MAX_PAYLOAD : cap;
	w->len = 0;
	w->err = MR_OK;
}

void
mr_link_put(mr_link_w *w, uint8_t tag, const void *v, size_t n)
{
	if (w->err != MR_OK)
		return;
	if (n > 0xffff || w->cap - w->len < 3 || w->cap - w->len - 3 < n) {
		w->err = MR_E_RANGE;
		return;
	}
	w->p[w->len] = tag;
	put16(w->p + w->len + 1, (uint16_t)n);
	if (n > 0)
		memcpy(w->p + w->len + 3, v, n);
	w->len += 3 + n;
}

void
mr_link_put_str(mr_link_w *w, uint8_t tag, const char *s)
{
	mr_link_put(w, tag, s, strlen(s));
}

void
mr_link_put_u32(mr_link_w *w, uint8_t tag, uint32_t v)
{
	uint8_t b[4];

	put32(b, v);
	mr_link_put(w, tag, b, 4);
}

void
mr_link_put_u8(mr_link_w *w, uint8_t tag, uint8_t v)
{
	mr_link_put(w, tag, &v, 1);
}

int
mr_link_next(mr_der *in, uint8_t *tag, mr_der *value)
{
	size_t n;

	if (in->n == 0)
		return MR_E_NOTFOUND;
	if (in->n < 3)
		return MR_E_PROTO;
	n = get16(in->p + 1);
	if (n > in->n - 3)
		return MR_E_PROTO;
	*tag = in->p[0];
	*value = mr_der_view(in->p + 3, n);
	in->p += 3 + n;
	in->n -= 3 + n;
	return MR_OK;
}

int
mr_link_get_str(mr_der v, char *out, size_t cap)
{
	if (cap == 0 || v.n >= cap)
		return MR_E_RANGE;
	for (size_t i = 0; i < v.n; i++)
		if (v.p[i] < 0x20 || v.p[i] > 0x7e)
			return MR_E_PROTO;
	if (v.n > 0)
		memcpy(out, v.p, v.n);
	out[v.n] = '\0';
	return MR_OK;
}

int
mr_link_get_u32(mr_der v, uint32_t *out)
{
	if (v.n != 4)
		return MR_E_PROTO;
	*out = get32(v.p);
	return MR_OK;
}

/* ---- messages ---- */

int
mr_link_info_encode(mr_link_w *w, const mr_link_info *in)
{
	mr_link_put_str(w, MR_T_FIRMWARE, in->firmware);
	mr_link_put_str(w, MR_T_BOARD, in->board);
	mr_link_put_str(w, MR_T_TOKEN_LABEL, in->token_label);
	mr_link_put_str(w, MR_T_TOKEN_SERIAL, in->token_serial);
	mr_link_put_str(w, MR_T_DEVICE_SERIAL, in->device_serial);
	mr_link_put_u32(w, MR_T_AUDIT_COUNT, in->audit_count);
	mr_link_put_u32(w, MR_T_QUEUE, in->queue);
	if (in->audit_key[0])
		mr_link_put_str(w, MR_T_AUDIT_KEY, in->audit_key);
	for (size_t i = 0; i < in->n_roots && i < MR_LINK_MAX_ROOTS; i++)
		mr_link_put(w, MR_T_ROOT, in->roots[i].p, in->roots[i].n);
	return w->err;
}

int
mr_link_info_decode(mr_der payload, mr_link_info *out)
{
	unsigned seen = 0;
	uint8_t tag;
	mr_der v;
	int r;

	memset(out, 0, sizeof(*out));
	while ((r = mr_link_next(&payload, &tag, &v)) == MR_OK) {
		unsigned bit = tag < 32 ? 1u << tag : 0;
		if (tag != MR_T_ROOT && (bit == 0 || (seen & bit)))
			return MR_E_PROTO;
		seen |= bit;
		switch (tag) {
		case MR_T_FIRMWARE: r = mr_link_get_str(v, out->firmware, sizeof(out->firmware)); break;
		case MR_T_BOARD: r = mr_link_get_str(v, out->board, sizeof(out->board)); break;
		case MR_T_TOKEN_LABEL:
			r = mr_link_get_str(v, out->token_label, sizeof(out->token_label));
			break;
		case MR_T_TOKEN_SERIAL:
			r = mr_link_get_str(v, out->token_serial, sizeof(out->token_serial));
			break;
		case MR_T_DEVICE_SERIAL:
			r = mr_link_get_str(v, out->device_serial, sizeof(out->device_serial));
			break;
		case MR_T_AUDIT_COUNT: r = mr_link_get_u32(v, &out->audit_count); break;
		case MR_T_QUEUE: r = mr_link_get_u32(v, &out->queue); break;
		case MR_T_AUDIT_KEY:
			r = mr_link_get_str(v, out->audit_key, sizeof(out->audit_key));
			break;
		case MR_T_ROOT:
			if (out->n_roots >= MR_LINK_MAX_ROOTS || v.n == 0)
				return MR_E_PROTO;
			out->roots[out->n_roots++] = v;
			break;
		default: return MR_E_PROTO;
		}
		if (r != MR_OK)
			return MR_E_PROTO;
	}
	if (r != MR_E_NOTFOUND)
		return r;
	/* The host pins and checks against the root: an INFO without one is
	 * useless to it. */
	if (out->n_roots == 0 || !(seen & (1u << MR_T_AUDIT_COUNT)) ||
	    !(seen & (1u << MR_T_QUEUE)) || out->queue == 0)
		return MR_E_PROTO;
	return MR_OK;
}

void
mr_link_submit_put(mr_link_w *w, const char *cluster, const uint8_t *csr, size_t n)
{
	mr_link_put_str(w, MR_T_CLUSTER, cluster);
	mr_link_put(w, MR_T_CSR, csr, n);
}

int
mr_link_submit_decode(mr_der payload, mr_link_csr *out, size_t max, size_t *n)
{
	uint8_t tag;
	mr_der v;
	int r;

	*n = 0;
	while ((r = mr_link_next(&payload, &tag, &v)) == MR_OK) {
		if (tag != MR_T_CLUSTER || *n >= max || *n >= MR_LINK_MAX_BATCH)
			return tag == MR_T_CLUSTER ? MR_E_RANGE : MR_E_PROTO;
		if (mr_link_get_str(v, out[*n].cluster, sizeof(out[*n].cluster)) != MR_OK)
			return MR_E_PROTO;
		if (mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_CSR || v.n == 0)
			return MR_E_PROTO;
		out[*n].csr = v;
		(*n)++;
	}
	if (r != MR_E_NOTFOUND)
		return r;
	return *n == 0 ? MR_E_PROTO : MR_OK;
}

int
mr_link_hashes_decode(mr_der payload, uint8_t (*out)[32], size_t max, size_t *n)
{
	uint8_t tag;
	mr_der v;
	int r;

	*n = 0;
	while ((r = mr_link_next(&payload, &tag, &v)) == MR_OK) {
		if (tag != MR_T_HASH || v.n != 32)
			return MR_E_PROTO;
		if (*n >= max || *n >= MR_LINK_MAX_RESULTS)
			return MR_E_RANGE;
		memcpy(out[*n], v.p, 32);
		(*n)++;
	}
	if (r != MR_E_NOTFOUND)
		return r;
	return *n == 0 ? MR_E_PROTO : MR_OK;
}

void
mr_link_result_put(mr_link_w *w, const mr_link_result *r)
{
	mr_link_put(w, MR_T_HASH, r->hash, 32);
	mr_link_put_u8(w, MR_T_STATE, r->state);
	if (r->state == MR_RS_ISSUED && r->cert.n > 0) {
		mr_link_put(w, MR_T_CERT, r->cert.p, r->cert.n);
		mr_link_put_str(w, MR_T_SERIAL, r->serial);
		if (r->proof.n > 0)
			mr_link_put(w, MR_T_AUDIT_PROOF, r->proof.p, r->proof.n);
	} else if (r->state == MR_RS_REFUSED) {
		mr_link_put(w, MR_T_REASON, r->reason, strnlen(r->reason, MR_LINK_MAX_MESSAGE));
	}
}

int
mr_link_results_decode(mr_der payload, mr_link_result *out, size_t max, size_t *n,
    uint32_t *free_slots)
{
	uint8_t tag;
	mr_der v;
	int r, have_free = 0;

	*n = 0;
	*free_slots = 0;
	while ((r = mr_link_next(&payload, &tag, &v)) == MR_OK) {
		mr_link_result *x;
		if (have_free)
			return MR_E_PROTO; /* FREE comes last */
		if (tag == MR_T_FREE) {
			if (mr_link_get_u32(v, free_slots) != MR_OK)
				return MR_E_PROTO;
			have_free = 1;
			continue;
		}
		if (tag != MR_T_HASH || v.n != 32)
			return MR_E_PROTO;
		if (*n >= max)
			return MR_E_RANGE;
		x = &out[*n];
		memset(x, 0, sizeof(*x));
		memcpy(x->hash, v.p, 32);
		if (mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_STATE || v.n != 1 ||
		    v.p[0] > MR_RS_REFUSED)
			return MR_E_PROTO;
		x->state = v.p[0];
		if (x->state == MR_RS_ISSUED) {
			/* A SUBMIT reply says ISSUED without the certificate;
			 * RESULT brings it (CERT, then SERIAL). */
			mr_der peek = payload;
			if (mr_link_next(&peek, &tag, &v) != MR_OK || tag != MR_T_CERT)
				goto next;
			payload = peek;
			if (v.n == 0)
				return MR_E_PROTO;
			x->cert = v;
			if (mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_SERIAL ||
			    mr_link_get_str(v, x->serial, sizeof(x->serial)) != MR_OK)
				return MR_E_PROTO;
			peek = payload;
			if (mr_link_next(&peek, &tag, &v) == MR_OK && tag == MR_T_AUDIT_PROOF) {
				if (v.n == 0)
					return MR_E_PROTO;
				x->proof = v;
				payload = peek;
			}
		} else if (x->state == MR_RS_REFUSED) {
			if (mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_REASON ||
			    mr_link_get_str(v, x->reason, sizeof(x->reason)) != MR_OK)
				return MR_E_PROTO;
		}
	next:
		(*n)++;
	}
	if (r != MR_E_NOTFOUND)
		return r;
	return *n == 0 || !have_free ? MR_E_PROTO : MR_OK;
}

int
mr_link_audit_req_decode(mr_der payload, uint32_t *index)
{
	uint8_t tag;
	mr_der v;

	if (mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_INDEX ||
	    mr_link_get_u32(v, index) != MR_OK || payload.n != 0 || *index == 0)
		return MR_E_PROTO;
	return MR_OK;
}

int
mr_link_audit_decode(mr_der payload, mr_link_audit *out)
{
	uint8_t tag;
	mr_der v;

	memset(out, 0, sizeof(*out));
	if (mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_INDEX ||
	    mr_link_get_u32(v, &out->index) != MR_OK ||
	    mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_TOTAL ||
	    mr_link_get_u32(v, &out->total) != MR_OK ||
	    mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_RECORDS || payload.n != 0)
		return MR_E_PROTO;
	/* Whole lines only. */
	if (v.n > 0 && v.p[v.n - 1] != '\n')
		return MR_E_PROTO;
	out->records = v;
	return MR_OK;
}

int
mr_link_error_decode(mr_der payload, char *msg, size_t cap)
{
	uint8_t tag;
	mr_der v;

	if (cap > 0)
		msg[0] = '\0';
	if (payload.n == 0)
		return MR_OK;
	if (mr_link_next(&payload, &tag, &v) != MR_OK || tag != MR_T_MESSAGE || payload.n != 0)
		return MR_E_PROTO;
	return mr_link_get_str(v, msg, cap) == MR_OK ? MR_OK : MR_E_PROTO;
}

static const struct {
	uint16_t st;
	int err;
	const char *name;
} status_map[] = {
	{ MR_ST_OK, MR_OK, "ok" },
	{ MR_ST_PROTO, MR_E_PROTO, "malformed frame" },
	{ MR_ST_VERSION, MR_E_VERSION, "unsupported version" },
	{ MR_ST_TOO_LARGE, MR_E_RANGE, "too large" },
	{ MR_ST_UNKNOWN_OP, MR_E_UNSUPPORTED, "unknown operation" },
	{ MR_ST_SEQUENCE, MR_E_SEQUENCE, "out of order" },
	{ MR_ST_BUSY, MR_E_BUSY, "busy" },
	{ MR_ST_INTERNAL, MR_E_INTERNAL, "internal error" },
	{ MR_ST_STATE, MR_E_STATE, "appliance state" },
	{ MR_ST_NOTFOUND, MR_E_NOTFOUND, "not found" },
	{ MR_ST_RANGE, MR_E_RANGE, "out of range" },
};

uint16_t
mr_link_status_from_err(int err)
{
	switch (err) {
	case MR_OK: return MR_ST_OK;
	case MR_E_PROTO: case MR_E_DER: case MR_E_ARG: return MR_ST_PROTO;
	case MR_E_VERSION: return MR_ST_VERSION;
	case MR_E_RANGE: return MR_ST_TOO_LARGE;
	case MR_E_UNSUPPORTED: return MR_ST_UNKNOWN_OP;
	case MR_E_SEQUENCE: return MR_ST_SEQUENCE;
	case MR_E_BUSY: return MR_ST_BUSY;
	case MR_E_NOTFOUND: return MR_ST_NOTFOUND;
	case MR_E_STATE: case MR_E_AUDIT: case MR_E_DB: case MR_E_TOKEN: case MR_E_PIN:
	case MR_E_KEY_MISMATCH: case MR_E_IO:
		return MR_ST_STATE;
	}
	return MR_ST_INTERNAL;
}

int
mr_link_err_from_status(uint16_t status)
{
	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status_map[i].st == status)
			return status_map[i].err;
	return MR_E_PROTO;
}

const char *
mr_link_status_name(uint16_t status)
{
	for (size_t i = 0; i < sizeof(status_map) / sizeof(status_map[0]); i++)
		if (status_map[i].st == status)
			return status_map[i].name;
	return "unknown status";
}

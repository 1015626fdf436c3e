#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mr_auditlog.h"
#include "mr_fingerprint.h"

static int
why_set(char *why, size_t cap, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
why_set(char *why, size_t cap, int err, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Byte classes of a record line: 1 key, 2 value, both for [a-z0-9_]. */
enum { C_KEY = 1, C_VAL = 2, C_HEX = 4 };

static unsigned char ctab[256];

static void
ctab_init(void)
{
	static int ready;

	if (ready)
		return;
	/* Idempotent: racing initialisers write the same bytes. */
	for (int i = 0; i < 256; i++) {
		unsigned char v = 0;
		if ((i >= 'a' && i <= 'z') || (i >= '0' && i <= '9') || i == '_')
			v |= C_KEY;
		if ((i >= 'a' && i <= 'z') || (i >= 'A' && i <= 'Z') || (i >= '0' && i <= '9') ||
		    i == '.' || i == '_' || i == '-' || i == ':' || i == '/' || i == '@' || i == '+' ||
		    i == ',')
			v |= C_VAL;
		if ((i >= '0' && i <= '9') || (i >= 'a' && i <= 'f') || (i >= 'A' && i <= 'F'))
			v |= C_HEX;
		ctab[i] = v;
	}
	ready = 1;
}

#define cls(c) (ctab[(unsigned char)(c)])

typedef struct {
	const char *seq, *prev; /* raw values (seq and prev are never encoded) */
	size_t seq_n, prev_n;
} spans;

/* One pass over a line: syntax, and where seq= and prev= are. */
static int
check_line(const char *line, size_t n, spans *sp, char *why, size_t why_cap)
{
	static const char *const first[] = { "seq", "time", "event" };
	size_t i = 0, field = 0, vs = 0;
	const char *last_key = NULL;
	size_t last_key_len = 0;

	ctab_init();
	if (n + 1 > MR_RECORD_MAX)
		return why_set(why, why_cap, MR_E_RANGE, "longer than %d bytes", MR_RECORD_MAX);
	while (i < n) {
		size_t ks = i, kl;
		while (i < n && (cls((unsigned char)line[i]) & C_KEY))
			i++;
		kl = i - ks;
		if (kl == 0 || i == n || line[i] != '=')
			return why_set(why, why_cap, MR_E_DER, "field %zu is not key=value", field + 1);
		if (field < 3 && (kl != strlen(first[field]) || memcmp(line + ks, first[field], kl) != 0))
			return why_set(why, why_cap, MR_E_DER, "field %zu is not %s=", field + 1,
			    first[field]);
		vs = ++i;
		while (i < n && line[i] != ' ') {
			unsigned char c = (unsigned char)line[i];
			if (cls(c) & C_VAL)
				i++;
			else if (c == '%') {
				if (i + 2 >= n || !(cls((unsigned char)line[i + 1]) & C_HEX) ||
				    !(cls((unsigned char)line[i + 2]) & C_HEX))
					return why_set(why, why_cap, MR_E_DER,
					    "bad percent-encoding in field %zu", field + 1);
				i += 3;
			} else
				return why_set(why, why_cap, MR_E_DER,
				    "byte 0x%02x not allowed (field %zu)", c, field + 1);
		}
		if (field == 0) {
			sp->seq = line + vs;
			sp->seq_n = i - vs;
		}
		last_key = line + ks;
		last_key_len = kl;
		field++;
		if (i < n) {
			i++; /* one space between fields, none at the end */
			if (i == n)
				return why_set(why, why_cap, MR_E_DER, "trailing space");
		}
	}
	if (field < 4 || last_key_len != 4 || memcmp(last_key, "prev", 4) != 0)
		return why_set(why, why_cap, MR_E_DER, "does not end with prev=");
	sp->prev = line + vs;
	sp->prev_n = n - vs;
	return MR_OK;
}

int
mr_auditlog_check_line(const char *line, size_t n, char *why, size_t why_cap)
{
	spans sp;

	return check_line(line, n, &sp, why, why_cap);
}

/* seq: decimal, no sign, no leading zero, at most 19 digits. */
static int
parse_seq(const char *s, size_t n, unsigned long long *v)
{
	unsigned long long x = 0;

	if (n == 0 || n > 19 || s[0] == '0')
		return 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		x = x * 10 + (unsigned long long)(s[i] - '0');
	}
	*v = x;
	return 1;
}

/* prev: exactly 64 lowercase hex digits. */
static int
parse_prev(const char *s, size_t n, uint8_t out[32])
{
	static const char hex[] = "0123456789abcdef";

	if (n != 64)
		return 0;
	for (size_t i = 0; i < 32; i++) {
		const char *hi = memchr(hex, s[2 * i], 16), *lo = memchr(hex, s[2 * i + 1], 16);
		if (hi == NULL || lo == NULL || s[2 * i] == '\0' || s[2 * i + 1] == '\0')
			return 0;
		out[i] = (uint8_t)((hi - hex) << 4 | (lo - hex));
	}
	return 1;
}

void
mr_auditlog_scan_init(mr_auditlog_scan *s)
{
	memset(s, 0, sizeof(*s));
}

int
mr_auditlog_scan_line(mr_auditlog_scan *s, const char *line, size_t n, mr_merkle_hash leaf)
{
	char why[160];
	uint8_t prev[32];
	unsigned long long seq;
	spans sp;

	if (n == 0 || line[n - 1] != '\n') {
		snprintf(why, sizeof(why), "does not end with a newline");
		goto bad;
	}
	if (check_line(line, n - 1, &sp, why, sizeof(why)) != MR_OK)
		goto bad;
	if (!parse_seq(sp.seq, sp.seq_n, &seq)) {
		snprintf(why, sizeof(why), "bad seq=");
		goto bad;
	}
	if (seq != s->n + 1) {
		snprintf(why, sizeof(why), "has seq=%llu where %zu belongs (record dropped, "
		    "reordered or inserted)", seq, s->n + 1);
		goto bad;
	}
	if (!parse_prev(sp.prev, sp.prev_n, prev)) {
		snprintf(why, sizeof(why), "bad prev= (64 lowercase hex digits)");
		goto bad;
	}
	if (memcmp(prev, s->last_hash, 32) != 0) {
		snprintf(why, sizeof(why), "prev= is not the SHA-256 of record %zu "
		    "(that record or this one was altered)", s->n);
		s->bad_prev = 1;
		goto bad;
	}
	if (leaf != NULL)
		mr_merkle_leaf((const uint8_t *)line, n, leaf);
	mr_fp_sha256((const uint8_t *)line, n, s->last_hash);
	s->n++;
	s->good_bytes += n;
	return MR_OK;
bad:
	s->bad = s->n + 1;
	return why_set(s->why, sizeof(s->why), MR_E_AUDIT, "record %zu: %s", s->bad, why);
}

int
mr_auditlog_scan_buf(const uint8_t *data, size_t len, mr_merkle_hash *leaves, size_t cap,
    mr_auditlog_scan *s)
{
	size_t pos = 0;

	mr_auditlog_scan_init(s);
	while (pos < len) {
		const char *line = (const char *)data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n;
		int r;

		if (nl == NULL) {
			s->torn = 1;
			break;
		}
		n = (size_t)(nl - line) + 1;
		if (leaves != NULL && s->n == cap)
			return why_set(s->why, sizeof(s->why), MR_E_RANGE, "more than %zu records", cap);
		if ((r = mr_auditlog_scan_line(s, line, n, leaves != NULL ? leaves[s->n] : NULL)) !=
		    MR_OK)
			return r;
		pos += n;
	}
	return MR_OK;
}

int
mr_audit_proof_format(uint64_t index, const char *record, size_t record_len,
    const mr_merkle_hash *path, size_t path_len, const char *checkpoint, size_t cp_len,
    char *out, size_t cap, size_t *len)
{
	size_t o = 0;
	int w;

	if (record_len == 0 || record[record_len - 1] != '\n')
		return MR_E_ARG;
	w = snprintf(out, cap, "meshroot-audit-proof v1\nindex %llu\nrecord %.*s",
	    (unsigned long long)index, (int)record_len, record);
	if (w < 0 || (size_t)w >= cap)
		return MR_E_RANGE;
	o = (size_t)w;
	for (size_t i = 0; i < path_len; i++) {
		char h[65];
		mr_hex_encode(path[i], 32, h);
		w = snprintf(out + o, cap - o, "path %s\n", h);
		if (w < 0 || (size_t)w >= cap - o)
			return MR_E_RANGE;
		o += (size_t)w;
	}
	if (o + 11 + cp_len + 1 > cap)
		return MR_E_RANGE;
	memcpy(out + o, "checkpoint\n", 11);
	o += 11;
	memcpy(out + o, checkpoint, cp_len);
	o += cp_len;
	out[o] = '\0';
	*len = o;
	return MR_OK;
}

static int
take_line(const char *text, size_t n, size_t *pos, const char **line, size_t *len)
{
	const char *nl;

	if (*pos >= n || (nl = memchr(text + *pos, '\n', n - *pos)) == NULL)
		return 0;
	*line = text + *pos;
	*len = (size_t)(nl - *line);
	*pos += *len + 1;
	return 1;
}

int
mr_audit_proof_parse(const char *text, size_t n, mr_audit_proof *p, char *why, size_t why_cap)
{
	const char *line;
	size_t len, pos = 0;
	char num[24];
	unsigned long long idx;
	int k = 0;

	memset(p, 0, sizeof(*p));
	if (!take_line(text, n, &pos, &line, &len) || len != 23 ||
	    memcmp(line, "meshroot-audit-proof v1", 23) != 0)
		return why_set(why, why_cap, MR_E_DER, "proof: not a meshroot-audit-proof v1");
	if (!take_line(text, n, &pos, &line, &len) || len < 7 || len - 6 >= sizeof(num) ||
	    memcmp(line, "index ", 6) != 0)
		return why_set(why, why_cap, MR_E_DER, "proof: bad index line");
	memcpy(num, line + 6, len - 6);
	num[len - 6] = '\0';
	if (sscanf(num, "%llu%n", &idx, &k) != 1 || (size_t)k != len - 6 ||
	    (num[0] == '0' && len > 7) || num[0] == '-' || num[0] == '+' || num[0] == ' ')
		return why_set(why, why_cap, MR_E_DER, "proof: bad index line");
	p->index = idx;
	if (!take_line(text, n, &pos, &line, &len) || len < 8 || memcmp(line, "record ", 7) != 0 ||
	    len - 7 + 1 > MR_RECORD_MAX)
		return why_set(why, why_cap, MR_E_DER, "proof: bad record line");
	if (mr_auditlog_check_line(line + 7, len - 7, why, why_cap) != MR_OK)
		return MR_E_DER;
	memcpy(p->record, line + 7, len - 7);
	p->record[len - 7] = '\n';
	p->record[len - 6] = '\0';
	p->record_len = len - 6;
	for (;;) {
		char h[65];
		if (!take_line(text, n, &pos, &line, &len))
			return why_set(why, why_cap, MR_E_DER, "proof: no checkpoint");
		if (len == 10 && memcmp(line, "checkpoint", 10) == 0)
			break;
		if (len != 69 || memcmp(line, "path ", 5) != 0)
			return why_set(why, why_cap, MR_E_DER, "proof: bad path line");
		if (p->path_len == MR_MERKLE_MAX_PROOF)
			return why_set(why, why_cap, MR_E_RANGE, "proof: path too long");
		memcpy(h, line + 5, 64);
		h[64] = '\0';
		if (mr_hex_decode(h, p->path[p->path_len], 32) != MR_OK)
			return why_set(why, why_cap, MR_E_DER, "proof: bad path hash");
		p->path_len++;
	}
	p->checkpoint = text + pos;
	p->checkpoint_len = n - pos;
	return MR_OK;
}

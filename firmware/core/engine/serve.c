#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_api.h"
#include "mr_auditlog.h"
#include "mr_fileio.h"
#include "mr_checkpoint.h"
#include "mr_cluster.h"
#include "mr_csr.h"
#include "mr_fingerprint.h"
#include "mr_progress.h"
#include "mr_serve.h"
#include "mr_cpus.h"
#include "mr_worker.h"

#define AUDIT_CHUNK 60000u
#define PROGRESS_S 2.0
#define FREE_ITEM 7 /* FREE: tag, length, u32 */

static const char *
mode_name(mr_approve_mode m)
{
	switch (m) {
	case MR_APPROVE_CONSOLE: return "console";
	case MR_APPROVE_BUTTON: return "button";
	case MR_APPROVE_AUTO: return "auto";
	case MR_APPROVE_EXTERNAL: return "external";
	}
	return "?";
}

/*
 * A group on its way through the engine (mr_issue.h): approved and begun,
 * signed (on the token's thread), finished. With auto approval the loop
 * answers the link while the token signs a group, and the token goes on
 * to the next group as soon as it is done with one (mr_serve_step).
 */
struct mr_serve_group {
	mr_serve_item *its[MR_SERVE_GROUP];
	size_t n;
	int began;              /* 0: the approvals could not be recorded */
	mr_diag d;
	mr_issue_job job;
	mr_issue_item v[MR_SERVE_GROUP];
	mr_issue_arena arena;   /* last: only what the items fill is resident */
};

/*
 * The self-signatures of newly queued requests, checked on a thread of
 * their own: a SUBMIT is answered (PENDING) without waiting for them, and
 * the loop goes on handing the token its groups. A request is approved
 * (by the operator or automatically) only once its check passed; one that
 * fails is refused and audited as at SUBMIT. The thread reads only the
 * items in its job, which stay pending and untouched until it is done.
 */
struct mr_serve_check {
	size_t n;
	mr_serve_item *its[MR_SERVE_QUEUE];
	int err[MR_SERVE_QUEUE];
	mr_diag d[MR_SERVE_QUEUE];
};

static void
checker_end(void)
{
	mr_sig_release_cache();
}

static mr_worker checker = MR_WORKER_INIT("mr-checks", mr_cpus_enter_rest, checker_end);

static void
check_job(void *arg)
{
	mr_serve_check *c = arg;

	for (size_t i = 0; i < c->n; i++) {
		mr_diag_clear(&c->d[i]);
		c->err[i] = mr_request_verify(&c->its[i]->rq, &c->d[i]);
		/* Each request brings a key never seen again: wolfSSL (FP_ECC)
		 * would keep room for two point tables (1.6 MiB) for each, up
		 * to its cache's 15 entries (12 MiB), for no gain. */
		mr_sig_release_cache();
	}
}

int
mr_serve_init(mr_server *s, mr_app *app, mr_approve_mode mode, const char *via, mr_diag *d)
{
	const char *serial;
	mr_record rec;
	int r;

	memset(s, 0, sizeof(*s));
	s->app = app;
	s->mode = mode;
	s->via = via;
	mr_serve_front_init(&s->front, mr_serve_op, s);
	/* Two groups, made once: one the token signs, one finished or begun
	 * beside it (pages are touched only as far as a group fills them). */
	for (int i = 0; i < 2; i++)
		if ((s->groups[i] = calloc(1, sizeof(*s->groups[i]))) == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	if ((s->check = calloc(1, sizeof(*s->check))) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	s->started = s->said = mr_progress_clock();
	if ((r = mr_token_info(app->tok, s->token_label, s->token_serial, d)) != MR_OK)
		return r;
	/* The appliance's serial: MESHROOT_SERIAL, which boards/linux-gadget
	 * also writes into the USB serial string the host selects by; else
	 * the token's serial. */
	serial = getenv("MESHROOT_SERIAL");
	snprintf(s->device_serial, sizeof(s->device_serial), "%s",
	    serial != NULL && serial[0] ? serial : s->token_serial);
	if (mode == MR_APPROVE_BUTTON && board_button_read() < 0)
		return mr_diag_set(d, MR_E_ARG, "board %s has no approve button", board_name());
	mr_record_init(&rec);
	mr_record_add(&rec, "via", via);
	mr_record_add(&rec, "approve", mode == MR_APPROVE_AUTO ? "--approve auto" : mode_name(mode));
	return mr_app_audit(app, "serve", &rec, d);
}

/* Empties a slot and what it owns. */
static void
forget(mr_serve_item *it)
{
	free(it->der);
	free(it->cert);
	free(it->record);
	memset(it, 0, sizeof(*it));
}

void
mr_serve_free(mr_server *s)
{
	/* The checking thread reads the items of its job. */
	mr_worker_wait(&checker);
	free(s->check);
	s->check = NULL;
	for (size_t i = 0; i < MR_SERVE_QUEUE; i++)
		forget(&s->items[i]);
	for (int i = 0; i < 2; i++) {
		free(s->groups[i]);
		s->groups[i] = NULL;
	}
}

void
mr_serve_reset_session(mr_server *s)
{
	s->front.session = 0;
	s->front.seq = 0;
}

/* Pending requests, checked and not yet in a group (auto approval). */
static size_t
unshown(const mr_server *s)
{
	size_t n = 0;

	for (size_t i = 0; i < MR_SERVE_QUEUE; i++)
		n += s->items[i].used && s->items[i].state == MR_RS_PENDING && s->items[i].checked &&
		    !s->items[i].shown;
	return n;
}

/* Auto approval: a whole group of checked requests waits and no group is
 * ready for the token yet, so the next one can be begun now. */
static int
next_group_waits(const mr_server *s)
{
	return s->ready == NULL && unshown(s) >= MR_SERVE_GROUP;
}

size_t
mr_serve_pending(const mr_server *s)
{
	size_t n = 0;

	for (size_t i = 0; i < MR_SERVE_QUEUE; i++)
		n += s->items[i].used && s->items[i].state == MR_RS_PENDING;
	return n;
}

static mr_serve_item *
find(mr_server *s, const uint8_t hash[32])
{
	for (size_t i = 0; i < MR_SERVE_QUEUE; i++)
		if (s->items[i].used && memcmp(s->items[i].hash, hash, 32) == 0)
			return &s->items[i];
	return NULL;
}

/* A free slot, evicting the oldest finished item (issued ones stay in the
 * database; a forgotten refusal reads UNKNOWN and the host resubmits). */
static mr_serve_item *
take_slot(mr_server *s)
{
	mr_serve_item *old = NULL;

	for (size_t i = 0; i < MR_SERVE_QUEUE; i++) {
		mr_serve_item *it = &s->items[i];
		if (!it->used)
			return it;
		if (it->state != MR_RS_PENDING && (old == NULL || it->order < old->order))
			old = it;
	}
	if (old != NULL)
		forget(old);
	return old;
}

static size_t
free_slots(const mr_server *s)
{
	return MR_SERVE_QUEUE - mr_serve_pending(s);
}

static void
error_reply(uint8_t op, uint16_t seq, int err, const char *msg, uint8_t *out, size_t cap,
    size_t *out_len)
{
	uint8_t pl[MR_LINK_MAX_MESSAGE + 8];
	mr_link_w w;

	mr_link_w_init(&w, pl, sizeof(pl));
	if (msg != NULL && msg[0])
		mr_link_put(&w, MR_T_MESSAGE, msg, strnlen(msg, MR_LINK_MAX_MESSAGE));
	if (w.err != MR_OK)
		w.len = 0;
	if (mr_link_frame_encode((uint8_t)(op | MR_OP_REPLY), seq, mr_link_status_from_err(err), pl,
		w.len, out, cap, out_len) != MR_OK)
		*out_len = 0;
}

void
mr_serve_error_frame(const mr_link_hdr *h, int err, const char *msg, uint8_t *out, size_t cap,
    size_t *out_len)
{
	error_reply(h != NULL ? (uint8_t)(h->op & 0x7f) : 0, h != NULL ? h->seq : 0, err, msg, out,
	    cap, out_len);
}

/* ---- operations ---- */

static int
op_info(mr_server *s, mr_link_w *w)
{
	mr_link_info in;

	memset(&in, 0, sizeof(in));
	snprintf(in.firmware, sizeof(in.firmware), "%s", MESHROOT_VERSION);
	snprintf(in.board, sizeof(in.board), "%s", board_name());
	memcpy(in.token_label, s->token_label, sizeof(in.token_label));
	memcpy(in.token_serial, s->token_serial, sizeof(in.token_serial));
	memcpy(in.device_serial, s->device_serial, sizeof(in.device_serial));
	in.audit_count = (uint32_t)(s->app->audit.next_seq - 1);
	in.queue = MR_SERVE_QUEUE;
	in.roots[0] = mr_der_view(s->app->root_der, s->app->root_len);
	in.n_roots = 1;
	/* The audit key travels with the root, as on media: the host pins
	 * both and then takes no certificate without its inclusion proof. */
	if (s->app->have_audit_key &&
	    mr_note_vkey_format(&s->app->audit_key, in.audit_key, sizeof(in.audit_key)) == MR_OK)
		in.audit_key[strcspn(in.audit_key, "\r\n")] = '\0';
	else
		in.audit_key[0] = '\0';
	return mr_link_info_encode(w, &in);
}

static int
audit_refusal(mr_server *s, const char *cluster, const char *hash_hex, const char *by,
    const char *reason)
{
	mr_record rec;
	mr_diag d;

	mr_diag_clear(&d);
	mr_record_init(&rec);
	mr_record_add(&rec, "cluster", cluster);
	mr_record_add(&rec, "request", hash_hex);
	mr_record_add(&rec, "via", s->via);
	if (by != NULL)
		mr_record_add(&rec, "by", by);
	mr_record_add(&rec, "reason", reason);
	if (mr_app_audit(s->app, "refuse", &rec, &d) != MR_OK) {
		s->fatal = 1;
		mr_diag_set(&s->fatal_diag, MR_E_AUDIT, "%s", mr_diag_text(&d, MR_E_AUDIT));
		return MR_E_AUDIT;
	}
	return MR_OK;
}

/* The stored certificate of an issued request hash (no new signature),
 * into der. */
static int
stored_result(mr_server *s, const uint8_t hash[32], uint8_t *der, size_t cap, mr_issued *is,
    mr_diag *d)
{
	char hex[65];

	mr_hex_encode(hash, 32, hex);
	return mr_issue_stored(s->app, hex, der, cap, is, d);
}

/* A request the appliance will not put before the operator: said,
 * audited, answered REFUSED from now on. */
static int
refuse(mr_server *s, mr_serve_item *it, const char *cluster, const char *hash_hex,
    const char *why)
{
	mr_console_say("request %s via %s: refused: %s\n", cluster, s->via, why);
	if (audit_refusal(s, cluster, hash_hex, NULL, why) != MR_OK)
		return MR_E_AUDIT;
	free(it->der);
	it->der = NULL;
	it->state = MR_RS_REFUSED;
	snprintf(it->reason, sizeof(it->reason), "%s", why);
	s->refused++;
	return MR_OK;
}

/* Hands the checking thread every queued request not yet checked,
 * unless it is busy (check_collect starts the next job). */
static void
check_start(mr_server *s)
{
	mr_serve_check *c = s->check;

	if (c->n > 0)
		return;
	for (size_t i = 0; i < MR_SERVE_QUEUE; i++) {
		mr_serve_item *it = &s->items[i];
		if (it->used && it->state == MR_RS_PENDING && !it->checked && !it->checking) {
			it->checking = 1;
			c->its[c->n++] = it;
		}
	}
	if (c->n > 0 && mr_worker_post(&checker, check_job, c) != 0)
		check_job(c); /* no thread: in line */
}

/* 1 when the checking thread has results to take. */
static int
check_finished(const mr_server *s)
{
	return s->check != NULL && s->check->n > 0 && !mr_worker_busy(&checker);
}

/* Takes the checking thread's results (waiting for them when `wait`):
 * a request that passed can be approved, one that failed is refused.
 * Then the next job. MR_OK, or MR_E_AUDIT when a refusal could not be
 * recorded. */
static int
check_collect(mr_server *s, int wait)
{
	mr_serve_check *c = s->check;
	int r = MR_OK;

	if (c->n == 0)
		return MR_OK;
	if (wait)
		mr_worker_wait(&checker);
	else if (mr_worker_busy(&checker))
		return MR_OK;
	for (size_t i = 0; i < c->n; i++) {
		mr_serve_item *it = c->its[i];
		it->checking = 0;
		if (c->err[i] == MR_OK)
			it->checked = 1;
		else if (r == MR_OK)
			r = refuse(s, it, it->rq.cluster, it->rq.csr_hash_hex,
			    mr_diag_text(&c->d[i], c->err[i]));
	}
	c->n = 0;
	if (r == MR_OK)
		check_start(s);
	return r;
}

static int
submit_one(mr_server *s, const mr_serve_csr *c, mr_link_result *res)
{
	uint8_t *copy = NULL;
	mr_serve_item *it;
	mr_request rq;
	mr_diag d;
	char hex[65];
	int r;

	memset(res, 0, sizeof(*res));
	mr_diag_clear(&d);
	mr_fp_sha256(c->csr.p, c->csr.n, res->hash);
	mr_hex_encode(res->hash, 32, hex);
	if (mr_db_issued_for_request(&s->app->db, hex) != NULL) {
		res->state = MR_RS_ISSUED; /* the host fetches it with RESULT */
		return MR_OK;
	}
	it = find(s, res->hash);
	if (it != NULL && it->state == MR_RS_PENDING) {
		res->state = MR_RS_PENDING;
		return MR_OK;
	}
	/* A request the front end could not parse is never parsed here: its
	 * bytes are only hashed (above), its refusal audited. */
	if (c->refused) {
		r = mr_diag_set(&d, c->err, "%s", c->why);
	} else {
		/* Parsed once, over our own copy: the views outlive the frame. */
		if ((copy = malloc(c->csr.n)) == NULL)
			return MR_E_NOMEM;
		memcpy(copy, c->csr.p, c->csr.n);
		/* The self-signature on the checking thread (check_start). */
		r = mr_request_parse_unverified(s->app, c->cluster, copy, c->csr.n, &rq, &d);
	}
	if (r != MR_OK) {
		free(copy);
		const char *why = mr_diag_text(&d, r);
		if (it == NULL && (it = take_slot(s)) == NULL)
			return MR_E_BUSY;
		forget(it);
		it->used = 1;
		memcpy(it->hash, res->hash, 32);
		it->order = s->next_order++;
		if ((r = refuse(s, it, c->cluster, hex, why)) != MR_OK)
			return r;
		res->state = MR_RS_REFUSED;
		snprintf(res->reason, sizeof(res->reason), "%s", why);
		return MR_OK;
	}
	/* Queued (again, after an earlier refusal: a resubmission asks the
	 * operator anew). */
	if (it == NULL && (it = take_slot(s)) == NULL) {
		free(copy);
		return MR_E_BUSY;
	}
	forget(it);
	it->der = copy;
	it->der_len = c->csr.n;
	it->rq = rq;
	it->used = 1;
	it->state = MR_RS_PENDING;
	memcpy(it->hash, res->hash, 32);
	it->order = s->next_order++;
	res->state = MR_RS_PENDING;
	/* With auto approval the progress line says it (mr_serve_progress). */
	if (s->mode != MR_APPROVE_AUTO)
		mr_console_say("request %s via %s: queued for approval (%zu waiting)\n", c->cluster, s->via,
		    mr_serve_pending(s));
	return MR_OK;
}

static int
op_submit(mr_server *s, const mr_serve_req *rq, mr_link_w *w, char *msg, size_t msg_cap)
{
	const mr_serve_csr *csrs = rq->csrs;
	size_t n = rq->n;
	int r;

	if (n > MR_LINK_MAX_BATCH)
		return MR_E_INTERNAL;
	for (size_t i = 0; i < n; i++)
		if ((csrs[i].csr.n == 0 && !csrs[i].refused) || csrs[i].csr.n > MR_CSR_MAX_DER)
			return MR_E_INTERNAL; /* the front end bounds them */
	/* All or nothing: refuse the batch before queueing any of it. */
	if (n > free_slots(s)) {
		snprintf(msg, msg_cap, "queue full: %zu request(s) waiting for the operator",
		    mr_serve_pending(s));
		return MR_E_BUSY;
	}
	for (size_t i = 0; i < n; i++) {
		mr_link_result res;
		if ((r = submit_one(s, &csrs[i], &res)) != MR_OK) {
			snprintf(msg, msg_cap, "%s", r == MR_E_AUDIT ?
			    mr_diag_text(&s->fatal_diag, r) : mr_strerror(r));
			return r == MR_E_AUDIT ? MR_E_STATE : r;
		}
		mr_link_result_put(w, &res);
	}
	check_start(s);
	mr_link_put_u32(w, MR_T_FREE, (uint32_t)free_slots(s));
	return w->err;
}

/* The issue records of the serials in one RESULT reply: from memory for
 * what this serve issued, else from the audit log's index of issue
 * records (mr_audit_find), one read each. */
typedef struct {
	const char *serial[MR_LINK_MAX_RESULTS];
	size_t index[MR_LINK_MAX_RESULTS], len[MR_LINK_MAX_RESULTS];
	char line[MR_LINK_MAX_RESULTS][MR_RECORD_MAX + 1];
	size_t n;
} issue_records;

/* The records not known from memory. A serial without one stays with
 * len 0: issue_proof names it. */
static int
find_issue_records(const mr_audit *a, issue_records *ir, mr_diag *d)
{
	for (size_t i = 0; i < ir->n; i++) {
		int r;
		if (ir->len[i] != 0)
			continue;
		r = mr_audit_find(a, "issue", "serial", ir->serial[i], &ir->index[i], ir->line[i],
		    sizeof(ir->line[i]), &ir->len[i], d);
		if (r == MR_E_NOTFOUND) {
			ir->len[i] = 0;
			mr_diag_clear(d);
		} else if (r != MR_OK) {
			return r;
		}
	}
	return MR_OK;
}

/* The audit proof of issue record i of ir into s->proof: against the last
 * checkpoint when it covers the record, else against one signed now. */
static int
issue_proof(mr_server *s, const issue_records *ir, size_t i, size_t *plen, mr_diag *d)
{
	mr_merkle_hash path[MR_MERKLE_MAX_PROOF];
	size_t n = 0;
	int r;

	if (ir->len[i] == 0)
		return mr_diag_set(d, MR_E_AUDIT, "no issue record with serial=%s in the audit log",
		    ir->serial[i]);
	if (ir->index[i] >= s->cp_size) {
		size_t size = mr_audit_size(&s->app->audit);
		if ((r = mr_app_checkpoint(s->app, s->cp, sizeof(s->cp), &s->cp_len, d)) != MR_OK) {
			s->cp_size = 0;
			return r;
		}
		s->cp_size = size;
	}
	if (mr_audit_inclusion(&s->app->audit, ir->index[i], s->cp_size, path, MR_MERKLE_MAX_PROOF,
		&n) != MR_OK ||
	    mr_audit_proof_format(ir->index[i], ir->line[i], ir->len[i], path, n, s->cp, s->cp_len,
		s->proof, sizeof(s->proof), plen) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "cannot build the audit proof for serial %s",
		    ir->serial[i]);
	return MR_OK;
}

/* Answers the hashes in order, as many as fit one frame (at least one),
 * then FREE. An issued one comes with its certificate and its proof. */
static int
op_result(mr_server *s, const mr_serve_req *rq, mr_link_w *w, char *msg, size_t msg_cap)
{
	static issue_records ir;
	static mr_issued is[MR_LINK_MAX_RESULTS];
	static uint8_t der[MR_LINK_MAX_RESULTS][MR_ISSUE_CERT_MAX];
	uint8_t state[MR_LINK_MAX_RESULTS];
	mr_serve_item *kept[MR_LINK_MAX_RESULTS];
	size_t n = rq->n, cap = w->cap;
	mr_diag d;
	int r, scan = 0;

	if (n == 0 || n > MR_LINK_MAX_RESULTS)
		return MR_E_INTERNAL;
	if (s->fatal) {
		/* Nothing leaves after an audit or state failure. */
		snprintf(msg, msg_cap, "%s", mr_diag_text(&s->fatal_diag, MR_E_STATE));
		return MR_E_STATE;
	}
	memset(&ir, 0, sizeof(ir));
	for (size_t i = 0; i < n; i++) {
		mr_serve_item *it = find(s, rq->hashes[i]);
		mr_diag_clear(&d);
		kept[i] = it != NULL && it->state == MR_RS_ISSUED && it->cert != NULL ? it : NULL;
		if (kept[i] != NULL) {
			/* Issued by this serve: from memory. */
			state[i] = MR_RS_ISSUED;
			ir.serial[ir.n] = it->serial;
			if (it->record != NULL) {
				memcpy(ir.line[ir.n], it->record, it->record_len);
				ir.line[ir.n][it->record_len] = '\0';
				ir.len[ir.n] = it->record_len;
				ir.index[ir.n] = (size_t)it->audit_index;
			} else {
				scan = 1;
			}
			ir.n++;
			continue;
		}
		r = stored_result(s, rq->hashes[i], der[i], sizeof(der[i]), &is[i], &d);
		if (r != MR_OK && r != MR_E_NOTFOUND) {
			snprintf(msg, msg_cap, "%s", mr_diag_text(&d, r));
			return MR_E_STATE;
		}
		state[i] = r == MR_OK ? MR_RS_ISSUED : MR_RS_UNKNOWN;
		if (r == MR_OK) {
			ir.serial[ir.n++] = is[i].serial;
			scan = 1;
		}
	}
	mr_diag_clear(&d);
	if (scan && s->app->have_audit_key &&
	    (r = find_issue_records(&s->app->audit, &ir, &d)) != MR_OK) {
		snprintf(msg, msg_cap, "%s", mr_diag_text(&d, r));
		return MR_E_STATE;
	}
	/* Room for FREE at the end, whatever fits before it. */
	w->cap = cap - FREE_ITEM;
	for (size_t i = 0, k = 0; i < n; i++) {
		mr_serve_item *it = find(s, rq->hashes[i]);
		size_t before = w->len, plen = 0;
		mr_link_result res;

		memset(&res, 0, sizeof(res));
		memcpy(res.hash, rq->hashes[i], 32);
		res.state = state[i];
		if (state[i] == MR_RS_ISSUED) {
			if (s->app->have_audit_key) {
				/* As on media: the proof that the issue record is in
				 * the log, under a signed checkpoint, goes with it. */
				mr_diag_clear(&d);
				if ((r = issue_proof(s, &ir, k, &plen, &d)) != MR_OK) {
					w->cap = cap;
					snprintf(msg, msg_cap, "%s", mr_diag_text(&d, r));
					return MR_E_STATE;
				}
				res.proof = mr_der_view((const uint8_t *)s->proof, plen);
			}
			k++;
			if (kept[i] != NULL) {
				res.cert = mr_der_view(kept[i]->cert, kept[i]->cert_len);
				snprintf(res.serial, sizeof(res.serial), "%s", kept[i]->serial);
			} else {
				res.cert = mr_der_view(is[i].der, is[i].der_len);
				snprintf(res.serial, sizeof(res.serial), "%s", is[i].serial);
			}
		} else if (it != NULL) {
			res.state = it->state;
			snprintf(res.reason, sizeof(res.reason), "%s", it->reason);
		}
		mr_link_result_put(w, &res);
		if (w->err != MR_OK && i > 0) {
			/* The rest in the host's next RESULT. */
			w->len = before;
			w->err = MR_OK;
			break;
		}
	}
	w->cap = cap;
	mr_link_put_u32(w, MR_T_FREE, (uint32_t)free_slots(s));
	return w->err;
}

/* Records index.. (1-based), whole lines, as many as fit one reply: read
 * from their block of the log (mr_audit_lines_from), not the whole log. */
static int
op_audit(mr_server *s, uint32_t index, mr_link_w *w, char *msg, size_t msg_cap)
{
	static char chunk[AUDIT_CHUNK];
	size_t total = mr_audit_size(&s->app->audit), len = 0, count = 0;
	mr_diag d;

	mr_diag_clear(&d);
	if (mr_audit_lines_from(&s->app->audit, index > 0 ? index - 1 : 0, chunk, sizeof(chunk),
		&len, &count, &d) != MR_OK) {
		snprintf(msg, msg_cap, "AUDIT: %s", mr_diag_text(&d, MR_E_IO));
		return MR_E_STATE;
	}
	mr_link_put_u32(w, MR_T_INDEX, index);
	mr_link_put_u32(w, MR_T_TOTAL, (uint32_t)total);
	mr_link_put(w, MR_T_RECORDS, chunk, len);
	return w->err;
}

int
mr_serve_op(void *ctx, const mr_serve_req *rq, mr_link_w *w, char *msg, size_t msg_cap)
{
	mr_server *s = ctx;

	switch (rq->op) {
	case MR_OP_INFO: return op_info(s, w);
	case MR_OP_SUBMIT:
		if (s->fatal) {
			snprintf(msg, msg_cap, "%s", mr_diag_text(&s->fatal_diag, MR_E_STATE));
			return MR_E_STATE;
		}
		return op_submit(s, rq, w, msg, msg_cap);
	case MR_OP_RESULT: return op_result(s, rq, w, msg, msg_cap);
	case MR_OP_AUDIT: return op_audit(s, rq->index, w, msg, msg_cap);
	}
	return MR_E_INTERNAL;
}

void
mr_serve_frame(mr_server *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
    size_t *out_len)
{
	mr_serve_front_frame(&s->front, in, n, out, cap, out_len);
}

/* ---- the front end: untrusted bytes in, decoded requests out ---- */

void
mr_serve_front_init(mr_serve_front *f, mr_serve_op_fn op, void *ctx)
{
	memset(f, 0, sizeof(*f));
	f->op = op;
	f->ctx = ctx;
}

/* Decodes a SUBMIT batch and checks every item as far as it can without
 * the appliance's state: cluster name, size and CSR structure (the first
 * steps of mr_request_parse, same texts). The self-signature is checked
 * once, by the signer, the side that trusts its result (as with the
 * media's confined parser). */
static int
decode_submit(mr_der payload, mr_serve_req *rq, char *msg, size_t msg_cap)
{
	mr_link_csr csrs[MR_LINK_MAX_BATCH];
	size_t n = 0;
	int r;

	if ((r = mr_link_submit_decode(payload, csrs, MR_LINK_MAX_BATCH, &n)) != MR_OK) {
		snprintf(msg, msg_cap, "SUBMIT: malformed batch (at most %d cluster/CSR pairs)",
		    MR_LINK_MAX_BATCH);
		return r == MR_E_RANGE ? MR_E_RANGE : MR_E_PROTO;
	}
	for (size_t i = 0; i < n; i++)
		if (csrs[i].csr.n > MR_CSR_MAX_DER) {
			snprintf(msg, msg_cap, "SUBMIT: CSR %zu is larger than %u bytes", i + 1,
			    MR_CSR_MAX_DER);
			return MR_E_RANGE;
		}
	rq->n = n;
	for (size_t i = 0; i < n; i++) {
		mr_serve_csr *c = &rq->csrs[i];
		mr_csr csr;
		mr_diag d;

		memset(c, 0, sizeof(*c));
		memcpy(c->cluster, csrs[i].cluster, sizeof(c->cluster));
		c->csr = csrs[i].csr;
		mr_diag_clear(&d);
		if (!mr_cluster_name_ok(c->cluster))
			c->err = mr_diag_set(&d, MR_E_POLICY, "cluster name %s",
			    mr_cluster_name_why(c->cluster));
		else if (c->csr.n == 0 || mr_csr_parse_unverified(c->csr.p, c->csr.n, &csr, &d) != MR_OK)
			c->err = MR_E_CSR;
		if (c->err != MR_OK) {
			c->refused = 1;
			snprintf(c->why, sizeof(c->why), "%s", mr_diag_text(&d, c->err));
		}
	}
	return MR_OK;
}

static int
decode_req(uint8_t op, mr_der payload, mr_serve_req *rq, char *msg, size_t msg_cap)
{
	int r;

	memset(rq, 0, offsetof(mr_serve_req, csrs));
	rq->op = op;
	switch (op) {
	case MR_OP_INFO:
		if (payload.n != 0) {
			snprintf(msg, msg_cap, "INFO takes no payload");
			return MR_E_PROTO;
		}
		return MR_OK;
	case MR_OP_SUBMIT:
		return decode_submit(payload, rq, msg, msg_cap);
	case MR_OP_RESULT:
		if ((r = mr_link_hashes_decode(payload, rq->hashes, MR_LINK_MAX_RESULTS, &rq->n)) !=
		    MR_OK || rq->n == 0) {
			snprintf(msg, msg_cap, "RESULT: 1 to %d hashes of 32 bytes", MR_LINK_MAX_RESULTS);
			return r == MR_E_RANGE ? MR_E_RANGE : MR_E_PROTO;
		}
		return MR_OK;
	default:
		if (mr_link_audit_req_decode(payload, &rq->index) != MR_OK) {
			snprintf(msg, msg_cap, "AUDIT: INDEX (a record number from 1) expected");
			return MR_E_PROTO;
		}
		return MR_OK;
	}
}

void
mr_serve_front_frame(mr_serve_front *f, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
    size_t *out_len)
{
	uint8_t *pl = f->payload;
	char msg[MR_LINK_MAX_MESSAGE + 1] = "";
	mr_link_hdr h;
	mr_der payload;
	mr_link_w w;
	int r;

	*out_len = 0;
	r = mr_link_frame_decode(in, n, &h, &payload);
	if (r != MR_OK) {
		mr_serve_error_frame(&h, r,
		    r == MR_E_RANGE ? "frame length beyond the protocol limit" :
		    r == MR_E_VERSION ? MR_LINK_VERSION_ONLY : "malformed frame", out, cap,
		    out_len);
		return;
	}
	if (h.op & MR_OP_REPLY || h.status != MR_ST_OK) {
		error_reply(h.op & 0x7f, h.seq, MR_E_PROTO, "a reply or status where a request belongs",
		    out, cap, out_len);
		return;
	}
	if (h.op < MR_OP_INFO || h.op > MR_OP_AUDIT) {
		error_reply(h.op, h.seq, MR_E_UNSUPPORTED, "unknown operation", out, cap, out_len);
		return;
	}
	if (h.op != MR_OP_INFO) {
		if (!f->session) {
			error_reply(h.op, h.seq, MR_E_SEQUENCE, "INFO must open the session", out, cap,
			    out_len);
			return;
		}
		if (h.seq != (uint16_t)(f->seq + 1) && h.seq != f->seq) {
			snprintf(msg, sizeof(msg), "expected sequence %u", (unsigned)(uint16_t)(f->seq + 1));
			error_reply(h.op, h.seq, MR_E_SEQUENCE, msg, out, cap, out_len);
			return;
		}
	}
	mr_link_w_init(&w, pl, sizeof(f->payload));
	r = decode_req(h.op, payload, &f->rq, msg, sizeof(msg));
	if (r == MR_OK) {
		if (h.op == MR_OP_INFO)
			f->session = 1;
		r = f->op(f->ctx, &f->rq, &w, msg, sizeof(msg));
	}
	if (r == MR_OK && w.err != MR_OK) {
		r = MR_E_INTERNAL;
		snprintf(msg, sizeof(msg), "reply does not fit one frame");
	}
	f->seq = h.seq;
	if (r != MR_OK) {
		error_reply(h.op, h.seq, r, msg, out, cap, out_len);
		return;
	}
	if (mr_link_frame_encode((uint8_t)(h.op | MR_OP_REPLY), h.seq, MR_ST_OK, pl, w.len, out, cap,
		out_len) != MR_OK)
		error_reply(h.op, h.seq, MR_E_INTERNAL, "reply does not fit", out, cap, out_len);
}

/* ---- approval ---- */

static mr_serve_item *
oldest_pending(mr_server *s)
{
	mr_serve_item *best = NULL;

	for (size_t i = 0; i < MR_SERVE_QUEUE; i++) {
		mr_serve_item *it = &s->items[i];
		if (it->used && it->state == MR_RS_PENDING && (best == NULL || it->order < best->order))
			best = it;
	}
	return best;
}

static void
finish(mr_serve_item *it, uint8_t state, const char *reason)
{
	it->state = state;
	snprintf(it->reason, sizeof(it->reason), "%s", reason != NULL ? reason : "");
	free(it->der);
	it->der = NULL;
	it->der_len = 0;
	memset(&it->rq.csr, 0, sizeof(it->rq.csr));
}

static int
stop(mr_server *s, int err, const mr_diag *d)
{
	s->fatal = 1;
	mr_diag_set(&s->fatal_diag, err, "%s", mr_diag_text(d, err));
	return err;
}

static int
decline(mr_server *s, mr_serve_item *it, const char *by)
{
	mr_console_say("request %s: declined (%s)\n", it->rq.cluster, by);
	if (audit_refusal(s, it->rq.cluster, it->rq.csr_hash_hex, by, "declined by the operator") !=
	    MR_OK)
		return MR_E_AUDIT;
	finish(it, MR_RS_REFUSED, "declined by the operator");
	s->refused++;
	return MR_OK;
}

_Static_assert(MR_SERVE_GROUP <= MR_ISSUE_WINDOW, "a group is issued as one window");

/* What RESULT will send for an item of this group, kept from the window
 * (without memory for it, RESULT reads it back from the state dir). */
static void
keep_result(mr_serve_item *it, const mr_issued *is)
{
	free(it->cert);
	free(it->record);
	it->cert = NULL;
	it->record = NULL;
	it->audit_index = -1;
	if ((it->cert = malloc(is->der_len)) == NULL)
		return;
	memcpy(it->cert, is->der, is->der_len);
	it->cert_len = is->der_len;
	snprintf(it->serial, sizeof(it->serial), "%s", is->serial);
	if (is->audit_index >= 0 && is->record_len > 0 && is->record_len <= MR_RECORD_MAX &&
	    (it->record = malloc(is->record_len)) != NULL) {
		memcpy(it->record, is->record, is->record_len);
		it->record_len = is->record_len;
		it->audit_index = is->audit_index;
	}
}


static void
defer_state(mr_app *app, int *audit_was, int *db_was)
{
	*audit_was = app->audit.defer;
	*db_was = app->db.defer;
	mr_audit_defer(&app->audit, 1);
	mr_db_defer(&app->db, 1);
}

static void
undefer_state(mr_app *app, int audit_was, int db_was)
{
	mr_audit_defer(&app->audit, audit_was);
	mr_db_defer(&app->db, db_was);
}

/* The approvals, then a.: they are durable before the token signs. */
static void
group_begin(mr_server *s, mr_serve_group *g, mr_serve_item **its, size_t n, const char *by)
{
	mr_record rec;
	int r = MR_OK, audit_was, db_was;

	g->n = n;
	g->began = 0;
	mr_diag_clear(&g->d);
	defer_state(s->app, &audit_was, &db_was);
	for (size_t i = 0; i < n && r == MR_OK; i++) {
		mr_serve_item *it = g->its[i] = its[i];
		mr_record_init(&rec);
		mr_record_add(&rec, "cluster", it->rq.cluster);
		mr_record_add(&rec, "request", it->rq.csr_hash_hex);
		mr_record_add(&rec, "key_type", mr_key_type_name(it->rq.csr.spki.type));
		mr_record_add(&rec, "by", by);
		mr_record_add(&rec, "via", s->via);
		if (it->rq.ignored[0])
			mr_record_add(&rec, "ignored", it->rq.ignored);
		r = mr_app_audit(s->app, "approve", &rec, &g->d);
		g->v[i].rq = &it->rq;
	}
	if (r == MR_OK) {
		mr_issue_begin(&g->job, s->app, g->v, n, &g->arena);
		g->began = 1;
	}
	undefer_state(s->app, audit_was, db_was);
}

static void
group_sign_start(mr_serve_group *g)
{
	if (g->began)
		mr_issue_sign_start(&g->job);
}

/* A group that will not be released: what of it still waits is answered
 * REFUSED (its records, if any, are answered by a later serve). */
static void
refuse_unreleased(mr_serve_group *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->its[i]->state == MR_RS_PENDING)
			finish(g->its[i], MR_RS_REFUSED, "appliance error: see its console");
}

/* The rest of the engine's steps, then one checkpoint for the group, and
 * only then its results: MR_OK, or the failure that stops serving. */
static int
group_finish(mr_server *s, mr_serve_group *g)
{
	mr_diag *d = &g->d;
	size_t n = g->n, issued = 0;
	int r, audit_was, db_was;

	if (g->began) {
		mr_issue_sign_wait(&g->job);
		defer_state(s->app, &audit_was, &db_was);
		r = mr_issue_finish(&g->job, d);
		undefer_state(s->app, audit_was, db_was);
	} else {
		r = MR_E_AUDIT;
	}
	for (size_t i = 0; i < n; i++) {
		mr_serve_item *it = g->its[i];
		const mr_issue_item *v = &g->v[i];
		int e = g->began ? v->err : MR_E_AUDIT;
		if (e == MR_E_POLICY || e == MR_E_LINT) {
			/* The window audited the refusal. */
			mr_console_say("request %s: refused: %s\n", it->rq.cluster, mr_diag_text(&v->diag, e));
			finish(it, MR_RS_REFUSED, mr_diag_text(&v->diag, e));
			s->refused++;
		} else if (e != MR_OK || r == MR_E_AUDIT) {
			finish(it, MR_RS_REFUSED, "appliance error: see its console");
		} else {
			/* Every one on the console, but with auto approval the
			 * progress line counts them. */
			if (s->mode != MR_APPROVE_AUTO || v->is.already_issued)
				mr_console_say("request %s: issued serial %s%s\n", it->rq.cluster, v->is.serial,
				    v->is.already_issued ? " (issued before; nothing signed)" : "");
			/* Still PENDING: ISSUED only after the checkpoint below;
			 * RESULT answers it PENDING until then. */
			keep_result(it, &v->is);
			issued++;
		}
	}
	/* The issue records are signed into the audit log before any result
	 * is offered (docs/audit.md): no checkpoint, no release. */
	if (issued > 0) {
		mr_diag cd;
		size_t size = mr_audit_size(&s->app->audit);
		mr_diag_clear(&cd);
		if (mr_app_checkpoint(s->app, s->cp, sizeof(s->cp), &s->cp_len, &cd) != MR_OK) {
			s->cp_size = 0;
			refuse_unreleased(g);
			return stop(s, MR_E_AUDIT, &cd);
		}
		s->cp_size = size;
	}
	for (size_t i = 0; i < n; i++)
		if (g->its[i]->state == MR_RS_PENDING) {
			finish(g->its[i], MR_RS_ISSUED, NULL);
			s->issued++;
		}
	/* What the window committed is released; a failure stops serving. */
	if (r != MR_OK)
		return stop(s, r == MR_E_AUDIT ? MR_E_AUDIT : MR_E_STATE, d);
	return MR_OK;
}

int
mr_serve_issue_group(mr_server *s, mr_serve_item **its, size_t n, const char *by)
{
	mr_serve_group *g = s->groups[0];
	mr_diag d;

	mr_diag_clear(&d);
	if (n > MR_SERVE_GROUP)
		return stop(s, MR_E_INTERNAL, (mr_diag_set(&d, MR_E_INTERNAL, "group of %zu", n), &d));
	if (s->inflight != NULL || s->ready != NULL)
		return stop(s, MR_E_INTERNAL, (mr_diag_set(&d, MR_E_INTERNAL, "a group is in flight"), &d));
	group_begin(s, g, its, n, by);
	group_sign_start(g);
	return group_finish(s, g);
}

int
mr_serve_drain(mr_server *s)
{
	mr_serve_group *g = s->inflight, *ready = s->ready;
	int r = MR_OK, r2;

	s->inflight = NULL;
	s->ready = NULL;
	if (g != NULL)
		r = group_finish(s, g);
	if (ready != NULL) {
		/* Approved and reserved, not yet signed: signed and finished
		 * now, unless serving failed (then its reservations are
		 * abandoned at the next start, as after a crash). */
		if (s->fatal) {
			refuse_unreleased(ready);
		} else {
			group_sign_start(ready);
			if ((r2 = group_finish(s, ready)) != MR_OK && r == MR_OK)
				r = r2;
		}
	}
	return r;
}

static int
decide(mr_server *s, mr_serve_item *it, int approve, const char *by)
{
	if (!approve)
		return decline(s, it, by);
	return mr_serve_issue_group(s, &it, 1, by);
}

int
mr_serve_decide(mr_server *s, const uint8_t hash[32], int approve, const char *by)
{
	mr_serve_item *it;

	/* Only a request whose self-signature was checked is decided on. */
	if (check_collect(s, 1) != MR_OK)
		return MR_E_AUDIT;
	if ((it = find(s, hash)) == NULL || it->state != MR_RS_PENDING)
		return MR_E_NOTFOUND;
	return decide(s, it, approve, by);
}

int
mr_serve_ready(const mr_server *s)
{
	if (s->fatal)
		return 0;
	if (check_finished(s))
		return 1;
	if (s->mode != MR_APPROVE_AUTO)
		return 0;
	if (s->inflight != NULL)
		return mr_issue_sign_done(&s->inflight->job) ||
		    next_group_waits(s);
	return mr_serve_pending(s) > 0;
}

int
mr_serve_signing(const mr_server *s)
{
	return s->inflight != NULL;
}

void
mr_serve_progress(mr_server *s, int force)
{
	double t = mr_progress_clock(), rate;

	if (s->mode != MR_APPROVE_AUTO || (s->issued == s->said_issued && s->refused == s->said_refused))
		return;
	if (!force && t - s->said < PROGRESS_S)
		return;
	rate = t > s->started ? (double)(s->issued + s->refused) / (t - s->started) : 0;
	mr_console_say("serve: %u issued, %u refused, %zu waiting (%.1f/s)\n", s->issued, s->refused,
	    mr_serve_pending(s), rate);
	s->said = t;
	s->said_issued = s->issued;
	s->said_refused = s->refused;
}

/* Auto approval: every pending request not yet in a group, oldest first,
 * up to a group. */
static size_t
auto_pick(mr_server *s, mr_serve_item **its)
{
	size_t n = 0;

	while (n < MR_SERVE_GROUP) {
		mr_serve_item *best = NULL;
		for (size_t i = 0; i < MR_SERVE_QUEUE; i++) {
			mr_serve_item *it = &s->items[i];
			if (it->used && it->state == MR_RS_PENDING && it->checked && !it->shown &&
			    (best == NULL || it->order < best->order))
				best = it;
		}
		if (best == NULL)
			break;
		best->shown = 1;
		its[n++] = best;
	}
	return n;
}

/* The group slot that is neither signing nor ready. */
static mr_serve_group *
spare_group(mr_server *s)
{
	for (int i = 0; i < 2; i++)
		if (s->groups[i] != s->inflight && s->groups[i] != s->ready)
			return s->groups[i];
	return NULL;
}

/* Approves and begins the next group from the queue into a spare slot:
 * NULL when nothing is waiting. */
static mr_serve_group *
auto_begin(mr_server *s)
{
	mr_serve_item *its[MR_SERVE_GROUP];
	mr_serve_group *g = spare_group(s);
	size_t n;

	if (g == NULL || (n = auto_pick(s, its)) == 0)
		return NULL;
	if (s->started == 0 || s->issued + s->refused == 0)
		s->started = mr_progress_clock();
	group_begin(s, g, its, n, "--approve auto");
	return g;
}

/*
 * Auto approval keeps the token busy, with two group slots: the one the
 * token signs (inflight) and the next one, approved and reserved while it
 * signs (ready: begun as soon as a whole group waits). When the token is
 * done it goes on with the ready one at once, and the signed one is
 * finished and released meanwhile; its slot then takes the next ready
 * group. The loop answers the link in between. (Two groups never share a
 * request: the queue holds a hash once.)
 */
static int
auto_step(mr_server *s)
{
	mr_serve_group *done = s->inflight;
	int r;

	if (done != NULL && !mr_issue_sign_done(&done->job)) {
		/* Signing: begin the next group now if a whole one waits. */
		if (next_group_waits(s))
			s->ready = auto_begin(s);
		return MR_OK;
	}
	if (s->ready == NULL)
		s->ready = auto_begin(s); /* into the slot done does not hold */
	if (done != NULL)
		mr_issue_sign_wait(&done->job);
	s->inflight = s->ready;
	s->ready = NULL;
	if (s->inflight != NULL)
		group_sign_start(s->inflight);
	if (done == NULL)
		return MR_OK;
	if ((r = group_finish(s, done)) != MR_OK) {
		/* Serving stops; what the token signed meanwhile is recorded
		 * (and answered by a later serve from the records). A failure
		 * there has the same cause: s->fatal_diag keeps the first. */
		int drained = mr_serve_drain(s);
		(void)drained;
		return r;
	}
	/* The next group, approved and reserved while the token signs. */
	if (s->inflight != NULL && next_group_waits(s))
		s->ready = auto_begin(s);
	return MR_OK;
}

int
mr_serve_step(mr_server *s, int timeout_ms)
{
	mr_serve_item *it;
	char text[1536], line[64];
	int r;

	if (s->fatal)
		return MR_E_STATE;
	if ((r = check_collect(s, 0)) != MR_OK)
		return r;
	if (s->mode == MR_APPROVE_AUTO) {
		r = auto_step(s);
		mr_serve_progress(s, mr_serve_pending(s) == 0);
		return r;
	}
	/* In the order they came: the oldest waits for its check. */
	if ((it = oldest_pending(s)) == NULL || !it->checked)
		return MR_OK;
	if (!it->shown) {
		mr_request_describe(s->app, &it->rq, text, sizeof(text));
		mr_console_say("\nrequest %s (via %s):\n%s", it->rq.cluster, s->via, text);
		if (s->mode == MR_APPROVE_CONSOLE)
			mr_console_say("Approve this intermediate CA? Type 'yes' to continue: ");
		else if (s->mode == MR_APPROVE_BUTTON)
			mr_console_say("Press the approve button to sign it (the refuse button declines).\n");
		it->shown = 1;
	}
	switch (s->mode) {
	case MR_APPROVE_AUTO:
	case MR_APPROVE_EXTERNAL:
		return MR_OK;
	case MR_APPROVE_BUTTON:
		r = board_button_wait(timeout_ms);
		if (r == 0)
			return MR_OK;
		return decide(s, it, r == 1, r == 1 ? "button" : r == 2 ? "button" : "button input closed");
	case MR_APPROVE_CONSOLE:
		if (board_console_wait(timeout_ms) == 0)
			return MR_OK;
		r = board_console_read_line(line, sizeof(line));
		return decide(s, it, r >= 0 && strcmp(line, "yes") == 0,
		    r == -1 ? "console closed" : "operator");
	}
	return MR_E_INTERNAL;
}

/*
 * `submit (--usb [SERIAL] | --connect unix:PATH) [NAME...]`: the requests
 * go to the appliance over the link instead of media, and the answers come
 * back checked exactly as `media import` checks them (answer.c). The host
 * shows each request's SHA-256 and words, as the appliance does, so the
 * operator can compare. Approval can take minutes: the host waits, polling,
 * and may be interrupted (Ctrl-C) at any time; the requests stay queued on
 * the appliance and running the same command again fetches the results by
 * request hash (resubmitting is idempotent: nothing is issued twice).
 *
 * `device (--usb [SERIAL] | --connect unix:PATH) [--audit-from N]`: what
 * the appliance reports about itself, and its audit log from record N.
 *
 * With --json both print one document on stdout at the end (docs/json.md)
 * and everything else goes to stderr; the exit status does not change.
 */
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "cmd.h"
#include "cmdtab.h"
#include "ledger.h"
#include "link.h"
#include "mr_progress.h"
#include "mr_cluster.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_jsonout.h"
#include "mr_link.h"
#include "mr_record.h"
#include "workspace.h"

/* An item's way: not sent yet (or to be sent again), on the appliance
 * (pending or issued, its result not fetched yet), its result received
 * and not yet checked, finished. The ledger keeps it (ledger.h), so that
 * no exchange walks every item. */
enum { S_TODO, S_SENT, S_GOT, S_DONE };

/* Clusters one submit takes (a fleet's worth; each costs its CSR). */
#define SUBMIT_MAX_CLUSTERS 10000

typedef struct {
	char name[64];
	uint8_t *der;
	size_t der_len;
	uint8_t hash[32];
	const char *outcome; /* once S_DONE: "imported", "refused", "rejected", "not_stored" */
	char why[512];       /* for refused and rejected */
} item;

/* The whole run: at most a window of requests in flight (the
 * appliance's queue, INFO's QUEUE), and never more sent than its queue
 * has free (FREE in every reply). */
typedef struct {
	const mr_host_opts *o;
	mr_hostlink *l;
	item *items;
	mr_ledger *lg;         /* each item's state (S_*), and the item of a hash */
	size_t n, done, failed, sent, next;
	size_t window;         /* requests in flight at most */
	uint32_t free;         /* queue slots the appliance has free */
	const mr_cert *root;
	mr_progress *pg;
	mr_answer_batch *ab;   /* answers checked, stored a group at a time */
	item *taken[MR_ANSWER_GROUP]; /* the items of ab's answers, in its order */
	size_t n_taken;
	int progressed;        /* something was sent or finished this round */
	int failed_exit;       /* the status of the failures: one kind its own, a mix 1 */
} batch_run;

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static mr_progress *progress; /* set while a submit shows progress */
static json_object *jappliance; /* --json: what INFO said, when asked */

/* Every error line: after the progress line and stdout's buffer. */
static void
err_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char last_error[1024]; /* --json: the last error line, without "error: " */

static void
err_line(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	if (progress != NULL)
		mr_progress_hold(progress);
	fflush(stdout);
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fputs(line, stderr);
	fflush(stderr);
	line[strcspn(line, "\n")] = '\0';
	snprintf(last_error, sizeof(last_error), "%s",
	    strncmp(line, "error: ", 7) == 0 ? line + 7 : line);
}

static int
fail(const mr_diag *d, int err)
{
	err_line("error: %s\n", mr_diag_text(d, err));
	return mr_host_exit(err);
}

/* A failed exchange: the appliance's own message whole, or the link's. */
static int
link_fail(const mr_hostlink *l, const mr_diag *d, int err)
{
	int rc;

	if (l != NULL && l->answered) {
		err_line("error: the appliance answered: %s\n", l->answer);
		return MR_EXIT_LINK;
	}
	/* A socket or device that is not there or fails is the link's
	 * fault (6), whatever error it reported; a root or answer that fails
	 * its check stays a failed verification (7). */
	rc = fail(d, err);
	return rc == MR_EXIT_FAIL || rc == MR_EXIT_INPUT ? MR_EXIT_LINK : rc;
}

/* INFO: prints the appliance and checks its root against the pin. */
static int
open_session(const mr_host_opts *o, mr_hostlink *l, const char *expect, uint8_t *root_der,
    size_t cap, size_t *root_len, mr_cert *root, uint32_t *queue, mr_diag *d)
{
	uint8_t pinned[MR_WS_CERT_MAX];
	size_t pinned_len = 0;
	mr_link_info in;
	mr_der reply;
	mr_cert pc;
	size_t pick = 0;
	int r;

	if ((r = mr_hostlink_call(l, MR_OP_INFO, NULL, 0, &reply, d)) != MR_OK)
		return r;
	if (mr_link_info_decode(reply, &in) != MR_OK)
		return mr_diag_set(d, MR_E_PROTO, "%s: malformed INFO reply", l->where);
	printf("appliance on %s: firmware %s, board %s, token %s (serial %s), audit %lu record(s)\n",
	    l->where, in.firmware, in.board, in.token_label, in.token_serial,
	    (unsigned long)in.audit_count);
	if (jappliance != NULL) {
		mr_json_put_str(jappliance, "link", l->where);
		mr_json_put_str(jappliance, "firmware", in.firmware);
		mr_json_put_str(jappliance, "board", in.board);
		mr_json_put_str(jappliance, "token_label", in.token_label);
		mr_json_put_str(jappliance, "token_serial", in.token_serial);
		mr_json_put_int(jappliance, "audit_records", (long long)in.audit_count);
		mr_json_put_int(jappliance, "queue", (long long)in.queue);
	}
	if (queue != NULL)
		*queue = in.queue;
	/* During a root rotation the appliance sends several roots: use the
	 * pinned one if it is among them. */
	if (mr_ws_read_root(o, pinned, sizeof(pinned), &pinned_len, &pc, d) == MR_OK)
		for (size_t i = 0; i < in.n_roots; i++)
			if (in.roots[i].n == pinned_len && memcmp(in.roots[i].p, pinned, pinned_len) == 0)
				pick = i;
	mr_diag_clear(d);
	if (in.roots[pick].n > cap)
		return mr_diag_set(d, MR_E_RANGE, "the appliance's root is too large");
	memcpy(root_der, in.roots[pick].p, in.roots[pick].n);
	*root_len = in.roots[pick].n;
	if ((r = mr_answer_root(o, root_der, *root_len, expect, "the appliance", root, d)) != MR_OK)
		return r;
	return mr_answer_audit_key(o, in.audit_key, "the appliance", d);
}

static void
show_request(const item *it)
{
	char hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];

	mr_fp_hex(it->hash, 32, hex, sizeof(hex));
	mr_fp_words(it->hash, words, sizeof(words));
	printf("cluster %s: request\n  CSR SHA-256: %s\n  words:     %s\n", it->name, hex, words);
}

static item *
by_hash(batch_run *x, const uint8_t hash[32])
{
	size_t i = mr_ledger_find(x->lg, hash);

	return i < x->n ? &x->items[i] : NULL;
}

static int
state_of(const batch_run *x, const item *it)
{
	return mr_ledger_state(x->lg, (size_t)(it - x->items));
}

/* Every change of an item's state, so that the ledger's counts hold. */
static void
move(batch_run *x, item *it, int state)
{
	mr_ledger_set(x->lg, (size_t)(it - x->items), state);
}

/* exit: MR_EXIT_OK, or the status of this item's failure. */
static void
finished(batch_run *x, item *it, int exit, const char *outcome, const char *why)
{
	move(x, it, S_DONE);
	it->outcome = outcome;
	snprintf(it->why, sizeof(it->why), "%s", why != NULL ? why : "");
	x->done++;
	if (exit != MR_EXIT_OK)
		x->failed_exit = x->failed++ == 0 || x->failed_exit == exit ? exit : MR_EXIT_FAIL;
	x->progressed = 1;
}

/* An answer checked but not stored: counted as failed by commit_answers,
 * and its outcome corrected. */
static void
report_unstored(void *ctx, const char *name, const char *text)
{
	batch_run *x = ctx;

	err_line("error: cluster %s: %s\n", name, text);
	/* One of the group being committed: finished, imported. */
	for (size_t i = 0; i < x->n_taken; i++)
		if (strcmp(x->taken[i]->name, name) == 0) {
			x->taken[i]->outcome = "not_stored";
			snprintf(x->taken[i]->why, sizeof(x->taken[i]->why), "%s", text);
			break;
		}
}

/* The answers taken so far made durable together (answer.c); one that
 * cannot be stored counts as failed. */
static void
commit_answers(batch_run *x)
{
	size_t unstored = 0;

	mr_progress_hold(x->pg);
	mr_answer_commit(x->o, x->ab, report_unstored, x, &unstored);
	x->n_taken = 0;
	if (unstored > 0) {
		/* Checked, then not stored: the disk, not the answer. */
		x->failed_exit = MR_EXIT_FAIL;
		x->failed += unstored;
	}
}

/* Applies one result to its item. */
static void
apply(batch_run *x, item *it, const mr_link_result *res)
{
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	switch (res->state) {
	case MR_RS_PENDING:
		return;
	case MR_RS_UNKNOWN:
		/* The appliance restarted and forgot the queue: ask again. */
		if (state_of(x, it) == S_SENT)
			move(x, it, S_TODO);
		return;
	case MR_RS_REFUSED:
		err_line("error: cluster %s: refused by the appliance: %s\n", it->name, res->reason);
		finished(x, it, MR_EXIT_REFUSED, "refused", res->reason);
		return;
	}
	if (res->cert.n == 0)
		return; /* issued: RESULT brings the certificate */
	mr_progress_hold(x->pg);
	/* Signed by the root, and proven to be in the audit log (with a
	 * pinned audit key), as media import requires; stored with the
	 * group (commit_answers). */
	if (mr_answer_batch_full(x->ab))
		commit_answers(x);
	if ((r = mr_answer_take(x->o, x->ab, it->name, res->cert.p, res->cert.n, it->der,
		 it->der_len, x->root, NULL, res->proof.p, res->proof.n, &d)) != MR_OK) {
		err_line("error: cluster %s: %s\n", it->name, mr_diag_text(&d, r));
		if (x->ab->checked)
			/* Passed its checks; the workspace would not take it. */
			finished(x, it, MR_EXIT_FAIL, "not_stored", mr_diag_text(&d, r));
		else
			finished(x, it, MR_EXIT_VERIFY, "rejected", mr_diag_text(&d, r));
		return;
	}
	x->taken[x->n_taken++] = it;
	finished(x, it, MR_EXIT_OK, "imported", NULL);
}

/* Applies a reply's results; every one must be for a request sent. */
static int
apply_all(batch_run *x, const mr_link_result *res, size_t got, mr_diag *d)
{
	for (size_t j = 0; j < got; j++) {
		item *it = by_hash(x, res[j].hash);
		if (it == NULL || (state_of(x, it) != S_SENT && state_of(x, it) != S_GOT))
			return mr_diag_set(d, MR_E_PROTO, "%s: a result for a request not in flight",
			    x->l->where);
		apply(x, it, &res[j]);
	}
	commit_answers(x);
	mr_progress_step(x->pg, x->done - x->pg->done);
	return MR_OK;
}

/* The polling interval while answers keep coming. */
#define ACTIVE_POLL_MS 5

/* Sleeps ms milliseconds, in slices of at most 10 so that Ctrl-C is
 * seen at once. */
static void
nap(int ms)
{
	for (int t = 0; t < ms && !interrupted; t += 10) {
		struct timespec ts = { 0, (ms - t < 10 ? ms - t : 10) * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static size_t
count(const batch_run *x, int state)
{
	return mr_ledger_count(x->lg, state);
}

/* The first item in this state at index i or after it, or x->n. */
static size_t
next_in(const batch_run *x, int state, size_t i)
{
	return mr_ledger_next(x->lg, state, i);
}

/* A SUBMIT's payload: the frame is encoded from it when it is sent, so one
 * buffer serves every SUBMIT. */
static uint8_t submit_pl[MR_LINK_MAX_PAYLOAD];

/* The next SUBMIT: as many waiting requests as fit one frame, the
 * appliance's free slots and the window. *k = 0 when none. */
static int
submit_build(batch_run *x, size_t flight, uint8_t *pl, size_t cap, size_t *len, item **batch,
    size_t *k, mr_diag *d)
{
	mr_link_w w;

	*k = 0;
	mr_link_w_init(&w, pl, cap);
	for (size_t i = next_in(x, S_TODO, 0); i < x->n && *k < MR_LINK_MAX_BATCH &&
	     *k < x->free && flight + *k < x->window; i = next_in(x, S_TODO, i + 1)) {
		item *it = &x->items[i];
		size_t before = w.len;
		mr_link_submit_put(&w, it->name, it->der, it->der_len);
		if (w.err != MR_OK) {
			if (*k == 0)
				return mr_diag_set(d, MR_E_RANGE, "request %s does not fit a frame",
				    it->name);
			w.err = MR_OK;
			w.len = before;
			break;
		}
		batch[(*k)++] = it;
	}
	*len = w.len;
	return MR_OK;
}

/* The reply to a SUBMIT of batch[0..k): r is the exchange's status. A
 * full queue (BUSY) is no error: the answers are fetched and the rest
 * sent later (*more = 0 then). */
static int
submit_done(batch_run *x, item **batch, size_t k, int r, mr_der reply, int *more, mr_diag *d)
{
	static mr_link_result res[MR_LINK_MAX_BATCH];
	size_t got = 0;

	*more = 0;
	if (r == MR_E_BUSY) {
		mr_diag_clear(d);
		x->free = 0;
		return MR_OK;
	}
	if (r != MR_OK)
		return r;
	if (mr_link_results_decode(reply, res, MR_LINK_MAX_BATCH, &got, &x->free) != MR_OK ||
	    got != k)
		return mr_diag_set(d, MR_E_PROTO, "%s: malformed SUBMIT reply", x->l->where);
	for (size_t j = 0; j < k; j++) {
		move(x, batch[j], S_SENT);
		x->sent++;
	}
	x->progressed = 1;
	*more = 1;
	return apply_all(x, res, got, d) != MR_OK ? MR_E_PROTO : MR_OK;
}

/* SUBMITs waiting requests while the appliance's queue has room. */
static int
send_some(batch_run *x, mr_diag *d)
{
	int more = 1, r;

	while (more && x->free > 0) {
		item *batch[MR_LINK_MAX_BATCH];
		size_t k, len;
		mr_der reply;

		if ((r = submit_build(x, count(x, S_SENT), submit_pl, sizeof(submit_pl), &len, batch,
			 &k, d)) != MR_OK)
			return r;
		if (k == 0)
			return MR_OK;
		r = mr_hostlink_call(x->l, MR_OP_SUBMIT, submit_pl, len, &reply, d);
		if ((r = submit_done(x, batch, k, r, reply, &more, d)) != MR_OK)
			return r;
	}
	return MR_OK;
}

/* Checks and stores the answers of a RESULT reply while the appliance
 * takes the next SUBMIT: that SUBMIT is sent first, its reply read after
 * the checks (the host's work and the appliance's overlap), then the
 * queue is filled as far as it has room. */
static int
apply_while_submitting(batch_run *x, const mr_link_result *res, size_t got, mr_diag *d)
{
	item *batch[MR_LINK_MAX_BATCH];
	size_t k = 0, len;
	mr_der reply;
	int r, more;

	if (x->free > 0 && (r = submit_build(x, count(x, S_SENT), submit_pl, sizeof(submit_pl), &len,
				batch, &k, d)) != MR_OK)
		return r;
	if (k > 0 && (r = mr_hostlink_send(x->l, MR_OP_SUBMIT, submit_pl, len, d)) != MR_OK)
		return r;
	if ((r = apply_all(x, res, got, d)) != MR_OK)
		return r;
	if (k == 0)
		return MR_OK;
	r = mr_hostlink_recv(x->l, &reply, d);
	if ((r = submit_done(x, batch, k, r, reply, &more, d)) != MR_OK)
		return r;
	return more ? send_some(x, d) : MR_OK;
}

/* One RESULT for the oldest requests in flight from x->next on; the
 * appliance answers as many as fit one frame. 0 when none is left. The
 * queue is refilled while the answers are checked and stored: the
 * appliance takes the next requests and issues the next group meanwhile. */
static int
fetch_some(batch_run *x, int *asked, mr_diag *d)
{
	static mr_link_result res[MR_LINK_MAX_RESULTS];
	static uint8_t copy[MR_LINK_MAX_PAYLOAD]; /* the reply outlives the next exchange */
	uint8_t pl[MR_LINK_MAX_RESULTS * 35];
	size_t k = 0, got = 0, last = x->next;
	mr_link_w w;
	mr_der reply;
	int r;

	*asked = 0;
	mr_link_w_init(&w, pl, sizeof(pl));
	for (size_t i = next_in(x, S_SENT, x->next); i < x->n && k < MR_LINK_MAX_RESULTS;
	     i = next_in(x, S_SENT, i + 1)) {
		mr_link_put(&w, MR_T_HASH, x->items[i].hash, 32);
		k++;
		last = i;
	}
	if (k == 0) {
		x->next = x->n;
		return MR_OK;
	}
	if ((r = mr_hostlink_call(x->l, MR_OP_RESULT, pl, w.len, &reply, d)) != MR_OK)
		return r;
	if (reply.n > sizeof(copy))
		return mr_diag_set(d, MR_E_PROTO, "%s: malformed RESULT reply", x->l->where);
	memcpy(copy, reply.p, reply.n);
	reply = mr_der_view(copy, reply.n);
	if (mr_link_results_decode(reply, res, MR_LINK_MAX_RESULTS, &got, &x->free) != MR_OK ||
	    got == 0 || got > k)
		return mr_diag_set(d, MR_E_PROTO, "%s: malformed RESULT reply", x->l->where);
	/* The answers are for the first `got` hashes asked, in order. */
	{
		size_t seen = 0;
		for (size_t i = next_in(x, S_SENT, x->next); i <= last && seen < got;
		     i = next_in(x, S_SENT, i + 1)) {
			if (memcmp(res[seen].hash, x->items[i].hash, 32) != 0)
				return mr_diag_set(d, MR_E_PROTO, "%s: RESULT reply out of order",
				    x->l->where);
			seen++;
			x->next = i + 1;
		}
	}
	*asked = 1;
	/* What came back final leaves the window now, before its check. */
	for (size_t j = 0; j < got; j++)
		if (res[j].state == MR_RS_REFUSED || (res[j].state == MR_RS_ISSUED && res[j].cert.n > 0))
			move(x, by_hash(x, res[j].hash), S_GOT);
	return apply_while_submitting(x, res, got, d);
}

/* One round: every request in flight asked for once, the queue refilled
 * after each answer (before its check) so the appliance never runs dry. */
static int
round_trip(batch_run *x, mr_diag *d)
{
	int r, asked = 1;

	x->progressed = 0;
	x->next = 0;
	if ((r = send_some(x, d)) != MR_OK)
		return r;
	while (asked)
		if ((r = fetch_some(x, &asked, d)) != MR_OK)
			return r;
	/* A queue full of someone else's requests: try again after a wait. */
	if (x->free == 0 && count(x, S_SENT) == 0 && count(x, S_TODO) > 0)
		x->free = 1;
	return MR_OK;
}

/* --json: every request and what became of it. */
static void
put_requests(json_object *doc, const item *items, size_t n)
{
	json_object *a = json_object_new_array();
	size_t counts[5] = { 0, 0, 0, 0, 0 }; /* imported, refused, rejected, waiting, not_stored */

	for (size_t i = 0; items != NULL && i < n; i++) {
		const item *it = &items[i];
		json_object *j = json_object_new_object();
		char hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];
		const char *outcome = it->outcome != NULL ? it->outcome : "waiting";

		mr_fp_hex(it->hash, 32, hex, sizeof(hex));
		mr_fp_words(it->hash, words, sizeof(words));
		mr_json_put_str(j, "cluster", it->name);
		mr_json_put_str(j, "csr_sha256", hex);
		mr_json_put_str(j, "words", words);
		mr_json_put_str(j, "result", outcome);
		mr_json_put_str(j, "reason", it->why[0] != '\0' ? it->why : NULL);
		mr_json_append(a, j);
		counts[strcmp(outcome, "imported") == 0 ? 0 : strcmp(outcome, "refused") == 0 ? 1 :
		    strcmp(outcome, "rejected") == 0 ? 2 : strcmp(outcome, "waiting") == 0 ? 3 : 4]++;
	}
	mr_json_put(doc, "requests", a);
	mr_json_put_int(doc, "imported", (long long)counts[0]);
	mr_json_put_int(doc, "refused", (long long)counts[1]);
	mr_json_put_int(doc, "rejected", (long long)counts[2]);
	mr_json_put_int(doc, "waiting", (long long)counts[3]);
	mr_json_put_int(doc, "not_stored", (long long)counts[4]);
}

static int
submit(const mr_host_opts *o, const char *connect, int usb, const char *serial,
    const char *expect, int no_wait, int poll_ms, long wait_s, int n_names, char **names,
    json_object *doc)
{
	static uint8_t der[MR_CSR_MAX_DER];
	char (*all)[64] = NULL;
	uint8_t root_der[MR_WS_CERT_MAX];
	size_t n = 0, root_len = 0, accepted = 0;
	mr_hostlink *l = NULL;
	item *items = NULL;
	mr_ledger lg;
	mr_answer_batch ab;
	mr_progress pg;
	mr_cert root;
	mr_diag d;
	batch_run x;
	uint32_t queue = 0;
	int r, told = 0, rc = 1, backoff = 1, cap;
	double moved = mr_progress_clock();
	time_t start = time(NULL);

	mr_diag_clear(&d);
	if (n_names > SUBMIT_MAX_CLUSTERS)
		return HOST_USAGE("submit", "at most %d clusters at once", SUBMIT_MAX_CLUSTERS);
	mr_answer_batch_init(&ab);
	memset(&lg, 0, sizeof(lg));
	if ((all = calloc(SUBMIT_MAX_CLUSTERS, sizeof(*all))) == NULL) {
		err_line("error: out of memory\n");
		return 1;
	}
	if (n_names > 0) {
		for (int i = 0; i < n_names; i++)
			snprintf(all[n++], sizeof(all[0]), "%s", names[i]);
	} else {
		size_t m = 0;
		if ((r = mr_ws_clusters(o, all, SUBMIT_MAX_CLUSTERS, &m, &d)) != MR_OK) {
			rc = fail(&d, r);
			goto out_nolink;
		}
		for (size_t i = 0; i < m; i++)
			if (!mr_ws_cluster_issued(o, all[i]))
				memmove(all[n++], all[i], sizeof(all[0]));
	}
	if (n == 0) {
		printf("no cluster is waiting for a certificate\n");
		rc = 0;
		goto out_nolink;
	}
	items = calloc(n, sizeof(*items));
	l = malloc(sizeof(*l));
	if (items == NULL || l == NULL || mr_ledger_init(&lg, n) != MR_OK) {
		err_line("error: out of memory\n");
		goto out_nolink;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		mr_csr csr;
		snprintf(items[i].name, sizeof(items[i].name), "%s", all[i]);
		if (mr_ws_path(o, all[i], "csr.pem", path, sizeof(path)) != MR_OK) {
			err_line("error: cluster name \"%s\" %s\n", all[i],
			    mr_cluster_name_why(all[i]) != NULL ? mr_cluster_name_why(all[i]) :
			    "is too long for a path");
			goto out_nolink;
		}
		/* Only a request that parses goes to the appliance. Its
		 * self-signature is checked there, by the side that trusts the
		 * result (a bad one is refused with the reason), not twice. */
		if ((r = mr_ws_read_csr_key(path, der, sizeof(der), &items[i].der_len, &csr, &d)) !=
		    MR_OK) {
			err_line("error: cluster %s: %s\n", all[i], mr_diag_text(&d, r));
			goto out_nolink;
		}
		if ((items[i].der = malloc(items[i].der_len)) == NULL) {
			err_line("error: out of memory\n");
			goto out_nolink;
		}
		memcpy(items[i].der, der, items[i].der_len);
		mr_fp_sha256(items[i].der, items[i].der_len, items[i].hash);
		if (mr_ledger_put_hash(&lg, i, items[i].hash) != MR_OK) {
			err_line("error: internal: the submit's index is full\n");
			goto out_nolink;
		}
	}
	if ((r = mr_hostlink_open(l, connect, usb, serial, &d)) != MR_OK) {
		free(l);
		l = NULL;
		rc = link_fail(NULL, &d, r);
		goto out_nolink;
	}
	if ((r = open_session(o, l, expect, root_der, sizeof(root_der), &root_len, &root, &queue,
		 &d)) != MR_OK) {
		rc = link_fail(l, &d, r);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		show_request(&items[i]);
	fflush(stdout);
	memset(&x, 0, sizeof(x));
	x.o = o;
	x.l = l;
	x.items = items;
	x.lg = &lg;
	x.n = n;
	x.root = &root;
	x.free = queue;
	x.window = queue > 0 ? queue : MR_LINK_MAX_BATCH;
	x.pg = &pg;
	x.ab = &ab;
	mr_progress_start(&pg, "submit", n);
	progress = &pg;
	for (;;) {
		size_t waiting;

		if ((r = round_trip(&x, &d)) != MR_OK) {
			/* Ctrl-C in the middle of an exchange breaks the exchange,
			 * not the queue: the same answer as between rounds. */
			if (interrupted) {
				err_line("interrupted: %zu request(s) stay queued on the appliance; run "
				    "this command again to fetch the results\n", n - x.done);
				rc = 130;
				goto out;
			}
			rc = link_fail(l, &d, r);
			goto out;
		}
		waiting = n - x.done;
		if (waiting == 0)
			break;
		if (no_wait) {
			mr_progress_hold(&pg);
			printf("%zu request(s) waiting for approval on the appliance; run this command "
			       "again to fetch the results\n", waiting);
			rc = x.failed ? x.failed_exit : MR_EXIT_OK;
			goto out;
		}
		if (x.progressed) {
			/* Answers came or requests went: straight to the next round. */
			backoff = 1;
			moved = mr_progress_clock();
			continue;
		}
		if (!told) {
			mr_progress_hold(&pg);
			printf("waiting for the operator to approve %zu request(s) on the appliance "
			       "(Ctrl-C stops waiting; the requests stay queued)\n", waiting);
			fflush(stdout);
			told = 1;
		}
		if (wait_s > 0 && time(NULL) - start >= wait_s) {
			err_line("error: %zu request(s) still waiting for approval after %ld s; "
			    "run this command again to fetch them\n", waiting, wait_s);
			goto out;
		}
		/* Nothing moved: wait, a little longer each time, up to the
		 * polling interval (an operator decides in seconds). While
		 * answers keep coming (an appliance that approves on its own
		 * issues a group every few tens of milliseconds), at most
		 * ACTIVE_POLL_MS, so that no group's answers wait long. */
		nap(backoff);
		cap = mr_progress_clock() - moved < 1.0 && ACTIVE_POLL_MS < poll_ms ? ACTIVE_POLL_MS : poll_ms;
		backoff = backoff * 2 > cap ? cap : backoff * 2;
		if (interrupted) {
			err_line("interrupted: %zu request(s) stay queued on the appliance; run "
			    "this command again to fetch the results\n", waiting);
			rc = 130;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		accepted += items[i].outcome != NULL && strcmp(items[i].outcome, "imported") == 0;
	mr_progress_end(&pg);
	printf("%zu certificate(s) imported\n", accepted);
	rc = x.failed ? x.failed_exit : MR_EXIT_OK;
out:
	progress = NULL;
	mr_hostlink_close(l);
	free(l);
	l = NULL;
out_nolink:
	free(l);
	if (doc != NULL)
		put_requests(doc, items, items != NULL ? n : 0);
	mr_answer_batch_free(&ab);
	mr_ledger_free(&lg);
	for (size_t i = 0; items != NULL && i < n; i++)
		free(items[i].der);
	free(items);
	free(all);
	return rc;
}

static int
device(const mr_host_opts *o, const char *connect, int usb, const char *serial,
    const char *expect, long audit_from, json_object *doc)
{
	json_object *audit = NULL;
	uint8_t root_der[MR_WS_CERT_MAX], fp[32];
	char hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];
	size_t root_len = 0;
	mr_hostlink *l = malloc(sizeof(mr_hostlink));
	mr_cert root;
	mr_diag d;
	int r, rc = 1;

	mr_diag_clear(&d);
	if (l == NULL)
		return 1;
	if ((r = mr_hostlink_open(l, connect, usb, serial, &d)) != MR_OK) {
		free(l);
		return link_fail(NULL, &d, r);
	}
	if ((r = open_session(o, l, expect, root_der, sizeof(root_der), &root_len, &root, NULL,
		 &d)) != MR_OK) {
		rc = link_fail(l, &d, r);
		goto out;
	}
	mr_fp_sha256(root_der, root_len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	mr_fp_words(fp, words, sizeof(words));
	printf("root SHA-256: %s\nroot words:   %s\n", hex, words);
	if (doc != NULL) {
		json_object *jr = json_object_new_object();
		mr_json_put_str(jr, "sha256", hex);
		mr_json_put_str(jr, "words", words);
		mr_json_put_time(jr, "not_after", root.not_after);
		mr_json_put(doc, "root", jr);
	}
	if (audit_from > 0 && doc != NULL)
		mr_json_put(doc, "audit", audit = json_object_new_array());
	if (audit_from > 0) {
		uint32_t index = (uint32_t)audit_from;
		for (;;) {
			uint8_t pl[16];
			mr_link_audit a;
			mr_link_w w;
			mr_der reply;
			uint32_t lines = 0;

			mr_link_w_init(&w, pl, sizeof(pl));
			mr_link_put_u32(&w, MR_T_INDEX, index);
			if ((r = mr_hostlink_call(l, MR_OP_AUDIT, pl, w.len, &reply, &d)) != MR_OK) {
				rc = link_fail(l, &d, r);
				goto out;
			}
			if (mr_link_audit_decode(reply, &a) != MR_OK || a.index != index) {
				err_line("error: malformed AUDIT reply\n");
				goto out;
			}
			for (size_t i = 0, st = 0; i < a.records.n; i++) {
				uint8_t c = a.records.p[i];
				lines += c == '\n';
				/* Records are printable ASCII lines; show anything else tame. */
				putchar(c == '\n' || (c >= 0x20 && c < 0x7f) ? c : '?');
				if (c == '\n' && audit != NULL) {
					char rec[MR_RECORD_MAX];
					size_t k = 0;
					for (size_t m = st; m < i && k + 1 < sizeof(rec); m++) {
						uint8_t b = a.records.p[m];
						rec[k++] = b >= 0x20 && b < 0x7f ? (char)b : '?';
					}
					rec[k] = '\0';
					mr_json_append(audit, json_object_new_string(rec));
				}
				if (c == '\n')
					st = i + 1;
			}
			if (lines == 0 || index + lines > a.total)
				break;
			index += lines;
		}
	}
	rc = 0;
out:
	mr_hostlink_close(l);
	free(l);
	return rc;
}

/*
 * DESIGN.md's form is `--usb [SERIAL]`: a word right after --usb is the
 * appliance serial unless it names a cluster of this workspace (cluster
 * names and serials share an alphabet). Takes it out of argv and returns
 * it; `--usb=SERIAL` needs no help.
 */
static const char *
take_usb_serial(const mr_host_opts *o, int *argc, char **argv)
{
	char path[4096];
	const char *serial;

	for (int i = 1; i + 1 < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return NULL;
		if (strcmp(argv[i], "--usb") != 0)
			continue;
		serial = argv[i + 1];
		if (serial[0] == '-' || serial[0] == '\0')
			return NULL;
		if (mr_ws_path(o, serial, NULL, path, sizeof(path)) == MR_OK && mr_path_exists(path))
			return NULL;
		memmove(&argv[i + 1], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof(*argv));
		(*argc)--;
		argv[*argc] = NULL;
		return serial;
	}
	return NULL;
}

static int
run(const mr_host_opts *o, int argc, char **argv, int is_device)
{
	static const struct option opts[] = {
		{ "usb", optional_argument, NULL, 'u' },
		{ "connect", required_argument, NULL, 'c' },
		{ "expect-root", required_argument, NULL, 'e' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ "poll-ms", required_argument, NULL, 'p' },
		{ "audit-from", required_argument, NULL, 'a' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *connect = NULL, *serial = NULL, *expect = NULL;
	int c, usb = 0, no_wait = 0, poll_ms = 1000, json = 0, rc;
	json_object *doc = NULL;
	mr_jsonout out = { -1 };
	long wait_s = 0, audit_from = 0;
	struct sigaction sa;
	const char *spaced_serial = take_usb_serial(o, &argc, argv);
	const char *cmd = is_device ? "device" : "submit";

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'u': usb = 1; serial = optarg != NULL ? optarg : spaced_serial; break;
		case 'c': connect = optarg; break;
		case 'e': expect = optarg; break;
		case 'n': no_wait = 1; break;
		case 'w': wait_s = strtol(optarg, NULL, 10); break;
		case 'p': poll_ms = (int)strtol(optarg, NULL, 10); break;
		case 'a': audit_from = strtol(optarg, NULL, 10); break;
		case 'j': json = 1; break;
		case 'h': HOST_HELP(stdout, cmd); return MR_EXIT_OK;
		default: return HOST_OPT_ERROR(cmd, c, argv);
		}
	}
	if (usb == (connect != NULL))
		return HOST_USAGE(cmd, "%s needs one of --usb or --connect unix:PATH", cmd);
	if (poll_ms < 10 || poll_ms > 60000)
		return HOST_USAGE(cmd, "--poll-ms must be 10..60000");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint; /* no SA_RESTART: waits end early */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (is_device && optind != argc)
		return HOST_EXTRA(cmd, argv[optind]);
	if (json) {
		if (mr_jsonout_begin(&out) != 0) {
			fprintf(stderr, "error: cannot set up the JSON output\n");
			return MR_EXIT_FAIL;
		}
		doc = mr_json_doc(is_device ? "meshroot.device" : "meshroot.submit");
		mr_json_put(doc, "appliance", jappliance = json_object_new_object());
	}
	last_error[0] = '\0';
	if (is_device)
		rc = device(o, connect, usb, serial, expect, audit_from, doc);
	else
		rc = submit(o, connect, usb, serial, expect, no_wait, poll_ms, wait_s,
		    argc - optind, argv + optind, doc);
	if (json) {
		jappliance = NULL;
		mr_json_put_int(doc, "exit_code", rc);
		mr_json_put_str(doc, "error", last_error[0] != '\0' ? last_error : NULL);
		if (mr_jsonout_end(&out, doc) != 0) {
			fprintf(stderr, "error: cannot write the JSON document\n");
			rc = rc != 0 ? rc : MR_EXIT_FAIL;
		}
	}
	return rc;
}

int
cmd_submit(const mr_host_opts *o, int argc, char **argv)
{
	return run(o, argc, argv, 0);
}

int
cmd_device(const mr_host_opts *o, int argc, char **argv)
{
	return run(o, argc, argv, 1);
}

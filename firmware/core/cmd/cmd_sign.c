/*
 * `sign --media DIR`: processes every request on mounted media. Each
 * request is shown to the operator and approved (or --yes, recorded as
 * such); a refused or malformed request gets a .refused answer and the
 * batch goes on. Running it again on the same media never signs a request
 * twice: an issued request hash gets its stored certificate back.
 *
 * The media's bytes are read and parsed by a confined parser process
 * (mr_privsep.h), forked before the state dir and the token are opened;
 * this process re-parses every CSR it is handed before it goes further.
 *
 * Requests are taken a window at a time (MR_ISSUE_WINDOW entries): the
 * window is issued with one group commit (mr_issue_begin, _sign_start,
 * _finish), one audit checkpoint is signed for it, and its answers go to
 * the media with one group commit (mr_file_group). No answer, certificate
 * or refusal, is written before the records it rests on are durable.
 * Memory stays the same whatever the batch size.
 *
 * The token is the limit, so it never waits for the rest: while it signs
 * window N, this thread finishes and answers window N-1, then takes and
 * begins window N+1, and a checking thread parses window N+2 (the parser
 * process reads ahead of all of them).
 */
#define _GNU_SOURCE /* pthread_setname_np */
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_issue.h"
#include "mr_jsonout.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_privsep.h"
#include "mr_progress.h"
#include "mr_pointpool.h"
#include "mr_pubkey.h"
#include "mr_sign_review.h"
#include "mr_cpus.h"
#include "mr_worker.h"

typedef struct {
	unsigned signed_new, signed_before, refused, skipped;
} batch_counts;

/* One media entry of the window and what becomes of it. */
enum { E_SKIP, E_REFUSE, E_ISSUE };

/* What the parser said of one media entry: an mr_ps_item whose DER is
 * kept in its window's arena, packed, instead of a 16 KiB buffer of its
 * own (a window's entries then take a few pages, not one or two each). */
typedef struct {
	int kind;               /* MR_PS_* */
	char name[256];
	char cluster[64];
	char why[320];
	int err;
	size_t der_len;
	const uint8_t *der;     /* in the window's arena */
} entry_item;

typedef struct {
	int kind;
	mr_request rq;          /* E_ISSUE: views into item.der */
	size_t slot;            /* E_ISSUE: its mr_issue_item */
	char why[320];          /* E_REFUSE: the refusal's text */
	int parse_err;          /* mr_request_parse's verdict on item */
	mr_diag parse_diag;
	entry_item item;        /* from the parser: name, cluster, DER */
} entry;

typedef struct {
	const mr_app *app;
	entry *e;
	size_t n;
} check_job;

/* One window of media entries, and the engine's items for those it
 * issues. */
typedef struct {
	entry e[MR_ISSUE_WINDOW];
	size_t n;
	mr_issue_item iss[MR_ISSUE_WINDOW];
	size_t n_iss;
	mr_issue_job job;       /* begun: its way through the engine */
	check_job cj;
	pthread_t check_th;
	int checking;           /* check_th runs over e */
	/* The entries' DER, one after the other (last: only what the
	 * requests fill becomes resident). */
	size_t arena_used;
	uint8_t arena[MR_ISSUE_WINDOW * MR_CSR_MAX_DER];
	mr_issue_arena iss_bytes; /* the items' TBS, certificates, records */
} win;

/*
 * The media's group commit of one window's answers (the files, syncfs,
 * renames, the directory's fsync), on a thread of its own: the answers'
 * bytes are staged on the main thread once the window's records and
 * checkpoint are durable, and written and committed while the main thread
 * goes on with the next windows. A
 * window's answers wait for the one before (answers_wait); so does the
 * end of the batch.
 */
typedef struct {
	mr_file_group g;
	int posted;             /* a commit was handed over and not collected */
	size_t fresh;           /* newly signed answers in it (crash points) */
	int r;
	mr_diag d;
} answer_job;

typedef struct {
	mr_app *app;
	const char *media;
	/* Three windows: one the token signs, one taken and begun (then
	 * answered) beside it, one read and checked. */
	win w[3];
	answer_job aj;
	batch_counts bc;
	mr_progress prog;
	int review;             /* --review batch: rv holds the approved table */
	mr_review rv;
	char proof[MR_AUDIT_PROOF_MAX];
	char cp[MR_CHECKPOINT_MAX];
} batch;

static json_object *jdoc; /* --json: the summary document */

static int
audit_decision(mr_app *app, const char *event, const mr_request *rq, const char *by,
    const char *batch_hash, const char *reason, mr_diag *d)
{
	mr_record rec;

	mr_record_init(&rec);
	mr_record_add(&rec, "cluster", rq->cluster);
	mr_record_add(&rec, "request", rq->csr_hash_hex);
	mr_record_add(&rec, "key_type", mr_key_type_name(rq->csr.spki.type));
	mr_record_add(&rec, "by", by);
	if (batch_hash != NULL)
		mr_record_add(&rec, "batch", batch_hash);
	if (reason != NULL)
		mr_record_add(&rec, "reason", reason);
	if (rq->ignored[0])
		mr_record_add(&rec, "ignored", rq->ignored);
	return mr_app_audit(app, event, &rec, d);
}

/* An entry refused before issuance: audited now (made durable with the
 * window), answered when the window is released. */
static int
refuse_entry(batch *b, entry *e, const char *file, const char *why, mr_diag *d)
{
	mr_record rec;

	e->kind = E_REFUSE;
	snprintf(e->why, sizeof(e->why), "%s", why);
	if (file == NULL)
		return MR_OK; /* declined: audit_decision recorded it */
	mr_record_init(&rec);
	mr_record_add(&rec, "cluster", e->item.cluster);
	mr_record_add(&rec, "file", file);
	mr_record_add(&rec, "reason", why);
	return mr_app_audit(b->app, "refuse", &rec, d);
}

/* The signer's own parse of one entry: structure, self-signature and
 * policy (mr_request_parse). Reads only the loaded policy and root, writes
 * only the entry: it runs on the checking thread. */
static void
check_entry(const mr_app *app, entry *e)
{
	const entry_item *it = &e->item;

	mr_diag_clear(&e->parse_diag);
	e->parse_err = MR_OK;
	if (it->kind == MR_PS_REFUSE)
		e->parse_err = mr_diag_set(&e->parse_diag, it->err, "%s", it->why);
	else if (it->kind == MR_PS_CSR)
		e->parse_err = mr_request_parse(app, it->cluster, it->der, it->der_len, &e->rq,
		    &e->parse_diag);
	/* Each request brings a key never seen before: wolfSSL would keep a
	 * table for each (most of a MiB apiece, up to its cache size), for
	 * no gain. */
	mr_sig_release_cache();
}

static void *
check_window(void *arg)
{
	check_job *j = arg;

	for (size_t i = 0; i < j->n; i++)
		check_entry(j->app, &j->e[i]);
	mr_sig_release_cache();
	return NULL;
}

/* A window's checks on a thread of their own, off the token's core. It
 * names itself (prctl): named by its creator, a thread already ended
 * leaves no name to write, so the creator's system calls would depend on
 * timing (tests/integration/kill_points_sign.sh numbers them). */
static void *
check_thread(void *arg)
{
	(void)pthread_setname_np(pthread_self(), "mr-csr-checks");
	mr_cpus_enter_rest();
	return check_window(arg);
}

/* The window's entries are checked on a thread of their own (in line if
 * none starts) while this one goes on. */
static void
check_start(batch *b, win *w)
{
	w->cj = (check_job){ b->app, w->e, w->n };
	w->checking = pthread_create(&w->check_th, NULL, check_thread, &w->cj) == 0;
	if (!w->checking)
		check_window(&w->cj);
}

static void
check_wait(win *w)
{
	if (w->checking)
		pthread_join(w->check_th, NULL);
	w->checking = 0;
}

/* Takes one checked entry into the window: skips and refusals are
 * audited, a good request is shown and approved (or declined). MR_E_AUDIT
 * stops the batch. */
static int
take(batch *b, win *w, entry *e, mr_diag *d)
{
	mr_app *app = b->app;
	const entry_item *it = &e->item;
	char text[1536];
	mr_record rec;
	int r, fresh;

	if (it->kind == MR_PS_SKIP) {
		e->kind = E_SKIP;
		mr_record_init(&rec);
		mr_record_add(&rec, "file", it->name);
		mr_record_add(&rec, "reason", it->why);
		return mr_app_audit(app, "skip", &rec, d);
	}
	if (e->parse_err != MR_OK)
		return refuse_entry(b, e, it->name, mr_diag_text(&e->parse_diag, e->parse_err), d);
	e->kind = E_ISSUE;
	/* Not issued before: approved now (an issued request is answered
	 * from the state dir, nothing signed). */
	fresh = mr_db_issued_for_request(&app->db, e->rq.csr_hash_hex) == NULL;
	if (fresh && b->review) {
		/* Approved with the table, or not signed at all. */
		if (!mr_review_approved(&b->rv, e->rq.cluster, e->rq.csr_hash))
			return refuse_entry(b, e, it->name, "not the request approved in the batch "
			    "review (the media changed since): not signed", d);
		if ((r = audit_decision(app, "approve", &e->rq, app->yes ? "--yes" : "operator",
			 b->rv.batch_hex, NULL, d)) != MR_OK)
			return r;
	} else if (fresh) {
		mr_progress_pause(&b->prog);
		mr_request_describe(app, &e->rq, text, sizeof(text));
		mr_console_say("\nrequest %s:\n%s", it->name, text);
		if (mr_app_confirm(app, "Approve this intermediate CA?", "yes") != MR_OK) {
			if ((r = audit_decision(app, "refuse", &e->rq, "operator", NULL, "declined", d)) != MR_OK)
				return r;
			return refuse_entry(b, e, NULL, "declined by the operator", d);
		}
		if ((r = audit_decision(app, "approve", &e->rq, app->yes ? "--yes" : "operator", NULL,
			 NULL, d)) != MR_OK)
			return r;
	}
	e->slot = w->n_iss++;
	w->iss[e->slot].rq = &e->rq;
	return MR_OK;
}

/* The files that answer one entry, staged for the media's group commit; a
 * stale answer of the other kind is removed first, as it would contradict
 * this one. */
static int
stage_answer(batch *b, const win *w, mr_file_group *g, const entry *e, mr_diag *d)
{
	mr_app *app = b->app;
	const char *cluster = e->kind == E_ISSUE ? e->rq.cluster : e->item.cluster;
	char path[4096], buf[16384];
	size_t a = 0, c = 0, proof_len = 0;
	int r;

	if (e->kind == E_REFUSE) {
		char line[512];
		int k = snprintf(line, sizeof(line), "%s\n", e->why);
		if (mr_media_path(path, sizeof(path), b->media, MR_MEDIA_ANSWERS, cluster, ".pem") == MR_OK)
			remove(path);
		if (mr_media_path(path, sizeof(path), b->media, MR_MEDIA_ANSWERS, cluster, ".audit") == MR_OK)
			remove(path);
		if (k < 0 || mr_media_path(path, sizeof(path), b->media, MR_MEDIA_ANSWERS, cluster,
				 ".refused") != MR_OK)
			return mr_diag_set(d, MR_E_RANGE, "media path too long");
		return mr_file_group_stage(g, path, line, strlen(line), 0644, d);
	}
	const mr_issued *is = &w->iss[e->slot].is;
	if (mr_pem_write("CERTIFICATE", is->der, is->der_len, buf, sizeof(buf), &a) != MR_OK ||
	    mr_pem_write("CERTIFICATE", app->root_der, app->root_len, buf + a, sizeof(buf) - a,
		&c) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "answer does not fit");
	/* The proof that the issue record is in the log goes with every
	 * certificate, under the window's checkpoint. */
	if ((r = mr_app_issue_proof_in(app, b->cp, strlen(b->cp), is->serial, is->audit_index,
		 is->record, is->record_len, b->proof, sizeof(b->proof), &proof_len, d)) != MR_OK)
		return r;
	if (mr_media_path(path, sizeof(path), b->media, MR_MEDIA_ANSWERS, cluster, ".refused") == MR_OK)
		remove(path);
	if (mr_media_path(path, sizeof(path), b->media, MR_MEDIA_ANSWERS, cluster, ".audit") != MR_OK ||
	    (r = mr_file_group_stage(g, path, b->proof, proof_len, 0644, d)) != MR_OK ||
	    mr_media_path(path, sizeof(path), b->media, MR_MEDIA_ANSWERS, cluster, ".pem") != MR_OK ||
	    (r = mr_file_group_stage(g, path, buf, a + c, 0644, d)) != MR_OK)
		return r != MR_OK ? r : mr_diag_set(d, MR_E_RANGE, "media path too long");
	return MR_OK;
}

static mr_worker answer_writer = MR_WORKER_INIT("mr-answers", mr_cpus_enter_rest, NULL);

static void
commit_job(void *arg)
{
	answer_job *j = arg;
	size_t done = 0;

	j->r = mr_file_group_commit(&j->g, &done, &j->d);
	mr_file_group_free(&j->g);
	for (size_t i = 0; j->r == MR_OK && i < j->fresh; i++)
		mr_crashpoint("after-answer");
}

/* Hands the staged answers to the writer (in line without a thread). */
static void
answers_post(batch *b)
{
	b->aj.posted = 1;
	mr_diag_clear(&b->aj.d);
	if (mr_worker_post(&answer_writer, commit_job, &b->aj) != 0)
		commit_job(&b->aj);
}

/* Waits for the last window's answers to be on the media: MR_OK, or
 * MR_E_STATE after saying why (issued and recorded: the next run writes
 * them again). */
static int
answers_wait(batch *b)
{
	if (!b->aj.posted)
		return MR_OK;
	mr_worker_wait(&answer_writer);
	b->aj.posted = 0;
	if (b->aj.r == MR_OK)
		return MR_OK;
	mr_progress_pause(&b->prog);
	mr_progress_stderr("error: writing the answers: %s\n", mr_diag_text(&b->aj.d, b->aj.r));
	return MR_E_STATE;
}

/* Finishes the window the token signed, signs one checkpoint over it and
 * releases its answers (committed on the writer's thread). Returns MR_OK,
 * or the failure that stops the batch. */
static int
release(batch *b, win *w, mr_diag *d)
{
	mr_app *app = b->app;
	mr_file_group *g = &b->aj.g;
	char path[4096];
	size_t cp_len = 0;
	unsigned fresh_before = b->bc.signed_new;
	int r, fatal = MR_OK, answered = 0, told = 0;

	r = mr_issue_finish(&w->job, d);
	if (r != MR_OK)
		fatal = r;
	/* The window's refusals and skips are durable with its records; a
	 * window without issuance syncs them here. */
	if (fatal == MR_OK && w->n_iss == 0 && mr_audit_sync(&app->audit, d) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(d, MR_E_AUDIT));
		return MR_E_AUDIT;
	}
	if (fatal == MR_E_AUDIT || fatal == MR_E_DB) {
		mr_progress_pause(&b->prog);
		mr_progress_stderr("error: %s\n", mr_diag_text(d, fatal));
		return fatal;
	}
	if ((r = mr_app_checkpoint(app, b->cp, sizeof(b->cp), &cp_len, d)) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(d, r));
		return MR_E_AUDIT;
	}
	/* The window before is on the media first: answers go out in order,
	 * and its group is where this one's is staged. */
	if (answers_wait(b) != MR_OK)
		return MR_E_STATE;
	/* Only bytes here: the writer creates the files too. */
	mr_file_group_init_deferred(g, 0);
	if (mr_path_join(path, sizeof(path), b->media, MR_MEDIA_ANSWERS) != MR_OK ||
	    mr_mkdirs(path, 0755, d) != MR_OK)
		r = MR_E_IO;
	for (size_t i = 0; i < w->n && r == MR_OK; i++) {
		entry *e = &w->e[i];
		if (e->kind == E_SKIP)
			continue;
		if (e->kind == E_ISSUE && w->iss[e->slot].err != MR_OK) {
			int err = w->iss[e->slot].err;
			const char *why = mr_diag_text(&w->iss[e->slot].diag, err);
			if (err != MR_E_POLICY && err != MR_E_LINT)
				continue; /* not decided: the next run takes it again */
			e->kind = E_REFUSE;
			snprintf(e->why, sizeof(e->why), "%s", why);
		}
		r = stage_answer(b, w, g, e, d);
	}
	if (r != MR_OK) {
		mr_file_group_free(g);
		mr_progress_pause(&b->prog);
		/* Issued and recorded; the next run rewrites the answers. */
		mr_progress_stderr("error: writing the answers: %s\n", mr_diag_text(d, r));
		return MR_E_STATE;
	}
	mr_progress_pause(&b->prog);
	for (size_t i = 0; i < w->n; i++) {
		entry *e = &w->e[i];
		const mr_issue_item *is = e->kind == E_ISSUE ? &w->iss[e->slot] : NULL;
		if (e->kind == E_SKIP) {
			mr_console_say("request %s: skipped: %s\n", e->item.name, e->item.why);
			b->bc.skipped++;
		} else if (e->kind == E_REFUSE) {
			mr_console_say("request %s: %s%s\n", e->item.name,
			    strcmp(e->why, "declined by the operator") == 0 ? "" : "refused: ", e->why);
			b->bc.refused++;
		} else if (is->err != MR_OK) {
			/* One line for what stopped the window, on the first
			 * request it hit; the others wait for the next run. */
			if (!told && is->err != MR_E_CANCELLED) {
				mr_progress_stderr("error: request %s: %s\n", e->item.name,
				    mr_diag_text(&is->diag, is->err));
				told = 1;
			}
		} else if (is->is.already_issued) {
			mr_console_say("request %s: already issued as serial %s; answer rewritten, nothing signed\n",
			    e->item.name, is->is.serial);
			b->bc.signed_before++;
		} else {
			mr_console_say("request %s: issued serial %s\n", e->item.name, is->is.serial);
			b->bc.signed_new++;
		}
		answered++;
	}
	/* To the media: the writer commits them while the batch goes on. */
	b->aj.fresh = b->bc.signed_new - fresh_before;
	answers_post(b);
	if (fatal != MR_OK && !told)
		mr_progress_stderr("error: %s\n", mr_diag_text(d, fatal));
	mr_progress_step(&b->prog, (size_t)answered);
	return fatal == MR_OK ? MR_OK : MR_E_STATE;
}

/* Reads up to one window of entries from the parser into w. Returns 0
 * when entries are there to check; *end at the listing's end or when the
 * parser failed (*failed, reported). */
static int
collect(batch *b, mr_ps *ps, win *w, int *end, int *failed)
{
	static mr_ps_item in; /* one at a time, copied into the window */
	mr_diag d;
	int r;

	w->n = 0;
	w->arena_used = 0;
	while (w->n < MR_ISSUE_WINDOW) {
		entry *e = &w->e[w->n];
		entry_item *it = &e->item;
		mr_diag_clear(&d);
		if ((r = mr_ps_next(ps, &in, &d)) != MR_OK) {
			mr_progress_pause(&b->prog);
			mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
			*failed = 1;
			*end = 1;
			break;
		}
		if (in.kind == MR_PS_END) {
			*end = 1;
			break;
		}
		it->kind = in.kind;
		memcpy(it->name, in.name, sizeof(it->name));
		memcpy(it->cluster, in.cluster, sizeof(it->cluster));
		memcpy(it->why, in.why, sizeof(it->why));
		it->err = in.err;
		/* Each DER is at most MR_CSR_MAX_DER: a window's fit. */
		it->der_len = in.der_len <= MR_CSR_MAX_DER ? in.der_len : 0;
		it->der = w->arena + w->arena_used;
		memcpy(w->arena + w->arena_used, in.der, it->der_len);
		w->arena_used += it->der_len;
		w->n++;
	}
	return w->n > 0 ? 0 : -1;
}

/* Whether a request of `w` is also one of `in_flight`, a window the
 * engine has begun but not finished. */
static int
shares_request(const win *in_flight, const win *w)
{
	for (size_t i = 0; i < w->n_iss; i++)
		for (size_t j = 0; j < in_flight->n_iss; j++)
			if (memcmp(w->iss[i].rq->csr_hash, in_flight->iss[j].rq->csr_hash, 32) == 0)
				return 1;
	return 0;
}

/* A window the batch stopped beside: its signatures are stored and
 * recorded, not answered (the next run answers them from the records).
 * The batch has said why it stopped; a failure here has the same cause,
 * and what it leaves reserved is resolved, and said, at the next start. */
static void
finish_unanswered(win *w)
{
	mr_diag d;

	mr_diag_clear(&d);
	mr_issue_sign_wait(&w->job);
	if (mr_issue_finish(&w->job, &d) != MR_OK)
		mr_diag_clear(&d);
}

/* A failure of the confined request parser. Its channel is a socket pair
 * inside this machine: a parser that dies or breaks the protocol is a
 * failure (1), not a device or link error (6). */
static int
parser_fail(int err, const mr_diag *d)
{
	int rc = mr_fail(err, d);

	return rc == MR_EXIT_LINK ? MR_EXIT_FAIL : rc;
}

/* --review batch: the table and its one confirmation, then the listing
 * again for issuance. MR_OK to go on; otherwise the exit status. */
static int
review_batch(batch *b, mr_ps *ps, size_t *n, mr_diag *d)
{
	mr_app *app = b->app;
	int r = mr_review_batch(app, ps, *n, &b->rv, d);

	if (r == MR_E_CANCELLED) {
		/* Nothing is signed; the refusal is durable and signed. */
		if (mr_audit_sync(&app->audit, d) != MR_OK ||
		    mr_app_checkpoint(app, NULL, 0, NULL, d) != MR_OK)
			return mr_fail(MR_E_AUDIT, d);
		mr_progress_stderr("error: batch declined by the operator: nothing signed\n");
		return MR_EXIT_REFUSED;
	}
	if (r != MR_OK)
		return mr_fail(r, d);
	if ((r = mr_ps_rewind(ps, d)) != MR_OK || (r = mr_ps_list(ps, n, d)) != MR_OK)
		return parser_fail(r, d);
	return MR_OK;
}

/* The batch's first window read and its checks started on the checking
 * thread (the loop's check_wait collects them); NULL when the listing
 * has nothing (or the parser failed: *failed). */
static win *
first_window(batch *b, mr_ps *ps, int *end, int *failed)
{
	if (collect(b, ps, &b->w[0], end, failed) != 0)
		return NULL;
	check_start(b, &b->w[0]);
	return &b->w[0];
}

/* The token opened and its root key checked; the listing counted (unless
 * the caller did), and the root and the audit key written to the media.
 * 0, or the exit status of the failure (said). */
static int
open_and_announce(batch *b, mr_ps *ps, size_t *n, int listed, mr_diag *d)
{
	mr_app *app = b->app;
	char path[4096], pem[8192];
	size_t pem_len, stale = 0;
	int r;

	if ((r = mr_app_open_token(app, d)) != MR_OK || (r = mr_app_check_root_key(app, d)) != MR_OK)
		return mr_fail(r, d);
	/* The start's checks are done with: their wolfSSL tables go. */
	mr_sig_release_cache();
	if (!listed && (r = mr_ps_list(ps, n, d)) != MR_OK)
		return parser_fail(r, d);
	/* The root travels with every batch so the host can pin and check it,
	 * and the audit key with it. */
	if (mr_path_join(path, sizeof(path), b->media, MR_MEDIA_ROOT) != MR_OK ||
	    mr_pem_write("CERTIFICATE", app->root_der, app->root_len, pem, sizeof(pem),
		&pem_len) != MR_OK ||
	    mr_file_write_atomic(path, pem, pem_len, 0644, d) != MR_OK ||
	    mr_note_vkey_format(&app->audit_key, pem, sizeof(pem)) != MR_OK ||
	    mr_path_join(path, sizeof(path), b->media, MR_MEDIA_TOP "/audit-key.pub") != MR_OK ||
	    mr_file_write_atomic(path, pem, strlen(pem), 0644, d) != MR_OK)
		return mr_fail(MR_E_IO, d);
	/* A run killed while it wrote its answers (a pulled stick) leaves
	 * their temporary files; they are never answers, and go now. */
	if ((r = mr_media_sweep_temps(b->media, &stale, d)) != MR_OK)
		return mr_fail(r, d);
	if (stale > 0)
		mr_console_say("media %s: removed %zu temporary file(s) left by an interrupted run\n",
		    b->media, stale);
	return MR_EXIT_OK;
}

static int
sign_media(mr_app *app, const char *media, mr_ps *ps, int review)
{
	batch *b;
	size_t n = 0;
	mr_diag d;
	int r, stop = 0, parser_failed = 0, end = 0, rc;
	win *cur = NULL, *signing = NULL;

	mr_diag_clear(&d);
	/* A stick that is not mounted, or not ours, is said so before the
	 * state dir or the token is touched. */
	if ((r = mr_media_check(media, &d)) != MR_OK)
		return mr_fail(r, &d);
	/* The parser first: it must never share an address space or a
	 * descriptor with the state dir or the token session. */
	if ((r = mr_ps_start(ps, media, &d)) != MR_OK)
		return parser_fail(r, &d);
	/* The token opens on a thread of its own while the state loads; the
	 * config comes first, as the module's arguments may be in it. */
	if ((r = mr_app_load_config(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	mr_app_token_open_early(app);
	/* The points a batch's verifications will take, resident at once. */
	mr_pointpool_prefault(MR_POINTPOOL_BATCH);
	if ((r = mr_app_load(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	/* The read-back's tables are built on its own thread while the
	 * token opens and the first window is read and checked. */
	mr_issue_prepare(app);
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return mr_fail(mr_diag_set(&d, MR_E_NOMEM, "out of memory"), &d);
	b->app = app;
	b->media = media;
	b->review = review;
	/* Without a review, the first window is read and its requests checked
	 * (policy and the root loaded are all they need) while the token
	 * opens: its first signature comes that much sooner. */
	if (!review) {
		if ((r = mr_ps_list(ps, &n, &d)) != MR_OK) {
			free(b);
			return parser_fail(r, &d);
		}
		cur = first_window(b, ps, &end, &parser_failed);
	}
	if ((rc = open_and_announce(b, ps, &n, !review, &d)) != MR_EXIT_OK) {
		if (cur != NULL)
			check_wait(cur);
		free(b);
		return rc;
	}
	mr_console_say("media %s: %zu request file(s)\n", media, n);
	if (ps->ignored > 0) {
		char note[160];
		mr_media_ignored_note(ps->ignored, note, sizeof(note));
		fflush(stdout);
		mr_progress_stderr("%s\n", note);
	}
	if (review && (rc = review_batch(b, ps, &n, &d)) != MR_OK) {
		mr_review_free(&b->rv);
		free(b);
		return rc;
	}
	mr_progress_start(&b->prog, "sign", n);
	/* Every record of the batch is made durable by its window's group
	 * commit, before that window's answers are written. */
	mr_audit_defer(&app->audit, 1);
	mr_db_defer(&app->db, 1);
	if (review)
		cur = first_window(b, ps, &end, &parser_failed);
	while (!stop && (cur != NULL || signing != NULL)) {
		win *next = NULL, *done;

		/* Window N+1 is taken and begun while the token signs N. */
		if (cur != NULL) {
			check_wait(cur);
			cur->n_iss = 0;
			for (size_t i = 0; i < cur->n && !stop; i++) {
				mr_diag_clear(&d);
				if ((r = take(b, cur, &cur->e[i], &d)) != MR_OK) {
					mr_progress_pause(&b->prog);
					mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
					stop = 1;
				}
			}
			if (stop)
				break;
			/* The same request twice on a stick, in two windows: the
			 * second is begun once the first is issued, and answered
			 * from it. */
			if (signing != NULL && shares_request(signing, cur)) {
				mr_issue_sign_wait(&signing->job);
				done = signing;
				signing = NULL;
				if (release(b, done, &d) != MR_OK) {
					stop = 1;
					break;
				}
			}
			mr_issue_begin(&cur->job, app, cur->iss, cur->n_iss, &cur->iss_bytes);
			/* Queued behind N: the token goes on to N+1 the moment
			 * it is done with N, without waiting for this thread. */
			mr_issue_sign_start(&cur->job);
			/* Window N+2 is read and checked meanwhile. */
			if (!end) {
				for (size_t i = 0; i < 3 && next == NULL; i++)
					if (&b->w[i] != cur && &b->w[i] != signing)
						next = &b->w[i];
				if (collect(b, ps, next, &end, &parser_failed) == 0)
					check_start(b, next);
				else
					next = NULL;
			}
		}
		/* N is answered while the token signs N+1. */
		done = signing;
		if (done != NULL)
			mr_issue_sign_wait(&done->job);
		signing = cur;
		if (done != NULL && release(b, done, &d) != MR_OK)
			stop = 1;
		cur = next;
	}
	if (answers_wait(b) != MR_OK)
		stop = 1;
	if (signing != NULL)
		finish_unanswered(signing);
	for (size_t i = 0; i < 3; i++)
		check_wait(&b->w[i]);
	if (!stop && !parser_failed && (r = mr_ps_finish(ps, &d)) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
		parser_failed = 1;
	}
	/* What a failed window left unsynced (its refusals, an abandon) is
	 * made durable and signed too. */
	if (!stop && (mr_audit_sync(&app->audit, &d) != MR_OK || mr_db_sync(&app->db, &d) != MR_OK ||
		mr_app_checkpoint(app, NULL, 0, NULL, &d) != MR_OK)) {
		mr_progress_stderr("error: %s\n", mr_diag_text(&d, MR_E_AUDIT));
		stop = 1;
	}
	mr_audit_defer(&app->audit, 0);
	mr_db_defer(&app->db, 0);
	mr_progress_end(&b->prog);
	mr_console_say("summary: %u signed, %u answered from earlier runs, %u refused, %u skipped\n",
	    b->bc.signed_new, b->bc.signed_before, b->bc.refused, b->bc.skipped);
	mr_json_put_int(jdoc, "requests", (long long)n);
	mr_json_put_int(jdoc, "signed", b->bc.signed_new);
	mr_json_put_int(jdoc, "answered_before", b->bc.signed_before);
	mr_json_put_int(jdoc, "refused", b->bc.refused);
	mr_json_put_int(jdoc, "skipped", b->bc.skipped);
	fflush(stdout); /* the summary ends before an error line starts */
	rc = MR_EXIT_OK;
	if (stop) {
		mr_progress_stderr("error: batch stopped: state or audit failure (see above)\n");
		mr_json_put_str(jdoc, "error", "batch stopped: state or audit failure");
		rc = MR_EXIT_FAIL;
	} else if (parser_failed) {
		mr_progress_stderr("error: batch stopped: the request parser failed (see above); "
				"nothing it sent afterwards was used\n");
		mr_json_put_str(jdoc, "error", "batch stopped: the request parser failed");
		rc = MR_EXIT_FAIL;
	} else if (b->bc.refused + b->bc.skipped > 0) {
		char why[128];
		snprintf(why, sizeof(why), "%u of %zu request file(s) not signed",
		    b->bc.refused + b->bc.skipped, n);
		mr_progress_stderr("error: %s\n", why);
		mr_json_put_str(jdoc, "error", why);
		/* A refusal (policy, operator) is 4; only skipped files, which
		 * are no requests at all, are bad input. */
		rc = b->bc.refused > 0 ? MR_EXIT_REFUSED : MR_EXIT_INPUT;
	}
	mr_review_free(&b->rv);
	free(b);
	return rc;
}

int
cmd_sign(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "media", required_argument, NULL, 'm' },
		{ "yes", no_argument, NULL, 'y' },
		{ "review", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *media = NULL;
	int c, review = 0, json = 0;
	mr_jsonout out = { -1 };

	optind = 0; /* 0: glibc fully re-initialises its scanner */
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'm': media = optarg; break;
		case 'y': app->yes = 1; break;
		case 'j': json = 1; break;
		case 'r':
			if (strcmp(optarg, "each") == 0)
				review = 0;
			else if (strcmp(optarg, "batch") == 0)
				review = 1;
			else
				return APP_USAGE("sign", "--review takes each or batch");
			break;
		case 'h': APP_HELP(stdout, "sign"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("sign", c, argv);
		}
	}
	if (optind != argc)
		return APP_EXTRA("sign", argv[optind]);
	if (media == NULL)
		return APP_USAGE("sign", "sign needs --media DIR");
	mr_ps ps;
	mr_diag d;
	int rc;

	/* The state dir's owner before anything: a second batch on it must
	 * not even start a parser. (The parser closes its copy of the lock.) */
	mr_diag_clear(&d);
	if ((rc = mr_app_lock(app, &d)) != MR_OK)
		return mr_fail(rc, &d);
	if (json) {
		if (mr_jsonout_begin(&out) != 0) {
			fprintf(stderr, "error: cannot set up the JSON output\n");
			return 1;
		}
		jdoc = mr_json_doc("meshroot-appliance.sign");
		mr_json_put_str(jdoc, "media", media);
		mr_json_put(jdoc, "error", NULL);
	}
	rc = sign_media(app, media, &ps, review);
	mr_issue_prepare_wait();
	/* Whatever happened, the parser does not outlive the batch. */
	mr_ps_stop(&ps);
	if (json) {
		mr_json_put_int(jdoc, "exit_code", rc);
		if (rc != 0 && json_object_get_type(json_object_object_get(jdoc, "error")) ==
		    json_type_null)
			mr_json_put_str(jdoc, "error", mr_fail_last());
		if (mr_jsonout_end(&out, jdoc) != 0) {
			fprintf(stderr, "error: cannot write the JSON document\n");
			rc = rc != 0 ? rc : 1;
		}
		jdoc = NULL;
	}
	return rc;
}

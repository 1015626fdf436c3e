/*
 * Issuing one intermediate CA certificate. The order is the security
 * argument, so it is spelled out:
 *
 *   1. the request is parsed (bounded), its self-signature checked and the
 *      key type checked against policy (mr_request_parse);
 *   2. the operator approves it (caller; recorded in the audit log);
 *   3. the TBS is built from policy alone and linted; a lint failure is a
 *      refusal, and the token never sees the bytes;
 *   4. the serial is reserved in the database (fsync) so it can never be
 *      used twice, even across a crash;
 *   5. the token signs the TBS digest; the certificate is assembled,
 *      re-parsed, its TBS compared byte for byte with what was built, its
 *      signature verified with the root key and linted again;
 *   6. the certificate is stored in the state dir, then the audit record
 *      is appended (the commit point), then the database records the issue.
 *
 * Only then is the certificate handed back for release. A failure after
 * step 4 abandons the reservation (audited) before it is reported; a
 * refusal is audited before it is reported (MR_E_AUDIT if it cannot be).
 */
#ifndef MR_ISSUE_H
#define MR_ISSUE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mr_app.h"
#include "mr_csr.h"
#include "mr_record.h"

typedef struct {
	char cluster[64];
	uint8_t csr_hash[32]; /* SHA-256 of the CSR DER */
	char csr_hash_hex[65];
	mr_csr csr;           /* views into the caller's DER buffer */
	char ignored[256];    /* what the CSR asked for that is not issued */
} mr_request;

/* Step 1. MR_E_CSR (malformed, or a self-signature that does not verify)
 * or MR_E_POLICY, with the reason in d. */
int mr_request_parse(const mr_app *app, const char *cluster, const uint8_t *der, size_t n,
    mr_request *rq, mr_diag *d) MR_MUST_CHECK;
/* Step 1 in two parts, for a caller that checks self-signatures on a
 * thread of its own (serve): everything but the self-signature, then the
 * self-signature alone (MR_E_CSR, the same text as mr_request_parse). A
 * request is approved only after both passed. */
int mr_request_parse_unverified(const mr_app *app, const char *cluster, const uint8_t *der,
    size_t n, mr_request *rq, mr_diag *d) MR_MUST_CHECK;
int mr_request_verify(const mr_request *rq, mr_diag *d) MR_MUST_CHECK;

/* Writes the request as the operator sees it before approving. */
void mr_request_describe(const mr_app *app, const mr_request *rq, char *out, size_t cap);

/* An issued certificate as the engine hands it back. Its bytes are in the
 * window's arena (mr_issue_arena) and stay there until the window is
 * begun again. */
typedef struct {
	size_t der_len;
	const uint8_t *der;
	char serial[41];
	int already_issued; /* the same request was issued before: no new signature */
	/* The issue record, when this run wrote it: the audit proof is built
	 * from it without searching the log. audit_index -1: not known
	 * (record "" then). */
	long audit_index;
	size_t record_len;
	const char *record;
} mr_issued;

/* The stored certificate of a request issued before (no new signature):
 * MR_E_NOTFOUND when the request hash was never issued. der gets up to
 * cap bytes; is->der points into it. */
int mr_issue_stored(mr_app *app, const char *request_hex, uint8_t *der, size_t cap,
    mr_issued *is, mr_diag *d) MR_MUST_CHECK;

/*
 * Group commit: steps 3-6 for up to MR_ISSUE_WINDOW approved requests at
 * once, with the same order per request and one durable step for all of
 * them where one request at a time would make one each:
 *
 *   a. build, lint and reserve every request; then the database and the
 *      audit log are fsync'ed (the reservations, and the caller's approval
 *      records, are durable before the token signs anything);
 *   b. sign and check each; every certificate file is stored with one
 *      group commit (mr_file_group: one syncfs, the links, one directory
 *      fsync);
 *   c. append every issue record (the commit points), then every database
 *      issue line, then abandons for what failed; then log and database are
 *      fsync'ed once each.
 *
 * Only after c. is anything released: on return, exactly the items with
 * err == MR_OK are issued and durable (an issue record whose fsync failed
 * is not released: recovery resolves it at the next start). A refused
 * item has err and diag (its refusal audited); MR_E_CANCELLED means the
 * window stopped before the item was reached (nothing recorded for it).
 * Returns MR_OK, or the failure (token, state, audit) that must stop the
 * batch, with one line in d.
 */
#define MR_ISSUE_WINDOW 32

/*
 * The bytes of a window's items, packed one after the other as the engine
 * makes them: each item's TBS (a.), certificate (b.) and issue record (c.).
 * Room for the largest of each, but a real item fills about 2.5 KiB of
 * its 10 KiB, and a page never touched is never resident: memory is the
 * same whatever the batch's size. The caller owns it (with its window);
 * mr_issue_begin empties it.
 */
#define MR_ISSUE_TBS_MAX 4096
#define MR_ISSUE_CERT_MAX 4096
#define MR_ISSUE_ITEM_BYTES (MR_ISSUE_TBS_MAX + MR_ISSUE_CERT_MAX + MR_RECORD_MAX + 1)

typedef struct {
	size_t used;
	uint8_t bytes[MR_ISSUE_WINDOW * MR_ISSUE_ITEM_BYTES];
} mr_issue_arena;

typedef struct {
	const mr_request *rq;   /* in: parsed, approved (approval audited) */
	int err;                /* out */
	mr_diag diag;
	/* the engine's, between its steps */
	int step;
	size_t dup_of;          /* the same request earlier in the window */
	uint8_t serial[16];
	mr_der tbs;             /* in the window's arena */
	mr_cert built;
	mr_cert signed_cert;    /* the read-back's parse: views into is.der */
	mr_issued is;           /* out */
} mr_issue_item;

/*
 * The same window in three steps, so that a batch keeps the token busy:
 * while the token signs window N (mr_issue_sign_start: on a thread of its
 * own), the caller finishes window N-1 (mr_issue_finish: b.'s store and
 * c.) and releases its answers, then begins window N+1 (mr_issue_begin:
 * a.). Each window keeps the order above; what the signing thread touches
 * is the token (one call at a time; the holder runs the calls others
 * asked for meanwhile: token_pkcs11.c) and the window's own items and
 * arena, never the state dir.
 *
 * The caller defers the state dir's writes (mr_audit_defer, mr_db_defer)
 * across the pipeline, waits for a window's signing before it finishes
 * that window or begins another signing, and never has two windows in
 * flight that share a request hash: a window's duplicate check sees the
 * database, where a request still being signed is only reserved.
 */
/* A window's read-back (issue.c's own): the signing thread publishes
 * each item, the read-back thread checks them in order. */
typedef struct {
	const mr_app *app;
	mr_issue_item *v;
	size_t k;
	time_t now;
	size_t published;       /* items [0, published) are the checker's */
	size_t checked;         /* items [0, checked) are checked */
	int posted;             /* handed to the read-back thread */
	int stop;               /* a check failed: sign nothing more */
	int stop_err;
	mr_diag stop_diag;
} mr_issue_readback;

typedef struct {
	mr_app *app;
	mr_issue_item *v;
	size_t k;
	mr_issue_arena *arena;  /* the items' bytes */
	time_t now;
	int r;                  /* the window's failure so far */
	mr_diag d;
	int threaded;           /* handed to the signing thread */
	unsigned long ticket;   /* its number there (mr_worker_queue) */
	mr_issue_readback rb;
} mr_issue_job;

/* a.; a failure is kept in job and stops the window's signing. */
void mr_issue_begin(mr_issue_job *job, mr_app *app, mr_issue_item *v, size_t k,
    mr_issue_arena *arena);
/* b.'s signing, on the signing thread (in line if it cannot start), and
 * its read-back, on the read-back thread: mr_issue_sign_wait returns once
 * the token has signed the window, whose read-back may still go on (so
 * the token can go on with the next window at once); mr_issue_finish
 * waits for it. A window started while the token still signs the one
 * before is queued behind it: the token goes on to it the moment it is
 * done, without waiting for the caller. From then on the calling thread,
 * and the threads it starts later, leave the signing thread's core to it
 * (mr_cpus.h): until the token has work, the start uses every core. */
void mr_issue_sign_start(mr_issue_job *job);
void mr_issue_sign_wait(mr_issue_job *job);
/* 1 when mr_issue_sign_wait would not wait. */
int mr_issue_sign_done(const mr_issue_job *job);
/* The rest of b. and c.: MR_OK, or the failure (token, state, audit)
 * that must stop the batch, with one line in d. */
int mr_issue_finish(mr_issue_job *job, mr_diag *d) MR_MUST_CHECK;

/* Before a batch: the read-back thread (issue.c) begins to build its
 * tables for the root key (about 140 million instructions for P-384), so
 * that memory does not grow with the first windows and no window pays
 * for them. Returns at once: the build overlaps the token's opening and
 * the first window's checks, and the first read-back waits for it.
 * Optional; a no-op without threads. Once app->root is loaded; app must
 * outlive mr_issue_prepare_wait, which a command that prepared calls
 * before it returns (whatever the outcome), so that no thread still
 * computes while the process exits. */
void mr_issue_prepare(const mr_app *app);
void mr_issue_prepare_wait(void);

#endif

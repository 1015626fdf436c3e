/*
 * The appliance's side of the link protocol (docs/protocol.md), independent
 * of the transport: cmd_serve.c feeds it frames from a unix socket or the
 * FunctionFS endpoints, the umockdev tests from an emulated USB device.
 *
 * Like OpenSSH's monitor, it answers a fixed table of requests, each only
 * in the session state that permits it: INFO opens a session, every other
 * request must carry the next sequence number (or repeat the last one: all
 * four operations are idempotent, so a retransmission is harmless).
 *
 * A submitted request is parsed and checked against policy at once; a
 * request hash that was issued before is answered from the issuance
 * database without a new signature; anything else waits in a bounded
 * queue for the operator, who sees it exactly as on the media path
 * (mr_request_describe). Approvals and refusals are audited before any
 * result is released (cmd_sign.c's order).
 */
#ifndef MR_SERVE_H
#define MR_SERVE_H

#include <stddef.h>
#include <stdint.h>

#include "mr_app.h"
#include "mr_issue.h"
#include "mr_checkpoint.h"
#include "mr_link.h"

/* Requests waiting for approval at once. The host keeps at most this
 * many in flight (INFO's QUEUE, FREE in every SUBMIT and RESULT reply). */
#define MR_SERVE_QUEUE 128
/* Approved requests issued together by one mr_serve_issue_group (auto
 * approval takes every pending request up to this many at once). */
#define MR_SERVE_GROUP 32
#define MR_SERVE_WHY_MAX 319 /* an mr_diag line */

/*
 * A request as the link front end decoded it (mr_serve_front_frame): the
 * only thing the signer's operations (mr_serve_op) are given. For SUBMIT,
 * the front end has decoded the batch, bounded every CSR, checked the
 * cluster name and parsed each CSR and its self-signature: an item that
 * failed carries refused, err and why (the text mr_request_parse would
 * give); the signer re-parses every other one (mr_request_parse).
 */
typedef struct {
	char cluster[64];
	mr_der csr;
	int refused;
	int err;                /* MR_E_POLICY or MR_E_CSR */
	char why[MR_SERVE_WHY_MAX + 1];
} mr_serve_csr;

typedef struct {
	uint8_t op;             /* MR_OP_INFO .. MR_OP_AUDIT */
	size_t n;               /* csrs (SUBMIT) or hashes (RESULT) */
	mr_serve_csr csrs[MR_LINK_MAX_BATCH];
	uint8_t hashes[MR_LINK_MAX_RESULTS][32];
	uint32_t index;         /* AUDIT */
} mr_serve_req;

/* Performs one decoded request: fills w (the reply payload) and returns
 * MR_OK, or an mr_err with msg (the error reply's text). */
typedef int (*mr_serve_op_fn)(void *ctx, const mr_serve_req *rq, mr_link_w *w, char *msg,
    size_t msg_cap);

/* The link front end: frame decoding, the session (INFO first) and the
 * sequence numbers. In `serve --listen` it runs in the confined link
 * process and its op forwards to the signer (mr_serve_ps.h); elsewhere op
 * is mr_serve_op in the same process. */
typedef struct {
	int session;
	uint16_t seq;
	mr_serve_op_fn op;
	void *ctx;
	mr_serve_req rq;
	uint8_t payload[MR_LINK_MAX_PAYLOAD]; /* reply being built */
} mr_serve_front;

void mr_serve_front_init(mr_serve_front *f, mr_serve_op_fn op, void *ctx);

/* Answers one whole frame in[0..n) into out (cap >= MR_LINK_MAX_FRAME).
 * Always produces a reply frame: an error reply for anything malformed. */
void mr_serve_front_frame(mr_serve_front *f, const uint8_t *in, size_t n, uint8_t *out,
    size_t cap, size_t *out_len);

typedef enum {
	MR_APPROVE_CONSOLE,
	MR_APPROVE_BUTTON,
	MR_APPROVE_AUTO,     /* tests and demos; recorded as "--approve auto" */
	MR_APPROVE_EXTERNAL, /* tests: decisions through mr_serve_decide */
} mr_approve_mode;

typedef struct {
	int used;
	uint8_t state;          /* MR_RS_* */
	uint8_t hash[32];
	unsigned long order;
	uint8_t *der;           /* the CSR (pending only) */
	size_t der_len;
	mr_request rq;          /* views into der */
	int checked;            /* its self-signature verified (pending only) */
	int checking;           /* ... being verified on the checking thread */
	int shown;
	char reason[MR_LINK_MAX_MESSAGE + 1];
	/* Issued by this serve (ISSUED only): the certificate and its issue
	 * record as the window wrote them, so RESULT answers from memory
	 * instead of the state dir and a scan of the audit log. */
	uint8_t *cert;
	size_t cert_len;
	char serial[41];
	long audit_index;       /* -1: not known (RESULT looks it up) */
	char *record;
	size_t record_len;
} mr_serve_item;

typedef struct mr_serve_group mr_serve_group; /* serve.c */
typedef struct mr_serve_check mr_serve_check; /* serve.c */

typedef struct {
	mr_app *app;
	mr_approve_mode mode;
	const char *via;        /* "usb" or "socket", for the audit log */
	mr_serve_front front;   /* the in-process front end (mr_serve_frame) */
	char token_label[33], token_serial[17], device_serial[33];
	mr_serve_item items[MR_SERVE_QUEUE];
	unsigned long next_order;
	int fatal;              /* an audit/state failure: nothing more is issued */
	mr_diag fatal_diag;
	unsigned issued, refused;
	char proof[MR_AUDIT_PROOF_MAX];       /* an audit proof being sent */
	/* The last signed checkpoint and the log size it covers: every
	 * RESULT proves its issue records against it while it covers them
	 * (one token signature per group, not per certificate). */
	char cp[MR_CHECKPOINT_MAX];
	size_t cp_len, cp_size;
	/* Groups through the engine: see mr_serve_issue_group; inflight is
	 * the one the token signs while the loop answers the link, ready
	 * the next one, approved and reserved, waiting for the token. */
	mr_serve_group *groups[2], *inflight, *ready;
	/* Self-signatures of new requests, checked on a thread of their own
	 * while the loop answers the link and the token signs. */
	mr_serve_check *check;
	/* Progress on the console (auto approval). */
	double started, said;
	unsigned said_issued, said_refused;
} mr_server;

/* app must be loaded, logged in and its root key checked. Audits the start
 * of serving (with the approval mode). */
int mr_serve_init(mr_server *s, mr_app *app, mr_approve_mode mode, const char *via,
    mr_diag *d) MR_MUST_CHECK;
void mr_serve_free(mr_server *s);

/* A new connection (socket) or a bus reset (USB): INFO must come first. */
void mr_serve_reset_session(mr_server *s);

/* The signer's side: one request the front end decoded (an
 * mr_serve_op_fn; ctx is the mr_server). */
int mr_serve_op(void *ctx, const mr_serve_req *rq, mr_link_w *w, char *msg, size_t msg_cap)
    MR_MUST_CHECK;

/* mr_serve_front_frame with s's own front end and mr_serve_op, in this
 * process (--usb and the umockdev tests). */
void mr_serve_frame(mr_server *s, const uint8_t *in, size_t n, uint8_t *out, size_t cap,
    size_t *out_len);

/* The reply for a frame the stream reader rejected (mr_linkio_recv's
 * error): h may be NULL when no header could be decoded. */
void mr_serve_error_frame(const mr_link_hdr *h, int err, const char *msg, uint8_t *out,
    size_t cap, size_t *out_len);

/* Puts the oldest pending request before the operator and waits at most
 * timeout_ms for a decision; with auto approval, approves and issues every
 * pending request (up to MR_SERVE_GROUP) at once, without waiting. MR_OK,
 * or MR_E_AUDIT / MR_E_STATE when serving must stop (s->fatal_diag says
 * why). */
int mr_serve_step(mr_server *s, int timeout_ms) MR_MUST_CHECK;

/* Approves and issues the pending items it[0..n) as one group: each
 * approval audited, each certificate issued (mr_issue), then one signed
 * checkpoint for the group before any result of it can leave (RESULT is
 * answered only between groups). MR_OK, or MR_E_AUDIT / MR_E_STATE when
 * serving must stop. */
int mr_serve_issue_group(mr_server *s, mr_serve_item **it, size_t n, const char *by)
    MR_MUST_CHECK;

/* Number of requests waiting for the operator. */
size_t mr_serve_pending(const mr_server *s);

/* 1 when mr_serve_step has work it can do without waiting for anyone
 * (auto approval with requests pending): the caller must not sleep. */
int mr_serve_ready(const mr_server *s);

/* 1 while the token signs a group (auto approval): the loop answers the
 * link meanwhile and looks again soon. */
int mr_serve_signing(const mr_server *s);

/* Before serving ends: the group the token is signing is finished (its
 * records durable, its checkpoint signed). MR_OK or what stopped it. */
int mr_serve_drain(mr_server *s) MR_MUST_CHECK;

/* The console's progress line (auto approval): at most every 2 s, or now
 * when force is set and something changed since the last one. */
void mr_serve_progress(mr_server *s, int force);

/* MR_APPROVE_EXTERNAL: decides the pending request with this hash. */
int mr_serve_decide(mr_server *s, const uint8_t hash[32], int approve, const char *by)
    MR_MUST_CHECK;

#endif

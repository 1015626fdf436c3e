/*
 * The link process of `serve --listen` and `serve --usb` and the signer's
 * side of its protocol (mr_serve_ps.h): the session's table, the requests
 * and their answers, and the link process's work on the host's frames.
 * Spawning, reading checked messages and reporting the link process's end
 * are the helper engine's (mr_helper.h). The link process's half is at the
 * bottom: it never returns.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board_api.h"
#include "mr_helper.h"
#include "mr_link_ffs.h"
#include "mr_link_socket.h"
#include "mr_linkio.h"
#include "mr_sandbox.h"
#include "mr_serve_ps.h"

#define TEXT_MAX MR_SERVE_WHY_MAX
_Static_assert(TEXT_MAX == MR_HELPER_TEXT_MAX, "one text bound for every helper message");
/* A SUBMIT's CSRs came in one frame: their bytes together are at most a
 * payload; the rest of each item is bounded. */
#define ITEM_FIXED (1 + 1 + 63 + 2 + 4 + 2 + TEXT_MAX)
#define SUBMIT_MAX (1 + MR_LINK_MAX_BATCH * ITEM_FIXED + MR_LINK_MAX_PAYLOAD)
#define ANSWER_MAX (4 + 2 + MR_LINK_MAX_MESSAGE + 4 + MR_LINK_MAX_PAYLOAD)
#define BODY_MAX (SUBMIT_MAX > ANSWER_MAX ? SUBMIT_MAX : ANSWER_MAX)
/* A message, once begun, must arrive whole within this. */
#define INNER_MS 2000
/* The link process's own timing. On a socket it waits for the host's next
 * frame as long as it takes (the signer ends it); on USB it looks for a
 * bus reset between frames. */
#define USB_POLL_MS 100
#define FRAME_MS 2000
#define DRAIN_MS 50

enum { T_NEW = 'N', T_RESET = 'X', T_INFO = 'I', T_SUBMIT = 'S', T_RESULT = 'R', T_AUDIT = 'A',
	T_NOTE = 'L', T_FAIL = 'F', T_ANSWER = 'Y', T_PROBE = MR_HELPER_PROBE };
enum { ST_OUT = 1, ST_SESSION = 2, ST_ANY = 3 };

/* Every message the signer accepts, the session states it is accepted
 * in and its body length bounds (checked before the body is read). */
static const mr_helper_msg table[] = {
	{ T_NEW, ST_ANY, 0, 0, "NEW" },
	{ T_RESET, ST_ANY, 0, 0, "RESET" },
	{ T_INFO, ST_ANY, 0, 0, "INFO" },
	{ T_SUBMIT, ST_SESSION, 1, SUBMIT_MAX, "SUBMIT" },
	{ T_RESULT, ST_SESSION, 1 + 32, 1 + MR_LINK_MAX_RESULTS * 32, "RESULT" },
	{ T_AUDIT, ST_SESSION, 4, 4, "AUDIT" },
	{ T_NOTE, ST_ANY, 2, 2 + TEXT_MAX, "NOTE" },
	{ T_FAIL, ST_ANY, 2, 2 + TEXT_MAX, "FAIL" },
};

static const mr_helper_proto proto = { "link process", "outside a session", table,
	sizeof(table) / sizeof(table[0]), INNER_MS };

/* What the link process accepts from the signer: one ANSWER to each
 * request, whenever it comes. */
static const mr_helper_msg answer_table[] = {
	{ T_ANSWER, ST_ANY, 4 + 2 + 4, ANSWER_MAX, "ANSWER" },
};

static const mr_helper_proto answer_proto = { "signer", "out of order", answer_table, 1,
	INNER_MS };

/* ---- the signer's side ---- */

static int
ended(mr_sps *p, const char *what, mr_diag *d)
{
	p->dead = 1;
	return mr_helper_ended(&proto, &p->pid, what, d);
}

static void
kill_child(mr_sps *p)
{
	mr_helper_kill(&p->pid);
	p->dead = 1;
}

static int
violation(mr_sps *p, const char *what, mr_diag *d)
{
	p->dead = 1;
	return mr_helper_violation(&proto, &p->pid, what, d);
}

static int
decode_submit(mr_psrd *r, mr_serve_req *rq)
{
	uint32_t n, v;

	if (mr_psrd_u(r, 1, &n) != 0 || n > MR_LINK_MAX_BATCH)
		return -1;
	rq->n = n;
	for (size_t i = 0; i < n; i++) {
		mr_serve_csr *c = &rq->csrs[i];
		memset(c, 0, sizeof(*c));
		if (mr_psrd_u(r, 1, &v) != 0 || v > 1)
			return -1;
		c->refused = (int)v;
		if (mr_psrd_str(r, 1, sizeof(c->cluster) - 1, c->cluster, sizeof(c->cluster)) != 0)
			return -1;
		mr_ps_printable(c->cluster); /* shown on the console and audited as given */
		/* Empty only when refused (the front end refuses an empty CSR). */
		if (mr_psrd_u(r, 2, &v) != 0 || (v == 0 && !c->refused) || v > MR_CSR_MAX_DER ||
		    v > r->n)
			return -1;
		/* A view into the message body: it outlives the operation. */
		c->csr = mr_der_view(r->p, v);
		r->p += v;
		r->n -= v;
		if (!c->refused)
			continue;
		/* Only the refusals the front end's checks can give. */
		if (mr_psrd_u(r, 4, &v) != 0 || ((int)(int32_t)v != MR_E_POLICY &&
		    (int)(int32_t)v != MR_E_CSR))
			return -1;
		c->err = (int)(int32_t)v;
		if (mr_psrd_str(r, 2, TEXT_MAX, c->why, sizeof(c->why)) != 0)
			return -1;
		mr_ps_printable(c->why);
	}
	return r->n == 0 ? 0 : -1;
}

int
mr_sps_decode(uint8_t type, const uint8_t *body, size_t len, mr_serve_req *rq, char *text,
    size_t cap, const char **why)
{
	mr_psrd rr = { body, len };
	uint32_t v;

	memset(rq, 0, offsetof(mr_serve_req, csrs));
	text[0] = '\0';
	switch (type) {
	case T_NOTE:
	case T_FAIL:
	case T_PROBE:
		if (mr_psrd_str(&rr, 2, TEXT_MAX, text, cap) != 0 || rr.n != 0) {
			*why = "sent a malformed text";
			return -1;
		}
		mr_ps_printable(text);
		return 0;
	case T_NEW:
	case T_RESET:
		return 0;
	case T_INFO:
		rq->op = MR_OP_INFO;
		return 0;
	case T_SUBMIT:
		rq->op = MR_OP_SUBMIT;
		if (decode_submit(&rr, rq) != 0) {
			*why = "sent a malformed SUBMIT";
			return -1;
		}
		return 0;
	case T_RESULT:
		rq->op = MR_OP_RESULT;
		if (mr_psrd_u(&rr, 1, &v) != 0 || v == 0 || v > MR_LINK_MAX_RESULTS || rr.n != 32 * v) {
			*why = "sent a malformed RESULT";
			return -1;
		}
		rq->n = v;
		for (size_t j = 0; j < v; j++)
			(void)mr_psrd_take(&rr, rq->hashes[j], 32);
		return 0;
	case T_AUDIT:
		rq->op = MR_OP_AUDIT;
		(void)mr_psrd_u(&rr, 4, &rq->index);
		return 0;
	}
	*why = "sent an unknown message";
	return -1;
}

int
mr_sps_serve(mr_sps *p, mr_server *s, int timeout_ms, mr_diag *d)
{
	static uint8_t body[BODY_MAX];
	static uint8_t payload[MR_LINK_MAX_PAYLOAD];
	static uint8_t out[MR_PSMSG_HDR + ANSWER_MAX];
	static mr_serve_req rq;
	char msg[MR_LINK_MAX_MESSAGE + 1] = "", text[TEXT_MAX + 1];
	uint8_t type;
	size_t len;
	mr_link_w w;
	mr_pswr a;
	const char *bad = NULL;
	int r;

	if (p->dead)
		return mr_diag_set(d, MR_E_PROTO, "link process: gone");
	if ((r = mr_helper_recv(&proto, &p->pid, p->fd, p->session ? ST_SESSION : ST_OUT,
	    timeout_ms, &type, body, &len, d)) != MR_OK) {
		p->dead = 1;
		return r;
	}
	if (type == 0)
		return MR_OK; /* nothing came */
	if (mr_sps_decode(type, body, len, &rq, text, sizeof(text), &bad) != 0)
		return violation(p, bad, d);
	switch (type) {
	case T_FAIL:
		kill_child(p);
		return mr_diag_set(d, MR_E_PROTO, "link process: %s", text);
	case T_NOTE:
		board_console_write("link: ");
		board_console_write(text);
		board_console_write("\n");
		return MR_OK; /* no answer */
	case T_NEW:
	case T_RESET:
		p->session = 0;
		break;
	case T_INFO:
		p->session = 1;
		break;
	}
	mr_link_w_init(&w, payload, sizeof(payload));
	r = rq.op == 0 ? MR_OK : mr_serve_op(s, &rq, &w, msg, sizeof(msg));
	if (r == MR_OK && w.err != MR_OK) {
		r = MR_E_INTERNAL;
		snprintf(msg, sizeof(msg), "reply does not fit one frame");
	}
	mr_pswr_begin(&a, out, sizeof(out), T_ANSWER);
	mr_pswr_u(&a, 4, (uint32_t)r);
	mr_pswr_str(&a, 2, msg, MR_LINK_MAX_MESSAGE);
	mr_pswr_u(&a, 4, r == MR_OK ? (uint32_t)w.len : 0);
	if (r == MR_OK)
		mr_pswr_bytes(&a, payload, w.len);
	if (mr_pswr_send(&a, p->fd) != 0)
		return ended(p, "went away", d);
	return MR_OK;
}

void
mr_sps_attach(mr_sps *p, int fd)
{
	*p = (mr_sps){ .pid = -1, .fd = fd };
}

void
mr_sps_stop(mr_sps *p)
{
	mr_helper_stop(&p->pid, &p->fd);
	p->dead = 1;
}

/* ---- the link process: everything below runs confined ---- */

static uint8_t req_buf[MR_PSMSG_HDR + BODY_MAX];

/* The signer's answer to the request just sent: status, message, payload
 * into w. Anything else from the signer: the link process exits. */
static int
answer(mr_link_w *w, char *msg, size_t msg_cap)
{
	static uint8_t body[ANSWER_MAX];
	uint32_t status, plen;
	char text[MR_LINK_MAX_MESSAGE + 1];
	pid_t none = -1;
	uint8_t type;
	size_t len;
	mr_diag d;

	if (mr_helper_recv(&answer_proto, &none, mr_helper_sock(), ST_ANY, -1, &type, body, &len,
	    &d) != MR_OK)
		_exit(5);
	mr_psrd r = { body, len };
	if (mr_psrd_u(&r, 4, &status) != 0 || mr_psrd_str(&r, 2, MR_LINK_MAX_MESSAGE, text,
	    sizeof(text)) != 0 || mr_psrd_u(&r, 4, &plen) != 0 || plen != r.n || plen > w->cap)
		_exit(5);
	memcpy(w->p, r.p, plen);
	w->len = plen;
	snprintf(msg, msg_cap, "%s", text);
	return (int)(int32_t)status;
}

/* The front end's op: the decoded request, as a fixed message. */
static int
forward(void *ctx, const mr_serve_req *rq, mr_link_w *w, char *msg, size_t msg_cap)
{
	mr_pswr q;

	(void)ctx;
	switch (rq->op) {
	case MR_OP_INFO:
		mr_pswr_begin(&q, req_buf, sizeof(req_buf), T_INFO);
		break;
	case MR_OP_SUBMIT:
		mr_pswr_begin(&q, req_buf, sizeof(req_buf), T_SUBMIT);
		mr_pswr_u(&q, 1, (uint32_t)rq->n);
		for (size_t i = 0; i < rq->n; i++) {
			const mr_serve_csr *c = &rq->csrs[i];
			mr_pswr_u(&q, 1, (uint32_t)(c->refused != 0));
			mr_pswr_str(&q, 1, c->cluster, 63);
			mr_pswr_u(&q, 2, (uint32_t)c->csr.n);
			mr_pswr_bytes(&q, c->csr.p, c->csr.n);
			if (c->refused) {
				mr_pswr_u(&q, 4, (uint32_t)c->err);
				mr_pswr_str(&q, 2, c->why, TEXT_MAX);
			}
		}
		break;
	case MR_OP_RESULT:
		mr_pswr_begin(&q, req_buf, sizeof(req_buf), T_RESULT);
		mr_pswr_u(&q, 1, (uint32_t)rq->n);
		for (size_t i = 0; i < rq->n; i++)
			mr_pswr_bytes(&q, rq->hashes[i], 32);
		break;
	case MR_OP_AUDIT:
		mr_pswr_begin(&q, req_buf, sizeof(req_buf), T_AUDIT);
		mr_pswr_u(&q, 4, rq->index);
		break;
	default:
		return MR_E_INTERNAL;
	}
	mr_helper_send(&q);
	return answer(w, msg, msg_cap);
}

/*
 * Test hook (sim builds only), MESHROOT_PRIVSEP_PROBE, run once confined
 * before the first connection is accepted (besides mr_helper_probe's):
 *   forge        send SUBMIT before any INFO (the signer must refuse it)
 *   abort        abort(), as a crash on hostile input would
 */
static void
probe(void)
{
	const char *spec = mr_helper_probe();

	if (spec != NULL && strcmp(spec, "forge") == 0) {
		static const uint8_t der[1] = { 0x30 };
		mr_pswr q;
		mr_pswr_begin(&q, req_buf, sizeof(req_buf), T_SUBMIT);
		mr_pswr_u(&q, 1, 1);
		mr_pswr_u(&q, 1, 0);
		mr_pswr_str(&q, 1, "forged", 63);
		mr_pswr_u(&q, 2, 1);
		mr_pswr_bytes(&q, der, 1);
		mr_helper_send(&q);
	} else if (spec != NULL && strcmp(spec, "abort") == 0) {
		abort();
	}
}

static uint8_t in_frame[MR_LINK_MAX_FRAME], out_frame[MR_LINK_MAX_FRAME];

/* One frame in, one reply out (cmd_serve.c's serve_one, confined).
 * MR_E_GONE when the host left. */
static int
link_one(mr_serve_front *f, mr_linkio *io, int first_ms)
{
	mr_link_hdr h;
	mr_der payload;
	size_t out_len = 0;
	int got_hdr = 0, r;

	r = mr_linkio_recv(io, in_frame, sizeof(in_frame), &h, &payload, &got_hdr, first_ms,
	    FRAME_MS);
	if (r == MR_E_TIMEOUT)
		return MR_OK;
	if (r == MR_E_GONE || r == MR_E_IO)
		return MR_E_GONE;
	if (r == MR_OK) {
		mr_serve_front_frame(f, in_frame, MR_LINK_HDR_LEN + (size_t)h.len, out_frame,
		    sizeof(out_frame), &out_len);
	} else {
		const char *why = r == MR_E_RANGE ? "frame length beyond the protocol limit" :
		    r == MR_E_VERSION ? MR_LINK_VERSION_ONLY :
		    got_hdr ? "frame shorter than its length (cut off)" : "malformed frame header";
		mr_helper_send_text(T_NOTE, why);
		mr_linkio_drain(io, DRAIN_MS);
		mr_serve_error_frame(got_hdr || r != MR_E_PROTO ? &h : NULL, r, why, out_frame,
		    sizeof(out_frame), &out_len);
	}
	if (out_len > 0 && mr_linkio_send(io, out_frame, out_len) != MR_OK)
		return MR_E_GONE;
	return MR_OK;
}

/* Tells the signer the session is closed (NEW or RESET) and waits for its
 * empty answer. */
static void
session_closed(uint8_t type)
{
	char m[8];
	mr_link_w w;
	uint8_t none[1];
	mr_pswr q;

	mr_pswr_begin(&q, req_buf, sizeof(req_buf), type);
	mr_helper_send(&q);
	mr_link_w_init(&w, none, 0);
	(void)answer(&w, m, sizeof(m));
}

/* What each of the link process's parts works on. */
typedef struct {
	int lfd;            /* --listen: the listening socket */
	const char *dir;    /* --usb: the FunctionFS mount */
	mr_link_ffs *ffs;   /* --usb: its endpoints, opened before confinement */
} link_arg;

static void
link_fail(int err, const char *text)
{
	(void)err;
	mr_helper_send_text(T_FAIL, text);
}

/* The signer decides when serving ends; a terminal's Ctrl-C reaches both
 * processes. */
static int
link_prepare(void *arg, mr_diag *d)
{
	(void)arg;
	(void)d;
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	return MR_OK;
}

static int
link_confine(void *arg, pid_t signer, int sock, mr_diag *d)
{
	const link_arg *a = arg;
	int landlock;

	return mr_sandbox_enter_link(signer, sock, a->lfd, &landlock, d);
}

static void link_main(void *arg) __attribute__((noreturn));

static void
link_main(void *arg)
{
	static mr_serve_front front;
	const link_arg *a = arg;
	mr_linkio io;
	int cfd = -1;

	probe();
	mr_serve_front_init(&front, forward, NULL);
	for (;;) {
		if (cfd < 0) {
			int k = mr_link_socket_accept(a->lfd, -1, &cfd);
			if (k < 0) {
				mr_helper_send_text(T_FAIL, "accept failed");
				_exit(4);
			}
			if (k == 1) {
				mr_linkio_init(&io, &cfd, mr_link_fd_read, mr_link_fd_write, 0);
				front.session = 0;
				front.seq = 0;
				session_closed(T_NEW);
			}
		} else if (link_one(&front, &io, -1) == MR_E_GONE) {
			close(cfd);
			cfd = -1;
		}
	}
}

_Static_assert(MR_LINK_FFS_FDS == MR_LINK_FFS_NFDS, "FunctionFS descriptor count");

/* serve --usb: the endpoints are opened and the descriptors written
 * before confinement (FunctionFS files by path); the two FunctionFS
 * threads start after it and inherit it. */
static int
usb_prepare(void *arg, mr_diag *d)
{
	link_arg *a = arg;

	(void)link_prepare(arg, d);
	return mr_link_ffs_open(a->dir, NULL, &a->ffs, d);
}

static int
usb_confine(void *arg, pid_t signer, int sock, mr_diag *d)
{
	const link_arg *a = arg;
	int fds[MR_LINK_FFS_NFDS], landlock;

	mr_link_ffs_fds(a->ffs, fds);
	return mr_sandbox_enter_usb(signer, sock, fds, &landlock, d);
}

static void usb_main(void *arg) __attribute__((noreturn));

static void
usb_main(void *arg)
{
	static mr_serve_front front;
	const link_arg *a = arg;
	mr_link_ffs *f = a->ffs;
	char text[TEXT_MAX + 1];
	mr_linkio io;
	mr_diag d;

	mr_diag_clear(&d);
	if (mr_link_ffs_start(f, &d) != MR_OK) {
		snprintf(text, sizeof(text), "%s", mr_diag_text(&d, MR_E_INTERNAL));
		mr_helper_send_text(T_FAIL, text);
		_exit(4);
	}
	probe();
	mr_serve_front_init(&front, forward, NULL);
	mr_linkio_init(&io, f, mr_link_ffs_read, mr_link_ffs_write, MR_LINK_FFS_CHUNK);
	for (;;) {
		/* Bind, enable, disable or a bus reset ends the host's session
		 * here and in the signer. */
		if (mr_link_ffs_reset_seen(f)) {
			front.session = 0;
			front.seq = 0;
			io.rx_pos = io.rx_len = 0;
			session_closed(T_RESET);
		}
		(void)link_one(&front, &io, USB_POLL_MS);
	}
}

/* The helper's state in the signer, as mr_helper_spawn leaves it. */
static int
spawned(mr_sps *p, const mr_helper_child *c, mr_diag *d)
{
	memset(p, 0, sizeof(*p));
	return mr_helper_spawn(c, &p->pid, &p->fd, d);
}

int
mr_sps_start_usb(mr_sps *p, const char *dir, mr_diag *d)
{
	static link_arg a;
	mr_helper_child c = { usb_prepare, usb_confine, link_fail, usb_main, &a };

	a.lfd = -1;
	a.dir = dir;
	a.ffs = NULL;
	return spawned(p, &c, d);
}

int
mr_sps_start(mr_sps *p, int lfd, mr_diag *d)
{
	static link_arg a;
	mr_helper_child c = { link_prepare, link_confine, link_fail, link_main, &a };
	int r;

	a.lfd = lfd;
	a.dir = NULL;
	a.ffs = NULL;
	r = spawned(p, &c, d);
	if (r == MR_OK)
		close(lfd);
	return r;
}

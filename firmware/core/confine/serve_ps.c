/*
 * The link process of `serve --listen` and the signer's side of its
 * protocol (mr_serve_ps.h). The link process's half is at the bottom: it
 * never returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "board_api.h"
#include "mr_link_ffs.h"
#include "mr_link_socket.h"
#include "mr_linkio.h"
#include "mr_sandbox.h"
#include "mr_psmsg.h"
#include "mr_serve_ps.h"

/* Message: type, three zero bytes, body length (big-endian u32), body. */
#define HDR 8
#define TEXT_MAX MR_SERVE_WHY_MAX
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
	T_NOTE = 'L', T_FAIL = 'F', T_ANSWER = 'Y', T_PROBE = 'P' };
enum { ST_OUT = 1, ST_SESSION = 2, ST_ANY = 3 };

/* Every message the signer accepts, the session states it is accepted
 * in and its body length bounds (checked before the body is read). */
static const struct {
	uint8_t type;
	unsigned states;
	size_t min, max;
	const char *name;
} table[] = {
	{ T_NEW, ST_ANY, 0, 0, "NEW" },
	{ T_RESET, ST_ANY, 0, 0, "RESET" },
	{ T_INFO, ST_ANY, 0, 0, "INFO" },
	{ T_SUBMIT, ST_SESSION, 1, SUBMIT_MAX, "SUBMIT" },
	{ T_RESULT, ST_SESSION, 1 + 32, 1 + MR_LINK_MAX_RESULTS * 32, "RESULT" },
	{ T_AUDIT, ST_SESSION, 4, 4, "AUDIT" },
	{ T_NOTE, ST_ANY, 2, 2 + TEXT_MAX, "NOTE" },
	{ T_FAIL, ST_ANY, 2, 2 + TEXT_MAX, "FAIL" },
#ifdef MESHROOT_CRASHPOINTS
	/* Test hook only (sim builds): the link process's report of a probe. */
	{ T_PROBE, ST_ANY, 2, 2 + TEXT_MAX, "PROBE" },
#endif
};

static int
send_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return -1;
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

/* A writer for message bodies; sizes are bounded by the callers. */
typedef struct {
	uint8_t b[HDR + BODY_MAX];
	size_t n;
} wr;

static void
put_u(wr *w, size_t width, uint32_t v)
{
	for (size_t i = 0; i < width; i++)
		w->b[w->n++] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static void
put_bytes(wr *w, const void *p, size_t n)
{
	if (n > 0)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

static void
put_str(wr *w, size_t width, const char *s, size_t max)
{
	size_t k = strnlen(s, max);

	put_u(w, width, (uint32_t)k);
	put_bytes(w, s, k);
}

/* Starts a message in w; msg_end fills in the length. */
static void
msg_begin(wr *w, uint8_t type)
{
	w->n = 0;
	w->b[w->n++] = type;
	put_u(w, 3, 0);
	put_u(w, 4, 0);
}

static void
msg_end(wr *w)
{
	size_t len = w->n - HDR;

	for (int i = 0; i < 4; i++)
		w->b[4 + i] = (uint8_t)(len >> (8 * (3 - i)));
}

/* ---- the signer's side ---- */

static int
ended(mr_sps *p, const char *what, mr_diag *d)
{
	int st = 0;
	pid_t pid = p->pid;

	p->dead = 1;
	if (pid <= 0)
		return mr_diag_set(d, MR_E_PROTO, "link process: %s", what);
	(void)mr_ps_reap(pid, &st);
	p->pid = -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return mr_diag_set(d, MR_E_PROTO,
		    "link process (pid %d) killed by SIGSYS: a system call outside its "
		    "seccomp allowlist; nothing from it is trusted", (int)pid);
	if (WIFSIGNALED(st))
		return mr_diag_set(d, MR_E_PROTO, "link process (pid %d) %s: killed by signal %d (%s)",
		    (int)pid, what, WTERMSIG(st), strsignal(WTERMSIG(st)));
	return mr_diag_set(d, MR_E_PROTO, "link process (pid %d) %s (exit status %d)", (int)pid,
	    what, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

static void
kill_child(mr_sps *p)
{
	int st;

	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	p->pid = -1;
	p->dead = 1;
}

static int
violation(mr_sps *p, const char *what, mr_diag *d)
{
	pid_t pid = p->pid;

	kill_child(p);
	return mr_diag_set(d, MR_E_PROTO, "link process (pid %d) %s: protocol violation, "
	    "link process killed", (int)pid, what);
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
	static mr_serve_req rq;
	static wr out;
	char msg[MR_LINK_MAX_MESSAGE + 1] = "", text[TEXT_MAX + 1];
	struct pollfd pfd = { p->fd, POLLIN, 0 };
	uint8_t h[HDR];
	size_t len, i;
	mr_link_w w;
	const char *bad = NULL;
	int eof, r, k;

	if (p->dead)
		return mr_diag_set(d, MR_E_PROTO, "link process: gone");
	k = poll(&pfd, 1, timeout_ms);
	if (k < 0 && errno != EINTR)
		return ended(p, "unreadable", d);
	if (k <= 0)
		return MR_OK;
	if ((r = mr_ps_read_full(p->fd, h, HDR, INNER_MS, &eof)) != 0)
		return r == -2 ? violation(p, "stalled in a message", d)
			       : ended(p, eof ? "ended" : "broke a message", d);
	len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
	for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i].type == h[0])
			break;
	if (i == sizeof(table) / sizeof(table[0]) || h[1] != 0 || h[2] != 0 || h[3] != 0)
		return violation(p, "sent an unknown message", d);
	if ((table[i].states & (p->session ? ST_SESSION : ST_OUT)) == 0) {
		char why[64];
		snprintf(why, sizeof(why), "sent %s outside a session", table[i].name);
		return violation(p, why, d);
	}
	if (len < table[i].min || len > table[i].max)
		return violation(p, "sent a message of the wrong length", d);
	if ((r = mr_ps_read_full(p->fd, body, len, INNER_MS, &eof)) != 0)
		return r == -2 ? violation(p, "stalled in a message", d) : ended(p, "broke a message", d);
	if (mr_sps_decode(h[0], body, len, &rq, text, sizeof(text), &bad) != 0)
		return violation(p, bad, d);
	switch (h[0]) {
	case T_FAIL:
		kill_child(p);
		return mr_diag_set(d, MR_E_PROTO, "link process: %s", text);
	case T_PROBE:
		fprintf(stderr, "privsep probe: %s\n", text);
		return MR_OK; /* no answer */
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
	msg_begin(&out, T_ANSWER);
	put_u(&out, 4, (uint32_t)r);
	put_str(&out, 2, msg, MR_LINK_MAX_MESSAGE);
	put_u(&out, 4, r == MR_OK ? (uint32_t)w.len : 0);
	if (r == MR_OK)
		put_bytes(&out, payload, w.len);
	msg_end(&out);
	if (send_all(p->fd, out.b, out.n) != 0)
		return ended(p, "went away", d);
	return MR_OK;
}

void
mr_sps_attach(mr_sps *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->fd = fd;
}

void
mr_sps_stop(mr_sps *p)
{
	if (p->pid > 0) {
		int st;
		kill(p->pid, SIGKILL);
		while (waitpid(p->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	p->pid = -1;
	if (p->fd >= 0)
		close(p->fd);
	p->fd = -1;
	p->dead = 1;
}

/* ---- the link process: everything below runs confined ---- */

static int psock = -1;
static pid_t signer_pid;
static wr req;

static void
send_or_die(wr *w)
{
	msg_end(w);
	if (send_all(psock, w->b, w->n) != 0)
		_exit(3); /* the signer is gone */
}

static void
send_text(uint8_t type, const char *text)
{
	msg_begin(&req, type);
	put_str(&req, 2, text, TEXT_MAX);
	send_or_die(&req);
}

/* The signer's answer to the request just sent: status, message, payload
 * into w. */
static int
answer(mr_link_w *w, char *msg, size_t msg_cap)
{
	static uint8_t body[ANSWER_MAX];
	uint8_t h[HDR];
	uint32_t status, plen;
	char text[MR_LINK_MAX_MESSAGE + 1];
	size_t len;
	int eof;

	if (mr_ps_read_full(psock, h, HDR, -1, &eof) != 0)
		_exit(3);
	len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
	if (h[0] != T_ANSWER || len > sizeof(body) ||
	    mr_ps_read_full(psock, body, len, INNER_MS, &eof) != 0)
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
	(void)ctx;
	switch (rq->op) {
	case MR_OP_INFO:
		msg_begin(&req, T_INFO);
		break;
	case MR_OP_SUBMIT:
		msg_begin(&req, T_SUBMIT);
		put_u(&req, 1, (uint32_t)rq->n);
		for (size_t i = 0; i < rq->n; i++) {
			const mr_serve_csr *c = &rq->csrs[i];
			put_u(&req, 1, (uint32_t)(c->refused != 0));
			put_str(&req, 1, c->cluster, 63);
			put_u(&req, 2, (uint32_t)c->csr.n);
			put_bytes(&req, c->csr.p, c->csr.n);
			if (c->refused) {
				put_u(&req, 4, (uint32_t)c->err);
				put_str(&req, 2, c->why, TEXT_MAX);
			}
		}
		break;
	case MR_OP_RESULT:
		msg_begin(&req, T_RESULT);
		put_u(&req, 1, (uint32_t)rq->n);
		for (size_t i = 0; i < rq->n; i++)
			put_bytes(&req, rq->hashes[i], 32);
		break;
	case MR_OP_AUDIT:
		msg_begin(&req, T_AUDIT);
		put_u(&req, 4, rq->index);
		break;
	default:
		return MR_E_INTERNAL;
	}
	send_or_die(&req);
	return answer(w, msg, msg_cap);
}

#ifdef MESHROOT_CRASHPOINTS
/*
 * Test hook (sim builds only), MESHROOT_PRIVSEP_PROBE, run once confined
 * before the first connection is accepted:
 *   open:PATH    try to read PATH and report what happened
 *   syscall      try socket(2) (seccomp kills)
 *   hold         wait for the signer to go away (to inspect the process)
 *   forge        send SUBMIT before any INFO (the signer must refuse it)
 *   abort        abort(), as a crash on hostile input would
 */
static void
probe(void)
{
	const char *spec = getenv("MESHROOT_PRIVSEP_PROBE");
	char text[TEXT_MAX + 1];
	int fd;

	if (spec == NULL)
		return;
	if (strncmp(spec, "open:", 5) == 0) {
		fd = open(spec + 5, O_RDONLY | O_CLOEXEC);
		snprintf(text, sizeof(text), "open %s: %s", spec + 5,
		    fd >= 0 ? "OPENED" : strerror(errno));
		send_text(T_PROBE, text);
		if (fd >= 0)
			close(fd);
	} else if (strcmp(spec, "syscall") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		snprintf(text, sizeof(text), "socket: %s", fd >= 0 ? "OPENED" : strerror(errno));
		send_text(T_PROBE, text);
	} else if (strcmp(spec, "hold") == 0) {
		uint8_t b;
		while (read(psock, &b, 1) > 0)
			;
		_exit(0);
	} else if (strcmp(spec, "forge") == 0) {
		static const uint8_t der[1] = { 0x30 };
		msg_begin(&req, T_SUBMIT);
		put_u(&req, 1, 1);
		put_u(&req, 1, 0);
		put_str(&req, 1, "forged", 63);
		put_u(&req, 2, 1);
		put_bytes(&req, der, 1);
		send_or_die(&req);
	} else if (strcmp(spec, "abort") == 0) {
		abort();
	}
}
#else
static void
probe(void)
{
}
#endif

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
		send_text(T_NOTE, why);
		mr_linkio_drain(io, DRAIN_MS);
		mr_serve_error_frame(got_hdr || r != MR_E_PROTO ? &h : NULL, r, why, out_frame,
		    sizeof(out_frame), &out_len);
	}
	if (out_len > 0 && mr_linkio_send(io, out_frame, out_len) != MR_OK)
		return MR_E_GONE;
	return MR_OK;
}

static void session_closed(uint8_t type);
static void link_main(int lfd) __attribute__((noreturn));

static void
link_main(int lfd)
{
	static mr_serve_front front;
	mr_linkio io;
	mr_diag d;
	int landlock, cfd = -1;

	/* The signer decides when serving ends; a terminal's Ctrl-C reaches
	 * both processes. */
	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	mr_diag_clear(&d);
	if (mr_sandbox_enter_link(signer_pid, psock, lfd, &landlock, &d) != MR_OK) {
		char text[TEXT_MAX + 1];
		snprintf(text, sizeof(text), "sandbox: %s", mr_diag_text(&d, MR_E_INTERNAL));
		send_text(T_FAIL, text);
		_exit(4);
	}
	probe();
	mr_serve_front_init(&front, forward, NULL);
	for (;;) {
		if (cfd < 0) {
			int a = mr_link_socket_accept(lfd, -1, &cfd);
			if (a < 0) {
				send_text(T_FAIL, "accept failed");
				_exit(4);
			}
			if (a == 1) {
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

/* Tells the signer the session is closed (NEW or RESET) and waits for its
 * empty answer. */
static void
session_closed(uint8_t type)
{
	char m[8];
	mr_link_w w;
	uint8_t none[1];

	msg_begin(&req, type);
	send_or_die(&req);
	mr_link_w_init(&w, none, 0);
	(void)answer(&w, m, sizeof(m));
}

static void usb_main(const char *dir) __attribute__((noreturn));

/* serve --usb: the endpoints are opened and the descriptors written
 * before confinement (FunctionFS files by path); the two FunctionFS
 * threads start after it and inherit it. */
static void
usb_main(const char *dir)
{
	static mr_serve_front front;
	char text[TEXT_MAX + 1];
	mr_link_ffs *f = NULL;
	int fds[MR_LINK_FFS_NFDS];
	mr_linkio io;
	mr_diag d;
	int landlock;

	signal(SIGINT, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	mr_diag_clear(&d);
	if (mr_link_ffs_open(dir, NULL, &f, &d) != MR_OK) {
		snprintf(text, sizeof(text), "%s", mr_diag_text(&d, MR_E_IO));
		send_text(T_FAIL, text);
		_exit(4);
	}
	mr_link_ffs_fds(f, fds);
	if (mr_sandbox_enter_usb(signer_pid, psock, fds, &landlock, &d) != MR_OK) {
		snprintf(text, sizeof(text), "sandbox: %s", mr_diag_text(&d, MR_E_INTERNAL));
		send_text(T_FAIL, text);
		_exit(4);
	}
	if (mr_link_ffs_start(f, &d) != MR_OK) {
		snprintf(text, sizeof(text), "%s", mr_diag_text(&d, MR_E_INTERNAL));
		send_text(T_FAIL, text);
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

/* The socketpair and fork both starts share: 0 in the link process (psock
 * set), the pid in the signer (p set up), -1 with d set on failure. */
static pid_t
fork_link(mr_sps *p, mr_diag *d)
{
	int sv[2];
	pid_t pid;

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		mr_diag_set(d, MR_E_INTERNAL, "socketpair: %s", strerror(errno));
		return -1;
	}
	/* Nothing buffered may be written twice by the child. */
	fflush(NULL);
	signer_pid = getpid();
	if ((pid = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		mr_diag_set(d, MR_E_INTERNAL, "fork: %s", strerror(errno));
		return -1;
	}
	if (pid == 0) {
		mr_sandbox_child_start(signer_pid);
		psock = sv[1];
		return 0;
	}
	close(sv[1]);
	p->pid = pid;
	p->fd = sv[0];
	return pid;
}

int
mr_sps_start_usb(mr_sps *p, const char *dir, mr_diag *d)
{
	pid_t pid = fork_link(p, d);

	if (pid < 0)
		return MR_E_INTERNAL;
	if (pid == 0)
		usb_main(dir);
	return MR_OK;
}

int
mr_sps_start(mr_sps *p, int lfd, mr_diag *d)
{
	pid_t pid = fork_link(p, d);

	if (pid < 0)
		return MR_E_INTERNAL;
	if (pid == 0)
		link_main(lfd);
	close(lfd);
	return MR_OK;
}

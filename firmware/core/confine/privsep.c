/*
 * The request parser process and the signer's side of its protocol
 * (mr_privsep.h). The parser's half is at the bottom: it never returns.
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

#include "mr_fileio.h"
#include "mr_privsep.h"
#include "mr_psmsg.h"
#include "mr_sandbox.h"

/* Frame: type, a zero byte, body length (big-endian u16), body. */
#define HDR 4
#define TEXT_MAX 319 /* an mr_diag line */
#define NAME_MAX_ 255
#define BODY_MAX (1 + NAME_MAX_ + 2 + MR_CSR_MAX_DER)
/* A parser that says nothing for this long is stuck or hostile. */
#define TIMEOUT_MS 60000

enum { T_LIST = 'L', T_LERR = 'E', T_SKIP = 'S', T_RFSE = 'R', T_CSR = 'C', T_END = 'Z',
	T_PROBE = 'P' };
enum { ST_LIST = 1, ST_ITEMS = 2, ST_DONE = 4 };

/* Every message the signer accepts, the states it is accepted in and its
 * body length bounds (checked before the body is read). */
static const struct {
	uint8_t type;
	unsigned states;
	size_t min, max;
} table[] = {
	{ T_LIST, ST_LIST, 4 + 4, 4 + 4 },
	{ T_LERR, ST_LIST, 4 + 2, 4 + 2 + TEXT_MAX },
	{ T_SKIP, ST_ITEMS, 1 + 1 + 2, 1 + NAME_MAX_ + 2 + TEXT_MAX },
	{ T_RFSE, ST_ITEMS, 1 + 1 + 4 + 2, 1 + NAME_MAX_ + 4 + 2 + TEXT_MAX },
	{ T_CSR, ST_ITEMS, 1 + 1 + 2 + 1, BODY_MAX },
	{ T_END, ST_ITEMS, 0, 0 },
#ifdef MESHROOT_CRASHPOINTS
	/* Test hook only (sim builds): the parser's report of a probe. */
	{ T_PROBE, ST_LIST | ST_ITEMS, 2, 2 + TEXT_MAX },
#endif
};

/* The errors a parser may give for a refusal or a listing: what the
 * bounded readers and the CSR parser return, nothing of the signer's. */
static int
refusal_err_ok(int err)
{
	return err == MR_E_IO || err == MR_E_RANGE || err == MR_E_NOTFOUND ||
	    err == MR_E_NOMEM || err == MR_E_PEM || err == MR_E_CSR || err == MR_E_ARG;
}

static int
list_err_ok(int err)
{
	return err == MR_E_IO || err == MR_E_MEDIA || err == MR_E_NOMEM || err == MR_E_INTERNAL;
}

/* Reaps the parser and says why it ended. */
static int
ended(mr_ps *ps, const char *what, mr_diag *d)
{
	int st = 0;
	pid_t pid = ps->pid;

	if (pid <= 0)
		return mr_diag_set(d, MR_E_PROTO, "request parser: %s", what);
	(void)mr_ps_reap(pid, &st);
	ps->pid = -1;
	ps->state = ST_DONE;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return mr_diag_set(d, MR_E_PROTO,
		    "request parser (pid %d) killed by SIGSYS: a system call outside its "
		    "seccomp allowlist; nothing from it is trusted", (int)pid);
	if (WIFSIGNALED(st))
		return mr_diag_set(d, MR_E_PROTO, "request parser (pid %d) %s: killed by signal %d (%s)",
		    (int)pid, what, WTERMSIG(st), strsignal(WTERMSIG(st)));
	return mr_diag_set(d, MR_E_PROTO, "request parser (pid %d) %s (exit status %d)", (int)pid,
	    what, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

/* A message outside the table: the parser is killed whatever it was
 * doing; its exit status would say nothing more. */
static int
violation(mr_ps *ps, const char *what, mr_diag *d)
{
	pid_t pid = ps->pid;
	int st;

	if (pid > 0) {
		kill(pid, SIGKILL);
		while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	ps->pid = -1;
	ps->state = ST_DONE;
	return mr_diag_set(d, MR_E_PROTO, "request parser (pid %d) %s: protocol violation, "
	    "parser killed", (int)pid, what);
}

/* One frame, checked against the table and the state. */
static int
recv_msg(mr_ps *ps, uint8_t *type, uint8_t *body, size_t *len, mr_diag *d)
{
	uint8_t h[HDR];
	size_t i;
	int eof, r;

	for (;;) {
		if ((r = mr_ps_read_full(ps->fd, h, HDR, TIMEOUT_MS, &eof)) != 0)
			return r == -2 ? violation(ps, "sent nothing for 60 s", d)
				       : ended(ps, eof ? "ended early" : "broke a frame", d);
		*len = (size_t)h[2] << 8 | h[3];
		for (i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			if (table[i].type == h[0])
				break;
		if (i == sizeof(table) / sizeof(table[0]) || h[1] != 0)
			return violation(ps, "sent an unknown message", d);
		if ((table[i].states & (unsigned)ps->state) == 0)
			return violation(ps, "sent a message out of order", d);
		if (*len < table[i].min || *len > table[i].max)
			return violation(ps, "sent a message of the wrong length", d);
		if ((r = mr_ps_read_full(ps->fd, body, *len, TIMEOUT_MS, &eof)) != 0)
			return r == -2 ? violation(ps, "sent nothing for 60 s", d)
				       : ended(ps, "broke a frame", d);
		*type = h[0];
#ifdef MESHROOT_CRASHPOINTS
		if (*type == T_PROBE) {
			char text[TEXT_MAX + 1];
			mr_psrd rr = { body, *len };
			if (mr_psrd_str(&rr, 2, TEXT_MAX, text, sizeof(text)) != 0 || rr.n != 0)
				return violation(ps, "sent a malformed probe report", d);
			mr_ps_printable(text);
			fprintf(stderr, "privsep probe: %s\n", text);
			continue;
		}
#endif
		return MR_OK;
	}
}

int
mr_ps_list(mr_ps *ps, size_t *count, mr_diag *d)
{
	static uint8_t body[BODY_MAX];
	uint8_t type;
	size_t len;
	uint32_t v;
	char text[TEXT_MAX + 1];
	int r;

	*count = 0;
	if (ps->open_err != MR_OK) {
		mr_diag_set(d, ps->open_err, "%s", mr_diag_text(&ps->open_diag, ps->open_err));
		return ps->open_err;
	}
	if (ps->state != ST_LIST)
		return mr_diag_set(d, MR_E_INTERNAL, "request parser: listing asked twice");
	if ((r = recv_msg(ps, &type, body, &len, d)) != MR_OK)
		return r;
	mr_psrd rr = { body, len };
	if (type == T_LERR) {
		if (mr_psrd_u(&rr, 4, &v) != 0 || !list_err_ok((int)(int32_t)v) ||
		    mr_psrd_str(&rr, 2, TEXT_MAX, text, sizeof(text)) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed listing error", d);
		mr_ps_printable(text);
		ps->state = ST_DONE;
		return mr_diag_set(d, (int)(int32_t)v, "%s", text);
	}
	if (mr_psrd_u(&rr, 4, &v) != 0 || v > MR_MEDIA_MAX_ENTRIES)
		return violation(ps, "announced too many entries", d);
	ps->announced = v;
	if (mr_psrd_u(&rr, 4, &v) != 0 || rr.n != 0 || v > MR_MEDIA_MAX_ENTRIES)
		return violation(ps, "announced too many ignored entries", d);
	ps->ignored = v;
	ps->state = ST_ITEMS;
	*count = ps->announced;
	return MR_OK;
}

int
mr_ps_next(mr_ps *ps, mr_ps_item *it, mr_diag *d)
{
	static uint8_t body[BODY_MAX];
	uint8_t type;
	size_t len;
	uint32_t v;
	int r;

	memset(it, 0, offsetof(mr_ps_item, der));
	it->der_len = 0;
	if (ps->state != ST_ITEMS)
		return mr_diag_set(d, MR_E_INTERNAL, "request parser: no listing in progress");
	if ((r = recv_msg(ps, &type, body, &len, d)) != MR_OK)
		return r;
	mr_psrd rr = { body, len };
	if (type == T_END) {
		if (ps->seen != ps->announced)
			return violation(ps, "ended before every announced entry", d);
		ps->state = ST_DONE;
		it->kind = MR_PS_END;
		return MR_OK;
	}
	if (ps->seen == ps->announced)
		return violation(ps, "sent more entries than announced", d);
	if (mr_psrd_str(&rr, 1, NAME_MAX_, it->name, sizeof(it->name)) != 0 || it->name[0] == '\0')
		return violation(ps, "sent a malformed entry name", d);
	/* Strictly increasing: each directory entry once, in the order listed. */
	if (ps->seen > 0 && strcmp(it->name, ps->last) <= 0)
		return violation(ps, "sent entries out of order", d);
	memcpy(ps->last, it->name, sizeof(ps->last));
	ps->seen++;
	switch (type) {
	case T_SKIP:
		if (mr_psrd_str(&rr, 2, TEXT_MAX, it->why, sizeof(it->why)) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed skip", d);
		it->kind = MR_PS_SKIP;
		break;
	case T_RFSE:
		if (mr_psrd_u(&rr, 4, &v) != 0 || !refusal_err_ok((int)(int32_t)v) ||
		    mr_psrd_str(&rr, 2, TEXT_MAX, it->why, sizeof(it->why)) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed refusal", d);
		it->err = (int)(int32_t)v;
		it->kind = MR_PS_REFUSE;
		break;
	case T_CSR:
		if (mr_psrd_u(&rr, 2, &v) != 0 || v == 0 || v > MR_CSR_MAX_DER ||
		    mr_psrd_take(&rr, it->der, v) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed request", d);
		it->der_len = v;
		it->kind = MR_PS_CSR;
		break;
	default:
		return violation(ps, "sent a message out of order", d);
	}
	/* The parser only opens <cluster>.csr: the signer derives the cluster
	 * from the name itself, never takes it from the parser. */
	if (it->kind != MR_PS_SKIP &&
	    !mr_media_name_cluster(it->name, ".csr", it->cluster, sizeof(it->cluster)))
		return violation(ps, "sent a request under a name it may not open", d);
	mr_ps_printable(it->name);
	mr_ps_printable(it->why);
	return MR_OK;
}

int
mr_ps_finish(mr_ps *ps, mr_diag *d)
{
	int st = 0, r;
	pid_t pid = ps->pid;

	if (pid <= 0)
		return MR_OK;
	if (ps->state != ST_DONE)
		return violation(ps, "stopped before the end of the listing", d);
	close(ps->fd);
	ps->fd = -1;
	r = mr_ps_reap(pid, &st);
	ps->pid = -1;
	if (r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return MR_OK;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return mr_diag_set(d, MR_E_PROTO,
		    "request parser (pid %d) killed by SIGSYS after its listing", (int)pid);
	return mr_diag_set(d, MR_E_PROTO, "request parser (pid %d) failed after its listing",
	    (int)pid);
}

int
mr_ps_rewind(mr_ps *ps, mr_diag *d)
{
	const uint8_t cmd = 'R';

	if (ps->state != ST_DONE || ps->pid <= 0 || ps->fd < 0)
		return mr_diag_set(d, MR_E_INTERNAL, "request parser: no finished listing to repeat");
	if (send(ps->fd, &cmd, 1, MSG_NOSIGNAL) != 1)
		return ended(ps, "is gone", d);
	ps->state = ST_LIST;
	ps->announced = ps->seen = 0;
	ps->last[0] = '\0';
	return MR_OK;
}

void
mr_ps_attach(mr_ps *ps, int fd)
{
	memset(ps, 0, sizeof(*ps));
	ps->pid = -1;
	ps->fd = fd;
	ps->state = ST_LIST;
}

void
mr_ps_stop(mr_ps *ps)
{
	if (ps->pid > 0) {
		int st;
		kill(ps->pid, SIGKILL);
		while (waitpid(ps->pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	ps->pid = -1;
	if (ps->fd >= 0)
		close(ps->fd);
	ps->fd = -1;
	ps->state = ST_DONE;
}

/* ---- the parser process: everything below runs confined ---- */

static int psock = -1;
static pid_t signer_pid;

static void send_or_die(uint8_t type, const uint8_t *body, size_t len)
    __attribute__((nonnull(2)));

static void
send_or_die(uint8_t type, const uint8_t *body, size_t len)
{
	static uint8_t frame[HDR + BODY_MAX];
	size_t off = 0;

	if (len > BODY_MAX)
		_exit(5);
	frame[0] = type;
	frame[1] = 0;
	frame[2] = (uint8_t)(len >> 8);
	frame[3] = (uint8_t)len;
	memcpy(frame + HDR, body, len);
	while (off < HDR + len) {
		/* send(2), not write(2): the fault-injection build wraps write. */
		ssize_t k = send(psock, frame + off, HDR + len - off, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			_exit(3); /* the signer is gone */
		off += (size_t)k;
	}
}

/* A writer for message bodies; sizes are bounded by the callers. */
typedef struct {
	uint8_t b[BODY_MAX];
	size_t n;
} wr;

static void
put_u(wr *w, size_t width, uint32_t v)
{
	for (size_t i = 0; i < width; i++)
		w->b[w->n++] = (uint8_t)(v >> (8 * (width - 1 - i)));
}

static void
put_str(wr *w, size_t width, const char *s, size_t max)
{
	size_t k = strlen(s);

	if (k > max)
		k = max;
	put_u(w, width, (uint32_t)k);
	memcpy(w->b + w->n, s, k);
	w->n += k;
}

static void
send_text(uint8_t type, const char *name, int err, const char *text)
{
	static wr w;

	w.n = 0;
	if (name != NULL)
		put_str(&w, 1, name, NAME_MAX_);
	if (type != T_SKIP && type != T_PROBE)
		put_u(&w, 4, (uint32_t)err);
	put_str(&w, 2, text, TEXT_MAX);
	send_or_die(type, w.b, w.n);
}

#ifdef MESHROOT_CRASHPOINTS
/*
 * Test hook (sim builds only), MESHROOT_PRIVSEP_PROBE, run once confined:
 *   open:PATH    try to read PATH and report what happened
 *   write:PATH   try to create PATH for writing (seccomp kills)
 *   syscall      try socket(2) (seccomp kills)
 *   hold         wait for the signer to go away (to inspect the parser)
 *   abort:NAME   abort() on reaching request file NAME
 *   forge:NAME   on reaching NAME, send a request under a name the parser
 *                may not open (the signer must reject it)
 */
static void
probe(const char *at)
{
	const char *spec = getenv("MESHROOT_PRIVSEP_PROBE");
	char text[TEXT_MAX + 1];
	int fd;

	if (spec == NULL)
		return;
	if (at == NULL && strncmp(spec, "open:", 5) == 0) {
		fd = open(spec + 5, O_RDONLY | O_CLOEXEC);
		snprintf(text, sizeof(text), "open %s: %s", spec + 5,
		    fd >= 0 ? "OPENED" : strerror(errno));
		send_text(T_PROBE, NULL, 0, text);
		if (fd >= 0)
			close(fd);
	} else if (at == NULL && strncmp(spec, "write:", 6) == 0) {
		fd = open(spec + 6, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		snprintf(text, sizeof(text), "create %s: %s", spec + 6,
		    fd >= 0 ? "OPENED" : strerror(errno));
		send_text(T_PROBE, NULL, 0, text);
	} else if (at == NULL && strcmp(spec, "syscall") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		snprintf(text, sizeof(text), "socket: %s", fd >= 0 ? "OPENED" : strerror(errno));
		send_text(T_PROBE, NULL, 0, text);
	} else if (at == NULL && strcmp(spec, "hold") == 0) {
		uint8_t b;
		while (read(psock, &b, 1) > 0)
			;
		_exit(0);
	} else if (at != NULL && strncmp(spec, "abort:", 6) == 0 && strcmp(spec + 6, at) == 0) {
		abort();
	} else if (at != NULL && strncmp(spec, "forge:", 6) == 0 && strcmp(spec + 6, at) == 0) {
		static wr w;
		w.n = 0;
		put_str(&w, 1, "../../state/evil.csr", NAME_MAX_);
		put_u(&w, 2, 1);
		w.b[w.n++] = 0x30;
		send_or_die(T_CSR, w.b, w.n);
	}
}
#else
static void
probe(const char *at)
{
	(void)at;
}
#endif

static void parser_main(int dirfd, const char *dir) __attribute__((noreturn));

static void
parser_main(int dirfd, const char *dir)
{
	static uint8_t der[MR_MEDIA_MAX_FILE];
	static wr w;
	char shown[4096 + 256];
	mr_media_names names;
	mr_media_item item;
	size_t der_len;
	mr_diag d;
	mr_csr csr;
	int landlock, r;

	mr_diag_clear(&d);
	if (mr_sandbox_enter(signer_pid, psock, dirfd, &landlock, &d) != MR_OK) {
		char text[TEXT_MAX + 1];
		snprintf(text, sizeof(text), "request parser sandbox: %s",
		    mr_diag_text(&d, MR_E_INTERNAL));
		send_text(T_LERR, NULL, MR_E_INTERNAL, text);
		_exit(4);
	}
	probe(NULL);
again:
	/* Only the names are held: each file is examined, read and parsed
	 * when its turn comes, so memory does not grow with the batch, and
	 * the socket's buffer lets this process work ahead of the signer. */
	if ((r = mr_media_names_at(dirfd, dir, &names, &d)) != MR_OK) {
		send_text(T_LERR, NULL, r, mr_diag_text(&d, r));
		_exit(0);
	}
	w.n = 0;
	put_u(&w, 4, (uint32_t)names.n);
	put_u(&w, 4, (uint32_t)names.ignored);
	send_or_die(T_LIST, w.b, w.n);
	for (size_t i = 0; i < names.n; i++) {
		const mr_media_item *it = &item;
		mr_media_classify_at(dirfd, mr_media_name(&names, i), ".csr", &item);
		if (!it->ok) {
			send_text(T_SKIP, it->name, 0, it->why);
			continue;
		}
		probe(it->name);
		mr_diag_clear(&d);
		snprintf(shown, sizeof(shown), "%s/%s", dir, it->name);
		r = mr_file_read_pem_at(dirfd, it->name, shown, MR_MEDIA_MAX_FILE,
		    "CERTIFICATE REQUEST", der, sizeof(der), &der_len, &d);
		if (r == MR_OK && mr_csr_parse_unverified(der, der_len, &csr, &d) != MR_OK)
			r = MR_E_CSR; /* as mr_request_parse reports it */
		if (r == MR_OK && der_len > MR_CSR_MAX_DER)
			r = mr_diag_set(&d, MR_E_CSR, "CSR larger than %u bytes", MR_CSR_MAX_DER);
		if (r != MR_OK) {
			send_text(T_RFSE, it->name, r, mr_diag_text(&d, r));
			continue;
		}
		w.n = 0;
		put_str(&w, 1, it->name, NAME_MAX_);
		put_u(&w, 2, (uint32_t)der_len);
		memcpy(w.b + w.n, der, der_len);
		w.n += der_len;
		send_or_die(T_CSR, w.b, w.n);
	}
	send_or_die(T_END, w.b, 0);
	mr_media_names_free(&names);
	/* The signer may ask for the listing once more (a batch reviewed as
	 * a whole, then issued): one byte 'R'. Its end of the socket closed:
	 * done. */
	for (;;) {
		uint8_t cmd;
		ssize_t k = read(psock, &cmd, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 1 && cmd == 'R')
			goto again;
		_exit(0);
	}
}

int
mr_ps_start(mr_ps *ps, const char *media, mr_diag *d)
{
	int sv[2], dirfd = -1;
	pid_t pid;

	memset(ps, 0, sizeof(*ps));
	ps->pid = -1;
	ps->fd = -1;
	ps->state = ST_LIST;
	mr_diag_clear(&ps->open_diag);
	ps->open_err = mr_media_open_dir(media, MR_MEDIA_REQUESTS, &dirfd, ps->dir,
	    sizeof(ps->dir), &ps->open_diag);
	if (ps->open_err != MR_OK)
		return MR_OK;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0) {
		close(dirfd);
		return mr_diag_set(d, MR_E_INTERNAL, "socketpair: %s", strerror(errno));
	}
	/* Nothing buffered may be written twice by the child. */
	fflush(NULL);
	signer_pid = getpid();
	if ((pid = fork()) < 0) {
		close(dirfd);
		close(sv[0]);
		close(sv[1]);
		return mr_diag_set(d, MR_E_INTERNAL, "fork: %s", strerror(errno));
	}
	if (pid == 0) {
		mr_sandbox_child_start(signer_pid);
		/* The signer's end: held here too, the parser would never see
		 * the signer close it (its end of a listing repeated on request). */
		close(sv[0]);
		psock = sv[1];
		parser_main(dirfd, ps->dir);
	}
	close(sv[1]);
	close(dirfd);
	ps->pid = pid;
	ps->fd = sv[0];
	return MR_OK;
}

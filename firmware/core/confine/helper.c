/*
 * Spawning, hearing and ending the confined helpers (mr_helper.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mr_helper.h"
#include "mr_sandbox.h"

/* The helper's own end of the socketpair (in the helper only). */
static int child_sock = -1;

int
mr_helper_ended(const mr_helper_proto *p, pid_t *pid, const char *what, mr_diag *d)
{
	pid_t k = *pid;
	int st = 0;

	if (k <= 0)
		return mr_diag_set(d, MR_E_PROTO, "%s: %s", p->who, what);
	(void)mr_ps_reap(k, &st);
	*pid = -1;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return mr_diag_set(d, MR_E_PROTO,
		    "%s (pid %d) killed by SIGSYS: a system call outside its "
		    "seccomp allowlist; nothing from it is trusted", p->who, (int)k);
	if (WIFSIGNALED(st))
		return mr_diag_set(d, MR_E_PROTO, "%s (pid %d) %s: killed by signal %d (%s)", p->who,
		    (int)k, what, WTERMSIG(st), strsignal(WTERMSIG(st)));
	return mr_diag_set(d, MR_E_PROTO, "%s (pid %d) %s (exit status %d)", p->who, (int)k, what,
	    WIFEXITED(st) ? WEXITSTATUS(st) : -1);
}

void
mr_helper_kill(pid_t *pid)
{
	int st;

	if (*pid > 0) {
		kill(*pid, SIGKILL);
		while (waitpid(*pid, &st, 0) < 0 && errno == EINTR)
			;
	}
	*pid = -1;
}

int
mr_helper_violation(const mr_helper_proto *p, pid_t *pid, const char *what, mr_diag *d)
{
	pid_t k = *pid;

	mr_helper_kill(pid);
	return mr_diag_set(d, MR_E_PROTO, "%s (pid %d) %s: protocol violation, %s killed", p->who,
	    (int)k, what, p->who);
}

void
mr_helper_stop(pid_t *pid, int *fd)
{
	mr_helper_kill(pid);
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

#ifdef MESHROOT_CRASHPOINTS
/* Test hook only (sim builds): a probe's report, shown and skipped. */
static const mr_helper_msg probe_msg = { MR_HELPER_PROBE, ~0u, 2, 2 + MR_HELPER_TEXT_MAX,
	"PROBE" };

static int
show_probe(const mr_helper_proto *p, pid_t *pid, const uint8_t *body, size_t len, mr_diag *d)
{
	char text[MR_HELPER_TEXT_MAX + 1];
	mr_psrd rr = { body, len };

	if (mr_psrd_str(&rr, 2, MR_HELPER_TEXT_MAX, text, sizeof(text)) != 0 || rr.n != 0)
		return mr_helper_violation(p, pid, "sent a malformed probe report", d);
	mr_ps_printable(text);
	fprintf(stderr, "privsep probe: %s\n", text);
	return MR_OK;
}
#endif

/* The table's entry for a message type; NULL: unknown. */
static const mr_helper_msg *
lookup(const mr_helper_proto *p, uint8_t type)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->table[i].type == type)
			return &p->table[i];
#ifdef MESHROOT_CRASHPOINTS
	if (type == MR_HELPER_PROBE)
		return &probe_msg;
#endif
	return NULL;
}

int
mr_helper_recv(const mr_helper_proto *p, pid_t *pid, int fd, unsigned state, int first_ms,
    uint8_t *type, uint8_t *body, size_t *len, mr_diag *d)
{
	uint8_t h[MR_PSMSG_HDR];
	const mr_helper_msg *m;
	int eof, r;

	*type = 0;
	*len = 0;
	for (;;) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int k = poll(&pfd, 1, first_ms);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return mr_helper_ended(p, pid, "unreadable", d);
		if (k == 0)
			return MR_OK;
		if ((r = mr_ps_read_full(fd, h, MR_PSMSG_HDR, p->inner_ms, &eof)) != 0)
			return r == -2 ? mr_helper_violation(p, pid, "stalled in a message", d)
				       : mr_helper_ended(p, pid, eof ? "ended early" : "broke a message", d);
		if (mr_psmsg_hdr(h, type, len) != 0 || (m = lookup(p, *type)) == NULL)
			return mr_helper_violation(p, pid, "sent an unknown message", d);
		if ((m->states & state) == 0) {
			char why[96];
			snprintf(why, sizeof(why), "sent %s %s", m->name, p->misplaced);
			return mr_helper_violation(p, pid, why, d);
		}
		if (*len < m->min || *len > m->max)
			return mr_helper_violation(p, pid, "sent a message of the wrong length", d);
		if ((r = mr_ps_read_full(fd, body, *len, p->inner_ms, &eof)) != 0)
			return r == -2 ? mr_helper_violation(p, pid, "stalled in a message", d)
				       : mr_helper_ended(p, pid, "broke a message", d);
#ifdef MESHROOT_CRASHPOINTS
		if (*type == MR_HELPER_PROBE) {
			if ((r = show_probe(p, pid, body, *len, d)) != MR_OK)
				return r;
			continue;
		}
#endif
		return MR_OK;
	}
}

/* ---- in the helper ---- */

int
mr_helper_sock(void)
{
	return child_sock;
}

void
mr_helper_send(mr_pswr *w)
{
	if (w->over)
		_exit(5);
	if (mr_pswr_send(w, child_sock) != 0)
		_exit(3); /* the signer is gone */
}

void
mr_helper_send_text(uint8_t type, const char *text)
{
	static uint8_t buf[MR_PSMSG_HDR + 2 + MR_HELPER_TEXT_MAX];
	mr_pswr w;

	mr_pswr_begin(&w, buf, sizeof(buf), type);
	mr_pswr_str(&w, 2, text, MR_HELPER_TEXT_MAX);
	mr_helper_send(&w);
}

#ifdef MESHROOT_CRASHPOINTS
const char *
mr_helper_probe(void)
{
	const char *spec = getenv("MESHROOT_PRIVSEP_PROBE");
	char text[MR_HELPER_TEXT_MAX + 1];
	int fd;

	if (spec == NULL)
		return NULL;
	if (strncmp(spec, "open:", 5) == 0) {
		fd = open(spec + 5, O_RDONLY | O_CLOEXEC);
		snprintf(text, sizeof(text), "open %s: %s", spec + 5,
		    fd >= 0 ? "OPENED" : strerror(errno));
		mr_helper_send_text(MR_HELPER_PROBE, text);
		if (fd >= 0)
			close(fd);
	} else if (strncmp(spec, "write:", 6) == 0) {
		fd = open(spec + 6, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
		snprintf(text, sizeof(text), "create %s: %s", spec + 6,
		    fd >= 0 ? "OPENED" : strerror(errno));
		mr_helper_send_text(MR_HELPER_PROBE, text);
	} else if (strcmp(spec, "syscall") == 0) {
		fd = socket(AF_INET, SOCK_STREAM, 0);
		snprintf(text, sizeof(text), "socket: %s", fd >= 0 ? "OPENED" : strerror(errno));
		mr_helper_send_text(MR_HELPER_PROBE, text);
	} else if (strcmp(spec, "hold") == 0) {
		uint8_t b;
		while (read(child_sock, &b, 1) > 0)
			;
		_exit(0);
	} else {
		return spec;
	}
	return NULL;
}
#else
const char *
mr_helper_probe(void)
{
	return NULL;
}
#endif

int
mr_helper_spawn(const mr_helper_child *c, pid_t *pid, int *fd, mr_diag *d)
{
	char text[MR_HELPER_TEXT_MAX + 1];
	pid_t signer, k;
	mr_diag cd;
	int sv[2];

	*pid = -1;
	*fd = -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "socketpair: %s", strerror(errno));
	/* Nothing buffered may be written twice by the child. */
	fflush(NULL);
	signer = getpid();
	if ((k = fork()) < 0) {
		close(sv[0]);
		close(sv[1]);
		return mr_diag_set(d, MR_E_INTERNAL, "fork: %s", strerror(errno));
	}
	if (k > 0) {
		close(sv[1]);
		*pid = k;
		*fd = sv[0];
		return MR_OK;
	}
	mr_sandbox_child_start(signer);
	/* The signer's end: held here too, the helper would never see the
	 * signer close it. */
	close(sv[0]);
	child_sock = sv[1];
	mr_diag_clear(&cd);
	if (c->prepare != NULL && c->prepare(c->arg, &cd) != MR_OK) {
		snprintf(text, sizeof(text), "%s", mr_diag_text(&cd, MR_E_IO));
		c->fail(MR_E_INTERNAL, text);
		_exit(4);
	}
	if (c->confine(c->arg, signer, child_sock, &cd) != MR_OK) {
		snprintf(text, sizeof(text), "sandbox: %s", mr_diag_text(&cd, MR_E_INTERNAL));
		c->fail(MR_E_INTERNAL, text);
		_exit(4);
	}
	c->run(c->arg);
	_exit(4); /* not reached: run never returns */
}

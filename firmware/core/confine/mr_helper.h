/*
 * The confined helper processes' common plumbing (docs/security.md,
 * "Privilege separation"): the media request parser (privsep.c) and the
 * link process (serve_ps.c) are each a child the signer forks before it
 * opens the state dir or the token, confined before it reads a byte of
 * untrusted input, and heard only through a socketpair carrying the
 * messages of mr_psmsg.h. This module owns what they share:
 *
 *   - spawning: socketpair, fork, mr_sandbox_child_start, the transport's
 *     own preparation and confinement (mr_sandbox_enter*), a failure of
 *     either reported in one message of the transport's kind, exit 4;
 *   - the signer's reading: each message checked against the transport's
 *     table (type, state, body bounds) before its body is read, a message
 *     once begun whole within the transport's inner timeout;
 *   - the helper's death or a violation, as one line naming its pid and
 *     signal (SIGSYS: a system call outside the seccomp allowlist);
 *   - the helper's side: sending or dying (the signer is gone), and the
 *     sim-only test probes both transports run once confined.
 *
 * What the messages mean, the states and every check of a body stay with
 * the transport. The signer's side of a helper is its pid (-1: none, or
 * killed and reaped) and its end of the socketpair; every function that
 * ends the helper sets the pid to -1.
 */
#ifndef MR_HELPER_H
#define MR_HELPER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mr_diag.h"
#include "mr_psmsg.h"

/* An mr_diag line: the longest text any helper message carries. */
#define MR_HELPER_TEXT_MAX 319
/* A helper's report of a test probe (sim builds only): a text, any state. */
#define MR_HELPER_PROBE 'P'

/* One message the signer accepts from a helper: the states it is
 * accepted in (a mask of the transport's own), its body length bounds. */
typedef struct {
	uint8_t type;
	unsigned states;
	size_t min, max;
	const char *name; /* in violation lines: "sent SUBMIT outside a session" */
} mr_helper_msg;

typedef struct {
	const char *who;       /* "request parser": starts every line */
	const char *misplaced; /* a message in the wrong state: "out of order" */
	const mr_helper_msg *table;
	size_t n;
	int inner_ms;          /* a message begun must be whole within this */
} mr_helper_proto;

/* The child's parts, run in the child in this order. */
typedef struct {
	/* Before confinement (e.g. opening FunctionFS endpoints); may be NULL. */
	int (*prepare)(void *arg, mr_diag *d);
	/* The confinement: one of mr_sandbox_enter*, for the parent `signer`
	 * and the child's socket `sock`. */
	int (*confine)(void *arg, pid_t signer, int sock, mr_diag *d);
	/* Reports a failure of either to the signer: one message, then the
	 * child exits 4 without reading anything untrusted. */
	void (*fail)(int err, const char *text);
	/* The work, confined. Never returns. */
	void (*run)(void *arg) __attribute__((noreturn));
	void *arg;
} mr_helper_child;

/*
 * Forks the helper with a socketpair between it and the signer. In the
 * signer: MR_OK with the child's *pid and the signer's end *fd, or
 * MR_E_INTERNAL (socketpair, fork) with *pid -1, *fd -1. The child never
 * returns: it runs c's parts and holds only its own end.
 */
int mr_helper_spawn(const mr_helper_child *c, pid_t *pid, int *fd, mr_diag *d) MR_MUST_CHECK;

/*
 * Waits first_ms (-1: forever) for the next message, then reads the rest
 * within p->inner_ms into body (as large as the table's largest max),
 * checked against the table and `state` before the body is read. Test
 * probe reports are shown on stderr and skipped. MR_OK with *type (0:
 * nothing came within first_ms); otherwise MR_E_PROTO with one line in d,
 * the helper killed or reaped.
 */
int mr_helper_recv(const mr_helper_proto *p, pid_t *pid, int fd, unsigned state, int first_ms,
    uint8_t *type, uint8_t *body, size_t *len, mr_diag *d) MR_MUST_CHECK;

/* The helper closed its end or its socket failed: reaps it and says why
 * it ended (its signal by name, or its exit status) after `what`.
 * Returns MR_E_PROTO. */
int mr_helper_ended(const mr_helper_proto *p, pid_t *pid, const char *what, mr_diag *d);

/* The helper broke the protocol: it is killed whatever it was doing; its
 * exit status would say nothing more. Returns MR_E_PROTO. */
int mr_helper_violation(const mr_helper_proto *p, pid_t *pid, const char *what, mr_diag *d);

/* SIGKILL and reap (if still running). */
void mr_helper_kill(pid_t *pid);

/* mr_helper_kill, then the signer's end closed (*fd -1). */
void mr_helper_stop(pid_t *pid, int *fd);

/* ---- in the helper ---- */

/* Its end of the socketpair. */
int mr_helper_sock(void);

/* Sends w on the helper's socket; exits 3 when the signer is gone, 5 when
 * w overflowed (a bug of ours: nothing half-made is sent). */
void mr_helper_send(mr_pswr *w);

/* Sends a message whose body is one text (2-byte length, at most
 * MR_HELPER_TEXT_MAX bytes). */
void mr_helper_send_text(uint8_t type, const char *text);

/*
 * Test hook (sim builds only; without MESHROOT_CRASHPOINTS it does
 * nothing): the probe in MESHROOT_PRIVSEP_PROBE that both helpers run once
 * confined, reported as MR_HELPER_PROBE:
 *   open:PATH    try to read PATH and report what happened
 *   write:PATH   try to create PATH for writing (seccomp kills)
 *   syscall      try socket(2) (seccomp kills)
 *   hold         wait for the signer to go away (to inspect the helper)
 * Other probes are the transport's: their spec is returned (NULL: none).
 */
const char *mr_helper_probe(void);

#endif

/*
 * Reading the messages between the signer and its confined helper
 * processes (the media parser, privsep.c; the link process, serve_ps.c).
 * Each side treats the other's bytes as untrusted: a bounded reader over a
 * received body whose every take checks before it advances, and whole
 * reads from the socketpair with a timeout; and reaping the process.
 */
#ifndef MR_PSMSG_H
#define MR_PSMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct {
	const uint8_t *p;
	size_t n;
} mr_psrd;

/* k bytes into out: 0, or -1 (nothing taken) when fewer are left. */
int mr_psrd_take(mr_psrd *r, void *out, size_t k);
/* A big-endian unsigned of width 1..4 bytes. */
int mr_psrd_u(mr_psrd *r, size_t width, uint32_t *v);
/* A string prefixed by its length (width bytes) of at most max bytes into
 * out (cap > max), NUL-terminated; a NUL inside is refused (-1). The raw
 * bytes are kept: callers sanitise what they show. */
int mr_psrd_str(mr_psrd *r, size_t width, size_t max, char *out, size_t cap);
/* Replaces every byte outside printable ASCII with '?', in place. */
void mr_ps_printable(char *s);
/* Reaps a helper process that closed its end or finished: it gets half a
 * second to exit, then SIGKILL (one that lingers is not waited for). 0
 * once reaped, with its status in *st. */
int mr_ps_reap(pid_t pid, int *st);
/* Reads exactly n bytes: 0; -1 on error or end of stream (*eof when it
 * ended before the first byte); -2 when nothing came for timeout_ms
 * (-1: wait forever). */
int mr_ps_read_full(int fd, uint8_t *buf, size_t n, int timeout_ms, int *eof);

#endif

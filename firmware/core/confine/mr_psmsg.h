/*
 * The messages between the signer and its confined helper processes (the
 * media parser, privsep.c; the link process, serve_ps.c), both ways:
 *
 *   type (1 byte), three zero bytes, body length (big-endian u32), body
 *
 * Each side treats the other's bytes as untrusted: a bounded reader over a
 * received body whose every take checks before it advances, and whole
 * reads from the socketpair with a timeout; a bounded writer that refuses
 * to send what did not fit; and reaping the process. Which messages a side
 * accepts, in which state and of which lengths is mr_helper.h's table.
 */
#ifndef MR_PSMSG_H
#define MR_PSMSG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define MR_PSMSG_HDR 8

typedef struct {
	const uint8_t *p;
	size_t n;
} mr_psrd;

/* A message being written into b[0..cap): header first, the length filled
 * in by mr_pswr_send. A put that does not fit sets `over` and writes
 * nothing; such a message is never sent. */
typedef struct {
	uint8_t *b;
	size_t cap, n;
	int over;
} mr_pswr;

/* k bytes into out: 0, or -1 (nothing taken) when fewer are left. */
int mr_psrd_take(mr_psrd *r, void *out, size_t k);
/* A big-endian unsigned of width 1..4 bytes. */
int mr_psrd_u(mr_psrd *r, size_t width, uint32_t *v);
/* A string prefixed by its length (width bytes) of at most max bytes into
 * out (cap > max), NUL-terminated; a NUL inside is refused (-1). The raw
 * bytes are kept: callers sanitise what they show. */
int mr_psrd_str(mr_psrd *r, size_t width, size_t max, char *out, size_t cap);
/* Starts a message of this type in buf[0..cap) (cap >= MR_PSMSG_HDR). */
void mr_pswr_begin(mr_pswr *w, uint8_t *buf, size_t cap, uint8_t type);
/* A big-endian unsigned of width 1..4 bytes. */
void mr_pswr_u(mr_pswr *w, size_t width, uint32_t v);
void mr_pswr_bytes(mr_pswr *w, const void *p, size_t n);
/* s cut at max bytes, prefixed by its length (width bytes). */
void mr_pswr_str(mr_pswr *w, size_t width, const char *s, size_t max);
/* Fills in the length and sends the whole message on fd (send(2), never
 * SIGPIPE): 0; -1 when it overflowed (nothing sent) or the peer is gone. */
int mr_pswr_send(mr_pswr *w, int fd);
/* A received header: 0 with its type and body length, or -1 when a
 * reserved byte is not zero. */
int mr_psmsg_hdr(const uint8_t h[MR_PSMSG_HDR], uint8_t *type, size_t *len);

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

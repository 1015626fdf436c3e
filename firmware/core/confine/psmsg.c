#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mr_psmsg.h"

int
mr_psrd_take(mr_psrd *r, void *out, size_t k)
{
	if (k > r->n)
		return -1;
	memcpy(out, r->p, k);
	r->p += k;
	r->n -= k;
	return 0;
}

int
mr_psrd_u(mr_psrd *r, size_t width, uint32_t *v)
{
	uint8_t b[4];

	if (width == 0 || width > sizeof(b) || mr_psrd_take(r, b, width) != 0)
		return -1;
	*v = 0;
	for (size_t i = 0; i < width; i++)
		*v = (*v << 8) | b[i];
	return 0;
}

int
mr_psrd_str(mr_psrd *r, size_t width, size_t max, char *out, size_t cap)
{
	uint32_t k;

	if (mr_psrd_u(r, width, &k) != 0 || k > max || k >= cap || mr_psrd_take(r, out, k) != 0)
		return -1;
	out[k] = '\0';
	return strlen(out) == k ? 0 : -1;
}

void
mr_pswr_begin(mr_pswr *w, uint8_t *buf, size_t cap, uint8_t type)
{
	w->b = buf;
	w->cap = cap;
	w->n = 0;
	w->over = cap < MR_PSMSG_HDR;
	if (w->over)
		return;
	memset(buf, 0, MR_PSMSG_HDR);
	buf[0] = type;
	w->n = MR_PSMSG_HDR;
}

void
mr_pswr_bytes(mr_pswr *w, const void *p, size_t n)
{
	if (w->over || n > w->cap - w->n) {
		w->over = 1;
		return;
	}
	if (n > 0)
		memcpy(w->b + w->n, p, n);
	w->n += n;
}

void
mr_pswr_u(mr_pswr *w, size_t width, uint32_t v)
{
	uint8_t b[4];

	if (width == 0 || width > sizeof(b)) {
		w->over = 1;
		return;
	}
	for (size_t i = 0; i < width; i++)
		b[i] = (uint8_t)(v >> (8 * (width - 1 - i)));
	mr_pswr_bytes(w, b, width);
}

void
mr_pswr_str(mr_pswr *w, size_t width, const char *s, size_t max)
{
	size_t k = strnlen(s, max);

	mr_pswr_u(w, width, (uint32_t)k);
	mr_pswr_bytes(w, s, k);
}

int
mr_pswr_send(mr_pswr *w, int fd)
{
	const uint8_t *p = w->b;
	size_t n = w->n, len = w->n - MR_PSMSG_HDR;

	if (w->over || len > UINT32_MAX)
		return -1;
	for (int i = 0; i < 4; i++)
		w->b[4 + i] = (uint8_t)(len >> (8 * (3 - i)));
	while (n > 0) {
		/* send(2), not write(2): the fault-injection build wraps write. */
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

int
mr_psmsg_hdr(const uint8_t h[MR_PSMSG_HDR], uint8_t *type, size_t *len)
{
	if (h[1] != 0 || h[2] != 0 || h[3] != 0)
		return -1;
	*type = h[0];
	*len = (size_t)h[4] << 24 | (size_t)h[5] << 16 | (size_t)h[6] << 8 | h[7];
	return 0;
}

void
mr_ps_printable(char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x20 || *s > 0x7e)
			*s = '?';
}

int
mr_ps_reap(pid_t pid, int *st)
{
	pid_t r = 0;

	/* Up to half a second, looking often at first: a child told to stop
	 * is usually gone within a millisecond, and every run waits for it. */
	for (int waited = 0, step = 250; waited < 500000; waited += step) {
		if ((r = waitpid(pid, st, WNOHANG)) != 0 && !(r < 0 && errno == EINTR))
			break;
		usleep((useconds_t)step);
		if (step < 10000)
			step *= 2;
	}
	if (r == 0) {
		kill(pid, SIGKILL);
		while ((r = waitpid(pid, st, 0)) < 0 && errno == EINTR)
			;
	}
	return r == pid ? 0 : -1;
}

int
mr_ps_read_full(int fd, uint8_t *buf, size_t n, int timeout_ms, int *eof)
{
	size_t got = 0;

	*eof = 0;
	while (got < n) {
		struct pollfd pfd = { fd, POLLIN, 0 };
		int k = poll(&pfd, 1, timeout_ms);
		ssize_t m;
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return k == 0 ? -2 : -1;
		m = read(fd, buf + got, n - got);
		if (m < 0 && errno == EINTR)
			continue;
		if (m <= 0) {
			*eof = m == 0 && got == 0;
			return -1;
		}
		got += (size_t)m;
	}
	return 0;
}

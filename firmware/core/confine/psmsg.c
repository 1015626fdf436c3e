#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <string.h>
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

	for (int i = 0; i < 50; i++) {
		if ((r = waitpid(pid, st, WNOHANG)) != 0 && !(r < 0 && errno == EINTR))
			break;
		usleep(10000);
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

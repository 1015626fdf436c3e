#define _GNU_SOURCE /* accept4 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mr_link_socket.h"

const char *
mr_link_socket_path(const char *spec)
{
	if (spec == NULL || strncmp(spec, "unix:", 5) != 0 || spec[5] == '\0')
		return NULL;
	return spec + 5;
}

static int
make_addr(const char *path, struct sockaddr_un *sa, mr_diag *d)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return mr_diag_set(d, MR_E_RANGE, "socket path too long: %s", path);
	memcpy(sa->sun_path, path, strlen(path) + 1);
	return MR_OK;
}

int
mr_link_socket_listen(const char *path, int *fd, mr_diag *d)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int s, r;

	if ((r = make_addr(path, &sa, d)) != MR_OK)
		return r;
	/* A stale socket from an earlier run is replaced; anything else is not. */
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return mr_diag_set(d, MR_E_EXISTS, "%s exists and is not a socket", path);
		unlink(path);
	}
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return mr_diag_set(d, MR_E_IO, "socket: %s", strerror(errno));
	old = umask(077);
	r = bind(s, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (r != 0 || listen(s, 4) != 0) {
		r = errno;
		close(s);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(r));
	}
	*fd = s;
	return MR_OK;
}

int
mr_link_socket_accept(int lfd, int timeout_ms, int *cfd)
{
	struct pollfd p = { lfd, POLLIN, 0 };
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return errno == EINTR ? 0 : MR_E_IO;
	if (r == 0)
		return 0;
	if ((*cfd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC)) < 0)
		return errno == EINTR || errno == EAGAIN || errno == ECONNABORTED ? 0 : MR_E_IO;
	return 1;
}

int
mr_link_socket_connect(const char *path, int *fd, mr_diag *d)
{
	struct sockaddr_un sa;
	int s, r;

	if ((r = make_addr(path, &sa, d)) != MR_OK)
		return r;
	if ((s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return mr_diag_set(d, MR_E_IO, "socket: %s", strerror(errno));
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		r = errno;
		close(s);
		if (r == ENOENT || r == ECONNREFUSED)
			return mr_diag_set(d, MR_E_NOTFOUND, "no appliance serving on %s", path);
		if (r == EACCES)
			return mr_diag_set(d, MR_E_ACCESS, "%s: permission denied", path);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(r));
	}
	*fd = s;
	return MR_OK;
}

int
mr_link_fd_read(void *ctx, uint8_t *buf, size_t n, int timeout_ms)
{
	int fd = *(int *)ctx;
	struct pollfd p = { fd, POLLIN, 0 };
	ssize_t k;
	int r = poll(&p, 1, timeout_ms);

	if (r < 0)
		return errno == EINTR ? 0 : MR_E_IO;
	if (r == 0)
		return 0;
	do
		k = read(fd, buf, n);
	while (k < 0 && errno == EINTR);
	if (k == 0)
		return MR_E_GONE;
	if (k < 0)
		return errno == ECONNRESET || errno == EPIPE ? MR_E_GONE : MR_E_IO;
	return (int)k;
}

int
mr_link_fd_write(void *ctx, const uint8_t *buf, size_t n)
{
	int fd = *(int *)ctx;

	while (n > 0) {
		/* MSG_NOSIGNAL: a peer that went away is an error, not SIGPIPE. */
		ssize_t k = send(fd, buf, n, MSG_NOSIGNAL);
		if (k < 0 && errno == ENOTSOCK)
			k = write(fd, buf, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return errno == EPIPE || errno == ECONNRESET ? MR_E_GONE : MR_E_IO;
		}
		buf += k;
		n -= (size_t)k;
	}
	return MR_OK;
}

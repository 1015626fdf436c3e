/*
 * iofault: storage faults for meshroot-appliance-iofault, the appliance
 * linked with -Wl,--wrap=write,fsync,rename,link,open (tests/fault/
 * CMakeLists.txt). Only meshroot's own objects are wrapped: SoftHSM2 and
 * wolfSSL, loaded as shared libraries, keep the real calls. Configuration
 * from the environment, read on the first call:
 *
 *   IOFAULT_DIR    only calls on paths under this directory count (for a
 *                  write or fsync, the path of the descriptor)
 *   IOFAULT_AT     N: the N-th counted call fails
 *   IOFAULT_ERRNO  ENOSPC (default) or EIO
 *   IOFAULT_TRACE  a file that gets "N op path [injected]" per counted call
 *
 * A failing write first writes half of its bytes for real, as a full disk
 * does, and every later write to that descriptor fails too: the code under
 * test must cope with a torn record, not only with a clean refusal.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

ssize_t __real_write(int fd, const void *buf, size_t n);
int __real_fsync(int fd);
int __real_rename(const char *from, const char *to);
int __real_link(const char *from, const char *to);
int __real_open(const char *path, int flags, ...);
ssize_t __wrap_write(int fd, const void *buf, size_t n);
int __wrap_fsync(int fd);
int __wrap_rename(const char *from, const char *to);
int __wrap_link(const char *from, const char *to);
int __wrap_open(const char *path, int flags, ...);

static int configured, fault_errno = ENOSPC, broken_fd = -1;
static unsigned long calls, want;
static const char *dir;
static size_t dir_len;
static FILE *trace;

static void
configure(void)
{
	const char *v;

	if (configured)
		return;
	configured = 1;
	if ((dir = getenv("IOFAULT_DIR")) != NULL && *dir != '\0')
		dir_len = strlen(dir);
	else
		dir = NULL;
	if ((v = getenv("IOFAULT_AT")) != NULL)
		want = strtoul(v, NULL, 10);
	if ((v = getenv("IOFAULT_ERRNO")) != NULL && strcmp(v, "EIO") == 0)
		fault_errno = EIO;
	if ((v = getenv("IOFAULT_TRACE")) != NULL && *v != '\0')
		trace = fopen(v, "a");
}

static int
in_scope(const char *path)
{
	return dir != NULL && strncmp(path, dir, dir_len) == 0 &&
	    (path[dir_len] == '/' || path[dir_len] == '\0');
}

static int
fd_path(int fd, char *out, size_t cap)
{
	char link[64];
	ssize_t k;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	if ((k = readlink(link, out, cap - 1)) < 0)
		return -1;
	out[k] = '\0';
	return 0;
}

/* Counts a call on path; 1 when it is the one to fail. */
static int
hit(const char *op, const char *path)
{
	int match;

	configure();
	if (!in_scope(path))
		return 0;
	calls++;
	match = want != 0 && calls == want;
	if (trace != NULL) {
		fprintf(trace, "%lu %s %s%s\n", calls, op, path, match ? " injected" : "");
		fflush(trace);
	}
	return match;
}

ssize_t
__wrap_write(int fd, const void *buf, size_t n)
{
	char path[4096];

	if (fd == broken_fd) {
		errno = fault_errno;
		return -1;
	}
	if (fd > 2 && fd_path(fd, path, sizeof(path)) == 0 && hit("write", path)) {
		broken_fd = fd;
		if (n > 1) {
			ssize_t k = __real_write(fd, buf, n / 2);

			if (k > 0)
				return k;
		}
		errno = fault_errno;
		return -1;
	}
	return __real_write(fd, buf, n);
}

int
__wrap_fsync(int fd)
{
	char path[4096];

	if (fd_path(fd, path, sizeof(path)) == 0 && hit("fsync", path)) {
		errno = fault_errno;
		return -1;
	}
	return __real_fsync(fd);
}

int
__wrap_rename(const char *from, const char *to)
{
	if (hit("rename", to)) {
		errno = fault_errno;
		return -1;
	}
	return __real_rename(from, to);
}

int
__wrap_link(const char *from, const char *to)
{
	if (hit("link", to)) {
		errno = fault_errno;
		return -1;
	}
	return __real_link(from, to);
}

int
__wrap_open(const char *path, int flags, ...)
{
	mode_t mode = 0;

	if ((flags & O_CREAT) != 0) {
		va_list ap;

		va_start(ap, flags);
		mode = (mode_t)va_arg(ap, int);
		va_end(ap);
	}
	if ((flags & (O_WRONLY | O_RDWR | O_CREAT)) != 0 && hit("open", path)) {
		errno = fault_errno;
		return -1;
	}
	return __real_open(path, flags, mode);
}

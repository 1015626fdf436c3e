#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "mr_dirlock.h"
#include "mr_fileio.h"

/* What a refusal shows of the owner's command line. */
#define SHOWN_MAX 120

void
mr_dirlock_init(mr_dirlock *l)
{
	l->fd = -1;
}

/* Copies src as printable ASCII (anything else '?'), cut with "..." to
 * fit cap. */
static void
printable(char *out, size_t cap, const char *src, size_t n)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (size_t i = 0; i < n && src[i] != '\0'; i++) {
		if (o + 1 >= cap) {
			if (cap > 4)
				memcpy(out + cap - 4, "...", 3);
			o = cap - 1;
			break;
		}
		out[o++] = src[i] >= 0x20 && src[i] < 0x7f ? src[i] : '?';
	}
	out[o] = '\0';
}

void
mr_dirlock_cmdline(const char *prog, int argc, char *const *argv, char *out, size_t cap)
{
	const char *slash = strrchr(prog, '/');
	char all[1024];
	size_t n;
	int k = snprintf(all, sizeof(all), "%s", slash != NULL ? slash + 1 : prog);

	n = k < 0 ? 0 : (size_t)k < sizeof(all) ? (size_t)k : sizeof(all) - 1;
	for (int i = 0; i < argc && argv[i] != NULL && n < sizeof(all) - 1; i++) {
		k = snprintf(all + n, sizeof(all) - n, " %s", argv[i]);
		n = k < 0 || (size_t)k >= sizeof(all) - n ? sizeof(all) - 1 : n + (size_t)k;
	}
	printable(out, cap, all, n);
}

/* 1 when pid names a live process (EPERM: alive, not ours). */
static int
alive(long pid)
{
	return pid > 0 && (kill((pid_t)pid, 0) == 0 || errno == EPERM);
}

/*
 * The owner's line, as "pid N (WHAT)". The owner writes it just after it
 * took the lock, so a refusal may look in between (an empty file, or the
 * line of an owner that died): it looks again for up to half a second.
 */
static void
describe_owner(int fd, char *out, size_t cap)
{
	struct timespec pause = { 0, 10 * 1000 * 1000 };
	char line[512], shown[SHOWN_MAX + 1];

	snprintf(out, cap, "another process");
	for (int tries = 0; tries < 50; tries++) {
		ssize_t k = pread(fd, line, sizeof(line) - 1, 0);
		char *end, *cmd;
		long pid;

		if (k > 0 && line[k - 1] == '\n') {
			line[k - 1] = '\0';
			pid = strncmp(line, "pid=", 4) == 0 ? strtol(line + 4, &end, 10) : 0;
			if (pid > 0 && strncmp(end, " cmd=", 5) == 0 && alive(pid)) {
				cmd = end + 5;
				printable(shown, sizeof(shown), cmd, strlen(cmd));
				snprintf(out, cap, "pid %ld (%s)", pid, shown);
				return;
			}
		}
		nanosleep(&pause, NULL);
	}
}

int
mr_dirlock_take(mr_dirlock *l, const char *dir, const char *kind, const char *what,
    mr_diag *d)
{
	char path[4096], line[SHOWN_MAX + 64], owner[SHOWN_MAX + 64];
	struct stat st;
	int fd = -1, r = MR_E_IO, n;

	l->fd = -1;
	if (mr_path_join(path, sizeof(path), dir, MR_DIRLOCK_NAME) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "%s path too long", kind);
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	/* A read-only file system: nobody can change what is under it, so
	 * a read-only open of the lock (or none, if it was never made) is
	 * enough; whoever then tries to write gets EROFS by name. */
	if (fd < 0 && errno == EROFS) {
		fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			l->fd = -1;
			return MR_OK;
		}
	}
	if (fd < 0) {
		if (errno == ENOENT)
			r = mr_diag_set(d, MR_E_NOTFOUND, "%s %s does not exist", kind, dir);
		else
			r = mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		r = mr_diag_set(d, MR_E_IO, "%s: not a regular file", path);
		goto out;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		if (errno == EWOULDBLOCK) {
			describe_owner(fd, owner, sizeof(owner));
			r = mr_diag_set(d, MR_E_IN_USE, "%s %s is in use by %s; nothing was changed",
			    kind, dir, owner);
		} else {
			r = mr_diag_set(d, MR_E_IO, "%s: flock: %s", path, strerror(errno));
		}
		goto out;
	}
	/* Best effort: the flock is the lock, the line only names its owner
	 * (a full disk must not keep `status` from running). */
	n = snprintf(line, sizeof(line), "pid=%ld cmd=%.*s\n", (long)getpid(), SHOWN_MAX,
	    what != NULL ? what : "?");
	if (n > 0 && ftruncate(fd, 0) == 0)
		(void)!pwrite(fd, line, strlen(line), 0);
	l->fd = fd;
	fd = -1;
	r = MR_OK;
out:
	if (fd >= 0)
		close(fd);
	return r;
}

void
mr_dirlock_release(mr_dirlock *l)
{
	if (l->fd < 0)
		return;
	/* No stale owner line after a clean exit. */
	(void)!ftruncate(l->fd, 0);
	close(l->fd);
	l->fd = -1;
}

/* syncfs(2) */
#define _GNU_SOURCE

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "mr_fileio.h"
#include "mr_pem.h"

int
mr_path_join(char *out, size_t cap, const char *dir, const char *name)
{
	int k = snprintf(out, cap, "%s/%s", dir, name);

	return (k < 0 || (size_t)k >= cap) ? MR_E_RANGE : MR_OK;
}

int
mr_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* The bounded whole-file read of an open descriptor; `shown` names it in
 * the diag. Closes fd. */
static int
read_fd(int fd, const char *shown, size_t max, uint8_t **data, size_t *len, mr_diag *d)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int r = MR_E_IO;

	if (fstat(fd, &st) != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = mr_diag_set(d, MR_E_IO, "%s: not a regular file", shown);
		goto out;
	}
	if ((uintmax_t)st.st_size > max) {
		r = mr_diag_set(d, MR_E_RANGE, "%s: larger than %zu bytes", shown, max);
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		r = mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", shown);
		goto out;
	}
	/* Read up to max + 1 so a file that grows meanwhile is still caught. */
	for (;;) {
		ssize_t k;
		if (got == (size_t)st.st_size) {
			uint8_t extra;
			k = read(fd, &extra, 1);
			if (k == 0)
				break;
			if (k > 0) {
				r = mr_diag_set(d, MR_E_IO, "%s: changed while read", shown);
				goto out;
			}
		} else {
			k = read(fd, buf + got, (size_t)st.st_size - got);
			if (k > 0) {
				got += (size_t)k;
				continue;
			}
			if (k == 0) {
				r = mr_diag_set(d, MR_E_IO, "%s: changed while read", shown);
				goto out;
			}
		}
		if (errno == EINTR)
			continue;
		r = mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
		goto out;
	}
	buf[got] = '\0';
	*data = buf;
	*len = got;
	buf = NULL;
	r = MR_OK;
out:
	/* A PIN file may have been read: no copy left in freed memory. */
	if (buf != NULL)
		explicit_bzero(buf, got);
	free(buf);
	close(fd);
	return r;
}

static int
open_failed(const char *shown, mr_diag *d)
{
	if (errno == ENOENT)
		return mr_diag_set(d, MR_E_NOTFOUND, "%s: not found", shown);
	if (errno == ELOOP)
		return mr_diag_set(d, MR_E_IO, "%s: is a symbolic link", shown);
	return mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
}

int
mr_file_open_regular(const char *path, int *fd, mr_diag *d)
{
	struct stat st;

	/* As mr_file_read: never through a symlink, never a device. */
	*fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (*fd < 0)
		return open_failed(path, d);
	if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(*fd);
		*fd = -1;
		return mr_diag_set(d, MR_E_IO, "%s: not a regular file", path);
	}
	return MR_OK;
}

int
mr_file_read(const char *path, size_t max, uint8_t **data, size_t *len, mr_diag *d)
{
	int fd;

	*data = NULL;
	*len = 0;
	/* O_NOFOLLOW: a symlink on the media must not redirect the read. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return open_failed(path, d);
	return read_fd(fd, path, max, data, len, d);
}

int
mr_file_read_private(const char *path, const char *what, size_t max, uint8_t **data,
    size_t *len, mr_diag *d)
{
	struct stat st;
	int fd;

	*data = NULL;
	*len = 0;
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ELOOP)
			return mr_diag_set(d, MR_E_ARG, "%s %s: is a symbolic link", what, path);
		return mr_diag_set(d, MR_E_ARG, "%s %s: %s", what, path, strerror(errno));
	}
	/* As ssh does for private keys: a secret others could read (or
	 * replace) is refused before its bytes are looked at, so the
	 * operator learns of the leak instead of it going on unseen. */
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077) != 0) {
		close(fd);
		return mr_diag_set(d, MR_E_ARG, "%s %s is %s by others (mode %04o); chmod 600 %s",
		    what, path, (st.st_mode & 044) != 0 ? "readable" : "writable",
		    (unsigned)(st.st_mode & 07777), path);
	}
	return read_fd(fd, path, max, data, len, d);
}

int
mr_file_read_at(int dirfd, const char *name, const char *shown, size_t max, uint8_t **data,
    size_t *len, mr_diag *d)
{
	int fd;

	*data = NULL;
	*len = 0;
	if (name[0] == '\0' || strchr(name, '/') != NULL)
		return mr_diag_set(d, MR_E_ARG, "%s: not a plain file name", shown);
	fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return open_failed(shown, d);
	return read_fd(fd, shown, max, data, len, d);
}

static int
decode_pem(uint8_t *text, size_t len, const char *shown, const char *label, uint8_t *der,
    size_t cap, size_t *der_len, mr_diag *d)
{
	size_t pos = 0;
	int r = mr_pem_next((const char *)text, len, &pos, label, der, cap, der_len);

	free(text);
	if (r == MR_E_NOTFOUND)
		return mr_diag_set(d, MR_E_PEM, "%s: no PEM %s block", shown, label);
	if (r != MR_OK)
		return mr_diag_set(d, MR_E_PEM, "%s: malformed PEM %s block", shown, label);
	return MR_OK;
}

int
mr_file_read_pem_at(int dirfd, const char *name, const char *shown, size_t max,
    const char *label, uint8_t *der, size_t cap, size_t *der_len, mr_diag *d)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if ((r = mr_file_read_at(dirfd, name, shown, max, &text, &len, d)) != MR_OK)
		return r;
	return decode_pem(text, len, shown, label, der, cap, der_len, d);
}

int
mr_file_read_pem(const char *path, size_t max, const char *label, uint8_t *der, size_t cap,
    size_t *der_len, mr_diag *d)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if ((r = mr_file_read(path, max, &text, &len, d)) != MR_OK)
		return r;
	return decode_pem(text, len, path, label, der, cap, der_len, d);
}

int
mr_file_write_all(int fd, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		ssize_t k = write(fd, p, len);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += k;
		len -= (size_t)k;
	}
	return 0;
}

int
mr_file_fsync_dir_of(const char *path)
{
	char copy[4096];
	int fd, rc;

	if (strlen(path) >= sizeof(copy))
		return -1;
	strcpy(copy, path);
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* Some file systems (FAT via some drivers) refuse fsync on a
	 * directory with EINVAL; the rename is as durable as they allow. */
	rc = fsync(fd);
	if (rc != 0 && (errno == EINVAL || errno == EROFS))
		rc = 0;
	close(fd);
	return rc;
}

/* Our pid for temp names, asked of the kernel once per process (a
 * system call each time otherwise); a forked child asks again. */
static pid_t pid_cached;
static pthread_once_t pid_once = PTHREAD_ONCE_INIT;

static void
pid_forget(void)
{
	__atomic_store_n(&pid_cached, 0, __ATOMIC_RELAXED);
}

static void
pid_init(void)
{
	(void)pthread_atfork(NULL, NULL, pid_forget);
}

static pid_t
self_pid(void)
{
	pid_t pid;

	(void)pthread_once(&pid_once, pid_init);
	if ((pid = __atomic_load_n(&pid_cached, __ATOMIC_RELAXED)) == 0) {
		pid = getpid();
		__atomic_store_n(&pid_cached, pid, __ATOMIC_RELAXED);
	}
	return pid;
}

/* The process's umask from /proc/self/status (Linux 4.7+): umask(2)
 * cannot read it without setting it, which would race with other
 * threads' creates. -1 when unknown. */
static long
current_umask(void)
{
	char buf[2048], *p;
	ssize_t k;
	size_t got = 0;
	long mask = -1;
	int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while (got < sizeof(buf) - 1 && (k = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)k;
	close(fd);
	buf[got] = '\0';
	if ((p = strstr(buf, "\nUmask:")) != NULL) {
		char *end;
		mask = strtol(p + 7, &end, 8);
		if (end == p + 7 || mask < 0 || mask > 0777)
			mask = -1;
	}
	return mask;
}

/*
 * 1 when a file created by open(2) in dir with `mode` gets exactly that
 * mode, so no fchmod is needed: the umask clears none of its bits and dir
 * has no default ACL (which takes the umask's place and may narrow the
 * mode). 0 when that cannot be told: the caller then sets the mode.
 */
static int
create_mode_exact(const char *dir, mode_t mode)
{
	long mask = current_umask();

	if (mask < 0 || ((unsigned long)mode & (unsigned long)mask) != 0)
		return 0;
	if (getxattr(dir, "system.posix_acl_default", NULL, 0) >= 0)
		return 0;
	/* No such attribute, or a file system without ACLs (FAT). */
	return errno == ENODATA || errno == ENOTSUP;
}

/*
 * Creates <path>.tmp.<pid> with `mode` and writes data (fsync'ed if sync).
 * mode_exact: the creation gives the mode exactly (create_mode_exact),
 * else it is set with fchmod, so the umask neither widens nor narrows it.
 */
static int
write_temp(const char *path, const void *data, size_t len, mode_t mode, int mode_exact,
    int sync, char *tmp, size_t tmp_cap, mr_diag *d)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
	int fd, k;

	k = snprintf(tmp, tmp_cap, "%s.tmp.%ld", path, (long)self_pid());
	if (k < 0 || (size_t)k >= tmp_cap)
		return mr_diag_set(d, MR_E_RANGE, "%s: path too long", path);
	fd = open(tmp, flags, mode);
	/* Only a process that had our pid before, and died between create
	 * and rename, can have left this name (the start-up sweep spares it:
	 * the pid is alive, it is ours): removed and made afresh. */
	if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
		fd = open(tmp, flags, mode);
	if (fd < 0)
		return mr_diag_set(d, MR_E_IO, "%s: %s", tmp, strerror(errno));
	if ((!mode_exact && fchmod(fd, mode) != 0) || mr_file_write_all(fd, data, len) != 0 ||
	    (sync && fsync(fd) != 0)) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(e));
	}
	if (close(fd) != 0) {
		int e = errno;
		unlink(tmp);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(e));
	}
	return MR_OK;
}

int
mr_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    mr_diag *d)
{
	char tmp[4200];
	int r;

	if ((r = write_temp(path, data, len, mode, 0, 1, tmp, sizeof(tmp), d)) != MR_OK)
		return r;
	if (rename(tmp, path) != 0) {
		int e = errno;
		unlink(tmp);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(e));
	}
	if (mr_file_fsync_dir_of(path) != 0)
		return mr_diag_set(d, MR_E_IO, "%s: fsync of directory: %s", path,
		    strerror(errno));
	return MR_OK;
}

int
mr_file_write_atomic_pair(const char *path1, const void *data1, size_t len1, mode_t mode1,
    const char *path2, const void *data2, size_t len2, mode_t mode2, mr_diag *d)
{
	char tmp1[4200], tmp2[4200];
	int r;

	if ((r = write_temp(path1, data1, len1, mode1, 0, 1, tmp1, sizeof(tmp1), d)) != MR_OK)
		return r;
	if ((r = write_temp(path2, data2, len2, mode2, 0, 1, tmp2, sizeof(tmp2), d)) != MR_OK) {
		unlink(tmp1);
		return r;
	}
	if (rename(tmp1, path1) != 0) {
		int e = errno;
		unlink(tmp1);
		unlink(tmp2);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path1, strerror(e));
	}
	if (rename(tmp2, path2) != 0) {
		int e = errno;
		unlink(tmp2);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path2, strerror(e));
	}
	/* One directory: one fsync makes both names durable. */
	if (mr_file_fsync_dir_of(path1) != 0)
		return mr_diag_set(d, MR_E_IO, "%s: fsync of directory: %s", path1,
		    strerror(errno));
	return MR_OK;
}

int
mr_file_create_atomic(const char *path, const void *data, size_t len, mode_t mode,
    mr_diag *d)
{
	char tmp[4200];
	int r, e;

	if ((r = write_temp(path, data, len, mode, 0, 1, tmp, sizeof(tmp), d)) != MR_OK)
		return r;
	r = link(tmp, path);
	e = errno;
	unlink(tmp);
	if (r != 0) {
		if (e == EEXIST)
			return mr_diag_set(d, MR_E_EXISTS, "%s: already exists", path);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(e));
	}
	if (mr_file_fsync_dir_of(path) != 0)
		return mr_diag_set(d, MR_E_IO, "%s: fsync of directory: %s", path,
		    strerror(errno));
	return MR_OK;
}

static int
log_open(mr_file_log *l, const char *path, int create, mr_diag *d)
{
	int flags = O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW, created = 0, fd;

	/* O_EXCL first: whether this open made the file decides whether its
	 * name must be made durable (no stat, no race with a second opener). */
	fd = create ? open(path, flags | O_CREAT | O_EXCL, 0600) : -1;
	if (fd >= 0)
		created = 1;
	else if (!create || errno == EEXIST)
		fd = open(path, flags);
	if (fd < 0)
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
	/* The file's name must survive too, or its synced data is lost. */
	if (created && mr_file_fsync_dir_of(path) != 0) {
		int e = errno;
		close(fd);
		return mr_diag_set(d, MR_E_IO, "%s: fsync of directory: %s", path, strerror(e));
	}
	l->fd = fd;
	l->open = 1;
	return MR_OK;
}

void
mr_file_log_close(mr_file_log *l)
{
	if (l->open)
		close(l->fd);
	l->open = 0;
	l->fd = -1;
}

/* After a failed write or fsync: the descriptor is given up (an fsync
 * error is reported once per open file; a fresh open starts clean). */
static int
log_failed(mr_file_log *l, const char *path, const char *what, mr_diag *d)
{
	int e = errno;

	mr_file_log_close(l);
	return mr_diag_set(d, MR_E_IO, "%s: %s%s", path, what, strerror(e));
}

int
mr_file_log_append(mr_file_log *l, const char *path, const void *data, size_t len, int sync,
    mr_diag *d)
{
	int r;

	if (!l->open && (r = log_open(l, path, 1, d)) != MR_OK)
		return r;
	if (mr_file_write_all(l->fd, data, len) != 0)
		return log_failed(l, path, "", d);
	if (sync && fsync(l->fd) != 0)
		return log_failed(l, path, "", d);
	return MR_OK;
}

int
mr_file_log_sync(mr_file_log *l, const char *path, mr_diag *d)
{
	int r;

	/* Closed after a failed append: the appends before it are in the
	 * file all the same, and this fsync is what makes them durable. */
	if (!l->open && (r = log_open(l, path, 0, d)) != MR_OK)
		return r;
	if (fsync(l->fd) != 0)
		return log_failed(l, path, "fsync: ", d);
	return MR_OK;
}

/* 1 if name is <something>.tmp.<pid> with pid a process that is gone. */
static int
stale_temp(const char *name)
{
	const char *dot = strrchr(name, '.');
	char *end;
	long pid;

	if (dot == NULL || dot - name < 5 || strncmp(dot - 4, ".tmp", 4) != 0 ||
	    dot[1] < '0' || dot[1] > '9')
		return 0;
	errno = 0;
	pid = strtol(dot + 1, &end, 10);
	if (*end != '\0' || errno != 0 || pid <= 0 || pid > INT32_MAX)
		return 0;
	/* A live writer (another command on the same state dir) keeps its
	 * file; only a dead one's is left over. */
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int
mr_file_sweep_temps(const char *dir, size_t *removed, mr_diag *d)
{
	DIR *dp;
	struct dirent *de;
	int fd, r = MR_OK;

	if (removed != NULL)
		*removed = 0;
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? MR_OK : mr_diag_set(d, MR_E_IO, "%s: %s", dir, strerror(errno));
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return mr_diag_set(d, MR_E_IO, "%s: %s", dir, strerror(errno));
	}
	while ((de = readdir(dp)) != NULL) {
		struct stat st;

		if (!stale_temp(de->d_name) ||
		    fstatat(dirfd(dp), de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (unlinkat(dirfd(dp), de->d_name, 0) != 0 && errno != ENOENT) {
			r = mr_diag_set(d, MR_E_IO, "%s/%s: %s", dir, de->d_name, strerror(errno));
			break;
		}
		if (removed != NULL)
			(*removed)++;
	}
	closedir(dp);
	return r;
}

void
mr_file_group_init(mr_file_group *g, int exclusive)
{
	memset(g, 0, sizeof(*g));
	g->exclusive = exclusive;
}

/* A deferred file: where its bytes are in the group, its mode, and
 * whether it lies in the group's first directory (where the mode probe
 * holds). */
struct mr_file_pending {
	size_t off, len;
	mode_t mode;
	int in_dir;
};

void
mr_file_group_init_deferred(mr_file_group *g, int exclusive)
{
	mr_file_group_init(g, exclusive);
	g->deferred = 1;
}

/* Keeps a deferred file's bytes for the commit, in slot g->n. */
static int
keep_pending(mr_file_group *g, const void *data, size_t len, mode_t mode, int in_dir,
    mr_diag *d)
{
	if (len > g->bytes_cap - g->bytes_len) {
		size_t cap = g->bytes_cap ? g->bytes_cap : 65536;
		uint8_t *b;
		while (cap - g->bytes_len < len)
			cap *= 2;
		if ((b = realloc(g->bytes, cap)) == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "out of memory");
		g->bytes = b;
		g->bytes_cap = cap;
	}
	memcpy(g->bytes + g->bytes_len, data, len);
	g->pending[g->n] = (struct mr_file_pending){ g->bytes_len, len, mode, in_dir };
	g->bytes_len += len;
	return MR_OK;
}

/* Whether creating a file of this mode in the group's first directory
 * gives it exactly: asked once per group (one umask read, one ACL
 * look-up), not per file, since a batch stages hundreds of files of one
 * mode in one dir. */
static int
mode_exact(mr_file_group *g, int in_dir, mode_t mode)
{
	if (!g->probed || g->probed_mode != mode) {
		g->probed = 1;
		g->probed_mode = mode;
		g->exact = create_mode_exact(g->dir, mode);
	}
	return g->exact && in_dir;
}

/* A temp file's name: the path, ".tmp.", a pid. */
static size_t
tmp_cap_of(const char *path)
{
	return strlen(path) + 32;
}

/* A deferred group's temp files, in staging order; stops at the first
 * failure (mr_file_group_free removes those written). */
static int
write_pending(mr_file_group *g, mr_diag *d)
{
	int r = MR_OK;

	for (size_t i = 0; i < g->n && r == MR_OK; i++) {
		const struct mr_file_pending *f = &g->pending[i];
		r = write_temp(g->dst[i], g->bytes + f->off, f->len, f->mode,
		    mode_exact(g, f->in_dir, f->mode), 0, g->tmp[i], tmp_cap_of(g->dst[i]), d);
	}
	return r;
}

int
mr_file_group_stage(mr_file_group *g, const char *path, const void *data, size_t len,
    mode_t mode, mr_diag *d)
{
	char copy[4096];
	const char *dir;
	size_t tmp_cap = tmp_cap_of(path);
	char *tmp, *dst;
	int r, in_dir;

	if (strlen(path) >= sizeof(copy))
		return mr_diag_set(d, MR_E_RANGE, "%s: path too long", path);
	strcpy(copy, path);
	dir = dirname(copy);
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 16;
		struct mr_file_pending *pf;
		if (g->deferred) {
			if ((pf = realloc(g->pending, cap * sizeof(*pf))) == NULL)
				return mr_diag_set(d, MR_E_NOMEM, "out of memory");
			g->pending = pf;
		}
		char **t = realloc(g->tmp, cap * sizeof(*t));
		if (t == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "out of memory");
		g->tmp = t;
		memset(g->tmp + g->cap, 0, (cap - g->cap) * sizeof(*t));
		t = realloc(g->dst, cap * sizeof(*t));
		if (t == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "out of memory");
		g->dst = t;
		memset(g->dst + g->cap, 0, (cap - g->cap) * sizeof(*t));
		g->cap = cap;
	}
	if ((tmp = malloc(tmp_cap)) == NULL || (dst = strdup(path)) == NULL) {
		free(tmp);
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	}
	free(g->tmp[g->n]);
	free(g->dst[g->n]);
	g->tmp[g->n] = tmp;
	g->dst[g->n] = dst;
	tmp[0] = '\0';
	if (g->n == 0)
		snprintf(g->dir, sizeof(g->dir), "%s", dir);
	if (!(in_dir = strcmp(dir, g->dir) == 0))
		g->dirs = 1;
	if (g->deferred)
		r = keep_pending(g, data, len, mode, in_dir, d);
	else
		r = write_temp(path, data, len, mode, mode_exact(g, in_dir, mode), 0, tmp, tmp_cap, d);
	if (r != MR_OK)
		return r;
	g->n++;
	return MR_OK;
}

static int
sync_fs_of(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC), rc;

	if (fd < 0)
		return -1;
	rc = syncfs(fd);
	close(fd);
	return rc;
}

int
mr_file_group_commit(mr_file_group *g, size_t *done, mr_diag *d)
{
	size_t i = 0;
	int r = MR_OK;

	*done = 0;
	if (g->n == 0)
		return MR_OK;
	/* None is committed when one fails; free removes those written. */
	if (g->deferred && (r = write_pending(g, d)) != MR_OK)
		return r;
	/* Every temp file's bytes are durable before any name points at them. */
	if (sync_fs_of(g->dir) != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: syncfs: %s", g->dir, strerror(errno));
		goto out;
	}
	for (; i < g->n; i++) {
		int rc = g->exclusive ? link(g->tmp[i], g->dst[i]) : rename(g->tmp[i], g->dst[i]);
		int e = errno;
		if (rc != 0) {
			r = g->exclusive && e == EEXIST
			    ? mr_diag_set(d, MR_E_EXISTS, "%s: already exists", g->dst[i])
			    : mr_diag_set(d, MR_E_IO, "%s: %s", g->dst[i], strerror(e));
			break;
		}
		if (g->exclusive)
			unlink(g->tmp[i]);
		g->tmp[i][0] = '\0';
	}
	/* The new names: one directory's fsync, or for files in several
	 * directories (a host's answers, a directory each cluster) one more
	 * syncfs, which makes every directory's entries durable at once. */
	if (g->dirs) {
		if (sync_fs_of(g->dir) != 0 && r == MR_OK)
			r = mr_diag_set(d, MR_E_IO, "%s: syncfs: %s", g->dir, strerror(errno));
	} else if (mr_file_fsync_dir_of(g->dst[0]) != 0 && r == MR_OK) {
		r = mr_diag_set(d, MR_E_IO, "%s: fsync of directory: %s", g->dir, strerror(errno));
	}
	*done = r == MR_OK ? g->n : i;
out:
	return r;
}

void
mr_file_group_free(mr_file_group *g)
{
	for (size_t i = 0; i < g->n; i++)
		if (g->tmp[i][0] != '\0')
			unlink(g->tmp[i]);
	for (size_t i = 0; i < g->cap; i++) {
		free(g->tmp[i]);
		free(g->dst[i]);
	}
	free(g->tmp);
	free(g->dst);
	free(g->pending);
	free(g->bytes);
	memset(g, 0, sizeof(*g));
}

int
mr_mkdirs(const char *path, mode_t mode, mr_diag *d)
{
	char buf[4096];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(buf))
		return mr_diag_set(d, MR_E_RANGE, "bad directory path");
	/* Nearly always there already (a batch asks once a window): one
	 * call, not one a component from the root. */
	if (mkdir(path, mode) == 0 || errno == EEXIST)
		return MR_OK;
	memcpy(buf, path, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) != 0 && errno != EEXIST)
			return mr_diag_set(d, MR_E_IO, "%s: %s", buf, strerror(errno));
		buf[i] = i == n ? '\0' : '/';
	}
	return MR_OK;
}

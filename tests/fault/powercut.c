/*
 * powercut: an LD_PRELOAD shim that models what survives a power loss, for
 * tests/integration/powercut_sign.sh. SIGKILL keeps the page cache, so a
 * missing fsync never shows under a kill test; this shim keeps aside the
 * durable image of the watched directories and, at the cut, writes that
 * image out instead of what the page cache holds.
 *
 * The model (POSIX's, stricter than ext4's journal):
 *   - at load, everything under the watched directories is durable;
 *   - fsync/fdatasync of a regular file: its current content (and mode)
 *     becomes durable, not its name;
 *   - fsync of a directory: its current entries (name -> which inode, or
 *     a subdirectory) become durable, not the contents of those files;
 *   - syncfs: every file and every directory under the watched
 *     directories on that file system becomes durable;
 *   - write, rename, link, unlink change nothing durable by themselves.
 *     A file whose name is durable but whose content never was is empty
 *     in the image. Files are known by inode; when the last name of an
 *     inode goes (unlink, rename over it), its durable record is kept for
 *     the durable names still pointing at it and a new file that reuses
 *     the inode number starts a new record.
 *   - only absolute paths (or paths relative to a directory fd) are
 *     watched; mkdir is not intercepted: a new directory exists in the
 *     image only once its parent's entries were made durable.
 *
 * Configuration (environment, read once at load):
 *   POWERCUT_DIRS   colon-separated absolute directories to watch (their
 *                   basenames must differ)
 *   POWERCUT_AT     KIND:N: cut before executing the N-th (1-based) watched
 *                   call of KIND: step (any of fsync, fdatasync, syncfs,
 *                   rename, link: the durable steps), fsync (with fdatasync),
 *                   syncfs, rename, link, unlink
 *   POWERCUT_IMAGE  the image directory (must not exist): at the cut, each
 *                   watched directory is written there as IMAGE/<basename>
 *                   as it would be found after the power loss; then the
 *                   process group (the process alone if it does not lead
 *                   its group) is killed with SIGKILL
 *   POWERCUT_COUNT  a file that gets, at a normal exit, "steps N" and one
 *                   "KIND N" line per kind
 *   POWERCUT_TRACE  a file that gets one line "N KIND PATH" per step
 *
 * Only the process that loaded the shim first acts: a forked child (the
 * confined request parser) or an exec'd program sees the shim inert and
 * makes no system call on its behalf. This is test code: a malformed
 * configuration or a failure to write the image aborts.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum kind { K_STEP, K_FSYNC, K_SYNCFS, K_RENAME, K_LINK, K_UNLINK, K_COUNT };
static const char *const kind_name[K_COUNT] = {
	"step", "fsync", "syncfs", "rename", "link", "unlink"
};

/* The durable content of one file. */
struct node {
	dev_t dev;
	ino_t ino;
	int alive; /* still findable by dev/ino */
	mode_t mode;
	unsigned char *data;
	size_t len;
};

/* One durable directory entry: a file (node) or a subdirectory. */
struct entry {
	char *name;
	int is_dir;
	size_t node;
};

/* The durable entries of one directory, known by path. */
struct dir {
	char *path;
	mode_t mode;
	struct entry *ents;
	size_t n;
};

#define MAX_ROOTS 8

static int active;
static char *roots[MAX_ROOTS];
static size_t nroots;
static enum kind at_kind = K_COUNT;
static unsigned long at_n;
static unsigned long counts[K_COUNT];
static const char *image, *count_file;
static FILE *trace;
static struct node *nodes;
static size_t nnodes;
static struct dir *dirs;
static size_t ndirs;

static int (*real_fsync)(int);
static int (*real_fdatasync)(int);
static int (*real_syncfs)(int);
static int (*real_rename)(const char *, const char *);
static int (*real_renameat)(int, const char *, int, const char *);
static int (*real_link)(const char *, const char *);
static int (*real_linkat)(int, const char *, int, const char *, int);
static int (*real_unlink)(const char *);
static int (*real_unlinkat)(int, const char *, int);

static void
die(const char *what, const char *path)
{
	fprintf(stderr, "powercut: %s%s%s: %s\n", what, path ? " " : "", path ? path : "",
	    strerror(errno));
	abort();
}

static void *
xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (q == NULL)
		die("out of memory", NULL);
	return q;
}

static char *
xstrdup(const char *s)
{
	char *c = strdup(s);

	if (c == NULL)
		die("out of memory", NULL);
	return c;
}

/* Is the absolute path at or under a watched directory? */
static int
watched(const char *path)
{
	for (size_t i = 0; i < nroots; i++) {
		size_t n = strlen(roots[i]);
		if (strncmp(path, roots[i], n) == 0 && (path[n] == '\0' || path[n] == '/'))
			return 1;
	}
	return 0;
}

static int
fd_path(int fd, char *out, size_t cap)
{
	char link[64];
	ssize_t k;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	k = readlink(link, out, cap - 1);
	if (k < 0)
		return -1;
	out[k] = '\0';
	return 0;
}

/* The absolute form of (dirfd, path); -1 if it cannot be known. */
static int
resolve(int dirfd, const char *path, char *out, size_t cap)
{
	char base[PATH_MAX];
	int k;

	if (path[0] == '/') {
		k = snprintf(out, cap, "%s", path);
	} else {
		if (dirfd == AT_FDCWD) {
			if (getcwd(base, sizeof(base)) == NULL)
				return -1;
		} else if (fd_path(dirfd, base, sizeof(base)) != 0) {
			return -1;
		}
		k = snprintf(out, cap, "%s/%s", base, path);
	}
	return (k < 0 || (size_t)k >= cap) ? -1 : 0;
}

static size_t
node_of(const struct stat *st)
{
	for (size_t i = 0; i < nnodes; i++)
		if (nodes[i].alive && nodes[i].dev == st->st_dev && nodes[i].ino == st->st_ino)
			return i;
	nodes = xrealloc(nodes, (nnodes + 1) * sizeof(*nodes));
	nodes[nnodes] = (struct node){ st->st_dev, st->st_ino, 1, st->st_mode & 07777, NULL, 0 };
	return nnodes++;
}

/* The durable content of the file open at `path` becomes what it holds now. */
static void
snap_file(const char *path, const struct stat *st)
{
	size_t i = node_of(st); /* before taking &nodes[i]: node_of may move nodes */
	struct node *nd = &nodes[i];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t got = 0, cap = (size_t)st->st_size + 1;
	unsigned char *buf;

	if (fd < 0)
		die("open", path);
	buf = xrealloc(NULL, cap);
	for (;;) {
		ssize_t k;
		if (got == cap)
			buf = xrealloc(buf, cap *= 2);
		k = read(fd, buf + got, cap - got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			die("read", path);
		if (k == 0)
			break;
		got += (size_t)k;
	}
	close(fd);
	free(nd->data);
	nd->data = buf;
	nd->len = got;
	nd->mode = st->st_mode & 07777;
}

static struct dir *
dir_of(const char *path)
{
	for (size_t i = 0; i < ndirs; i++)
		if (strcmp(dirs[i].path, path) == 0)
			return &dirs[i];
	dirs = xrealloc(dirs, (ndirs + 1) * sizeof(*dirs));
	dirs[ndirs] = (struct dir){ xstrdup(path), 0700, NULL, 0 };
	return &dirs[ndirs++];
}

/* The durable entries of the directory `path` become its entries now;
 * with `deep` (syncfs), the contents of its files and subdirectories on
 * device `dev` too. */
static void
snap_dir(const char *path, int deep, dev_t dev)
{
	struct dir *d = dir_of(path);
	DIR *dp = opendir(path);
	struct dirent *de;
	char sub[PATH_MAX];
	struct entry *ents = NULL;
	struct stat ds;
	size_t n = 0;

	if (dp == NULL || fstat(dirfd(dp), &ds) != 0)
		die("opendir", path);
	/* The parser, under another uid, must still find the media readable. */
	d->mode = ds.st_mode & 07777;
	while ((de = readdir(dp)) != NULL) {
		struct stat st;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
		if (lstat(sub, &st) != 0)
			die("lstat", sub);
		if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode))
			continue; /* not modelled */
		ents = xrealloc(ents, (n + 1) * sizeof(*ents));
		ents[n] = (struct entry){ xstrdup(de->d_name), S_ISDIR(st.st_mode), 0 };
		if (S_ISREG(st.st_mode)) {
			ents[n].node = node_of(&st);
			if (deep && st.st_dev == dev)
				snap_file(sub, &st);
		}
		n++;
	}
	closedir(dp);
	for (size_t i = 0; i < d->n; i++)
		free(d->ents[i].name);
	free(d->ents);
	d->ents = ents;
	d->n = n;
	if (deep)
		for (size_t i = 0; i < n; i++)
			if (ents[i].is_dir) {
				snprintf(sub, sizeof(sub), "%s/%s", path, ents[i].name);
				snap_dir(sub, deep, dev);
			}
}

static void
write_image(const char *path, const char *out)
{
	struct dir *d = NULL;
	char sub[PATH_MAX], dst[PATH_MAX];

	for (size_t i = 0; i < ndirs; i++)
		if (strcmp(dirs[i].path, path) == 0)
			d = &dirs[i];
	if (mkdir(out, 0700) != 0 || chmod(out, d != NULL ? d->mode : 0700) != 0)
		die("mkdir", out);
	/* A directory whose own entries never became durable is empty. */
	for (size_t i = 0; d != NULL && i < d->n; i++) {
		const struct entry *e = &d->ents[i];
		snprintf(sub, sizeof(sub), "%s/%s", path, e->name);
		snprintf(dst, sizeof(dst), "%s/%s", out, e->name);
		if (e->is_dir) {
			write_image(sub, dst);
		} else {
			const struct node *nd = &nodes[e->node];
			int fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
			if (fd < 0 || write(fd, nd->data, nd->len) != (ssize_t)nd->len ||
			    fchmod(fd, nd->mode) != 0 || close(fd) != 0)
				die("write", dst);
		}
	}
}

static void
cut(enum kind k, const char *path)
{
	char out[PATH_MAX];

	fprintf(stderr, "powercut: cut before %s %lu (step %lu) on %s\n", kind_name[k],
	    counts[k], counts[K_STEP], path);
	if (mkdir(image, 0700) != 0)
		die("mkdir", image);
	for (size_t i = 0; i < nroots; i++) {
		snprintf(out, sizeof(out), "%s/%s", image, strrchr(roots[i], '/') + 1);
		write_image(roots[i], out);
	}
	if (trace != NULL)
		fflush(trace);
	if (getpgrp() == getpid())
		kill(0, SIGKILL);
	kill(getpid(), SIGKILL);
}

/* Counts a watched call and cuts the power when it is the configured one. */
static void
hit(enum kind k, const char *path)
{
	counts[k]++;
	if (k != K_UNLINK) {
		counts[K_STEP]++;
		if (trace != NULL)
			fprintf(trace, "%lu %s %s\n", counts[K_STEP], kind_name[k], path);
	}
	if (at_kind != K_COUNT && counts[at_kind] == at_n && (k == at_kind || at_kind == K_STEP))
		cut(k, path);
}

/* Before `path` loses a name: the inode it names, if that is its last
 * name, so the durable record can be retired after the call. */
static long
last_name(const char *path)
{
	struct stat st;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 1)
		return -1;
	for (size_t i = 0; i < nnodes; i++)
		if (nodes[i].alive && nodes[i].dev == st.st_dev && nodes[i].ino == st.st_ino)
			return (long)i;
	return -1;
}

static void
retire(long node, int rc)
{
	if (node >= 0 && rc == 0)
		nodes[node].alive = 0;
}

static void
off_in_child(void)
{
	active = 0;
}

static void
write_counts(void)
{
	FILE *f;

	if (!active || count_file == NULL)
		return;
	f = fopen(count_file, "w");
	if (f == NULL)
		die("fopen", count_file);
	for (int k = 0; k < K_COUNT; k++)
		fprintf(f, "%s %lu\n", kind_name[k], counts[k]);
	if (fclose(f) != 0)
		die("fclose", count_file);
}

__attribute__((constructor)) static void
powercut_init(void)
{
	const char *dirs_env = getenv("POWERCUT_DIRS"), *at = getenv("POWERCUT_AT");
	const char *pid_env = getenv("POWERCUT_PID"), *tr = getenv("POWERCUT_TRACE");
	char pid[32], *copy, *save = NULL;

	real_fsync = (int (*)(int))dlsym(RTLD_NEXT, "fsync");
	real_fdatasync = (int (*)(int))dlsym(RTLD_NEXT, "fdatasync");
	real_syncfs = (int (*)(int))dlsym(RTLD_NEXT, "syncfs");
	real_rename = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "rename");
	real_renameat = (int (*)(int, const char *, int, const char *))dlsym(RTLD_NEXT, "renameat");
	real_link = (int (*)(const char *, const char *))dlsym(RTLD_NEXT, "link");
	real_linkat = (int (*)(int, const char *, int, const char *, int))dlsym(RTLD_NEXT, "linkat");
	real_unlink = (int (*)(const char *))dlsym(RTLD_NEXT, "unlink");
	real_unlinkat = (int (*)(int, const char *, int))dlsym(RTLD_NEXT, "unlinkat");
	if (dirs_env == NULL || dirs_env[0] == '\0')
		return;
	snprintf(pid, sizeof(pid), "%ld", (long)getpid());
	if (pid_env != NULL && strcmp(pid_env, pid) != 0)
		return; /* an exec'd program: only the first process is modelled */
	setenv("POWERCUT_PID", pid, 1);
	copy = xstrdup(dirs_env);
	for (char *p = strtok_r(copy, ":", &save); p != NULL; p = strtok_r(NULL, ":", &save)) {
		if (p[0] != '/' || nroots == MAX_ROOTS) {
			errno = EINVAL;
			die("POWERCUT_DIRS: not an absolute path", p);
		}
		roots[nroots++] = xstrdup(p);
	}
	free(copy);
	if (at != NULL && at[0] != '\0') {
		const char *colon = strchr(at, ':');
		char *end;
		for (int k = 0; colon != NULL && k < K_COUNT; k++)
			if (strlen(kind_name[k]) == (size_t)(colon - at) &&
			    strncmp(at, kind_name[k], (size_t)(colon - at)) == 0)
				at_kind = (enum kind)k;
		errno = 0;
		at_n = colon ? strtoul(colon + 1, &end, 10) : 0;
		if (at_kind == K_COUNT || at_n == 0 || *end != '\0' || errno != 0) {
			errno = EINVAL;
			die("POWERCUT_AT: not KIND:N", at);
		}
		image = getenv("POWERCUT_IMAGE");
		if (image == NULL || image[0] != '/') {
			errno = EINVAL;
			die("POWERCUT_IMAGE: not an absolute path", image);
		}
	}
	count_file = getenv("POWERCUT_COUNT");
	if (tr != NULL && (trace = fopen(tr, "we")) == NULL)
		die("fopen", tr);
	/* What is there at the start is durable. */
	for (size_t i = 0; i < nroots; i++) {
		struct stat st;
		if (stat(roots[i], &st) != 0)
			die("stat", roots[i]);
		snap_dir(roots[i], 1, st.st_dev);
	}
	pthread_atfork(NULL, NULL, off_in_child);
	atexit(write_counts);
	active = 1;
}

/*
 * One intercepted call at a time, model and real call together: the
 * appliance's threads (the main thread's fsyncs, the answer writer's
 * renames) then reach the model in some order of whole steps, as they
 * would reach a disk, and a directory is never walked while another
 * thread renames in it. Recursive: cutting writes the image with the
 * calls this shim wraps.
 */
static pthread_mutex_t model_mu = PTHREAD_RECURSIVE_MUTEX_INITIALIZER_NP;

static int
sync_fd_locked(int fd, int (*real)(int))
{
	char path[PATH_MAX];
	struct stat st;

	if (!active || fd_path(fd, path, sizeof(path)) != 0 || !watched(path))
		return real(fd);
	hit(K_FSYNC, path);
	if (real(fd) != 0)
		return -1;
	if (fstat(fd, &st) != 0)
		die("fstat", path);
	if (S_ISREG(st.st_mode)) {
		char self[64];
		snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
		snap_file(self, &st);
	} else if (S_ISDIR(st.st_mode)) {
		snap_dir(path, 0, 0);
	}
	return 0;
}

static int
sync_fd(int fd, int (*real)(int))
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = sync_fd_locked(fd, real);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

int
fsync(int fd)
{
	return sync_fd(fd, real_fsync);
}

int
fdatasync(int fd)
{
	return sync_fd(fd, real_fdatasync);
}

static int
syncfs_locked(int fd)
{
	char path[PATH_MAX];
	struct stat st, rs;

	if (!active || fd_path(fd, path, sizeof(path)) != 0 || !watched(path))
		return real_syncfs(fd);
	hit(K_SYNCFS, path);
	if (real_syncfs(fd) != 0 || fstat(fd, &st) != 0)
		return -1;
	for (size_t i = 0; i < nroots; i++)
		if (stat(roots[i], &rs) == 0 && rs.st_dev == st.st_dev)
			snap_dir(roots[i], 1, st.st_dev);
	return 0;
}

int
syncfs(int fd)
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = syncfs_locked(fd);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

/* rename/link/unlink: counted (and maybe cut) when either path is watched. */
static int
names(int d1, const char *p1, int d2, const char *p2, char *shown, size_t cap)
{
	char a[PATH_MAX], b[PATH_MAX];
	int w = 0;

	if (!active)
		return 0;
	if (resolve(d1, p1, a, sizeof(a)) == 0 && watched(a)) {
		snprintf(shown, cap, "%s", a);
		w = 1;
	}
	if (p2 != NULL && resolve(d2, p2, b, sizeof(b)) == 0 && watched(b)) {
		snprintf(shown, cap, "%s", b);
		w = 1;
	}
	return w;
}

static int
rename_locked(const char *from, const char *to)
{
	char shown[PATH_MAX];
	long gone;
	struct stat a, b;
	int rc;

	if (!names(AT_FDCWD, from, AT_FDCWD, to, shown, sizeof(shown)))
		return real_rename(from, to);
	hit(K_RENAME, shown);
	gone = lstat(from, &a) == 0 && lstat(to, &b) == 0 && a.st_ino == b.st_ino ? -1
	    : last_name(to);
	rc = real_rename(from, to);
	retire(gone, rc);
	return rc;
}

int
rename(const char *from, const char *to)
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = rename_locked(from, to);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

static int
renameat_locked(int fd1, const char *from, int fd2, const char *to)
{
	char shown[PATH_MAX], abs[PATH_MAX];
	long gone = -1;
	int rc;

	if (!names(fd1, from, fd2, to, shown, sizeof(shown)))
		return real_renameat(fd1, from, fd2, to);
	hit(K_RENAME, shown);
	if (resolve(fd2, to, abs, sizeof(abs)) == 0)
		gone = last_name(abs);
	rc = real_renameat(fd1, from, fd2, to);
	retire(gone, rc);
	return rc;
}

int
renameat(int fd1, const char *from, int fd2, const char *to)
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = renameat_locked(fd1, from, fd2, to);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

static int
link_locked(const char *from, const char *to)
{
	char shown[PATH_MAX];

	if (!names(AT_FDCWD, from, AT_FDCWD, to, shown, sizeof(shown)))
		return real_link(from, to);
	hit(K_LINK, shown);
	return real_link(from, to);
}

int
link(const char *from, const char *to)
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = link_locked(from, to);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

static int
linkat_locked(int fd1, const char *from, int fd2, const char *to, int flags)
{
	char shown[PATH_MAX];

	if (!names(fd1, from, fd2, to, shown, sizeof(shown)))
		return real_linkat(fd1, from, fd2, to, flags);
	hit(K_LINK, shown);
	return real_linkat(fd1, from, fd2, to, flags);
}

int
linkat(int fd1, const char *from, int fd2, const char *to, int flags)
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = linkat_locked(fd1, from, fd2, to, flags);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

static int
unlink_locked(const char *path)
{
	char shown[PATH_MAX];
	long gone;
	int rc;

	if (!names(AT_FDCWD, path, AT_FDCWD, NULL, shown, sizeof(shown)))
		return real_unlink(path);
	hit(K_UNLINK, shown);
	gone = last_name(shown);
	rc = real_unlink(path);
	retire(gone, rc);
	return rc;
}

int
unlink(const char *path)
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = unlink_locked(path);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

static int
unlinkat_locked(int dirfd, const char *path, int flags)
{
	char shown[PATH_MAX];
	long gone;
	int rc;

	if (!names(dirfd, path, AT_FDCWD, NULL, shown, sizeof(shown)))
		return real_unlinkat(dirfd, path, flags);
	hit(K_UNLINK, shown);
	gone = (flags & AT_REMOVEDIR) ? -1 : last_name(shown);
	rc = real_unlinkat(dirfd, path, flags);
	retire(gone, rc);
	return rc;
}

int
unlinkat(int dirfd, const char *path, int flags)
{
	int rc;

	pthread_mutex_lock(&model_mu);
	rc = unlinkat_locked(dirfd, path, flags);
	pthread_mutex_unlock(&model_mu);
	return rc;
}

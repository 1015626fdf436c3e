/*
 * File I/O that never leaves anything half-written: whole-file reads with
 * a size bound, and atomic replacement (temp file in the same directory,
 * write, fsync, rename, fsync the directory), and append-only logs kept
 * open by their writer (mr_file_log). Used for the appliance state dir,
 * the media and the host workspace alike.
 *
 * Reads refuse symlinks and anything that is not a regular file, so a
 * hostile medium cannot point the appliance at its own state.
 */
#ifndef MR_FILEIO_H
#define MR_FILEIO_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mr_diag.h"
#include "mr_err.h"

/* Opens path to read: refuses a symlink (MR_E_IO "is a symbolic link")
 * and anything but a regular file (MR_E_IO "not a regular file");
 * MR_E_NOTFOUND when absent. */
int mr_file_open_regular(const char *path, int *fd, mr_diag *d) MR_MUST_CHECK;
/* write(2) until all of data is written (EINTR retried): 0 or -1. */
int mr_file_write_all(int fd, const void *data, size_t len);
/* fsync of path's directory, so that a name made in it lasts; a file
 * system that refuses fsync on a directory (FAT via some drivers) counts
 * as done. 0 or -1. */
int mr_file_fsync_dir_of(const char *path);

/* Reads all of path into a fresh malloc'd buffer with a NUL appended (not
 * counted in *len). MR_E_RANGE when larger than max; MR_E_NOTFOUND when
 * absent; MR_E_IO for a symlink or a non-regular file. */
int mr_file_read(const char *path, size_t max, uint8_t **data, size_t *len,
    mr_diag *d) MR_MUST_CHECK;

/* As mr_file_read, for a secret (a PIN file, a custody share) named
 * "<what> <path>" in messages: MR_E_ARG, with the chmod to run, when the
 * file is readable or writable by group or others; MR_E_ARG also when it
 * cannot be opened ("PIN file F: No such file or directory"). */
int mr_file_read_private(const char *path, const char *what, size_t max, uint8_t **data,
    size_t *len, mr_diag *d) MR_MUST_CHECK;

/* Reads a PEM file (as mr_file_read, at most max bytes) and decodes the
 * first block labelled `label` into der. MR_E_PEM when there is none or it
 * is malformed; the diag names the path. */
int mr_file_read_pem(const char *path, size_t max, const char *label, uint8_t *der,
    size_t cap, size_t *der_len, mr_diag *d) MR_MUST_CHECK;

/* As mr_file_read and mr_file_read_pem for `name`, a plain file name (no
 * '/') in the directory dirfd, opened with openat(2) and O_NOFOLLOW: no
 * path outside dirfd is ever resolved. `shown` names the file in the diag.
 * For the request parser (mr_privsep.h), which has only a directory fd. */
int mr_file_read_at(int dirfd, const char *name, const char *shown, size_t max,
    uint8_t **data, size_t *len, mr_diag *d) MR_MUST_CHECK;
int mr_file_read_pem_at(int dirfd, const char *name, const char *shown, size_t max,
    const char *label, uint8_t *der, size_t cap, size_t *der_len, mr_diag *d) MR_MUST_CHECK;

/* Atomically replaces path with data, created with `mode`. */
int mr_file_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
    mr_diag *d) MR_MUST_CHECK;

/* Two mr_file_write_atomic in one directory with three fsyncs instead of
 * four: both temp files are made durable, renamed in order (path1 first),
 * then the directory is made durable once. A crash leaves each file old
 * or new, never torn; path1 may be new while path2 is still old. */
int mr_file_write_atomic_pair(const char *path1, const void *data1, size_t len1, mode_t mode1,
    const char *path2, const void *data2, size_t len2, mode_t mode2, mr_diag *d) MR_MUST_CHECK;

/* As mr_file_write_atomic, but MR_E_EXISTS when path already exists
 * (link(2) of the temp file, so two writers cannot both win). */
int mr_file_create_atomic(const char *path, const void *data, size_t len, mode_t mode,
    mr_diag *d) MR_MUST_CHECK;

/*
 * An append-only log file (the audit log, the issuance database) kept open
 * by its writer: one open(2) for the writer's life instead of an open,
 * append and close per record. Zero-initialised means not open yet; the
 * first append opens path (created 0600 if absent, its directory then
 * fsync'ed so the name survives with the data). Every append is one
 * O_APPEND write of the whole record. A failed write or fsync closes the
 * file: the record counts as not written (a torn part is cut when the log
 * is next opened) and a later append or sync opens the file afresh.
 */
typedef struct {
	int open;
	int fd;
} mr_file_log;

/* Appends data; sync: fsync'ed before this returns. Without sync the
 * caller makes the appends durable together with mr_file_log_sync before
 * it relies on them (group commit). */
int mr_file_log_append(mr_file_log *l, const char *path, const void *data, size_t len,
    int sync, mr_diag *d) MR_MUST_CHECK;
/* fsync: every earlier append to path is durable. */
int mr_file_log_sync(mr_file_log *l, const char *path, mr_diag *d) MR_MUST_CHECK;
/* Closes the file if open; safe on a zeroed or closed log. */
void mr_file_log_close(mr_file_log *l);

/*
 * Group commit of whole files: each file is staged
 * (written under a temp name in the same directory, not yet synced), and
 * mr_file_group_commit makes them all durable with one syncfs(2) of the
 * directory's file system, then renames (or, exclusive: links, so an
 * existing file is never replaced) every temp file to its name, then
 * fsyncs the directory once. A crash at any point leaves each name either
 * absent, as before, or complete: never half-written. Two syncs for any
 * number of files, where one atomic write each would cost two per file.
 * Files may lie in several directories of one file system: then a second
 * syncfs takes the place of the directory's fsync (still two syncs).
 */
typedef struct {
	char dir[4096];    /* the first file's directory */
	int dirs;          /* 1 when files lie in more than one directory */
	int exclusive;
	int probed;        /* exact is known for probed_mode in dir */
	mode_t probed_mode;
	int exact;         /* creating with probed_mode in dir gives it exactly */
	size_t n, cap;
	/* Each path as long as it is (a window's answers are 64 names of
	 * about 100 bytes, not 64 slots of PATH_MAX). Slots from n to cap
	 * may hold the names of an unstaged file; they are reused. */
	char **tmp;
	char **dst;
	/* Deferred (mr_file_group_init_deferred): the staged bytes, written
	 * at commit. */
	int deferred;
	struct mr_file_pending *pending; /* one per slot */
	uint8_t *bytes;
	size_t bytes_len, bytes_cap;
} mr_file_group;

/* exclusive: commit fails with MR_E_EXISTS for a name that exists. */
void mr_file_group_init(mr_file_group *g, int exclusive);
/* The same group, but stage only copies the bytes and commit writes the
 * temp files before it syncs: all of the file system's work happens in
 * the commit, which a thread of its own can then take (sign's answer
 * writer). The crash guarantees are the same. */
void mr_file_group_init_deferred(mr_file_group *g, int exclusive);
int mr_file_group_stage(mr_file_group *g, const char *path, const void *data, size_t len,
    mode_t mode, mr_diag *d) MR_MUST_CHECK;
/* Commits every staged file, in staging order. On failure the files from
 * the failing one on are not committed (their temp files are removed) and
 * *done says how many were. */
int mr_file_group_commit(mr_file_group *g, size_t *done, mr_diag *d) MR_MUST_CHECK;
/* Removes staged temp files not committed and frees g. */
void mr_file_group_free(mr_file_group *g);

/* Removes the temp files that mr_file_write_atomic and
 * mr_file_create_atomic leave in `dir` when their process dies between
 * creating and renaming them (<name>.tmp.<pid>, pid no longer running).
 * A missing dir is fine. *removed counts them (may be NULL). */
int mr_file_sweep_temps(const char *dir, size_t *removed, mr_diag *d) MR_MUST_CHECK;

/* mkdir -p with mode for every created component. */
int mr_mkdirs(const char *path, mode_t mode, mr_diag *d) MR_MUST_CHECK;

/* 1 if path exists (lstat), 0 if not. */
int mr_path_exists(const char *path);

/* snprintf into a path buffer; MR_E_RANGE when it does not fit. */
int mr_path_join(char *out, size_t cap, const char *dir, const char *name) MR_MUST_CHECK;

#endif

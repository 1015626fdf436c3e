/*
 * mr_file_sweep_temps: the temp files of a process killed mid-write go,
 * a live writer's stay, and nothing else is touched. mr_file_log: one
 * descriptor for every append, deferred appends in the file before and
 * after the sync, a failure closes it. Staged and atomic files get
 * exactly the mode asked for whatever the umask, and a leftover temp
 * name of our own pid does not stop a write. A deferred group writes
 * nothing before its commit, and a commit that fails leaves nothing; an
 * exclusive group's files appear only at its commit and never replace a
 * file.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "mr_fileio.h"

static void
touch(const char *dir, const char *name)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fclose(f);
}

static int
exists(const char *dir, const char *name)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return mr_path_exists(path);
}

/* A pid that is certainly gone: a child that has been reaped. */
static long
dead_pid(void)
{
	pid_t p = fork();

	assert_true(p >= 0);
	if (p == 0)
		_exit(0);
	assert_int_equal(waitpid(p, NULL, 0), p);
	return (long)p;
}

static void
test_sweep(void **state)
{
	char dir[] = "/tmp/mr-sweep-XXXXXX", name[64], dead[64], live[64];
	size_t removed = 99;
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_non_null(mkdtemp(dir));
	snprintf(dead, sizeof(dead), "issued.db.tmp.%ld", dead_pid());
	snprintf(live, sizeof(live), "audit.checkpoint.tmp.%ld", (long)getpid());
	touch(dir, dead);
	touch(dir, live);
	touch(dir, "issued.db");
	touch(dir, "notes.tmp.");
	touch(dir, "notes.tmp.12x");
	touch(dir, "tmp.1");
	snprintf(name, sizeof(name), "%s/sub.tmp.%ld", dir, dead_pid());
	assert_int_equal(mkdir(name, 0700), 0);

	assert_int_equal(mr_file_sweep_temps(dir, &removed, &d), MR_OK);
	assert_int_equal(removed, 1);
	assert_false(exists(dir, dead));
	assert_true(exists(dir, live));
	assert_true(exists(dir, "issued.db"));
	assert_true(exists(dir, "notes.tmp."));
	assert_true(exists(dir, "notes.tmp.12x"));
	assert_true(exists(dir, "tmp.1"));
	assert_true(mr_path_exists(name)); /* a directory is never removed */

	/* A directory that does not exist holds no leftovers. */
	snprintf(name, sizeof(name), "%s-none", dir);
	assert_int_equal(mr_file_sweep_temps(name, &removed, &d), MR_OK);
	assert_int_equal(removed, 0);

	snprintf(name, sizeof(name), "rm -rf '%s'", dir);
	assert_int_equal(system(name), 0);
}

static void
read_back(const char *path, const char *want)
{
	uint8_t *data = NULL;
	size_t len = 0;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_file_read(path, 1 << 20, &data, &len, &d), MR_OK);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(data, want, len);
	free(data);
}

static void
test_log(void **state)
{
	char dir[] = "/tmp/mr-log-XXXXXX", path[4096], cmd[4200];
	mr_file_log l;
	struct stat st;
	mr_diag d;
	int fd;

	(void)state;
	mr_diag_clear(&d);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	memset(&l, 0, sizeof(l));
	mr_file_log_close(&l); /* a zeroed log is not open: nothing to close */

	/* Created 0600 at the first append, whatever the umask. */
	mode_t old = umask(0);
	assert_int_equal(mr_file_log_append(&l, path, "a\n", 2, 1, &d), MR_OK);
	umask(old);
	assert_true(l.open);
	fd = l.fd;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);

	/* Deferred appends: the same descriptor, the bytes already in the
	 * file for every reader (a proof, a scan), then one sync. */
	assert_int_equal(mr_file_log_append(&l, path, "b\n", 2, 0, &d), MR_OK);
	assert_int_equal(mr_file_log_append(&l, path, "c\n", 2, 0, &d), MR_OK);
	assert_int_equal(l.fd, fd);
	read_back(path, "a\nb\nc\n");
	assert_int_equal(mr_file_log_sync(&l, path, &d), MR_OK);
	assert_int_equal(l.fd, fd);

	/* Closed (as after a failed append), a sync opens the file again. */
	mr_file_log_close(&l);
	assert_false(l.open);
	assert_int_equal(mr_file_log_sync(&l, path, &d), MR_OK);
	assert_true(l.open);
	assert_int_equal(mr_file_log_append(&l, path, "d\n", 2, 1, &d), MR_OK);
	read_back(path, "a\nb\nc\nd\n");
	mr_file_log_close(&l);

	/* A failed write (a read-only descriptor stands in for a full disk)
	 * is an error naming the file, and the descriptor is given up. */
	l.fd = open(path, O_RDONLY | O_CLOEXEC);
	assert_true(l.fd >= 0);
	l.open = 1;
	assert_int_equal(mr_file_log_append(&l, path, "e\n", 2, 0, &d), MR_E_IO);
	assert_non_null(strstr(mr_diag_text(&d, MR_E_IO), "audit.log: Bad file descriptor"));
	assert_false(l.open);
	mr_diag_clear(&d);
	read_back(path, "a\nb\nc\nd\n");

	/* A log whose directory is gone cannot be opened, nor synced. */
	snprintf(path, sizeof(path), "%s/none/issued.db", dir);
	assert_int_equal(mr_file_log_append(&l, path, "x\n", 2, 1, &d), MR_E_IO);
	assert_non_null(strstr(mr_diag_text(&d, MR_E_IO), "issued.db: No such file or directory"));
	assert_false(l.open);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_log_sync(&l, path, &d), MR_E_IO);
	assert_false(l.open);

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static mode_t
mode_of(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

/* mr_file_group leaves out the fchmod when the umask cannot narrow the
 * mode: under every umask the mode must still come out exact. */
static void
test_modes(void **state)
{
	static const mode_t masks[] = { 0, 022, 077, 0777, 027, 0002 };
	static const mode_t modes[] = { 0600, 0644, 0640 };
	char dir[] = "/tmp/mr-mode-XXXXXX", path[4096], cmd[4200];
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		mr_file_group g;
		size_t done = 0;
		mode_t old = umask(masks[i]);

		/* Every kind of group: written at stage, at commit, or
		 * linked at commit (exclusive). */
		if (i % 3 == 0)
			mr_file_group_init(&g, 0);
		else if (i % 3 == 1)
			mr_file_group_init_deferred(&g, 0);
		else
			mr_file_group_init(&g, 1);
		for (size_t j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			snprintf(path, sizeof(path), "%s/g%zu.%zu", dir, i, j);
			assert_int_equal(mr_file_group_stage(&g, path, "x", 1, modes[j], &d), MR_OK);
		}
		assert_int_equal(mr_file_group_commit(&g, &done, &d), MR_OK);
		assert_int_equal(done, 3);
		mr_file_group_free(&g);
		snprintf(path, sizeof(path), "%s/a%zu", dir, i);
		assert_int_equal(mr_file_write_atomic(path, "y", 1, 0644, &d), MR_OK);
		umask(old);
		for (size_t j = 0; j < sizeof(modes) / sizeof(modes[0]); j++) {
			char name[64];
			snprintf(name, sizeof(name), "g%zu.%zu", i, j);
			assert_int_equal(mode_of(dir, name), modes[j]);
		}
		snprintf(path, sizeof(path), "a%zu", i);
		assert_int_equal(mode_of(dir, path), 0644);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A temp name of our own pid left by an earlier process that had it and
 * died (the sweep spares it: the pid is alive) is replaced, not fatal. */
static void
test_own_pid_leftover(void **state)
{
	char dir[] = "/tmp/mr-left-XXXXXX", name[64], path[4096], cmd[4200];
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_non_null(mkdtemp(dir));
	snprintf(name, sizeof(name), "root.crl.tmp.%ld", (long)getpid());
	touch(dir, name);
	snprintf(path, sizeof(path), "%s/root.crl", dir);
	assert_int_equal(mr_file_write_atomic(path, "crl\n", 4, 0644, &d), MR_OK);
	read_back(path, "crl\n");
	assert_false(exists(dir, name));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static size_t
entries(const char *dir)
{
	char cmd[4200], out[64] = "";
	FILE *p;

	snprintf(cmd, sizeof(cmd), "ls -A '%s' | wc -l", dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(out, sizeof(out), p));
	pclose(p);
	return (size_t)strtoul(out, NULL, 10);
}

/* A deferred group: its bytes are copied at stage (the caller's buffer
 * is reused), no file appears before the commit, every file after it;
 * a commit that fails on one file commits none and leaves no temp. */
static void
test_deferred(void **state)
{
	char dir[] = "/tmp/mr-defer-XXXXXX", path[4096], cmd[4200], buf[3000];
	mr_file_group g;
	size_t done = 7;
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_non_null(mkdtemp(dir));
	mr_file_group_init_deferred(&g, 0);
	/* 64 files of up to 3,000 bytes: more than the first 64 KiB of room. */
	for (int i = 0; i < 64; i++) {
		size_t n = 1000 + (size_t)i * 31;
		memset(buf, 'a' + i % 26, n);
		snprintf(path, sizeof(path), "%s/f%02d", dir, i);
		assert_int_equal(mr_file_group_stage(&g, path, buf, n, 0644, &d), MR_OK);
		memset(buf, '!', sizeof(buf));
	}
	assert_int_equal(entries(dir), 0);
	assert_int_equal(mr_file_group_commit(&g, &done, &d), MR_OK);
	assert_int_equal(done, 64);
	mr_file_group_free(&g);
	assert_int_equal(entries(dir), 64);
	for (int i = 0; i < 64; i++) {
		size_t n = 1000 + (size_t)i * 31;
		char want[3001];
		memset(want, 'a' + i % 26, n);
		want[n] = '\0';
		snprintf(path, sizeof(path), "%s/f%02d", dir, i);
		read_back(path, want);
	}

	/* The third file's directory is missing: nothing is committed. */
	mr_file_group_init_deferred(&g, 0);
	for (int i = 0; i < 4; i++) {
		if (i == 2)
			snprintf(path, sizeof(path), "%s/missing/g%d", dir, i);
		else
			snprintf(path, sizeof(path), "%s/g%d", dir, i);
		assert_int_equal(mr_file_group_stage(&g, path, "z", 1, 0644, &d), MR_OK);
	}
	assert_int_equal(mr_file_group_commit(&g, &done, &d), MR_E_IO);
	assert_int_equal(done, 0);
	assert_non_null(strstr(mr_diag_text(&d, MR_E_IO), "/missing/g2.tmp."));
	mr_file_group_free(&g);
	assert_int_equal(entries(dir), 64);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* An exclusive group: its files appear only at the commit, whole; a
 * name that exists is never replaced, and nothing of the group is left
 * behind either way. */
static void
test_exclusive(void **state)
{
	char dir[] = "/tmp/mr-excl-XXXXXX", path[4096], cmd[4200], want[64];
	mr_file_group g;
	size_t done = 9;
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_non_null(mkdtemp(dir));
	mr_file_group_init(&g, 1);
	for (int i = 0; i < 40; i++) {
		snprintf(path, sizeof(path), "%s/u%02d", dir, i);
		snprintf(want, sizeof(want), "file %d\n", i);
		assert_int_equal(mr_file_group_stage(&g, path, want, strlen(want), 0600, &d), MR_OK);
	}
	assert_int_equal(mr_file_group_commit(&g, &done, &d), MR_OK);
	assert_int_equal(done, 40);
	mr_file_group_free(&g);
	assert_int_equal(entries(dir), 40);
	for (int i = 0; i < 40; i++) {
		char name[64];
		snprintf(name, sizeof(name), "u%02d", i);
		snprintf(path, sizeof(path), "%s/%s", dir, name);
		snprintf(want, sizeof(want), "file %d\n", i);
		read_back(path, want);
		assert_int_equal(mode_of(dir, name), 0600);
	}

	/* The second name exists: the first is committed, the rest not,
	 * the existing file is untouched, no temp file is left. */
	mr_file_group_init(&g, 1);
	for (int i = 0; i < 3; i++) {
		if (i != 1)
			snprintf(path, sizeof(path), "%s/x%d", dir, i);
		else
			snprintf(path, sizeof(path), "%s/u00", dir);
		assert_int_equal(mr_file_group_stage(&g, path, "new\n", 4, 0600, &d), MR_OK);
	}
	assert_int_equal(mr_file_group_commit(&g, &done, &d), MR_E_EXISTS);
	assert_int_equal(done, 1);
	mr_file_group_free(&g);
	assert_int_equal(entries(dir), 41);
	snprintf(path, sizeof(path), "%s/u00", dir);
	read_back(path, "file 0\n");

	/* Freed without a commit: nothing appears, nothing is left. */
	mr_file_group_init(&g, 1);
	snprintf(path, sizeof(path), "%s/never", dir);
	assert_int_equal(mr_file_group_stage(&g, path, "z", 1, 0600, &d), MR_OK);
	mr_file_group_free(&g);
	assert_int_equal(entries(dir), 41);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
		cmocka_unit_test(test_log),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_own_pid_leftover),
		cmocka_unit_test(test_deferred),
		cmocka_unit_test(test_exclusive),
	};

	return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}

/*
 * audit.checkpoints (mr_cphistory.h) on temp files: appends make the
 * history the concatenation of the notes, created 0600; a failed append is
 * cut back. The trim at start cuts exactly what follows the last copy of
 * the latest note (a whole unreleased note, a torn one, a torn copy after
 * two identical notes), changes nothing when the history already ends
 * with it or does not exist, reads only the tail of a long history (a copy
 * of the latest far back is not found, so such a history is refused, not
 * cut to it), and refuses a history whose tail lacks the latest note, a
 * symlink and a directory, each with its exact message.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_tmpdir.h"

#include "mr_checkpoint.h"
#include "mr_cphistory.h"

typedef test_dir fixture;

static int
setup(void **state)
{
	return test_dir_setup(state, "cphistory", "audit.checkpoints");
}

static int
teardown(void **state)
{
	return test_dir_teardown(state);
}

/* A note shaped like the appliance's (mr_checkpoint.h), about 250 bytes;
 * size and time make each one different. */
static size_t
note(char *buf, size_t cap, unsigned size, unsigned second)
{
	int n = snprintf(buf, cap,
	    "meshroot.example/audit/4f1c2a9e\n"
	    "%u\n"
	    "q1x8Vd3Lk2oPz7YtR4mN6bC0aW9eJ5hG1sF8uD2iK3c=\n"
	    "time 2026-12-06T05:%02u:%02uZ\n"
	    "\n"
	    "\xe2\x80\x94 meshroot-audit AbCdEfGh1JkLmNoPqRsTuVwXyZ0123456789+/abcdefghij"
	    "klmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789ab==\n",
	    size, second / 60 % 60, second % 60);

	assert_true(n > 200 && (size_t)n < cap);
	return (size_t)n;
}

static void
write_file(const char *path, const char *data, size_t n)
{
	FILE *fp = fopen(path, "wb");

	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, n, fp), n);
	assert_int_equal(fclose(fp), 0);
}

/* The file's bytes (NUL-terminated); *n gets its size. */
static char *
read_all(const char *path, size_t *n)
{
	FILE *fp = fopen(path, "rb");
	struct stat st;
	char *buf;

	assert_non_null(fp);
	assert_int_equal(fstat(fileno(fp), &st), 0);
	buf = malloc((size_t)st.st_size + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)st.st_size, fp), (size_t)st.st_size);
	buf[st.st_size] = '\0';
	fclose(fp);
	*n = (size_t)st.st_size;
	return buf;
}

static void
assert_file(const char *path, const char *want, size_t n)
{
	size_t got_n = 0;
	char *got = read_all(path, &got_n);

	assert_int_equal(got_n, n);
	assert_memory_equal(got, want, n);
	free(got);
}

static void
append(const char *path, const char *text, size_t n)
{
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_append(path, text, n, &d), MR_OK);
}

static void
test_append_concatenates(void **state)
{
	fixture *f = *state;
	char a[512], b[512], c[512], all[1536];
	size_t na = note(a, sizeof(a), 10, 1), nb = note(b, sizeof(b), 17, 2),
	       nc = note(c, sizeof(c), 23, 3);
	struct stat st;
	mode_t old = umask(0);

	append(f->path, a, na);
	umask(old);
	/* Created 0600 whatever the umask: the appliance's state is its own. */
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	append(f->path, b, nb);
	append(f->path, c, nc);
	memcpy(all, a, na);
	memcpy(all + na, b, nb);
	memcpy(all + na + nb, c, nc);
	assert_file(f->path, all, na + nb + nc);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
}

/* A write that fails half way (RLIMIT_FSIZE: the file may not grow past
 * the limit) is cut back to the history before it. In a child: the limit
 * is the process's. */
static void
test_append_failure_cut_back(void **state)
{
	fixture *f = *state;
	char a[512], b[512];
	size_t na = note(a, sizeof(a), 10, 1), nb = note(b, sizeof(b), 17, 2);
	int status = 0;
	pid_t p;

	append(f->path, a, na);
	p = fork();
	assert_true(p >= 0);
	if (p == 0) {
		struct rlimit rl = { (rlim_t)(na + nb / 2), (rlim_t)(na + nb / 2) };
		mr_diag d;
		int r;

		mr_diag_clear(&d);
		signal(SIGXFSZ, SIG_IGN);
		if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
			_exit(2);
		r = mr_cphistory_append(f->path, b, nb, &d);
		_exit(r == MR_E_IO && strstr(d.msg, "File too large") != NULL ? 0 : 1);
	}
	assert_int_equal(waitpid(p, &status, 0), p);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_file(f->path, a, na);
	/* The next append lands right after the last whole note. */
	append(f->path, b, nb);
	{
		char all[1024];
		memcpy(all, a, na);
		memcpy(all + na, b, nb);
		assert_file(f->path, all, na + nb);
	}
}

/* history: notes a, b, c (c the latest) followed by extra. */
static size_t
history(fixture *f, char *all, const char *extra, size_t ne, char *c, size_t *nc)
{
	char a[512], b[512];
	size_t na = note(a, sizeof(a), 10, 1), nb = note(b, sizeof(b), 17, 2);

	*nc = note(c, 512, 23, 3);
	memcpy(all, a, na);
	memcpy(all + na, b, nb);
	memcpy(all + na + nb, c, *nc);
	memcpy(all + na + nb + *nc, extra, ne);
	write_file(f->path, all, na + nb + *nc + ne);
	return na + nb + *nc;
}

static void
test_trim_nothing_to_cut(void **state)
{
	fixture *f = *state;
	char all[2048], c[512];
	size_t nc = 0, n = history(f, all, "", 0, c, &nc), cut = 99;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, 0);
	assert_string_equal(d.msg, "");
	assert_file(f->path, all, n);
}

static void
test_trim_whole_unreleased_note(void **state)
{
	fixture *f = *state;
	char all[2048], c[512], x[512];
	size_t nx = note(x, sizeof(x), 31, 4), nc = 0, n = history(f, all, x, nx, c, &nc), cut = 0;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, nx);
	assert_file(f->path, all, n);
	/* A second start finds nothing more to cut. */
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, 0);
	assert_file(f->path, all, n);
}

static void
test_trim_torn_note(void **state)
{
	fixture *f = *state;
	char all[2048], c[512], x[512];
	size_t nx = note(x, sizeof(x), 31, 4), nc = 0, torn = nx / 2 + 3,
	       n = history(f, all, x, torn, c, &nc), cut = 0;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, torn);
	assert_file(f->path, all, n);
}

/* Two identical notes in a row, then a torn copy of the same: the last
 * whole copy is kept, only the torn part goes. */
static void
test_trim_identical_notes_torn_copy(void **state)
{
	fixture *f = *state;
	char all[2048], c[512];
	size_t nc = 0, n = history(f, all, "", 0, c, &nc), cut = 0, torn = nc - 1;
	mr_diag d;

	memcpy(all + n, c, nc);
	memcpy(all + n + nc, c, torn);
	write_file(f->path, all, n + nc + torn);
	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, torn);
	assert_file(f->path, all, n + nc);
}

static void
test_trim_tail_lacks_latest(void **state)
{
	fixture *f = *state;
	char all[2048], c[512], want[4400], x[512];
	size_t nc = 0, n = history(f, all, "", 0, c, &nc), cut = 99,
	       nx = note(x, sizeof(x), 31, 4);
	mr_diag d;

	/* The latest note's last line altered: no copy of it anywhere. */
	all[n - 3] ^= 1;
	write_file(f->path, all, n);
	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_E_AUDIT);
	assert_int_equal(cut, 0);
	snprintf(want, sizeof(want), "%s does not end with the latest checkpoint "
	    "(audit.checkpoint): refusing to continue", f->path);
	assert_string_equal(d.msg, want);
	assert_file(f->path, all, n);
	/* The latest is not in the history at all (its end was replaced). */
	all[n - 3] ^= 1;
	write_file(f->path, all, n);
	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, x, nx, &cut, &d), MR_E_AUDIT);
	assert_string_equal(d.msg, want);
	assert_file(f->path, all, n);
	/* An empty history beside a latest note. */
	write_file(f->path, "", 0);
	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_E_AUDIT);
	assert_string_equal(d.msg, want);
}

static void
test_trim_missing_history(void **state)
{
	fixture *f = *state;
	char c[512];
	size_t nc = note(c, sizeof(c), 23, 3), cut = 99;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, 0);
	assert_string_equal(d.msg, "");
	assert_int_equal(access(f->path, F_OK), -1);
	assert_int_equal(errno, ENOENT);
}

/* More than latest + MR_CHECKPOINT_MAX bytes: 80 notes (about 22 KiB). */
#define LONG_NOTES 80

static size_t
long_history(char *all, size_t cap, char *c, size_t *nc)
{
	size_t n = 0;
	unsigned i;

	for (i = 0; i < LONG_NOTES; i++) {
		assert_true(cap - n > 512);
		n += note(all + n, cap - n, 100 + i, i);
	}
	*nc = note(c, 512, 100 + LONG_NOTES - 1, LONG_NOTES - 1);
	assert_memory_equal(all + n - *nc, c, *nc);
	assert_true(n > *nc + MR_CHECKPOINT_MAX);
	return n;
}

static void
test_trim_long_history(void **state)
{
	fixture *f = *state;
	char *all = malloc(64 * 1024), c[512], x[512];
	size_t nc = 0, n = long_history(all, 64 * 1024, c, &nc), cut = 99,
	       nx = note(x, sizeof(x), 999, 59);
	mr_diag d;

	assert_non_null(all);
	write_file(f->path, all, n);
	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, 0);
	assert_file(f->path, all, n);
	/* With an unreleased note after it. */
	memcpy(all + n, x, nx);
	write_file(f->path, all, n + nx);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_OK);
	assert_int_equal(cut, nx);
	assert_file(f->path, all, n);
	free(all);
}

/* Only the tail is read: a copy of the latest far back (more than
 * MR_CHECKPOINT_MAX bytes before the end) is not a reason to cut all that
 * follows it; the history is refused, unchanged. */
static void
test_trim_latest_far_back(void **state)
{
	fixture *f = *state;
	char *all = malloc(64 * 1024), first[512], last[512], want[4400];
	size_t nlast = 0, n, nfirst = note(first, sizeof(first), 100, 0), cut = 99;
	mr_diag d;

	assert_non_null(all);
	n = long_history(all, 64 * 1024, last, &nlast);
	assert_memory_equal(all, first, nfirst);
	write_file(f->path, all, n);
	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, first, nfirst, &cut, &d), MR_E_AUDIT);
	assert_int_equal(cut, 0);
	snprintf(want, sizeof(want), "%s does not end with the latest checkpoint "
	    "(audit.checkpoint): refusing to continue", f->path);
	assert_string_equal(d.msg, want);
	assert_file(f->path, all, n);
	free(all);
}

/* A symlink in place of the history is never followed: the trim refuses
 * it (open O_NOFOLLOW: ELOOP), the append too, and the file it points at
 * is left as it was. */
static void
test_symlink_refused(void **state)
{
	fixture *f = *state;
	char all[2048], c[512], target[160], want[4400], x[512];
	size_t nc = 0, nx = note(x, sizeof(x), 31, 4), cut = 99, n;
	mr_diag d;

	n = history(f, all, x, nx, c, &nc);
	snprintf(target, sizeof(target), "%s/elsewhere", f->dir);
	assert_int_equal(rename(f->path, target), 0);
	assert_int_equal(symlink(target, f->path), 0);
	snprintf(want, sizeof(want), "%s: %s", f->path, strerror(ELOOP));

	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_E_AUDIT);
	assert_int_equal(cut, 0);
	assert_string_equal(d.msg, want);
	assert_file(target, all, n + nx);

	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_append(f->path, c, nc, &d), MR_E_IO);
	assert_string_equal(d.msg, want);
	assert_file(target, all, n + nx);
}

static void
test_directory_refused(void **state)
{
	fixture *f = *state;
	char c[512], want[4400];
	size_t nc = note(c, sizeof(c), 23, 3), cut = 99;
	mr_diag d;

	assert_int_equal(mkdir(f->path, 0700), 0);
	snprintf(want, sizeof(want), "%s: not a regular file", f->path);
	mr_diag_clear(&d);
	assert_int_equal(mr_cphistory_trim(f->path, c, nc, &cut, &d), MR_E_AUDIT);
	assert_int_equal(cut, 0);
	assert_string_equal(d.msg, want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_concatenates, setup, teardown),
		cmocka_unit_test_setup_teardown(test_append_failure_cut_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_nothing_to_cut, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_whole_unreleased_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_torn_note, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_identical_notes_torn_copy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_tail_lacks_latest, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_missing_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_long_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_trim_latest_far_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_symlink_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_directory_refused, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

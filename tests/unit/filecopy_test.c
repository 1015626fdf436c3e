/*
 * mr_file_copy_atomic copies through a buffer of 64 KiB: the copy equals
 * the source (or its first max bytes) whatever its length against the
 * buffer, gets the mode asked for whatever the umask, and leaves no
 * <name>.tmp.<pid> behind, neither when it succeeds nor when it fails. A
 * symlink or a directory as source is refused, a missing source is
 * MR_E_NOTFOUND, a source shorter than max is an error, and on every
 * failure the destination keeps its old content.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "mr_fileio.h"
#include "mr_filecopy.h"

/* The copier's piece (filecopy.c). */
#define PIECE (64u * 1024u)

typedef struct {
	char dir[64];
	char src[128], dst[128];
} fixture;

static int
setup(void **state)
{
	fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/filecopy_test.XXXXXX");
	if (mkdtemp(fx->dir) == NULL)
		return -1;
	snprintf(fx->src, sizeof(fx->src), "%s/src", fx->dir);
	snprintf(fx->dst, sizeof(fx->dst), "%s/dst", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	fixture *fx = *state;
	DIR *dp = opendir(fx->dir);
	struct dirent *de;
	char path[512];

	while (dp != NULL && (de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", fx->dir, de->d_name);
		if (unlink(path) != 0)
			rmdir(path);
	}
	if (dp != NULL)
		closedir(dp);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static uint8_t *
pattern(size_t len)
{
	uint8_t *p = malloc(len + 1);

	assert_non_null(p);
	/* Bytes that differ from place to place, so that a piece copied twice
	 * or skipped cannot compare equal. */
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)((i * 131 + i / 251) & 0xff);
	return p;
}

static void
write_file(const char *path, const uint8_t *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
assert_content(const char *path, const uint8_t *want, size_t len)
{
	uint8_t *got = NULL;
	size_t n = 0;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_file_read(path, 64u << 20, &got, &n, &d), MR_OK);
	assert_int_equal(n, len);
	if (len > 0)
		assert_memory_equal(got, want, len);
	free(got);
}

/* The temp names (<name>.tmp.<pid>) in dir. */
static size_t
count_temps(const char *dir)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	size_t n = 0;

	assert_non_null(dp);
	while ((de = readdir(dp)) != NULL)
		n += strstr(de->d_name, ".tmp.") != NULL;
	closedir(dp);
	return n;
}

static void
test_sizes(void **state)
{
	fixture *fx = *state;
	/* Empty, small, one byte short of, exactly, and past one piece, and
	 * several pieces with a part. */
	const size_t sizes[] = { 0, 1, 100, PIECE - 1, PIECE, PIECE + 1, 3 * PIECE + 12345,
		5u << 20 };
	struct stat st;
	mr_diag d;

	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		uint8_t *p = pattern(sizes[i]);
		write_file(fx->src, p, sizes[i]);
		mr_diag_clear(&d);
		assert_int_equal(mr_file_copy_atomic(fx->src, fx->dst, MR_FILE_COPY_ALL, 0644, &d),
		    MR_OK);
		assert_content(fx->dst, p, sizes[i]);
		assert_int_equal(stat(fx->dst, &st), 0);
		assert_int_equal(st.st_mode & 07777, 0644);
		assert_int_equal(count_temps(fx->dir), 0);
		free(p);
	}
}

static void
test_max(void **state)
{
	fixture *fx = *state;
	const size_t len = 2 * PIECE + 777;
	const uint64_t maxes[] = { 0, 1, PIECE, PIECE + 5, len - 1, len };
	uint8_t *p = pattern(len);
	mr_diag d;

	write_file(fx->src, p, len);
	for (size_t i = 0; i < sizeof(maxes) / sizeof(maxes[0]); i++) {
		mr_diag_clear(&d);
		assert_int_equal(mr_file_copy_atomic(fx->src, fx->dst, maxes[i], 0600, &d), MR_OK);
		assert_content(fx->dst, p, (size_t)maxes[i]);
		assert_int_equal(count_temps(fx->dir), 0);
	}
	free(p);
}

/* The mode asked for, not what the umask leaves of it. */
static void
test_mode(void **state)
{
	fixture *fx = *state;
	const uint8_t data[] = "abc\n";
	struct stat st;
	mode_t old = umask(077);
	mr_diag d;

	write_file(fx->src, data, 4);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_copy_atomic(fx->src, fx->dst, MR_FILE_COPY_ALL, 0644, &d), MR_OK);
	assert_int_equal(stat(fx->dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	umask(0);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_copy_atomic(fx->src, fx->dst, MR_FILE_COPY_ALL, 0600, &d), MR_OK);
	assert_int_equal(stat(fx->dst, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	umask(old);
}

/* A failure leaves no temp and the destination as it was. */
static void
assert_refused(fixture *fx, const char *from, uint64_t max, int want_r, const char *want)
{
	const uint8_t old[] = "old content\n";
	mr_diag d;

	write_file(fx->dst, old, sizeof(old) - 1);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_copy_atomic(from, fx->dst, max, 0644, &d), want_r);
	assert_string_equal(mr_diag_text(&d, MR_E_INTERNAL), want);
	assert_content(fx->dst, old, sizeof(old) - 1);
	assert_int_equal(count_temps(fx->dir), 0);
}

static void
test_refused(void **state)
{
	fixture *fx = *state;
	char link[160], sub[160], want[512];
	uint8_t *p = pattern(PIECE + 10);

	write_file(fx->src, p, PIECE + 10);
	snprintf(link, sizeof(link), "%s/link", fx->dir);
	assert_int_equal(symlink(fx->src, link), 0);
	snprintf(want, sizeof(want), "%s: is a symbolic link", link);
	assert_refused(fx, link, MR_FILE_COPY_ALL, MR_E_IO, want);

	snprintf(sub, sizeof(sub), "%s/sub", fx->dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	snprintf(want, sizeof(want), "%s: not a regular file", sub);
	assert_refused(fx, sub, MR_FILE_COPY_ALL, MR_E_IO, want);

	snprintf(sub, sizeof(sub), "%s/none", fx->dir);
	snprintf(want, sizeof(want), "%s: not found", sub);
	assert_refused(fx, sub, MR_FILE_COPY_ALL, MR_E_NOTFOUND, want);

	/* Cut below what the caller knows it holds: the copy would not be
	 * what was asked for. The temp, past its first piece, goes. */
	snprintf(want, sizeof(want), "%s: shorter than %u bytes (changed while read)", fx->src,
	    PIECE + 11);
	assert_refused(fx, fx->src, PIECE + 11, MR_E_IO, want);
	free(p);
}

/* The destination's directory is gone: the temp cannot be made. */
static void
test_no_dir(void **state)
{
	fixture *fx = *state;
	char to[200], want[512];
	const uint8_t data[] = "x\n";
	mr_diag d;

	write_file(fx->src, data, 2);
	snprintf(to, sizeof(to), "%s/missing/dst", fx->dir);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_copy_atomic(fx->src, to, MR_FILE_COPY_ALL, 0644, &d), MR_E_IO);
	snprintf(want, sizeof(want), "%s.tmp.%ld: No such file or directory", to, (long)getpid());
	assert_string_equal(mr_diag_text(&d, MR_E_INTERNAL), want);
	assert_int_equal(count_temps(fx->dir), 0);
}

/* A temp of a dead process with our pid is replaced, and one of another
 * pid is left to mr_file_sweep_temps, which knows the name. */
static void
test_temp_name(void **state)
{
	fixture *fx = *state;
	char ours[200], theirs[200];
	const uint8_t data[] = "new\n", junk[] = "junk";
	size_t removed = 0;
	mr_diag d;

	write_file(fx->src, data, 4);
	snprintf(ours, sizeof(ours), "%s.tmp.%ld", fx->dst, (long)getpid());
	write_file(ours, junk, 4);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_copy_atomic(fx->src, fx->dst, MR_FILE_COPY_ALL, 0644, &d), MR_OK);
	assert_content(fx->dst, data, 4);
	assert_int_equal(count_temps(fx->dir), 0);

	/* pid 2^22 + 1 is above Linux's pid_max limit: never running. */
	snprintf(theirs, sizeof(theirs), "%s.tmp.%ld", fx->dst, 4194305L);
	write_file(theirs, junk, 4);
	assert_int_equal(mr_file_sweep_temps(fx->dir, &removed, &d), MR_OK);
	assert_int_equal(removed, 1);
	assert_int_equal(count_temps(fx->dir), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sizes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(test_no_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(test_temp_name, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

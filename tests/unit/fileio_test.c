/*
 * mr_file_sweep_temps: the temp files of a process killed mid-write go,
 * a live writer's stay, and nothing else is touched.
 */
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

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sweep),
	};

	return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}

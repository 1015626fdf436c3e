/*
 * A scratch directory for a group of file tests: /tmp/mr-<tag>-XXXXXX
 * with one file name in it (path), made by the group's setup and removed,
 * whatever the tests left in it, by its teardown.
 */
#ifndef MR_TEST_TMPDIR_H
#define MR_TEST_TMPDIR_H

#include <stdio.h>
#include <stdlib.h>

typedef struct {
	char dir[64];
	char path[4096];
} test_dir;

/* cmocka setup: *state gets the directory, or the group fails (-1). */
static inline int
test_dir_setup(void **state, const char *tag, const char *name)
{
	test_dir *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/mr-%s-XXXXXX", tag);
	if (mkdtemp(t->dir) == NULL) {
		free(t);
		return -1;
	}
	snprintf(t->path, sizeof(t->path), "%s/%s", t->dir, name);
	*state = t;
	return 0;
}

/* cmocka teardown: the directory and all in it go. */
static inline int
test_dir_teardown(void **state)
{
	test_dir *t = *state;
	char cmd[128];
	int r;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", t->dir);
	r = system(cmd);
	free(t);
	return r == 0 ? 0 : -1;
}

#endif

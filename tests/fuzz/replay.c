/*
 * Corpus replay without libFuzzer: `<target> [-flags...] FILE|DIR...` feeds
 * every regular file (directories one level deep, sorted) to
 * LLVMFuzzerTestOneInput once. Arguments starting with '-' are libFuzzer
 * flags and ignored, so ctest passes the same command line to both builds.
 * Exit 0 when every input returned; a bug shows as a sanitizer abort or a
 * crash. An empty or missing corpus is an error: a replay that tests
 * nothing must not pass.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

#define REPLAY_MAX (1u << 20)

static int
run_file(const char *path, size_t *count)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if ((buf = malloc(REPLAY_MAX)) == NULL) {
		fclose(f);
		return -1;
	}
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	/* An exact-size copy, so ASan catches a read one past the input. */
	{
		uint8_t *exact = malloc(n > 0 ? n : 1);

		if (exact == NULL) {
			free(buf);
			return -1;
		}
		memcpy(exact, buf, n);
		free(buf);
		(void)LLVMFuzzerTestOneInput(exact, n);
		free(exact);
	}
	(*count)++;
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir, size_t *count)
{
	DIR *dp = opendir(dir);
	struct dirent *de;
	char **names = NULL;
	size_t n = 0, i;
	int r = 0;

	if (dp == NULL) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return -1;
	}
	while ((de = readdir(dp)) != NULL) {
		char **grown;

		if (de->d_name[0] == '.')
			continue;
		if ((grown = realloc(names, (n + 1) * sizeof(*names))) == NULL) {
			r = -1;
			break;
		}
		names = grown;
		if ((names[n] = strdup(de->d_name)) == NULL) {
			r = -1;
			break;
		}
		n++;
	}
	closedir(dp);
	if (names != NULL)
		qsort(names, n, sizeof(*names), by_name);
	for (i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		if (r == 0 && snprintf(path, sizeof(path), "%s/%s", dir, names[i]) <
		    (int)sizeof(path) && stat(path, &st) == 0 && S_ISREG(st.st_mode))
			r = run_file(path, count);
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	size_t count = 0;
	int i;

	for (i = 1; i < argc; i++) {
		struct stat st;

		if (argv[i][0] == '-')
			continue;
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if ((S_ISDIR(st.st_mode) ? run_dir(argv[i], &count) :
		    run_file(argv[i], &count)) != 0)
			return 1;
	}
	if (count == 0) {
		fprintf(stderr, "replay: no inputs\n");
		return 1;
	}
	printf("replay: %zu inputs, no crash\n", count);
	return 0;
}

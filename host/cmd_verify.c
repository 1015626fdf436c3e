/*
 * meshroot verify DIR...: checks Istio cacerts directories (see verify.h).
 * Exit 0 when every directory is clean, 7 when any has a problem, the
 * error's status when one cannot be read (docs/exit-codes.md), 2 on a
 * usage error.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmdtab.h"
#include "mr_diag.h"
#include "verify.h"

/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM:SSZ", UTC. */
static int
parse_time(const char *s, time_t *out)
{
	struct tm tm;
	char tail;
	int n;

	memset(&tm, 0, sizeof(tm));
	n = sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%c", &tm.tm_year, &tm.tm_mon,
	    &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &tail);
	if (n != 6) {
		memset(&tm, 0, sizeof(tm));
		if (sscanf(s, "%4d-%2d-%2d%c", &tm.tm_year, &tm.tm_mon,
		    &tm.tm_mday, &tail) != 3)
			return -1;
	}
	if (tm.tm_year < 1970 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
	    tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
	    tm.tm_min > 59 || tm.tm_sec > 60)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = timegm(&tm);
	return *out == (time_t)-1 ? -1 : 0;
}

int
cmd_verify(const mr_host_opts *o, int argc, char **argv)
{
	time_t now = time(NULL);
	int first_dir = argc, status = MR_EXIT_OK;

	(void)o; /* verify reads only the directories it is given */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			first_dir = i + 1;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			HOST_HELP(stdout, "verify");
			return MR_EXIT_OK;
		}
		if (strcmp(a, "--at") == 0 || strncmp(a, "--at=", 5) == 0) {
			const char *val = a[4] == '=' ? a + 5 : (i + 1 < argc ? argv[++i] : NULL);
			if (val == NULL || parse_time(val, &now) != 0)
				return HOST_USAGE("verify",
				    "--at wants YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
			continue;
		}
		if (a[0] == '-' && a[1] != '\0')
			return HOST_USAGE("verify", "unknown option '%s'", a);
		first_dir = i;
		break;
	}
	if (first_dir >= argc)
		return HOST_USAGE("verify", "verify needs a DIR");

	for (int i = first_dir; i < argc; i++) {
		mr_diag d;
		int r;

		mr_diag_clear(&d);
		r = mr_host_verify_dir_diag(argv[i], stdout, now, &d);
		if (r < 0) {
			fflush(stdout); /* keep the two streams in order on a tty */
			fprintf(stderr, "error: %s: %s\n", argv[i],
			    mr_diag_text(&d, r));
			status = status == MR_EXIT_OK ? mr_host_exit(r) : status;
		} else if (r > 0) {
			status = MR_EXIT_VERIFY;
		}
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "error: verify: cannot write the report\n");
		return MR_EXIT_FAIL;
	}
	return status;
}

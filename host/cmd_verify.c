/*
 * meshroot verify DIR...: checks Istio cacerts directories (see verify.h).
 * Exit 0 when every directory is clean, 1 when any has a problem or cannot
 * be read, 2 on a usage error.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "mr_diag.h"
#include "progress.h"
#include "verify.h"

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: meshroot verify [--at YYYY-MM-DD[THH:MM:SSZ]] DIR...\n"
	    "\n"
	    "Checks each Istio cacerts directory (ca-cert.pem, ca-key.pem,\n"
	    "root-cert.pem, cert-chain.pem) the way istiod does when it loads a\n"
	    "plug-in CA, plus PKI hygiene. Prints one line per problem,\n"
	    "\"DIR: problem: ...\", or \"DIR: ok (...)\" when there is none.\n"
	    "\n"
	    "  --at TIME   judge validity periods at TIME (UTC) instead of now\n"
	    "  --help      this text\n"
	    "\n"
	    "Exit status: 0 all clean, 1 problems found, 2 usage error.\n");
}

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
	int first_dir = argc, status = 0;

	(void)o; /* verify reads only the directories it is given */
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			first_dir = i + 1;
			break;
		}
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage(stdout);
			return 0;
		}
		if (strcmp(a, "--at") == 0 || strncmp(a, "--at=", 5) == 0) {
			const char *val = a[4] == '=' ? a + 5 : (i + 1 < argc ? argv[++i] : NULL);
			if (val == NULL || parse_time(val, &now) != 0) {
				mr_progress_stderr("error: verify: --at wants "
				    "YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ\n");
				return 2;
			}
			continue;
		}
		if (a[0] == '-' && a[1] != '\0') {
			mr_progress_stderr("error: verify: unknown option %s "
			    "(try meshroot verify --help)\n", a);
			return 2;
		}
		first_dir = i;
		break;
	}
	if (first_dir >= argc) {
		mr_progress_stderr("error: verify: no directory given "
		    "(usage: meshroot verify DIR...)\n");
		return 2;
	}

	for (int i = first_dir; i < argc; i++) {
		mr_diag d;
		int r;

		mr_diag_clear(&d);
		r = mr_host_verify_dir_diag(argv[i], stdout, now, &d);
		if (r < 0) {
			fflush(stdout); /* keep the two streams in order on a tty */
			mr_progress_stderr("error: %s: %s\n", argv[i],
			    mr_diag_text(&d, r));
			status = 1;
		} else if (r > 0) {
			status = 1;
		}
	}
	if (fflush(stdout) != 0) {
		mr_progress_stderr("error: verify: cannot write the report\n");
		return 1;
	}
	return status;
}

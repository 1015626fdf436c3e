/*
 * meshroot verify [--json] DIR...: checks Istio cacerts directories (see
 * verify.h). Exit 0 when every directory is clean, 7 when any has a
 * problem, the error's status when one cannot be read (docs/exit-codes.md),
 * 2 on a usage error. With --json the findings are one document
 * (docs/json.md) and the lines go to stderr.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmdtab.h"
#include "mr_diag.h"
#include "mr_jsonout.h"
#include "mr_progress.h"
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

/* The exit status for mr_host_verify_dir_*'s result r. */
static int
verdict(int r)
{
	return r < 0 ? mr_host_exit(r) : r > 0 ? MR_EXIT_VERIFY : MR_EXIT_OK;
}

/* One directory checked: its line(s) go to stdout (stderr under --json),
 * and, when dirs is not NULL, its JSON object to dirs. Its exit status:
 * 0 clean, 7 problems found, the error's status when it cannot be read. */
static int
verify_one(const char *dir, time_t now, json_object *dirs)
{
	mr_host_verify_summary sum;
	json_object *j, *problems;
	char *buf = NULL;
	size_t len = 0;
	FILE *mem;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if (dirs == NULL) {
		r = mr_host_verify_dir_diag(dir, stdout, now, &d);
		if (r < 0) {
			fflush(stdout); /* keep the two streams in order on a tty */
			mr_progress_stderr("error: %s: %s\n", dir, mr_diag_text(&d, r));
		}
		return verdict(r);
	}
	/* The report's lines are its contract (verify.h): "DIR: problem: TEXT",
	 * one each, DIR as given made printable (the same length). */
	if ((mem = open_memstream(&buf, &len)) == NULL) {
		mr_progress_stderr("error: verify: out of memory\n");
		return MR_EXIT_FAIL;
	}
	r = mr_host_verify_dir_sum(dir, mem, now, &sum, &d);
	if (fclose(mem) != 0 || buf == NULL) {
		free(buf);
		mr_progress_stderr("error: verify: out of memory\n");
		return MR_EXIT_FAIL;
	}
	fputs(buf, stdout);
	j = json_object_new_object();
	problems = json_object_new_array();
	mr_json_put_str(j, "path", dir);
	mr_json_put_bool(j, "ok", r == 0);
	if (r < 0) {
		mr_progress_stderr("error: %s: %s\n", dir, mr_diag_text(&d, r));
		mr_json_put_str(j, "error", mr_diag_text(&d, r));
	} else {
		mr_json_put(j, "error", NULL);
	}
	for (char *line = buf, *nl; *line != '\0'; line = nl + 1) {
		size_t skip = strlen(dir) + 2;
		if ((nl = strchr(line, '\n')) == NULL)
			break;
		*nl = '\0';
		if (strlen(line) > skip && strncmp(line + skip, "problem: ", 9) == 0)
			mr_json_append(problems, json_object_new_string(line + skip + 9));
	}
	mr_json_put(j, "problems", problems);
	if (sum.ok) {
		json_object *ca = json_object_new_object(), *root = json_object_new_object();
		mr_json_put_str(ca, "subject", sum.intermediate);
		mr_json_put_time(ca, "not_after", sum.not_after);
		mr_json_put(j, "intermediate", ca);
		/* Lower case, as every other fingerprint in the JSON outputs. */
		for (char *p = sum.root_sha256; *p != '\0'; p++)
			*p = (char)tolower((unsigned char)*p);
		mr_json_put_str(root, "subject", sum.root);
		mr_json_put_str(root, "sha256", sum.root_sha256);
		mr_json_put(j, "root", root);
	}
	mr_json_append(dirs, j);
	free(buf);
	return verdict(r);
}

int
cmd_verify(const mr_host_opts *o, int argc, char **argv)
{
	time_t now = time(NULL);
	int first_dir = argc, status = MR_EXIT_OK, json = 0;
	json_object *doc = NULL, *dirs = NULL;
	mr_jsonout out = { -1 };

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
		if (strcmp(a, "--json") == 0) {
			json = 1;
			continue;
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
	if (json) {
		if (mr_jsonout_begin(&out) != 0) {
			mr_progress_stderr("error: verify: cannot set up the JSON output\n");
			return MR_EXIT_FAIL;
		}
		doc = mr_json_doc("meshroot.verify");
		dirs = json_object_new_array();
		mr_json_put_time(doc, "at", now);
	}
	for (int i = first_dir; i < argc; i++) {
		int e = verify_one(argv[i], now, dirs);
		/* A problem found outranks a directory that could not be read. */
		if (e == MR_EXIT_VERIFY || (e != MR_EXIT_OK && status == MR_EXIT_OK))
			status = e;
	}
	if (fflush(stdout) != 0) {
		mr_progress_stderr("error: verify: cannot write the report\n");
		status = MR_EXIT_FAIL;
	}
	if (json) {
		mr_json_put_bool(doc, "ok", status == MR_EXIT_OK);
		mr_json_put_int(doc, "exit_code", status);
		mr_json_put(doc, "directories", dirs);
		if (mr_jsonout_end(&out, doc) != 0) {
			mr_progress_stderr("error: verify: cannot write the JSON document\n");
			status = MR_EXIT_FAIL;
		}
	}
	return status;
}

/*
 * `status [--warn-days N] [--root-warn-days N] [--crl-warn-days N] [--json]`:
 * one line per cluster in the workspace (waiting, issued, renewing, EXPIRED;
 * the intermediate's expiry and days left; where the key is), then one
 * "warning:" or "critical:" line for each thing that needs a person:
 *   an intermediate within N days of expiry (default 30): renew it;
 *   the root within N days of expiry (default 730: a rotation takes a
 *   ceremony and a mesh-wide rollout);
 *   the imported root CRL within N days of its nextUpdate (default 14).
 * Anything already expired is critical.
 *
 * With --json the same findings are one document on stdout (docs/json.md,
 * docs/json/meshroot.status.schema.json) and the human report goes to
 * stderr; the exit status is the same, and an unreadable workspace still
 * prints a document, with "status": "unknown" and the error.
 *
 * Exit status for monitoring (Nagios convention): 0 all fine, 1 a warning,
 * 2 something critical, 3 the workspace could not be read. A usage error
 * exits 2 as everywhere (docs/exit-codes.md): it happens at the command
 * line, never in a monitoring run that worked before.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "cmdtab.h"
#include "mr_crl.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_jsonout.h"
#include "mr_progress.h"
#include "renew.h"
#include "workspace.h"

#define DAY 86400

enum { ST_OK = 0, ST_WARN = 1, ST_CRIT = 2, ST_UNKNOWN = 3 };

static int worst;
static json_object *problems; /* --json: the warning and critical lines */

static void note(int level, const char *cluster, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
note(int level, const char *cluster, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printf("%s: %s\n", level == ST_CRIT ? "critical" : "warning", line);
	if (level > worst)
		worst = level;
	if (problems != NULL) {
		json_object *p = json_object_new_object();
		mr_json_put_str(p, "level", level == ST_CRIT ? "critical" : "warning");
		mr_json_put_str(p, "cluster", cluster);
		mr_json_put_str(p, "message", line);
		mr_json_append(problems, p);
	}
}

static long long
days_left(time_t not_after, time_t now)
{
	return (long long)(not_after - now) / DAY;
}

static void
check_expiry(const char *what, const char *cluster, const char *action, time_t not_after,
    time_t now, unsigned warn_days)
{
	long long left = days_left(not_after, now);

	if (not_after <= now)
		note(ST_CRIT, cluster, "%s expired; %s", what, action);
	else if (not_after - now <= (time_t)warn_days * DAY)
		note(ST_WARN, cluster, "%s expires in %lld day%s (threshold %u); %s", what, left,
		    left == 1 ? "" : "s", warn_days, action);
}

static uint8_t crl_der[256 * 1024];
static mr_crl crl;
static int have_crl;

/* The imported root CRL; into *out (--json) what was found, or nothing
 * when there is none. */
static void
check_crl(const mr_host_opts *o, time_t now, unsigned warn_days, json_object **out)
{
	uint8_t *der = crl_der;
	char path[4096], until[32];
	size_t len = 0;
	struct tm tm;
	mr_crl c;

	*out = NULL;
	if (mr_path_join(path, sizeof(path), o->workspace, "root.crl.pem") != MR_OK ||
	    !mr_path_exists(path))
		return;
	*out = json_object_new_object();
	if (mr_file_read_pem(path, sizeof(crl_der), "X509 CRL", der, sizeof(crl_der), &len,
		NULL) != MR_OK ||
	    mr_crl_parse(der, len, &c, NULL) != MR_OK) {
		mr_json_put_bool(*out, "readable", 0);
		note(ST_CRIT, NULL, "%s is unreadable", path);
		return;
	}
	crl = c;
	have_crl = 1;
	mr_json_put_bool(*out, "readable", 1);
	mr_json_put_int(*out, "number", (long long)c.crl_number);
	mr_json_put_int(*out, "revoked", (long long)c.n_revoked);
	if (!c.has_next_update) {
		mr_json_put(*out, "next_update", NULL);
		mr_json_put(*out, "days_left", NULL);
		note(ST_WARN, NULL, "the root CRL has no nextUpdate");
		return;
	}
	mr_json_put_time(*out, "next_update", c.next_update);
	mr_json_put_int(*out, "days_left", days_left(c.next_update, now));
	gmtime_r(&c.next_update, &tm);
	strftime(until, sizeof(until), "%Y-%m-%d", &tm);
	printf("%-24s %-8s next update %s, number %lu, %zu revoked\n", "(root CRL)", "imported",
	    until, c.crl_number, c.n_revoked);
	check_expiry("the root CRL", NULL, "issue a new one (`meshroot-appliance crl --media`), "
	    "import it and re-bundle with --crl", c.next_update, now, warn_days);
}

/* The pinned root, printed and checked; its JSON object. */
static json_object *
check_root(const mr_host_opts *o, time_t now, unsigned warn_days)
{
	uint8_t der[MR_WS_CERT_MAX], fp[32];
	char until[32], hex[MR_FP_HEX_LEN(32)];
	json_object *j = json_object_new_object();
	size_t len = 0;
	struct tm tm;
	mr_cert c;

	if (mr_ws_read_root(o, der, sizeof(der), &len, &c, NULL) != MR_OK) {
		printf("%-24s %-8s\n", "(root)", "not pinned yet");
		mr_json_put_bool(j, "pinned", 0);
		return j;
	}
	gmtime_r(&c.not_after, &tm);
	strftime(until, sizeof(until), "%Y-%m-%d", &tm);
	printf("%-24s %-8s expires %s  %5lld days left\n", "(root)", "pinned", until,
	    days_left(c.not_after, now));
	mr_fp_sha256(der, len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	mr_json_put_bool(j, "pinned", 1);
	mr_json_put_str(j, "sha256", hex);
	mr_json_put_time(j, "not_after", c.not_after);
	mr_json_put_int(j, "days_left", days_left(c.not_after, now));
	check_expiry("the root", NULL, "plan a root rotation (docs/rotation.md)", c.not_after, now,
	    warn_days);
	return j;
}

/* One cluster's line and findings; its JSON object. */
static json_object *
check_cluster(const mr_host_opts *o, const char *name, time_t now, unsigned warn_days)
{
	char path[4096], until[32], what[128], serial[128];
	uint8_t der[MR_WS_CERT_MAX];
	json_object *j = json_object_new_object();
	int has_key = mr_ws_path(o, name, "ca-key.pem", path, sizeof(path)) == MR_OK &&
	    mr_path_exists(path);
	int renewing = mr_host_renew_pending(o, name);
	const char *state;
	size_t len = 0;
	struct tm tm;
	mr_cert c;
	int revoked;

	mr_json_put_str(j, "name", name);
	mr_json_put_str(j, "key", has_key ? "here" : "elsewhere");
	mr_json_put_bool(j, "renewing", renewing);
	/* During a renewal the old certificate is still the one in
	 * service: it is the one whose expiry matters. */
	if (!mr_ws_cluster_issued(o, name) && !renewing) {
		printf("%-24s %-8s %-10s %-10s %s\n", name, "waiting", "-", "-",
		    has_key ? "here" : "elsewhere");
		mr_json_put_str(j, "state", "waiting");
		return j;
	}
	if (mr_ws_path(o, name, "ca-cert.pem", path, sizeof(path)) != MR_OK ||
	    mr_ws_read_cert(path, der, sizeof(der), &len, &c, NULL) != MR_OK) {
		printf("%-24s %-8s\n", name, "unreadable");
		mr_json_put_str(j, "state", "unreadable");
		note(ST_CRIT, name, "cluster %s: ca-cert.pem is unreadable", name);
		return j;
	}
	gmtime_r(&c.not_after, &tm);
	strftime(until, sizeof(until), "%Y-%m-%d", &tm);
	state = c.not_after <= now ? "expired" : renewing ? "renewing" : "issued";
	/* The root's own CRL is the authority on its intermediates. */
	revoked = have_crl && mr_crl_find(&crl, c.serial, NULL);
	if (revoked)
		state = "revoked";
	printf("%-24s %-8s %-10s %-10lld %s\n", name,
	    strcmp(state, "expired") == 0 ? "EXPIRED" : strcmp(state, "revoked") == 0 ? "REVOKED" :
	    state, until, days_left(c.not_after, now), has_key ? "here" : "elsewhere");
	mr_cert_serial_hex(&c, serial, sizeof(serial));
	mr_json_put_str(j, "state", state);
	mr_json_put_str(j, "serial", serial);
	mr_json_put_time(j, "not_after", c.not_after);
	mr_json_put_int(j, "days_left", days_left(c.not_after, now));
	if (revoked)
		note(ST_CRIT, name, "cluster %s's intermediate is on the root CRL: renew it with a "
		    "new key and replace the file set", name);
	snprintf(what, sizeof(what), "cluster %s's intermediate", name);
	check_expiry(what, name, renewing ? "its renewal is waiting for the appliance" :
	    "renew it (`meshroot cluster renew NAME`)", c.not_after, now, warn_days);
	return j;
}

static int
parse_days(const char *v, unsigned *out)
{
	char *end;
	unsigned long x = strtoul(v, &end, 10);

	if (*v < '0' || *v > '9' || *end != '\0' || x > 36525)
		return -1;
	*out = (unsigned)x;
	return 0;
}

static const char *
status_name(int st)
{
	static const char *const names[] = { "ok", "warning", "critical", "unknown" };

	return names[st >= ST_OK && st <= ST_UNKNOWN ? st : ST_UNKNOWN];
}

static int
bad_days(const char *opt)
{
	return HOST_USAGE("status", "%s wants a number of days, 0..36525", opt);
}

int
cmd_status(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "warn-days", required_argument, NULL, 'w' },
		{ "root-warn-days", required_argument, NULL, 'r' },
		{ "crl-warn-days", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	unsigned warn_days = 30, root_warn_days = 730, crl_warn_days = 14;
	json_object *doc = NULL, *clusters = NULL, *jcrl = NULL, *th;
	mr_jsonout out = { -1 };
	mr_ws_list l;
	mr_diag d;
	time_t now = time(NULL);
	int r, ch, json = 0, rc = ST_UNKNOWN;

	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'w': if (parse_days(optarg, &warn_days) != 0) return bad_days("--warn-days"); break;
		case 'r':
			if (parse_days(optarg, &root_warn_days) != 0)
				return bad_days("--root-warn-days");
			break;
		case 'c':
			if (parse_days(optarg, &crl_warn_days) != 0)
				return bad_days("--crl-warn-days");
			break;
		case 'j': json = 1; break;
		case 'h': HOST_HELP(stdout, "status"); return ST_OK;
		default: return HOST_OPT_ERROR("status", ch, argv);
		}
	}
	if (optind != argc)
		return HOST_EXTRA("status", argv[optind]);
	worst = ST_OK;
	have_crl = 0;
	problems = NULL;
	if (json) {
		if (mr_jsonout_begin(&out) != 0) {
			mr_progress_stderr("error: status: cannot set up the JSON output\n");
			return ST_UNKNOWN;
		}
		doc = mr_json_doc("meshroot.status");
		problems = json_object_new_array();
		clusters = json_object_new_array();
		mr_json_put_str(doc, "workspace", o->workspace);
		mr_json_put_time(doc, "time", now);
		th = json_object_new_object();
		mr_json_put_int(th, "warn_days", warn_days);
		mr_json_put_int(th, "root_warn_days", root_warn_days);
		mr_json_put_int(th, "crl_warn_days", crl_warn_days);
		mr_json_put(doc, "thresholds", th);
	}
	mr_diag_clear(&d);
	if ((r = mr_ws_list_read(o, &l, &d)) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
		mr_json_put_str(doc, "error", mr_diag_text(&d, r));
		rc = ST_UNKNOWN;
		goto done;
	}
	if (json)
		mr_json_put(doc, "root", check_root(o, now, root_warn_days));
	else
		json_object_put(check_root(o, now, root_warn_days));
	check_crl(o, now, crl_warn_days, &jcrl);
	if (json)
		mr_json_put(doc, "crl", jcrl);
	else
		json_object_put(jcrl);
	printf("%-24s %-8s %-10s %-10s %s\n", "CLUSTER", "STATE", "EXPIRES", "DAYS LEFT", "KEY");
	for (size_t i = 0; i < l.n; i++) {
		json_object *c = check_cluster(o, l.names[i], now, warn_days);
		if (json)
			mr_json_append(clusters, c);
		else
			json_object_put(c);
	}
	mr_ws_list_free(&l);
	rc = worst;
	if (fflush(stdout) != 0) {
		mr_progress_stderr("error: status: cannot write the report\n");
		mr_json_put_str(doc, "error", "cannot write the report");
		rc = ST_UNKNOWN;
	}
done:
	if (json) {
		mr_json_put_str(doc, "status", status_name(rc));
		mr_json_put_int(doc, "exit_code", rc);
		mr_json_put(doc, "clusters", clusters);
		mr_json_put(doc, "problems", problems);
		problems = NULL;
		if (mr_jsonout_end(&out, doc) != 0) {
			mr_progress_stderr("error: status: cannot write the JSON document\n");
			rc = ST_UNKNOWN;
		}
	}
	return rc;
}

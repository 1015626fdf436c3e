/*
 * `status [--warn-days N] [--root-warn-days N] [--crl-warn-days N]`: one
 * line per cluster in the workspace (waiting, issued, renewing, EXPIRED;
 * the intermediate's expiry and days left; where the key is), then one
 * "warning:" or "critical:" line for each thing that needs a person:
 *   an intermediate within N days of expiry (default 30): renew it;
 *   the root within N days of expiry (default 730: a rotation takes a
 *   ceremony and a mesh-wide rollout);
 *   the imported root CRL within N days of its nextUpdate (default 14).
 * Anything already expired is critical.
 *
 * Exit status for monitoring (Nagios convention): 0 all fine, 1 a warning,
 * 2 something critical, 3 the workspace could not be read or bad usage.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "mr_crl.h"
#include "mr_fileio.h"
#include "progress.h"
#include "renew.h"
#include "workspace.h"

#define DAY 86400

enum { ST_OK = 0, ST_WARN = 1, ST_CRIT = 2, ST_UNKNOWN = 3 };

static int worst;

static void note(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(int level, const char *fmt, ...)
{
	va_list ap;

	printf("%s: ", level == ST_CRIT ? "critical" : "warning");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	if (level > worst)
		worst = level;
}

static void
check_expiry(const char *what, const char *action, time_t not_after, time_t now,
    unsigned warn_days)
{
	long long left = (long long)(not_after - now) / DAY;

	if (not_after <= now)
		note(ST_CRIT, "%s expired; %s", what, action);
	else if (not_after - now <= (time_t)warn_days * DAY)
		note(ST_WARN, "%s expires in %lld day%s (threshold %u); %s", what, left,
		    left == 1 ? "" : "s", warn_days, action);
}

static uint8_t crl_der[256 * 1024];
static mr_crl crl;
static int have_crl;

static void
check_crl(const mr_host_opts *o, time_t now, unsigned warn_days)
{
	uint8_t *der = crl_der;
	char path[4096];
	size_t len = 0;
	mr_crl c;

	if (mr_path_join(path, sizeof(path), o->workspace, "root.crl.pem") != MR_OK ||
	    !mr_path_exists(path))
		return;
	if (mr_file_read_pem(path, sizeof(crl_der), "X509 CRL", der, sizeof(crl_der), &len,
		NULL) != MR_OK ||
	    mr_crl_parse(der, len, &c, NULL) != MR_OK) {
		note(ST_CRIT, "%s is unreadable", path);
		return;
	}
	crl = c;
	have_crl = 1;
	if (!c.has_next_update) {
		note(ST_WARN, "the root CRL has no nextUpdate");
		return;
	}
	{
		char until[32];
		struct tm tm;
		gmtime_r(&c.next_update, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
		printf("%-24s %-8s next update %s, number %lu, %zu revoked\n", "(root CRL)", "imported",
		    until, c.crl_number, c.n_revoked);
	}
		check_expiry("the root CRL", "issue a new one (`meshroot-appliance crl --media`), "
		    "import it and re-bundle with --crl", c.next_update, now, warn_days);
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

int
cmd_status(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "warn-days", required_argument, NULL, 'w' },
		{ "root-warn-days", required_argument, NULL, 'r' },
		{ "crl-warn-days", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static const char usage[] =
	    "usage: meshroot [--workspace DIR] status [--warn-days N] [--root-warn-days N]\n"
	    "           [--crl-warn-days N]\n"
	    "exit status: 0 fine, 1 warning, 2 critical, 3 unknown\n";
	char path[4096], until[32], what[128];
	uint8_t der[MR_WS_CERT_MAX];
	unsigned warn_days = 30, root_warn_days = 730, crl_warn_days = 14;
	size_t len;
	mr_ws_list l;
	char **names;
	mr_cert c;
	mr_diag d;
	time_t now = time(NULL);
	int r, ch;

	optind = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'w': if (parse_days(optarg, &warn_days) != 0) goto bad; break;
		case 'r': if (parse_days(optarg, &root_warn_days) != 0) goto bad; break;
		case 'c': if (parse_days(optarg, &crl_warn_days) != 0) goto bad; break;
		case 'h': fputs(usage, stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	worst = ST_OK;
	have_crl = 0;
	mr_diag_clear(&d);
	if ((r = mr_ws_list_read(o, &l, &d)) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
		return ST_UNKNOWN;
	}
	if (mr_ws_read_root(o, der, sizeof(der), &len, &c, &d) == MR_OK) {
		struct tm tm;
		gmtime_r(&c.not_after, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
		printf("%-24s %-8s expires %s  %5lld days left\n", "(root)", "pinned", until,
		    (long long)((c.not_after - now) / DAY));
		check_expiry("the root", "plan a root rotation (docs/rotation.md)", c.not_after, now,
		    root_warn_days);
	} else {
		printf("%-24s %-8s\n", "(root)", "not pinned yet");
	}
	check_crl(o, now, crl_warn_days);
	printf("%-24s %-8s %-10s %-10s %s\n", "CLUSTER", "STATE", "EXPIRES", "DAYS LEFT", "KEY");
	names = l.names;
	for (size_t i = 0; i < l.n; i++) {
		int has_key = mr_ws_path(o, names[i], "ca-key.pem", path, sizeof(path)) == MR_OK &&
		    mr_path_exists(path);
		int renewing = mr_host_renew_pending(o, names[i]);
		const char *state;
		struct tm tm;
		int revoked;

		/* During a renewal the old certificate is still the one in
		 * service: it is the one whose expiry matters. */
		if (!mr_ws_cluster_issued(o, names[i]) && !renewing) {
			printf("%-24s %-8s %-10s %-10s %s\n", names[i], "waiting", "-", "-",
			    has_key ? "here" : "elsewhere");
			continue;
		}
		if (mr_ws_path(o, names[i], "ca-cert.pem", path, sizeof(path)) != MR_OK ||
		    mr_ws_read_cert(path, der, sizeof(der), &len, &c, &d) != MR_OK) {
			printf("%-24s %-8s\n", names[i], "unreadable");
			note(ST_CRIT, "cluster %s: ca-cert.pem is unreadable", names[i]);
			continue;
		}
		gmtime_r(&c.not_after, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
		state = c.not_after <= now ? "EXPIRED" : renewing ? "renewing" : "issued";
		/* The root's own CRL is the authority on its intermediates. */
		revoked = have_crl && mr_crl_find(&crl, c.serial, NULL);
		if (revoked)
			state = "REVOKED";
		printf("%-24s %-8s %-10s %-10lld %s\n", names[i], state, until,
		    (long long)((c.not_after - now) / DAY), has_key ? "here" : "elsewhere");
		if (revoked)
			note(ST_CRIT, "cluster %s's intermediate is on the root CRL: renew it with a "
			    "new key and replace the file set", names[i]);
		snprintf(what, sizeof(what), "cluster %s's intermediate", names[i]);
		check_expiry(what, renewing ? "its renewal is waiting for the appliance" :
		    "renew it (`meshroot cluster renew NAME`)", c.not_after, now, warn_days);
	}
	mr_ws_list_free(&l);
	if (fflush(stdout) != 0) {
		mr_progress_stderr("error: status: cannot write the report\n");
		return ST_UNKNOWN;
	}
	return worst;
bad:
	fputs(usage, stderr);
	return ST_UNKNOWN;
}

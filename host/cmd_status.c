/*
 * `status`: one line per cluster in the workspace: waiting or issued, the
 * intermediate's expiry and the days left, and whether the key is here.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "mr_fileio.h"
#include "workspace.h"

int
cmd_status(const mr_host_opts *o, int argc, char **argv)
{
	char names[MR_WS_MAX_CLUSTERS][64], path[4096], until[32];
	uint8_t der[MR_WS_CERT_MAX];
	size_t n = 0, len;
	mr_cert c;
	mr_diag d;
	time_t now = time(NULL);
	int r;

	if (argc > 1) {
		printf("usage: meshroot [--workspace DIR] status\n");
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	mr_diag_clear(&d);
	if ((r = mr_ws_clusters(o, names, MR_WS_MAX_CLUSTERS, &n, &d)) != MR_OK) {
		fprintf(stderr, "error: %s\n", mr_diag_text(&d, r));
		return 1;
	}
	if (mr_ws_read_root(o, der, sizeof(der), &len, &c, &d) == MR_OK) {
		struct tm tm;
		gmtime_r(&c.not_after, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
		printf("%-24s %-8s expires %s  %5lld days left\n", "(root)", "pinned", until,
		    (long long)((c.not_after - now) / 86400));
	} else {
		printf("%-24s %-8s\n", "(root)", "not pinned yet");
	}
	printf("%-24s %-8s %-10s %-10s %s\n", "CLUSTER", "STATE", "EXPIRES", "DAYS LEFT", "KEY");
	for (size_t i = 0; i < n; i++) {
		int has_key = mr_ws_path(o, names[i], "ca-key.pem", path, sizeof(path)) == MR_OK &&
		    mr_path_exists(path);
		if (!mr_ws_cluster_issued(o, names[i])) {
			printf("%-24s %-8s %-10s %-10s %s\n", names[i], "waiting", "-", "-",
			    has_key ? "here" : "elsewhere");
			continue;
		}
		if (mr_ws_path(o, names[i], "ca-cert.pem", path, sizeof(path)) != MR_OK ||
		    mr_ws_read_cert(path, der, sizeof(der), &len, &c, &d) != MR_OK) {
			printf("%-24s %-8s\n", names[i], "unreadable");
			continue;
		}
		struct tm tm;
		gmtime_r(&c.not_after, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
		printf("%-24s %-8s %-10s %-10lld %s\n", names[i],
		    c.not_after <= now ? "EXPIRED" : "issued", until,
		    (long long)((c.not_after - now) / 86400), has_key ? "here" : "elsewhere");
	}
	return 0;
}

/*
 * `revoke SERIAL --reason R`: marks an issued intermediate revoked. The
 * audit record is the commit point (written first, as for issuance); the
 * issuance database follows. Revocation takes effect for relying parties
 * only with the next root CRL (`crl`), which needs the token.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_crl.h"

/* Lowercase hex without separators; colons (openssl -text style) dropped. */
static int
normalise_serial(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in; in++) {
		char c = *in;
		if (c == ':')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')) || o + 1 >= cap)
			return MR_E_ARG;
		out[o++] = c;
	}
	out[o] = '\0';
	return o > 0 && o % 2 == 0 ? MR_OK : MR_E_ARG;
}

int
cmd_revoke(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "reason", required_argument, NULL, 'r' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *reason_name = NULL;
	char serial[64], question[256];
	mr_db_entry *e;
	mr_record rec;
	mr_diag d;
	int c, r, reason;
	time_t now = time(NULL);

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'r': reason_name = optarg; break;
		case 'y': app->yes = 1; break;
		case 'h': APP_HELP(stdout, "revoke"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("revoke", c, argv);
		}
	}
	if (optind >= argc)
		return APP_USAGE("revoke", "revoke needs a SERIAL");
	if (optind + 1 != argc)
		return APP_EXTRA("revoke", argv[optind + 1]);
	if (reason_name == NULL)
		return APP_USAGE("revoke", "revoke needs --reason REASON");
	mr_diag_clear(&d);
	if (normalise_serial(argv[optind], serial, sizeof(serial)) != MR_OK) {
		mr_diag_set(&d, MR_E_ARG, "'%s' is not a hex serial", argv[optind]);
		return mr_fail(MR_E_ARG, &d);
	}
	if (mr_crl_reason_parse(reason_name, &reason) != MR_OK)
		return APP_USAGE("revoke", "'%s' is not a revocation reason meshroot uses",
		    reason_name);
	if ((r = mr_app_load(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((e = mr_db_by_serial(&app->db, serial)) == NULL || e->state != MR_DB_ISSUED) {
		mr_diag_set(&d, MR_E_NOTFOUND, "serial %s was never issued by this appliance", serial);
		return mr_fail(MR_E_NOTFOUND, &d);
	}
	if (e->revoked) {
		mr_diag_set(&d, MR_E_STATE, "serial %s (cluster %s) is revoked already", serial,
		    e->cluster);
		return mr_fail(MR_E_STATE, &d);
	}
	snprintf(question, sizeof(question), "Revoke serial %s of cluster %s (%s)?", serial,
	    e->cluster, mr_crl_reason_name(reason));
	if (mr_app_confirm(app, question, "revoke") != MR_OK) {
		mr_diag_set(&d, MR_E_CANCELLED, "revocation cancelled by the operator");
		return mr_fail(MR_E_CANCELLED, &d);
	}
	mr_record_init(&rec);
	mr_record_add(&rec, "serial", serial);
	mr_record_add(&rec, "cluster", e->cluster);
	mr_record_add(&rec, "reason", mr_crl_reason_name(reason));
	mr_record_addf(&rec, "time", "%lld", (long long)now);
	mr_record_add(&rec, "confirmed_by", app->yes ? "--yes" : "operator");
	if ((r = mr_app_audit(app, "revoke", &rec, &d)) != MR_OK ||
	    (r = mr_db_revoke(&app->db, serial, reason, (long long)now, &d)) != MR_OK)
		return mr_fail(r, &d);
	printf("revoked %s (cluster %s, %s); issue a new CRL with `meshroot-appliance crl`\n",
	    serial, e->cluster, mr_crl_reason_name(reason));
	return 0;
}

/*
 * `status [--json]`: what the appliance holds: the root, the policy, how
 * many certificates were issued, the audit position; with a token named
 * (or a PIN file), the token too (status_token.c). With --json the same as one document on stdout (docs/json.md,
 * docs/json/meshroot-appliance.status.schema.json), the lines on stderr;
 * a state dir that cannot be loaded still gives a document, with the error.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_crl.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_jsonout.h"

/* The latest root CRL: its number and when the next one is due. */
static void
show_crl(mr_app *app, json_object *doc)
{
	static uint8_t der[256 * 1024];
	char path[4096], line[1024], until[32];
	size_t len = 0;
	struct tm tm;
	mr_crl c;

	if (mr_app_path(app, path, sizeof(path), "root.crl.pem") == MR_OK &&
	    mr_file_read_pem(path, sizeof(der), "X509 CRL", der, sizeof(der), &len, NULL) ==
		MR_OK &&
	    mr_crl_parse(der, len, &c, NULL) == MR_OK && c.has_next_update) {
		json_object *j = json_object_new_object();
		int overdue = c.next_update <= time(NULL);
		gmtime_r(&c.next_update, &tm);
		strftime(until, sizeof(until), "%Y-%m-%d", &tm);
		snprintf(line, sizeof(line), "crl:       number %lu, %zu revoked, next update due %s%s\n",
		    c.crl_number, c.n_revoked, until, overdue ? " (OVERDUE: run `crl`)" : "");
		mr_json_put_int(j, "number", (long long)c.crl_number);
		mr_json_put_int(j, "revoked", (long long)c.n_revoked);
		mr_json_put_time(j, "next_update", c.next_update);
		mr_json_put_bool(j, "overdue", overdue);
		mr_json_put(doc, "crl", j);
	} else {
		snprintf(line, sizeof(line), "crl:       none issued yet (`crl --media DIR`)\n");
		mr_json_put(doc, "crl", NULL);
	}
	board_console_write(line);
}

/* The report; doc (may be NULL) gets the same as fields. */
static int
status(mr_app *app, json_object *doc)
{
	mr_diag d;
	uint8_t fp[32];
	char hex[MR_FP_HEX_LEN(32)], serial[64], line[1024], until[32];
	size_t issued = 0, abandoned = 0, revoked = 0;
	json_object *j;
	struct tm tm;
	int r;

	mr_diag_clear(&d);
	if ((r = mr_app_load(app, &d)) != MR_OK) {
		mr_json_put_str(doc, "error", mr_diag_text(&d, r));
		return mr_fail(r, &d);
	}
	for (size_t i = 0; i < app->db.n; i++) {
		issued += app->db.e[i].state == MR_DB_ISSUED;
		abandoned += app->db.e[i].state == MR_DB_ABANDONED;
		revoked += app->db.e[i].revoked != 0;
	}
	mr_fp_sha256(app->root_der, app->root_len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	mr_cert_serial_hex(&app->root, serial, sizeof(serial));
	gmtime_r(&app->root.not_after, &tm);
	strftime(until, sizeof(until), "%Y-%m-%d", &tm);
	snprintf(line, sizeof(line),
	    "state:     %s\n"
	    "board:     %s, firmware %s\n"
	    "root:      serial %s, key %s, valid until %s\n"
	    "root SHA-256: %s\n"
	    "policy:    O=%s, intermediates at most %u days\n"
	    "issued:    %zu certificate(s), %zu abandoned reservation(s)\n"
	    "audit:     %lu record(s)\n",
	    app->state_dir, board_name(), MESHROOT_VERSION, serial,
	    mr_key_type_name(app->root.spki.type), until, hex, app->cfg.policy_o,
	    app->cfg.max_validity_days, issued, abandoned, app->audit.next_seq - 1);
	board_console_write(line);
	snprintf(line, sizeof(line), "revoked:   %zu certificate(s)\n", revoked);
	board_console_write(line);
	if (doc != NULL) {
		mr_json_put_str(doc, "board", board_name());
		mr_json_put_str(doc, "firmware", MESHROOT_VERSION);
		j = json_object_new_object();
		mr_json_put_str(j, "serial", serial);
		mr_json_put_str(j, "key_type", mr_key_type_name(app->root.spki.type));
		mr_json_put_time(j, "not_after", app->root.not_after);
		mr_json_put_str(j, "sha256", hex);
		mr_json_put(doc, "root", j);
		j = json_object_new_object();
		mr_json_put_str(j, "organization", app->cfg.policy_o);
		mr_json_put_int(j, "max_validity_days", app->cfg.max_validity_days);
		mr_json_put(doc, "policy", j);
		mr_json_put_int(doc, "issued", (long long)issued);
		mr_json_put_int(doc, "abandoned", (long long)abandoned);
		mr_json_put_int(doc, "revoked", (long long)revoked);
		mr_json_put_int(doc, "audit_records", (long long)(app->audit.next_seq - 1));
	}
	j = json_object_new_object();
	mr_json_put_bool(j, "split", app->custody_active);
	if (app->custody_active) {
		char set[9];
		mr_share_set_id_hex(app->custody.set_id, set);
		snprintf(line, sizeof(line), "custody:   split, any %u of %u shares, share set %s\n",
		    app->custody.threshold, app->custody.shares, set);
		mr_json_put_int(j, "threshold", app->custody.threshold);
		mr_json_put_int(j, "shares", app->custody.shares);
		mr_json_put_str(j, "share_set", set);
	} else {
		snprintf(line, sizeof(line), "custody:   off (the token's own PIN)\n");
	}
	mr_json_put(doc, "custody", j);
	board_console_write(line);
	show_crl(app, doc);
	if (app->token_named || app->pin_file != NULL || app->shares_from != NULL) {
		if (app->pin_file != NULL || app->shares_from != NULL) {
			/* A login is audited: the state dir is ours first. */
			if ((r = mr_app_lock(app, &d)) != MR_OK) {
				mr_json_put_str(doc, "error", mr_diag_text(&d, r));
				return mr_fail(r, &d);
			}
		}
		if ((r = mr_status_token(app, &d)) != MR_OK) {
			mr_json_put_str(doc, "error", mr_diag_text(&d, r));
			return mr_fail(r, &d);
		}
	}
	return MR_EXIT_OK;
}

int
cmd_status(mr_app *app, int argc, char **argv)
{
	mr_jsonout out = { -1 };
	json_object *doc;
	int rc;

	if (argc > 1 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		APP_HELP(stdout, "status");
		return MR_EXIT_OK;
	}
	if (argc > 2 || (argc == 2 && strcmp(argv[1], "--json") != 0))
		return APP_EXTRA("status", argv[argc > 2 && strcmp(argv[1], "--json") == 0 ? 2 : 1]);
	if (argc == 1)
		return status(app, NULL);
	if (mr_jsonout_begin(&out) != 0) {
		fprintf(stderr, "error: cannot set up the JSON output\n");
		return 1;
	}
	doc = mr_json_doc("meshroot-appliance.status");
	mr_json_put_str(doc, "state_dir", app->state_dir);
	mr_json_put(doc, "error", NULL);
	rc = status(app, doc);
	mr_json_put_int(doc, "exit_code", rc);
	if (mr_jsonout_end(&out, doc) != 0) {
		fprintf(stderr, "error: cannot write the JSON document\n");
		rc = rc != 0 ? rc : 1;
	}
	return rc;
}

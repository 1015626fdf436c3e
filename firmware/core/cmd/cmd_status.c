/*
 * `status`: what the appliance holds: the root, the policy, how many
 * certificates were issued, the audit position; with a token named (or a
 * PIN file), the token too (status_token.c).
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "board_api.h"
#include "mr_commands.h"
#include "mr_crl.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"

int
cmd_status(mr_app *app, int argc, char **argv)
{
	mr_diag d;
	uint8_t fp[32];
	char hex[MR_FP_HEX_LEN(32)], serial[64], line[1024], until[32];
	size_t issued = 0, abandoned = 0, revoked = 0;
	struct tm tm;
	int r;

	(void)argv;
	if (argc > 1) {
		board_console_write("usage: meshroot-appliance [global options] status\n");
		return strcmp(argv[1], "--help") == 0 ? 0 : 2;
	}
	mr_diag_clear(&d);
	if ((r = mr_app_load(app, &d)) != MR_OK)
		return mr_fail(r, &d);
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
	if (app->custody_active) {
		char set[9];
		mr_share_set_id_hex(app->custody.set_id, set);
		snprintf(line, sizeof(line), "custody:   split, any %u of %u shares, share set %s\n",
		    app->custody.threshold, app->custody.shares, set);
	} else {
		snprintf(line, sizeof(line), "custody:   off (the token's own PIN)\n");
	}
	board_console_write(line);
	{
		/* The latest root CRL: its number and when the next one is due. */
		static uint8_t der[256 * 1024];
		char path[4096];
		size_t len = 0;
		mr_crl c;
		if (mr_app_path(app, path, sizeof(path), "root.crl.pem") == MR_OK &&
		    mr_file_read_pem(path, sizeof(der), "X509 CRL", der, sizeof(der), &len, NULL) ==
			MR_OK &&
		    mr_crl_parse(der, len, &c, NULL) == MR_OK && c.has_next_update) {
			gmtime_r(&c.next_update, &tm);
			strftime(until, sizeof(until), "%Y-%m-%d", &tm);
			snprintf(line, sizeof(line), "crl:       number %lu, %zu revoked, next update due %s%s\n",
			    c.crl_number, c.n_revoked, until,
			    c.next_update <= time(NULL) ? " (OVERDUE: run `crl`)" : "");
		} else {
			snprintf(line, sizeof(line), "crl:       none issued yet (`crl --media DIR`)\n");
		}
		board_console_write(line);
	}
	if (app->token_named || app->pin_file != NULL || app->shares_from != NULL) {
		if (app->pin_file != NULL || app->shares_from != NULL) {
			/* A login is audited: the state dir is ours first. */
			if ((r = mr_app_lock(app, &d)) != MR_OK)
				return mr_fail(r, &d);
		}
		if ((r = mr_status_token(app, &d)) != MR_OK)
			return mr_fail(r, &d);
	}
	return 0;
}

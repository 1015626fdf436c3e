/*
 * `crl [--media DIR]`: issues the root's next CRL (RFC 5280 section 5) from
 * the revocations in issued.db, signed in the token exactly as
 * certificates are (the TBSCertList's digest through the wolfSSL device).
 *
 * State dir:
 *   crl-number     the last cRLNumber used. It is raised and fsync'ed
 *                  BEFORE the token signs, so a crash can skip a number
 *                  but never reuse one (5.2.3: "monotonically increasing").
 *   root.crl.pem   the latest CRL, stored before the audit record (the
 *                  commit point) and before anything is released.
 * Media: meshroot/root.crl.pem (docs/media.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_crl.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_signer.h"
#include "mr_tbs.h"

#define DAY 86400
#define CRL_MAX_ENTRIES 4096u
#define CRL_MAX_DER (64u * CRL_MAX_ENTRIES + 4096u)

static int
next_number(mr_app *app, unsigned long *number, mr_diag *d)
{
	char path[4096], buf[32];
	uint8_t *text = NULL;
	size_t len = 0;
	unsigned long last = 0;
	int r;

	if (mr_app_path(app, path, sizeof(path), "crl-number") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	r = mr_file_read(path, 64, &text, &len, d);
	if (r == MR_OK) {
		char *end;
		last = strtoul((const char *)text, &end, 10);
		if (end == (char *)text || (*end != '\n' && *end != '\0')) {
			free(text);
			return mr_diag_set(d, MR_E_STATE, "%s is malformed", path);
		}
		free(text);
	} else if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
	} else {
		return r;
	}
	/* RFC 5280 5.2.3: at most 20 octets; unsigned long wrapping would
	 * break monotonicity long before that matters. */
	if (last >= 0x7fffffffUL)
		return mr_diag_set(d, MR_E_STATE, "cRLNumber exhausted");
	*number = last + 1;
	snprintf(buf, sizeof(buf), "%lu\n", *number);
	return mr_file_write_atomic(path, buf, strlen(buf), 0600, d);
}

static int
build_and_sign(mr_app *app, unsigned long number, time_t now, uint8_t *der, size_t cap,
    size_t *der_len, size_t *n_entries, mr_diag *d)
{
	static uint8_t serials[CRL_MAX_ENTRIES][20];
	static mr_crl_entry entries[CRL_MAX_ENTRIES];
	static uint8_t tbs_buf[CRL_MAX_DER];
	size_t n = 0;
	mr_crl_params p;
	mr_der tbs;
	mr_crl check;
	int r;

	for (size_t i = 0; i < app->db.n; i++) {
		const mr_db_entry *e = &app->db.e[i];
		size_t hl;
		if (!e->revoked)
			continue;
		hl = strlen(e->serial);
		if (n == CRL_MAX_ENTRIES)
			return mr_diag_set(d, MR_E_RANGE, "more than %u revocations", CRL_MAX_ENTRIES);
		if (hl == 0 || hl % 2 != 0 || hl > 40 ||
		    mr_hex_decode(e->serial, serials[n], hl / 2) != MR_OK)
			return mr_diag_set(d, MR_E_DB, "serial %s is malformed", e->serial);
		entries[n].serial = serials[n];
		entries[n].serial_len = hl / 2;
		entries[n].revoked_at = (time_t)e->revoked_at;
		entries[n].reason = e->reason;
		n++;
	}
	memset(&p, 0, sizeof(p));
	p.sig_alg = mr_sig_alg_for_key(app->root.spki.type);
	p.issuer = app->root.subject; /* 5.1.2.3: the issuer's subject, byte for byte */
	p.this_update = now;
	p.next_update = now + (time_t)app->cfg.crl_validity_days * DAY;
	/* Past the root's own expiry the CRL would outlive its signer. */
	if (p.next_update > app->root.not_after)
		p.next_update = app->root.not_after;
	p.entries = entries;
	p.n_entries = n;
	p.crl_number = number;
	if (!app->root.ext.has_ski || app->root.ext.ski.n != 20)
		return mr_diag_set(d, MR_E_STATE, "the root has no 20-byte SKI for the CRL's AKI");
	p.aki = app->root.ext.ski.p;
	if ((r = mr_crl_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs)) != MR_OK)
		return mr_diag_set(d, r, "cannot encode the TBSCertList");
	if ((r = mr_sign_tbs(MR_DEV_ID, &app->root.spki, p.sig_alg, tbs, der, cap, der_len,
		 d)) != MR_OK)
		return r;
	/* Read back what will be released: it must parse as a CRL and carry
	 * what was built (mr_sign_tbs checked the bytes and the signature). */
	if (mr_crl_parse(der, *der_len, &check, d) != MR_OK || check.n_revoked != n ||
	    check.crl_number != number)
		return mr_diag_set(d, MR_E_INTERNAL, "the signed CRL differs from the one built");
	*n_entries = n;
	return MR_OK;
}

int
cmd_crl(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "media", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static uint8_t der[CRL_MAX_DER];
	static char pem[CRL_MAX_DER * 2];
	const char *media = NULL;
	char path[4096], hex[65], t1[32], t2[32];
	size_t der_len = 0, pem_len = 0, n = 0;
	unsigned long number = 0;
	uint8_t fp[32];
	time_t now = time(NULL), next;
	struct tm tm;
	mr_record rec;
	mr_diag d;
	int c, r;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'm': media = optarg; break;
		case 'h': APP_HELP(stdout, "crl"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("crl", c, argv);
		}
	}
	if (optind != argc)
		return APP_EXTRA("crl", argv[optind]);
	mr_diag_clear(&d);
	if ((r = mr_app_load(app, &d)) != MR_OK || (r = mr_app_open_token(app, &d)) != MR_OK ||
	    (r = mr_app_check_root_key(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((r = next_number(app, &number, &d)) != MR_OK ||
	    (r = build_and_sign(app, number, now, der, sizeof(der), &der_len, &n, &d)) != MR_OK)
		goto fail;
	if ((r = mr_pem_write("X509 CRL", der, der_len, pem, sizeof(pem), &pem_len)) != MR_OK) {
		mr_diag_set(&d, r, "cannot encode the CRL as PEM");
		goto fail;
	}
	if (mr_app_path(app, path, sizeof(path), "root.crl.pem") != MR_OK ||
	    (r = mr_file_write_atomic(path, pem, pem_len, 0644, &d)) != MR_OK)
		goto fail;
	mr_fp_sha256(der, der_len, fp);
	mr_hex_encode(fp, 32, hex);
	next = now + (time_t)app->cfg.crl_validity_days * DAY;
	if (next > app->root.not_after)
		next = app->root.not_after;
	gmtime_r(&now, &tm);
	strftime(t1, sizeof(t1), "%Y-%m-%dT%H:%M:%SZ", &tm);
	gmtime_r(&next, &tm);
	strftime(t2, sizeof(t2), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mr_record_init(&rec);
	mr_record_addf(&rec, "number", "%lu", number);
	mr_record_addf(&rec, "revoked", "%zu", n);
	mr_record_add(&rec, "this_update", t1);
	mr_record_add(&rec, "next_update", t2);
	mr_record_add(&rec, "crl", hex);
	if ((r = mr_app_audit(app, "crl", &rec, &d)) != MR_OK)
		goto fail;
	if (app->have_audit_key && (r = mr_app_checkpoint(app, NULL, 0, NULL, &d)) != MR_OK)
		goto fail;
	if (media != NULL) {
		if (mr_path_join(path, sizeof(path), media, MR_MEDIA_TOP) != MR_OK ||
		    (r = mr_mkdirs(path, 0755, &d)) != MR_OK ||
		    mr_path_join(path, sizeof(path), media, MR_MEDIA_CRL) != MR_OK ||
		    (r = mr_file_write_atomic(path, pem, pem_len, 0644, &d)) != MR_OK) {
			if (r == MR_OK)
				r = mr_diag_set(&d, MR_E_RANGE, "media path too long");
			goto fail;
		}
	}
	printf("CRL %lu: %zu revoked, this update %s, next update %s, SHA-256 %s%s%s\n", number, n,
	    t1, t2, hex, media ? ", written to " : "", media ? path : "");
	return 0;
fail:
	return mr_fail(r, &d);
}

/*
 * `ceremony rotate`: a new root key in the token, a new self-signed root,
 * cross-certificates both ways, and the transition bundle (docs/rotation.md).
 *
 * After it the appliance signs with the new root. The state dir keeps:
 *   root-cert.pem            the new root (replaced last: the commit point)
 *   root-key-label           "label=<new label> root=<SHA-256 of the new root>":
 *                            used instead of [root] key_label while it names
 *                            the current root-cert.pem, so a crash before
 *                            root-cert.pem is replaced leaves the old root
 *                            in service, consistent
 *   rotation/previous-root-cert.pem   the old root
 *   rotation/new-root-cert.pem        the new root
 *   rotation/cross-new-by-old.pem     the new root's key and name, issued by
 *                                     the old root (old-trusting parties
 *                                     accept the new hierarchy through it)
 *   rotation/cross-old-by-new.pem     the old root's key and name, issued by
 *                                     the new root
 *   rotation/transition-roots.pem     both roots: root-cert.pem for Istio
 *                                     during the transition
 * With --media the same files go to meshroot/rotation/ and the new root to
 * meshroot/root-cert.pem.
 *
 * The old root key stays in the token: it is not used again by meshroot,
 * and is destroyed with the token's own tools once no cluster needs the
 * old root (docs/rotation.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "board_api.h"
#include "mr_ceremony.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_lint.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_signer.h"
#include "mr_tbs.h"
#include "mr_transcript.h"

#define DAY 86400
#define NEW_DEV_ID (MR_DEV_ID + 1) /* wolfSSL device for the new root key */
#define CERT_MAX 8192

typedef struct {
	uint8_t der[CERT_MAX];
	size_t len;
	mr_cert c;
} built_cert;

/* A step on the console and in the transcript. */
#define step(...) mr_transcript_step("rotate", __VA_ARGS__)

/*
 * A CA certificate for `subject_spki` named `subject`, issued by `issuer`
 * (name, key id, SPKI) through wolfSSL device `dev`. RFC 5280 4.2.1.9 and
 * 4.2.1.3 as for the root: CA:TRUE critical, keyCertSign | cRLSign.
 */
static int
sign_ca(mr_app *app, int dev, mr_der issuer, const uint8_t issuer_ski[20], mr_der issuer_spki,
    mr_der subject, const mr_spki *subject_key, time_t not_before, time_t not_after,
    built_cert *out, mr_diag *d)
{
	uint8_t tbs_buf[4096], serial[16], ski[20];
	mr_spki ikey;
	mr_tbs_params p;
	mr_der tbs;
	int r;

	if (mr_spki_parse(issuer_spki, &ikey, d) != MR_OK)
		return MR_E_INTERNAL;
	if ((r = mr_token_random(app->tok, serial, sizeof(serial), d)) != MR_OK)
		return r;
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 1;
	mr_spki_key_id(subject_key, ski);
	memset(&p, 0, sizeof(p));
	p.serial = serial;
	p.serial_len = sizeof(serial);
	p.sig_alg = mr_sig_alg_for_key(ikey.type);
	p.issuer = issuer;
	p.subject = subject;
	p.not_before = not_before;
	p.not_after = not_after;
	p.spki = subject_key->whole;
	p.ski = ski;
	p.aki = issuer_ski;
	p.path_len = -1;
	p.key_usage = MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN;
	if (mr_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot encode a TBS");
	if ((r = mr_sign_tbs(dev, &ikey, p.sig_alg, tbs, out->der, sizeof(out->der), &out->len,
		 d)) != MR_OK)
		return r;
	if (mr_cert_parse(out->der, out->len, &out->c, d) != MR_OK)
		return MR_E_INTERNAL;
	return MR_OK;
}

static int
write_pem(const char *dir, const char *name, const uint8_t *a, size_t alen, const uint8_t *b,
    size_t blen, mr_diag *d)
{
	char pem[4 * CERT_MAX], path[4096];
	size_t n1 = 0, n2 = 0;

	if (mr_pem_write("CERTIFICATE", a, alen, pem, sizeof(pem), &n1) != MR_OK ||
	    (b != NULL && mr_pem_write("CERTIFICATE", b, blen, pem + n1, sizeof(pem) - n1, &n2) !=
		MR_OK))
		return mr_diag_set(d, MR_E_RANGE, "certificate too large for PEM");
	if (mr_path_join(path, sizeof(path), dir, name) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	return mr_file_write_atomic(path, pem, n1 + n2, 0644, d);
}

static int
write_set(const char *dir, const mr_app *app, const built_cert *nr, const built_cert *nbo,
    const built_cert *obn, mr_diag *d)
{
	int r;

	if ((r = mr_mkdirs(dir, 0755, d)) != MR_OK ||
	    (r = write_pem(dir, "previous-root-cert.pem", app->root_der, app->root_len, NULL, 0,
		 d)) != MR_OK ||
	    (r = write_pem(dir, "new-root-cert.pem", nr->der, nr->len, NULL, 0, d)) != MR_OK ||
	    (r = write_pem(dir, "cross-new-by-old.pem", nbo->der, nbo->len, NULL, 0, d)) != MR_OK ||
	    (r = write_pem(dir, "cross-old-by-new.pem", obn->der, obn->len, NULL, 0, d)) != MR_OK ||
	    (r = write_pem(dir, "transition-roots.pem", app->root_der, app->root_len, nr->der,
		 nr->len, d)) != MR_OK)
		return r;
	return MR_OK;
}

static void
fp_hex(const uint8_t *der, size_t n, char hex[65], uint8_t fp[32])
{
	mr_fp_sha256(der, n, fp);
	mr_hex_encode(fp, 32, hex);
}

int
cmd_ceremony_rotate(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key-label", required_argument, NULL, 'k' },
		{ "common-name", required_argument, NULL, 'n' },
		{ "media", required_argument, NULL, 'm' },
		{ "yes", no_argument, NULL, 'y' },
		{ "operator", required_argument, NULL, 'o' },
		{ "witness", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static built_cert nr, nbo, obn;
	const char *label = NULL, *cn = NULL, *media = NULL;
	char cn_buf[72], path[4096], hex[65], old_hex[65], rec_line[256], words[MR_FP_WORDS_LEN];
	uint8_t spki[1024], name_buf[512], fp[32], new_ski[20];
	size_t spki_len = 0;
	mr_key_type type;
	mr_spki new_key;
	mr_name_fields nf;
	mr_der new_name;
	mr_record rec;
	mr_diag d;
	time_t now = time(NULL);
	struct tm tm;
	int c, r, dev_registered = 0, generated = 0;
	mr_token_gen_report rep;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'k': label = optarg; break;
		case 'n': cn = optarg; break;
		case 'm': media = optarg; break;
		case 'y': app->yes = 1; break;
		case 'o': mr_transcript_person("operator", optarg); break;
		case 'w': mr_transcript_person("witness", optarg); break;
		case 'h': APP_HELP(stdout, "ceremony"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("ceremony", c, argv);
		}
	}
	if (optind != argc)
		return APP_EXTRA("ceremony", argv[optind]);
	if (label == NULL)
		return APP_USAGE("ceremony", "ceremony rotate needs --key-label LABEL");
	mr_diag_clear(&d);
	if ((r = mr_app_load(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if (strcmp(label, app->cfg.root_key_label) == 0) {
		mr_diag_set(&d, MR_E_ARG, "--key-label must name a new key, not the current root's");
		return mr_fail(MR_E_ARG, &d);
	}
	if (cn == NULL) {
		/* A new name: chain builders that go by names never confuse
		 * the two roots. */
		gmtime_r(&now, &tm);
		snprintf(cn_buf, sizeof(cn_buf), "%.58s %04u", app->cfg.root_cn,
		    (unsigned)(tm.tm_year + 1900) % 10000u);
		cn = cn_buf;
	}
	nf.c = app->cfg.root_c;
	nf.o = app->cfg.root_o;
	nf.ou = NULL;
	nf.l = NULL;
	nf.cn = cn;
	if (mr_name_build(&nf, name_buf, sizeof(name_buf), &new_name) != MR_OK) {
		mr_diag_set(&d, MR_E_ARG, "cannot build the new root's name (CN at most 64 bytes)");
		return mr_fail(MR_E_ARG, &d);
	}
	if (mr_der_equal(new_name, app->root.subject)) {
		mr_diag_set(&d, MR_E_ARG, "the new root needs a name other than the old root's");
		return mr_fail(MR_E_ARG, &d);
	}
	mr_transcript_begin("rotate");
	fp_hex(app->root_der, app->root_len, old_hex, fp);
	step("current root SHA-256 %s", old_hex);
	step("new root: CN=%s, key %s in token label '%s', %u days", cn,
	    mr_key_type_name(app->cfg.root_key_type), label, app->cfg.root_validity_days);
	if (mr_app_confirm(app, "Witnesses: rotate the root now?", "rotate") != MR_OK) {
		mr_diag_set(&d, MR_E_CANCELLED, "rotation cancelled by the operator");
		return mr_fail(MR_E_CANCELLED, &d);
	}
	if ((r = mr_app_open_token(app, &d)) != MR_OK || (r = mr_app_check_root_key(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	mr_record_init(&rec);
	mr_record_add(&rec, "old_root", old_hex);
	mr_record_add(&rec, "label", label);
	mr_record_add(&rec, "common_name", cn);
	mr_record_add(&rec, "confirmed_by", app->yes ? "--yes" : "operator");
	if ((r = mr_app_audit(app, "rotate-start", &rec, &d)) != MR_OK)
		goto fail;

	/* Before anything is generated: a type the token cannot make stops here. */
	if ((r = mr_token_can_make(app->tok, app->cfg.root_key_type, &d)) != MR_OK) {
		mr_diag_prefix(&d, "new root key");
		goto fail;
	}
	step("generating the new root key inside the token");
	if ((r = mr_token_generate_report(app->tok, label, app->cfg.root_key_type, &rep, &d)) !=
	    MR_OK)
		goto fail;
	generated = 1;
	if (rep.dropped[0] != '\0')
		step("the token refused the optional attributes %s of the new root key: generated "
		    "without them; its protection (sensitive, not extractable, sign only) was read "
		    "back and holds", rep.dropped);
	if ((r = mr_token_public_key(app->tok, label, spki, sizeof(spki), &spki_len, &type, &d)) !=
	    MR_OK)
		goto fail;
	if (mr_spki_parse(mr_der_view(spki, spki_len), &new_key, &d) != MR_OK) {
		r = MR_E_TOKEN;
		goto fail;
	}
	fp_hex(spki, spki_len, hex, fp);
	step("new root public key SHA-256 %s", hex);
	mr_record_init(&rec);
	mr_record_add(&rec, "label", label);
	mr_record_add(&rec, "key_type", mr_key_type_name(type));
	mr_record_add(&rec, "key", hex);
	if ((r = mr_app_audit(app, "rotate-keygen", &rec, &d)) != MR_OK)
		goto fail;
	if ((r = mr_token_device_register(app->tok, NEW_DEV_ID, label, &d)) != MR_OK)
		goto fail;
	dev_registered = 1;
	mr_spki_key_id(&new_key, new_ski);

	step("signing the new self-signed root, and the cross-certificates both ways");
	if ((r = sign_ca(app, NEW_DEV_ID, new_name, new_ski, new_key.whole, new_name, &new_key,
		 now - 300, now + (time_t)app->cfg.root_validity_days * DAY, &nr, &d)) != MR_OK)
		goto fail;
	if ((r = mr_lint_ca(&nr.c, MR_LINT_ROOT, NULL, now, &d)) != MR_OK)
		goto fail;
	/* The cross-certificates live no longer than the old root: past it
	 * there is nobody left who trusts only the old one. */
	if ((r = sign_ca(app, MR_DEV_ID, app->root.subject, app->root.ext.ski.p,
		 app->root.spki.whole, new_name, &new_key, now - 300, app->root.not_after, &nbo,
		 &d)) != MR_OK ||
	    (r = sign_ca(app, NEW_DEV_ID, new_name, new_ski, new_key.whole, app->root.subject,
		 &app->root.spki, now - 300, app->root.not_after, &obn, &d)) != MR_OK)
		goto fail;
	step("all three verified with the issuing keys");

	if (mr_app_path(app, path, sizeof(path), "rotation") != MR_OK) {
		r = mr_diag_set(&d, MR_E_RANGE, "state dir path too long");
		goto fail;
	}
	if ((r = write_set(path, app, &nr, &nbo, &obn, &d)) != MR_OK)
		goto fail;
	if (media != NULL) {
		char mpath[4096];
		if (mr_path_join(mpath, sizeof(mpath), media, MR_MEDIA_TOP "/rotation") != MR_OK) {
			r = mr_diag_set(&d, MR_E_RANGE, "media path too long");
			goto fail;
		}
		if ((r = write_set(mpath, app, &nr, &nbo, &obn, &d)) != MR_OK)
			goto fail;
	}
	/* The commit: first the label file naming the new root, then the
	 * root itself. Before the second write the old pair is in force. */
	fp_hex(nr.der, nr.len, hex, fp);
	snprintf(rec_line, sizeof(rec_line), "label=%s root=%s\n", label, hex);
	/* From here the new key may be the root's: a failure keeps it. */
	generated = 0;
	if (mr_app_path(app, path, sizeof(path), "root-key-label") != MR_OK ||
	    (r = mr_file_write_atomic(path, rec_line, strlen(rec_line), 0600, &d)) != MR_OK)
		goto fail;
	mr_crashpoint("rotate-label-written");
	{
		char pem[4 * CERT_MAX];
		size_t pem_len = 0;
		if (mr_pem_write("CERTIFICATE", nr.der, nr.len, pem, sizeof(pem), &pem_len) != MR_OK ||
		    mr_app_path(app, path, sizeof(path), "root-cert.pem") != MR_OK ||
		    (r = mr_file_write_atomic(path, pem, pem_len, 0644, &d)) != MR_OK) {
			if (r == MR_OK)
				r = mr_diag_set(&d, MR_E_RANGE, "cannot write the new root");
			goto fail;
		}
		if (media != NULL) {
			char mpath[4096];
			if (mr_path_join(mpath, sizeof(mpath), media, MR_MEDIA_ROOT) != MR_OK ||
			    (r = mr_file_write_atomic(mpath, pem, pem_len, 0644, &d)) != MR_OK) {
				if (r == MR_OK)
					r = mr_diag_set(&d, MR_E_RANGE, "media path too long");
				goto fail;
			}
		}
	}
	mr_record_init(&rec);
	mr_record_add(&rec, "old_root", old_hex);
	mr_record_add(&rec, "new_root", hex);
	fp_hex(nbo.der, nbo.len, old_hex, fp);
	mr_record_add(&rec, "cross_new_by_old", old_hex);
	fp_hex(obn.der, obn.len, old_hex, fp);
	mr_record_add(&rec, "cross_old_by_new", old_hex);
	mr_record_add(&rec, "label", label);
	if ((r = mr_app_audit(app, "rotate-done", &rec, &d)) != MR_OK)
		goto fail;
	if (app->have_audit_key && (r = mr_app_checkpoint(app, NULL, 0, NULL, &d)) != MR_OK)
		goto fail;
	mr_token_device_unregister(NEW_DEV_ID);
	fp_hex(nr.der, nr.len, hex, fp);
	mr_fp_words(fp, words, sizeof(words));
	step("the appliance now signs with the new root; see docs/rotation.md for the clusters");
	board_console_write("\nNew root certificate SHA-256 fingerprint (read it out to the witnesses):\n  ");
	{
		char colon[MR_FP_HEX_LEN(32)];
		mr_fp_hex(fp, 32, colon, sizeof(colon));
		board_console_write(colon);
	}
	board_console_write("\n  ");
	board_console_write(words);
	board_console_write("\n");
	mr_transcript_line("new root certificate SHA-256 %s", hex);
	mr_transcript_line("new root certificate words %s", words);
	if ((r = mr_transcript_finish(app, MR_OK, NULL, media, &d)) != MR_OK)
		return mr_fail(r, &d);
	return 0;
fail:
	if (dev_registered)
		mr_token_device_unregister(NEW_DEV_ID);
	{
		mr_diag ad;
		mr_diag_clear(&ad);
		mr_record_init(&rec);
		mr_record_add(&rec, "error", mr_diag_text(&d, r));
		/* The new pair goes again, as a failed ceremony's does. */
		if (generated) {
			if (mr_token_destroy(app->tok, label, &ad) == MR_OK) {
				step("cleanup: new root key pair '%s' destroyed", label);
				mr_record_add(&rec, "new_key", "destroyed");
			} else {
				step("cleanup: new root key pair '%s' NOT destroyed: %s", label,
				    mr_diag_text(&ad, MR_E_TOKEN));
				mr_record_add(&rec, "new_key", "left on the token");
			}
			mr_diag_clear(&ad);
		}
		if (*mr_token_leftover(app->tok) != '\0') {
			board_console_write("rotate: remove these objects from the token by hand:\n");
			board_console_write(mr_token_leftover(app->tok));
			mr_transcript_line("objects left on the token, to remove by hand:");
			mr_transcript_line("%s", mr_token_leftover(app->tok));
		}
		(void)!mr_app_audit(app, "rotate-failed", &rec, &ad);
		(void)!mr_transcript_finish(app, r, &d, media, &ad);
	}
	c = mr_fail(r, &d);
	/* docs/exit-codes.md: 5 for a token error, as `ceremony init`. */
	return r == MR_E_TOKEN || r == MR_E_PIN || r == MR_E_KEY_MISMATCH ? 5 : c;
}

/*
 * `ceremony template` and `ceremony init`: the root key ceremony. Every
 * step is printed as a transcript line for the witnesses and appended to
 * the audit log; the root key is generated in the token and only ever used
 * through C_Sign on a TBS built here.
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
#include "mr_pem.h"
#include "mr_progress.h"
#include "mr_signer.h"
#include "mr_tbs.h"
#include "mr_transcript.h"

#define DAY 86400

/* A step on the console and in the transcript. */
#define step(...) mr_transcript_step("ceremony", __VA_ARGS__)

/* --media DIR of `ceremony init`: where the transcript is copied. */
static const char *transcript_media;

static int
audit_step(mr_app *app, const char *event, mr_record *rec, mr_diag *d)
{
	if (mr_app_audit(app, event, rec, d) != MR_OK)
		return MR_E_AUDIT;
	return MR_OK;
}

/* docs/exit-codes.md: 5, a token error (MR_EXIT_TOKEN), also for a key
 * type the token cannot make: the config is valid, the token lacks it. */
#define EXIT_TOKEN 5

/*
 * Key pairs this ceremony generated, destroyed again if it fails before
 * root-cert.pem exists (after that they are the root's and stay).
 */
static struct {
	int root, audit, keep;
} made;

/* The audit key's type, set once per ceremony by choose_audit_key before
 * anything is generated; every later step reads it here. */
static mr_key_type audit_type = MR_KEY_ED25519;

static mr_key_type
audit_key_type(const mr_app *app)
{
	(void)app;
	return audit_type;
}

/* Says which optional template attributes the token refused. */
static int
keygen_report(mr_app *app, const char *what, const mr_token_gen_report *rep, mr_diag *d)
{
	mr_record rec;

	if (rep->dropped[0] == '\0')
		return MR_OK;
	step("the token refused the optional attributes %s of the %s key: generated without "
	    "them; its protection (sensitive, not extractable, sign only) was read back and holds",
	    rep->dropped, what);
	mr_record_init(&rec);
	mr_record_add(&rec, "key", what);
	mr_record_add(&rec, "dropped", rep->dropped);
	return audit_step(app, "keygen-template-reduced", &rec, d);
}


/* Builds, lints, signs (in the token), re-parses and verifies the root. */
static int
make_root(mr_app *app, const uint8_t *spki_der, size_t spki_len, uint8_t *der,
    size_t cap, size_t *der_len, mr_diag *d)
{
	mr_name_fields nf = { app->cfg.root_c, app->cfg.root_o, NULL, NULL, app->cfg.root_cn };
	uint8_t name_buf[512], tbs_buf[4096], serial[16], ski[20];
	mr_der name, tbs;
	mr_spki key;
	mr_cert built, signed_cert;
	mr_tbs_params p;
	time_t now = time(NULL);
	int r;

	if (mr_spki_parse(mr_der_view(spki_der, spki_len), &key, d) != MR_OK)
		return MR_E_TOKEN;
	if (mr_name_build(&nf, name_buf, sizeof(name_buf), &name) != MR_OK)
		return mr_diag_set(d, MR_E_CONFIG, "cannot build the root subject from the config");
	if ((r = mr_token_random(app->tok, serial, sizeof(serial), d)) != MR_OK)
		return r;
	serial[0] &= 0x7f;
	if (serial[0] == 0)
		serial[0] = 1;
	mr_spki_key_id(&key, ski);
	memset(&p, 0, sizeof(p));
	p.serial = serial;
	p.serial_len = sizeof(serial);
	p.sig_alg = mr_sig_alg_for_key(key.type);
	p.issuer = name;
	p.subject = name;
	p.not_before = now - 300;
	p.not_after = now + (time_t)app->cfg.root_validity_days * DAY;
	p.spki = key.whole;
	p.ski = ski;
	p.aki = ski;
	p.path_len = -1;
	p.key_usage = MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN;
	if (mr_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot encode the root TBS");
	if (mr_tbs_parse(tbs, &built, d) != MR_OK ||
	    mr_lint_ca(&built, MR_LINT_ROOT, NULL, now, d) != MR_OK)
		return MR_E_LINT;
	if ((r = mr_sign_tbs(MR_DEV_ID, &key, p.sig_alg, tbs, der, cap, der_len, d)) != MR_OK)
		return r;
	if (mr_cert_parse(der, *der_len, &signed_cert, d) != MR_OK ||
	    mr_lint_ca(&signed_cert, MR_LINT_ROOT, NULL, now, d) != MR_OK)
		return MR_E_LINT;
	return MR_OK;
}

/*
 * The audit key's type, fixed before anything is generated: Ed25519 where
 * the token has it, else ECDSA P-256 (TPMs and NSS softoken have no
 * EdDSA), or what the config asks for, refused when the token lacks it.
 */
static int
choose_audit_key(mr_app *app, mr_diag *d)
{
	int want = app->cfg.audit_key, r;

	if (want != MR_AUDIT_KEY_ECDSA_P256) {
		audit_type = MR_KEY_ED25519;
		if ((r = mr_token_can_make(app->tok, MR_KEY_ED25519, d)) == MR_OK)
			return MR_OK;
		if (want == MR_AUDIT_KEY_ED25519) {
			mr_diag_prefix(d, "audit_key = ed25519");
			return r;
		}
		mr_diag_clear(d);
	}
	audit_type = MR_KEY_EC_P256;
	if ((r = mr_token_can_make(app->tok, MR_KEY_EC_P256, d)) != MR_OK)
		mr_diag_prefix(d, "audit key (ecdsa-p256)");
	return r;
}

/*
 * The audit key in the token (same strict template as the root key),
 * published as a C2SP verifier key in the state dir. Its name is also the
 * log's checkpoint origin: "meshroot/audit/<type>/" and 16 hex digits of
 * the key's own hash, so it names the key type and is unique per appliance.
 */
static int
make_audit_key(mr_app *app, mr_diag *d)
{
	mr_key_type want = audit_key_type(app);
	uint8_t spki[128], h[32];
	size_t spki_len = 0;
	char name[64], vkey[256], path[4096], hex[17];
	mr_key_type type;
	mr_record rec;
	mr_token_gen_report rep;
	int r;

	if ((r = mr_token_generate_report(app->tok, MR_AUDIT_KEY_LABEL, want, &rep, d)) != MR_OK) {
		mr_diag_prefix(d, "audit key");
		return r;
	}
	made.audit = 1;
	if ((r = keygen_report(app, "audit", &rep, d)) != MR_OK)
		return r;
	if ((r = mr_token_public_key(app->tok, MR_AUDIT_KEY_LABEL, spki, sizeof(spki), &spki_len,
		 &type, d)) != MR_OK) {
		mr_diag_prefix(d, "audit key");
		return r;
	}
	if (type != want || (type == MR_KEY_ED25519 && spki_len != 44))
		return mr_diag_set(d, MR_E_TOKEN, "audit key: not an %s key",
		    mr_key_type_name(want));
	if (type == MR_KEY_ED25519) {
		mr_fp_sha256(spki + 12, 32, h);
		mr_hex_encode(h, 8, hex);
		snprintf(name, sizeof(name), "meshroot/audit/ed25519/%s", hex);
		r = mr_note_key_init(&app->audit_key, name, spki + 12);
	} else {
		mr_fp_sha256(spki, spki_len, h);
		mr_hex_encode(h, 8, hex);
		snprintf(name, sizeof(name), "meshroot/audit/ecdsa-p256/%s", hex);
		r = mr_note_key_init_ecdsa(&app->audit_key, name, spki, spki_len);
	}
	if (r != MR_OK || mr_note_vkey_format(&app->audit_key, vkey, sizeof(vkey)) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "audit key: cannot encode");
	app->have_audit_key = 1;
	if (mr_app_path(app, path, sizeof(path), "audit-key.pub") != MR_OK ||
	    (r = mr_file_write_atomic(path, vkey, strlen(vkey), 0644, d)) != MR_OK)
		return r != MR_OK ? r : MR_E_RANGE;
	vkey[strlen(vkey) - 1] = '\0';
	step("audit key (%s, label '%s') %s", type == MR_KEY_ED25519 ? "Ed25519" : "ECDSA P-256",
	    MR_AUDIT_KEY_LABEL, vkey);
	mr_record_init(&rec);
	mr_record_add(&rec, "label", MR_AUDIT_KEY_LABEL);
	mr_record_add(&rec, "key_type", mr_note_key_type_name(&app->audit_key));
	mr_record_add(&rec, "vkey", vkey);
	return audit_step(app, "audit-keygen", &rec, d);
}

/* MR_E_EXISTS when the state dir holds a root already. */
static int
no_root_yet(mr_app *app, mr_diag *d)
{
	char path[4096];

	if (mr_app_path(app, path, sizeof(path), "root-cert.pem") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	if (mr_path_exists(path))
		return mr_diag_set(d, MR_E_EXISTS,
		    "%s already holds a root: refusing to run a second ceremony", app->state_dir);
	return MR_OK;
}

/*
 * A failed ceremony takes back the key pairs it generated (after the
 * failure checkpoint, which the audit key signs). What the token refuses
 * to destroy is named with the command that removes it.
 */
static void
cleanup_one(mr_app *app, const char *what, const char *label, mr_record *rec)
{
	mr_diag d;

	mr_diag_clear(&d);
	app->have_audit_key = app->have_audit_key && strcmp(label, MR_AUDIT_KEY_LABEL) != 0;
	if (mr_token_destroy(app->tok, label, &d) == MR_OK) {
		step("cleanup: %s key pair '%s' destroyed", what, label);
		mr_record_add(rec, what, "destroyed");
	} else {
		step("cleanup: %s key pair '%s' NOT destroyed: %s", what, label,
		    mr_diag_text(&d, MR_E_TOKEN));
		mr_record_add(rec, what, "left on the token");
	}
}

static void
cleanup_keys(mr_app *app)
{
	mr_record rec;
	mr_diag ad;
	const char *left;
	int any = 0;

	if (app->tok == NULL)
		return;
	mr_record_init(&rec);
	if (!made.keep && (made.root || made.audit)) {
		if (app->device_registered)
			mr_token_device_unregister(MR_DEV_ID);
		app->device_registered = 0;
		any = 1;
		if (made.audit)
			cleanup_one(app, "audit", MR_AUDIT_KEY_LABEL, &rec);
		if (made.root)
			cleanup_one(app, "root", app->cfg.root_key_label, &rec);
		made.root = made.audit = 0;
	}
	/* Also a pair mr_token_generate refused and could not destroy. */
	left = mr_token_leftover(app->tok);
	if (*left != '\0') {
		board_console_write("ceremony: remove these objects from the token by hand:\n");
		board_console_write(left);
		mr_transcript_line("objects left on the token, to remove by hand:");
		mr_transcript_line("%s", left);
	}
	mr_diag_clear(&ad);
	if (app->audit_open && any)
		(void)!mr_app_audit(app, "ceremony-cleanup", &rec, &ad);
}

static int
ceremony_init(mr_app *app, const char *config_path)
{
	mr_diag d;
	uint8_t *text = NULL, spki[1024], root[MR_ROOT_MAX_DER], fp[32];
	size_t text_len = 0, spki_len = 0, root_len = 0, pem_len;
	char path[4096], hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN], pem[8192], label[33],
	    serial[17];
	mr_key_type type;
	mr_record rec;
	mr_token_gen_report rep;
	int r, rc;

	mr_diag_clear(&d);
	mr_transcript_begin("init");
	/* The ceremony owns the state dir (mr_app_lock) before it looks
	 * inside. One that does not exist yet is made, and locked, only once
	 * the witnesses confirmed: a cancelled ceremony leaves nothing. */
	if ((mr_path_exists(app->state_dir) && (r = mr_app_lock(app, &d)) != MR_OK) ||
	    (r = no_root_yet(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((r = mr_file_read(config_path, MR_CONFIG_MAX, &text, &text_len, &d)) != MR_OK)
		goto fail;
	mr_fp_sha256(text, text_len, app->cfg_hash);
	if ((r = mr_config_parse((const char *)text, text_len, &app->cfg, &d)) != MR_OK) {
		mr_diag_prefix(&d, "%s", config_path);
		goto fail;
	}
	mr_fp_hex(app->cfg_hash, 32, hex, sizeof(hex));
	step("config %s, SHA-256 %s", config_path, hex);
	step("root: CN=%s, O=%s%s%s, key %s in token label '%s', %u days",
	    app->cfg.root_cn, app->cfg.root_o, app->cfg.root_c[0] ? ", C=" : "", app->cfg.root_c,
	    mr_key_type_name(app->cfg.root_key_type), app->cfg.root_key_label,
	    app->cfg.root_validity_days);
	step("policy: intermediates O=%s, at most %u days", app->cfg.policy_o,
	    app->cfg.max_validity_days);
	if (mr_app_confirm(app, "Witnesses: is this the reviewed config?", "yes") != MR_OK) {
		r = mr_diag_set(&d, MR_E_CANCELLED, "ceremony cancelled by the operator");
		goto fail;
	}

	/* A ceremony that made the dir meanwhile holds it, or finished. */
	if ((r = mr_mkdirs(app->state_dir, 0700, &d)) != MR_OK ||
	    (r = mr_app_lock(app, &d)) != MR_OK || (r = no_root_yet(app, &d)) != MR_OK)
		goto fail;
	if (mr_app_path(app, path, sizeof(path), "audit.log") != MR_OK ||
	    (r = mr_audit_open(&app->audit, path, &d)) != MR_OK)
		goto fail;
	app->audit_open = 1;
	mr_record_init(&rec);
	mr_record_add(&rec, "firmware", MESHROOT_VERSION);
	mr_record_add(&rec, "board", board_name());
	mr_record_add_hex(&rec, "config_sha256", app->cfg_hash, 32);
	mr_record_add(&rec, "confirmed_by", app->yes ? "--yes" : "operator");
	if ((r = audit_step(app, "ceremony-start", &rec, &d)) != MR_OK)
		goto fail;

	step("opening token '%s' with module %s", app->token, app->module);
	if ((r = mr_app_open_token(app, &d)) != MR_OK)
		goto fail;
	if ((r = mr_token_info(app->tok, label, serial, &d)) != MR_OK)
		goto fail;
	step("logged in to token '%s' (serial %s)", label, serial);
	/* Before anything is generated: a key type the token cannot make
	 * or use stops the ceremony here, with nothing to clean up. */
	if ((r = mr_token_can_make(app->tok, app->cfg.root_key_type, &d)) != MR_OK) {
		mr_diag_prefix(&d, "root key");
		goto fail;
	}
	if ((r = choose_audit_key(app, &d)) != MR_OK)
		goto fail;
	step("the token can make and sign with %s keys (root) and %s keys (audit)",
	    mr_key_type_name(app->cfg.root_key_type), mr_key_type_name(audit_key_type(app)));

	step("generating the root key (%s) inside the token: sensitive, not extractable, sign only",
	    mr_key_type_name(app->cfg.root_key_type));
	if ((r = mr_token_generate_report(app->tok, app->cfg.root_key_label,
		 app->cfg.root_key_type, &rep, &d)) != MR_OK)
		goto fail;
	made.root = 1;
	if ((r = keygen_report(app, "root", &rep, &d)) != MR_OK)
		goto fail;
	if ((r = mr_token_public_key(app->tok, app->cfg.root_key_label, spki, sizeof(spki),
		 &spki_len, &type, &d)) != MR_OK)
		goto fail;
	mr_fp_sha256(spki, spki_len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	step("root public key SHA-256 %s", hex);
	mr_record_init(&rec);
	mr_record_add(&rec, "label", app->cfg.root_key_label);
	mr_record_add(&rec, "key_type", mr_key_type_name(type));
	mr_record_add_hex(&rec, "key", fp, 32);
	if ((r = audit_step(app, "root-keygen", &rec, &d)) != MR_OK)
		goto fail;
	step("generating the audit key (%s) inside the token: it signs log checkpoints only",
	    audit_key_type(app) == MR_KEY_ED25519 ? "Ed25519" : "ECDSA P-256");
	if ((r = make_audit_key(app, &d)) != MR_OK)
		goto fail;

	if ((r = mr_token_device_register(app->tok, MR_DEV_ID, app->cfg.root_key_label, &d)) != MR_OK)
		goto fail;
	app->device_registered = 1;
	step("building, linting and signing the self-signed root certificate");
	if ((r = make_root(app, spki, spki_len, root, sizeof(root), &root_len, &d)) != MR_OK)
		goto fail;
	step("root signature verified with the token's public key; lints passed");
	/* Custody before root-cert.pem: a finished ceremony with split
	 * custody on always has its `custody` state. */
	if (app->cfg.custody_split && (r = mr_ceremony_split_custody(app, &d)) != MR_OK)
		goto fail;

	if (mr_app_path(app, path, sizeof(path), "ceremony.conf") != MR_OK ||
	    (r = mr_file_write_atomic(path, text, text_len, 0600, &d)) != MR_OK)
		goto fail;
	if ((r = mr_pem_write("CERTIFICATE", root, root_len, pem, sizeof(pem), &pem_len)) != MR_OK)
		goto fail;
	/* Audited before it is released: root-cert.pem is the release. */
	mr_fp_sha256(root, root_len, fp);
	mr_record_init(&rec);
	mr_record_add_hex(&rec, "root_sha256", fp, 32);
	if ((r = audit_step(app, "root-created", &rec, &d)) != MR_OK)
		goto fail;
	/* root-cert.pem last: its presence is what marks a finished ceremony. */
	if (mr_app_path(app, path, sizeof(path), "root-cert.pem") != MR_OK ||
	    (r = mr_file_create_atomic(path, pem, pem_len, 0644, &d)) != MR_OK)
		goto fail;
	made.keep = 1;
	mr_fp_sha256(root, root_len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	mr_fp_words(fp, words, sizeof(words));
	mr_record_init(&rec);
	mr_record_add_hex(&rec, "root_sha256", fp, 32);
	mr_record_add(&rec, "path", path);
	if ((r = audit_step(app, "ceremony-done", &rec, &d)) != MR_OK)
		goto fail;
	if ((r = mr_app_checkpoint(app, NULL, 0, NULL, &d)) != MR_OK)
		goto fail;
	step("audit log checkpoint signed: %zu records", mr_audit_size(&app->audit));
	step("root certificate stored in %s", path);
	board_console_write("\nRoot certificate SHA-256 fingerprint (read it out to the witnesses):\n  ");
	board_console_write(hex);
	board_console_write("\n  ");
	board_console_write(words);
	board_console_write("\n");
	mr_transcript_line("root certificate SHA-256 %s", hex);
	mr_transcript_line("root certificate words %s", words);
	free(text);
	if ((r = mr_transcript_finish(app, MR_OK, NULL, transcript_media, &d)) != MR_OK)
		return mr_fail(r, &d);
	return 0;
fail:
	if (app->audit_open) {
		mr_diag ad;
		mr_diag_clear(&ad);
		mr_record_init(&rec);
		mr_record_add(&rec, "error", mr_diag_text(&d, r));
		/* The failure is signed too when the audit key exists already. */
		if (mr_app_audit(app, "ceremony-failed", &rec, &ad) == MR_OK && app->have_audit_key &&
		    app->tok != NULL)
			(void)!mr_app_checkpoint(app, NULL, 0, NULL, &ad);
	}
	cleanup_keys(app);
	free(text);
	if (app->audit_open) {
		mr_diag td;
		mr_diag_clear(&td);
		(void)!mr_transcript_finish(app, r, &d, transcript_media, &td);
	}
	rc = mr_fail(r, &d);
	return r == MR_E_TOKEN || r == MR_E_PIN || r == MR_E_KEY_MISMATCH ? EXIT_TOKEN : rc;
}

int
cmd_ceremony(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "yes", no_argument, NULL, 'y' },
		{ "shares-dir", required_argument, NULL, 'D' },
		{ "operator", required_argument, NULL, 'o' },
		{ "witness", required_argument, NULL, 'w' },
		{ "media", required_argument, NULL, 'm' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *config = NULL;
	int c;

	if (argc < 2)
		return APP_USAGE("ceremony", "ceremony needs template, init, rotate or reshare");
	if (strcmp(argv[1], "template") == 0) {
		if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
			APP_HELP(stdout, "ceremony");
			return MR_EXIT_OK;
		}
		if (argc > 2)
			return APP_EXTRA("ceremony", argv[2]);
		board_console_write(mr_config_template());
		return MR_EXIT_OK;
	}
	if (strcmp(argv[1], "reshare") == 0)
		return cmd_ceremony_reshare(app, argc - 1, argv + 1);
	if (strcmp(argv[1], "rotate") == 0)
		return cmd_ceremony_rotate(app, argc - 1, argv + 1);
	if (strcmp(argv[1], "init") != 0) {
		if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
			APP_HELP(stdout, "ceremony");
			return MR_EXIT_OK;
		}
		return APP_USAGE("ceremony", "unknown ceremony command '%s'", argv[1]);
	}
	optind = 0; /* 0: glibc fully re-initialises its scanner */
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'y': app->yes = 1; break;
		case 'D': app->shares_dir = optarg; break;
		case 'o': mr_transcript_person("operator", optarg); break;
		case 'w': mr_transcript_person("witness", optarg); break;
		case 'm': transcript_media = optarg; break;
		case 'h': APP_HELP(stdout, "ceremony"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("ceremony", c, argv + 1);
		}
	}
	if (optind != argc - 1)
		return APP_EXTRA("ceremony", argv[1 + optind]);
	if (config == NULL)
		return APP_USAGE("ceremony", "ceremony init needs --config FILE (`ceremony template` prints one)");
	return ceremony_init(app, config);
}

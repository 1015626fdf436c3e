#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "board_api.h"
#include "mr_app.h"
#include "mr_media.h"
#include "mr_auditlog.h"
#include "mr_cphistory.h"
#include "mr_db_reader.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_lint.h"
#include "mr_pem.h"
#include "mr_progress.h"
#include "mr_pubkey.h"
#include "mr_statecheck.h"

#define PIN_MAX 256

static int check_checkpoint(mr_app *app, mr_diag *d);

void
mr_app_init(mr_app *app)
{
	const char *v;

	memset(app, 0, sizeof(*app));
	app->state_dir = (v = getenv("MESHROOT_STATE")) ? v : "/var/lib/meshroot";
	app->module = (v = getenv("MESHROOT_MODULE")) ? v : "/usr/lib/softhsm/libsofthsm2.so";
	app->token = (v = getenv("MESHROOT_TOKEN")) ? v : "meshroot";
	app->token_named = v != NULL;
	app->module_args = getenv("MESHROOT_MODULE_ARGS");
}

const char *
mr_app_module_args(const mr_app *app)
{
	if (app->module_args != NULL)
		return app->module_args;
	return app->cfg.module_args[0] != '\0' ? app->cfg.module_args : NULL;
}

int
mr_app_token_open(mr_app *app, mr_diag *d)
{
	if (app->early != NULL)
		return mr_app_token_early_join(app, d);
	return mr_token_open_args(&app->tok, app->module, mr_app_module_args(app), app->token, d);
}

void
mr_app_close(mr_app *app)
{
	mr_app_token_early_drop(app);
	if (app->device_registered)
		mr_token_device_unregister(MR_DEV_ID);
	app->device_registered = 0;
	mr_token_close(app->tok);
	app->tok = NULL;
	if (app->db_open)
		mr_db_close(&app->db);
	app->db_open = 0;
	mr_audit_close(&app->audit);
	app->audit_open = 0;
	if (app->locked)
		mr_lock_release(&app->lock);
	app->locked = 0;
}

int
mr_app_lock(mr_app *app, mr_diag *d)
{
	int r;

	if (app->locked)
		return MR_OK;
	r = mr_lock_state(app->state_dir, app->cmdline != NULL ? app->cmdline : "meshroot-appliance",
	    &app->lock, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_STATE,
		    "%s holds no root: run `meshroot-appliance ceremony init` first", app->state_dir);
	}
	app->locked = r == MR_OK;
	return r;
}

int
mr_app_path(const mr_app *app, char *out, size_t cap, const char *name)
{
	return mr_path_join(out, cap, app->state_dir, name);
}

int
mr_app_audit(mr_app *app, const char *event, mr_record *fields, mr_diag *d)
{
	if (!app->audit_open)
		return mr_diag_set(d, MR_E_INTERNAL, "audit log not open");
	return mr_audit_append(&app->audit, event, fields, d);
}

static int
load_root(mr_app *app, mr_diag *d)
{
	char path[4096];
	int r;

	if (mr_app_path(app, path, sizeof(path), "root-cert.pem") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	r = mr_file_read_pem(path, 65536, "CERTIFICATE", app->root_der, sizeof(app->root_der),
	    &app->root_len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_STATE,
		    "%s holds no root: run `meshroot-appliance ceremony init` first", app->state_dir);
	}
	if (r != MR_OK)
		return MR_E_STATE;
	if (mr_cert_parse(app->root_der, app->root_len, &app->root, d) != MR_OK) {
		mr_diag_prefix(d, "%s", path);
		return MR_E_STATE;
	}
	/* The stored root must still be what the ceremony made: self-signed
	 * and clean under our own lints. */
	r = mr_cert_verify_signature(&app->root, &app->root.spki, d);
	/* One verification builds no table, but wolfSSL (FP_ECC) has already
	 * set aside the room for two (the root key's and its curve's, 1.6 MiB):
	 * freed now, before the database, the audit log and the token library
	 * take the heap above it, so that they reuse it and the top can be
	 * given back. Left for later, it stays a hole that is never returned. */
	mr_sig_release_cache();
	if (r != MR_OK ||
	    mr_lint_ca(&app->root, MR_LINT_ROOT, NULL, time(NULL), d) != MR_OK) {
		mr_diag_prefix(d, "%s", path);
		return MR_E_STATE;
	}
	return MR_OK;
}

/*
 * After `ceremony rotate` the root key is the one named in root-key-label
 * ("label=L root=<SHA-256 of the root it belongs to>"), not the config's.
 * The file counts only while it names the current root-cert.pem: a crash
 * between writing it and replacing the root leaves the old pair in force.
 */
static int
rotated_key_label(mr_app *app, mr_diag *d)
{
	char path[4096], label[sizeof(app->cfg.root_key_label)], root[65], hex[65];
	uint8_t *text = NULL, fp[32];
	size_t len = 0;
	int r;

	if (mr_app_path(app, path, sizeof(path), "root-key-label") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	r = mr_file_read(path, 1024, &text, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return MR_OK;
	}
	if (r != MR_OK)
		return r;
	r = mr_record_get((const char *)text, len, "label", label, sizeof(label)) != MR_OK ||
	    mr_record_get((const char *)text, len, "root", root, sizeof(root)) != MR_OK ||
	    label[0] == '\0' ? MR_E_STATE : MR_OK;
	free(text);
	if (r != MR_OK)
		return mr_diag_set(d, MR_E_STATE, "%s is malformed", path);
	mr_fp_sha256(app->root_der, app->root_len, fp);
	mr_hex_encode(fp, 32, hex);
	if (strcmp(hex, root) == 0)
		memcpy(app->cfg.root_key_label, label, sizeof(label));
	return MR_OK;
}

typedef struct {
	char started[65];   /* config_sha256 of the latest ceremony-start */
	char finished[65];  /* ... of the ceremony that reached ceremony-done */
} ceremony_config;

static int
note_ceremony(void *ctx, const char *line, size_t n)
{
	ceremony_config *c = ctx;
	char event[32];

	if (mr_record_get(line, n, "event", event, sizeof(event)) != MR_OK)
		return MR_OK;
	if (strcmp(event, "ceremony-start") == 0 &&
	    mr_record_get(line, n, "config_sha256", c->started, sizeof(c->started)) != MR_OK)
		c->started[0] = '\0';
	else if (strcmp(event, "ceremony-done") == 0)
		memcpy(c->finished, c->started, sizeof(c->finished));
	return MR_OK;
}

/* The policy in force must be the one of the ceremony that finished (not
 * of an attempt that failed): an edited ceremony.conf would silently
 * change what gets issued. seen: what the open noted (NULL: the log is
 * read for it). */
static int
check_config_hash(mr_app *app, const ceremony_config *seen, mr_diag *d)
{
	ceremony_config c = { "", "" };
	char hex[65];
	int r;

	if (seen != NULL)
		c = *seen;
	else if ((r = mr_audit_scan(&app->audit, note_ceremony, &c, d)) != MR_OK)
		return r;
	mr_hex_encode(app->cfg_hash, 32, hex);
	if (strcmp(c.finished, hex) != 0)
		return mr_diag_set(d, MR_E_STATE,
		    "ceremony.conf (SHA-256 %s) is not the config the ceremony recorded in the audit log",
		    hex);
	return MR_OK;
}

int
mr_app_load_config(mr_app *app, mr_diag *d)
{
	char path[4096];
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if (app->config_loaded)
		return MR_OK;
	if ((r = mr_app_lock(app, d)) != MR_OK)
		return r;
	if (mr_app_path(app, path, sizeof(path), "ceremony.conf") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	r = mr_file_read(path, MR_CONFIG_MAX, &text, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_STATE,
		    "%s holds no root: run `meshroot-appliance ceremony init` first", app->state_dir);
	}
	if (r != MR_OK)
		return r;
	mr_fp_sha256(text, len, app->cfg_hash);
	r = mr_config_parse((const char *)text, len, &app->cfg, d);
	free(text);
	if (r != MR_OK) {
		mr_diag_prefix(d, "%s", path);
		return MR_E_STATE;
	}
	app->config_loaded = 1;
	return MR_OK;
}

int
mr_app_load_identity(mr_app *app, mr_diag *d)
{
	char path[4096];
	int r;

	if ((r = mr_app_load_config(app, d)) != MR_OK)
		return r;
	if ((r = load_root(app, d)) != MR_OK)
		return r;
	if ((r = rotated_key_label(app, d)) != MR_OK)
		return r;
	if (app->cfg.custody_split) {
		if (mr_app_path(app, path, sizeof(path), "custody") != MR_OK)
			return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
		if ((r = mr_custody_load(path, &app->custody, d)) != MR_OK)
			return r;
		app->custody_active = 1;
	}
	return mr_app_load_audit_key(app, d);
}

int
mr_app_check_config(mr_app *app, mr_diag *d)
{
	return check_config_hash(app, NULL, d);
}

/* The size of a torn final line of issued.db (0 when none), read before
 * mr_db_open cuts it, so that the cut is audited. */
/* A damaged middle is never guessed at: the message says where to look. */
static int
see_state_check(mr_diag *d, int r)
{
	char why[sizeof(d->msg)];

	if (r == MR_E_NOMEM || r == MR_E_RANGE)
		return r;
	snprintf(why, sizeof(why), "%s", mr_diag_text(d, r));
	mr_diag_clear(d);
	return mr_diag_set(d, r, "%s (see `meshroot-appliance state check`)", why);
}

/*
 * What a start needs from the log besides the open's own work, noted in
 * the open's one read of it: the ceremony's config. (The events the
 * database must agree with are read once the database is open:
 * mr_statecheck_reconcile.)
 */
typedef struct {
	size_t records;       /* lines seen */
	ceremony_config cer;
} load_pass;

static int
load_line(void *ctx, const char *line, size_t n)
{
	load_pass *p = ctx;

	p->records++;
	(void)note_ceremony(&p->cer, line, n);
	return MR_OK;
}

int
mr_app_load(mr_app *app, mr_diag *d)
{
	char path[4096], db_path[4096];
	uint64_t db_good = 0, db_total = 0;
	mr_db_reader rd = { 0 };
	size_t torn;
	load_pass p;
	int r;

	memset(&p, 0, sizeof(p));
	if ((r = mr_app_load_config(app, d)) != MR_OK)
		goto out;
	if (mr_app_path(app, db_path, sizeof(db_path), "issued.db") != MR_OK) {
		r = mr_diag_set(d, MR_E_RANGE, "state dir path too long");
		goto out;
	}
	/* The database is read while the root and the log are checked; it is
	 * taken (and a torn line cut) only after them. */
	mr_db_reader_begin(&rd, &app->db, db_path);
	if ((r = mr_app_load_identity(app, d)) != MR_OK)
		goto out;
	if (mr_app_path(app, path, sizeof(path), "audit.log") != MR_OK) {
		r = mr_diag_set(d, MR_E_RANGE, "state dir path too long");
		goto out;
	}
	if ((r = mr_audit_open_observed(&app->audit, path, load_line, &p, d)) != MR_OK) {
		r = see_state_check(d, r);
		goto out;
	}
	app->audit_open = 1;
	if ((r = check_checkpoint(app, d)) != MR_OK) {
		r = see_state_check(d, r);
		goto out;
	}
	/* A log that had no record read (none there, or no file) is read
	 * again by the check itself, which says which. */
	if ((r = check_config_hash(app, p.records > 0 ? &p.cer : NULL, d)) != MR_OK)
		goto out;
	if ((r = mr_db_reader_end(&rd, &db_good, &db_total, d)) != MR_OK ||
	    (r = mr_db_cut_torn(&app->db, db_good, db_total, d)) != MR_OK) {
		r = see_state_check(d, r);
		goto out;
	}
	app->db_open = 1;
	torn = app->db.cut_bytes;
	if (torn > 0) {
		mr_record rec;
		mr_record_init(&rec);
		mr_record_add(&rec, "what", "cut-torn-line");
		mr_record_add(&rec, "file", "issued.db");
		mr_record_addf(&rec, "cut_bytes", "%zu", torn);
		if ((r = mr_app_audit(app, "state-repair", &rec, d)) != MR_OK)
			goto out;
		fprintf(stderr, "repaired: issued.db: cut a torn final line of %zu bytes "
		    "(never acknowledged)\n", torn);
	}
	/* The log and the database must agree: what the log proves is
	 * completed in the database, anything else stops here. The records
	 * appended since the open (repairs) issue, abandon and revoke
	 * nothing. */
	if ((r = mr_statecheck_reconcile(app, d)) != MR_OK)
		goto out;
	r = mr_app_recover(app, d);
out:
	mr_db_reader_drop(&rd);
	return r;
}

static int
read_pin(mr_app *app, char *pin, size_t cap, size_t *len, mr_diag *d)
{
	int n;

	if (app->pin_file != NULL) {
		uint8_t *data = NULL;
		size_t dl = 0;
		/* Bad input (exit 3), not a token error: the file's own
		 * message ("PIN file F: ...") says what to do. */
		int r = mr_file_read_private(app->pin_file, "PIN file", cap - 1, &data, &dl, d);
		if (r != MR_OK)
			return r;
		/* One line: a trailing newline is not part of the PIN. */
		while (dl > 0 && (data[dl - 1] == '\n' || data[dl - 1] == '\r'))
			dl--;
		memcpy(pin, data, dl);
		pin[dl] = '\0';
		explicit_bzero(data, dl);
		free(data);
		*len = dl;
	} else {
		n = board_console_read_secret("Token user PIN: ", pin, cap);
		if (n < 0)
			return mr_diag_set(d, MR_E_PIN, "no PIN entered");
		*len = (size_t)n;
	}
	if (*len == 0)
		return mr_diag_set(d, MR_E_PIN, "empty PIN");
	return MR_OK;
}

int
mr_app_open_token(mr_app *app, mr_diag *d)
{
	char pin[PIN_MAX] = "";
	size_t pin_len = 0;
	/* Best effort (RLIMIT_MEMLOCK): the PIN's page never goes to swap. */
	int locked = mlock(pin, sizeof(pin)) == 0;
	int r;

	if ((r = mr_app_token_open(app, d)) != MR_OK)
		goto out;
	if ((r = mr_app_read_pin(app, pin, sizeof(pin), &pin_len, d)) != MR_OK)
		goto out;
	r = mr_app_login(app, pin, pin_len, d);
out:
	explicit_bzero(pin, sizeof(pin));
	if (locked)
		munlock(pin, sizeof(pin));
	return r;
}

int
mr_app_read_pin(mr_app *app, char *pin, size_t cap, size_t *len, mr_diag *d)
{
	if (app->custody_active) {
		/* No single file may unlock a token under split custody. */
		if (app->pin_file != NULL)
			return mr_diag_set(d, MR_E_ARG,
			    "split custody is on: the token opens with %u custody shares "
			    "(--shares-from DIR or the console), not --pin-file", app->custody.threshold);
		return mr_custody_read_pin(&app->custody, app->shares_from, pin, cap, len, d);
	}
	return read_pin(app, pin, cap, len, d);
}

/* The token's label for messages; the selector given when it cannot be read. */
static void
token_name(mr_app *app, char label[33])
{
	char serial[17];
	mr_diag ignored;

	mr_diag_clear(&ignored);
	if (mr_token_info(app->tok, label, serial, &ignored) != MR_OK || label[0] == '\0')
		snprintf(label, 33, "%s", app->token != NULL ? app->token : "?");
}

/*
 * Before a login: the token's PIN retry state (CK_TOKEN_INFO flags). A
 * locked PIN is refused without a C_Login. The final try is spent only when
 * the operator types "final try" at the console: --yes and --pin-file are
 * not a confirmation, so an automated retry can never lock the token. If
 * the state cannot be read, nothing is tried (fail closed).
 */
static int
pin_gate(mr_app *app, mr_diag *d)
{
	unsigned st = 0;
	char line[64], label[33], text[256];
	int r;

	if ((r = mr_token_pin_status(app->tok, &st, d)) != MR_OK)
		return r;
	token_name(app, label);
	if ((st & MR_TOKEN_PIN_LOCKED) != 0)
		return mr_diag_set(d, MR_E_PIN, "token %s: %s; no PIN was tried", label,
		    mr_token_pin_words(st));
	if ((st & MR_TOKEN_PIN_FINAL_TRY) != 0) {
		snprintf(text, sizeof(text),
		    "WARNING: token %s: %s (CKF_USER_PIN_FINAL_TRY).\n"
		    "Type 'final try' to spend the last try: ", label, mr_token_pin_words(st));
		board_console_write(text);
		r = board_console_read_line(line, sizeof(line));
		/* Read from a pipe, the answer was not echoed: end the prompt's
		 * line so that no message shares it. */
		if (!board_console_is_terminal())
			board_console_write("\n");
		if (r < 0 || strcmp(line, "final try") != 0)
			return mr_diag_set(d, MR_E_CANCELLED,
			    "final PIN try not confirmed at the console: nothing was tried");
	} else if ((st & MR_TOKEN_PIN_COUNT_LOW) != 0) {
		fflush(stdout);
		mr_progress_stderr("warning: token %s: %s: a wrong PIN was given since the last "
		    "good login\n", label, mr_token_pin_words(st));
	}
	return MR_OK;
}

/* After C_Login refused the PIN: one line that says so, with what the
 * token now tells about the tries left, and the CK_RV last. */
static int
pin_report(mr_app *app, mr_diag *d)
{
	unsigned st = 0;
	char label[33], rv[160];
	const char *words = NULL;
	mr_diag ignored;

	snprintf(rv, sizeof(rv), "%s", mr_diag_text(d, MR_E_PIN));
	mr_diag_clear(&ignored);
	if (mr_token_pin_status(app->tok, &st, &ignored) == MR_OK)
		words = mr_token_pin_words(st);
	token_name(app, label);
	mr_diag_clear(d);
	if (strstr(rv, "CKR_PIN_LOCKED") != NULL) {
		if (words == NULL)
			words = mr_token_pin_words(MR_TOKEN_PIN_LOCKED);
		return mr_diag_set(d, MR_E_PIN, "token %s: %s (%s)", label, words, rv);
	}
	if (strstr(rv, "CKR_PIN_INCORRECT") == NULL && strstr(rv, "CKR_PIN_INVALID") == NULL &&
	    strstr(rv, "CKR_PIN_LEN_RANGE") == NULL)
		return mr_diag_set(d, MR_E_PIN, "token %s: %s", label, rv);
	if (words != NULL)
		return mr_diag_set(d, MR_E_PIN, "wrong PIN for token %s: %s (%s)", label, words, rv);
	return mr_diag_set(d, MR_E_PIN, "wrong PIN for token %s (%s)", label, rv);
}

int
mr_app_login(mr_app *app, const char *pin, size_t pin_len, mr_diag *d)
{
	int r = pin_gate(app, d);

	if (r == MR_OK && (r = mr_token_login(app->tok, pin, pin_len, d)) == MR_E_PIN)
		r = pin_report(app, d);

	if (app->audit_open) {
		/* Logins are audited, failed ones included (never the PIN). */
		char label[33] = "", serial[17] = "";
		mr_record rec;
		mr_diag ad;
		mr_diag_clear(&ad);
		mr_record_init(&rec);
		mr_record_add(&rec, "token", app->token);
		if (r == MR_OK && mr_token_info(app->tok, label, serial, &ad) == MR_OK) {
			mr_record_add(&rec, "token_label", label);
			mr_record_add(&rec, "token_serial", serial);
		}
		if (r != MR_OK) {
			mr_record_add(&rec, "error", mr_diag_text(d, r));
			/* If even this record fails, the login error is still
			 * what the operator needs to see first. */
			if (mr_app_audit(app, "login-failed", &rec, &ad) != MR_OK)
				mr_progress_stderr("warning: %s\n", mr_diag_text(&ad, MR_E_AUDIT));
		} else if (mr_app_audit(app, "login", &rec, &ad) != MR_OK) {
			/* Fail closed: no session without its record. */
			r = mr_diag_set(d, MR_E_AUDIT, "%s", mr_diag_text(&ad, MR_E_AUDIT));
		}
	}
	return r;
}

int
mr_app_check_root_key(mr_app *app, mr_diag *d)
{
	uint8_t spki[1024];
	size_t spki_len = 0;
	mr_key_type type;
	int r;

	r = mr_token_public_key(app->tok, app->cfg.root_key_label, spki, sizeof(spki),
	    &spki_len, &type, d);
	if (r != MR_OK) {
		mr_diag_prefix(d, "root key %s", app->cfg.root_key_label);
		return r;
	}
	if (!mr_der_equal(mr_der_view(spki, spki_len), app->root.spki.whole)) {
		mr_diag_set(d, MR_E_KEY_MISMATCH,
		    "the token's key %s is not the key of root-cert.pem: wrong token?",
		    app->cfg.root_key_label);
		if (app->audit_open) {
			mr_record rec;
			mr_diag ad;
			mr_diag_clear(&ad);
			mr_record_init(&rec);
			mr_record_add(&rec, "label", app->cfg.root_key_label);
			mr_record_add(&rec, "token", app->token);
			if (mr_app_audit(app, "root-key-mismatch", &rec, &ad) != MR_OK)
				mr_progress_stderr("warning: %s\n", mr_diag_text(&ad, MR_E_AUDIT));
		}
		return MR_E_KEY_MISMATCH;
	}
	if (!app->device_registered) {
		if ((r = mr_token_device_register(app->tok, MR_DEV_ID, app->cfg.root_key_label,
			 d)) != MR_OK)
			return r;
		app->device_registered = 1;
	}
	return MR_OK;
}

int
mr_app_load_audit_key(mr_app *app, mr_diag *d)
{
	char path[4096], why[160];
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if (mr_app_path(app, path, sizeof(path), "audit-key.pub") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	r = mr_file_read(path, 1024, &text, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_STATE, "%s: no audit key: the ceremony did not finish",
		    path);
	}
	if (r != MR_OK)
		return r;
	r = mr_note_vkey_parse((const char *)text, len, &app->audit_key, why, sizeof(why));
	free(text);
	if (r != MR_OK)
		return mr_diag_set(d, MR_E_STATE, "%s: %s", path, why);
	app->have_audit_key = 1;
	return MR_OK;
}

/* The history first, then the latest (mr_cphistory.h). */
static int
keep_checkpoint(const char *path, const char *latest_path, const char *text, size_t n,
    mr_diag *d)
{
	int r;

	if ((r = mr_cphistory_append(path, text, n, d)) != MR_OK)
		return r;
	return mr_file_write_atomic(latest_path, text, n, 0644, d);
}

/* What a crash left after the latest note in the history is cut, and the
 * cut recorded (mr_cphistory.h). */
static int
trim_history(mr_app *app, const char *latest, size_t len, mr_diag *d)
{
	char path[4096];
	size_t cut = 0;
	mr_record rec;
	int r;

	if (mr_app_path(app, path, sizeof(path), "audit.checkpoints") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	if ((r = mr_cphistory_trim(path, latest, len, &cut, d)) != MR_OK || cut == 0)
		return r;
	mr_record_init(&rec);
	mr_record_add(&rec, "what", "cut-checkpoint-history");
	mr_record_add(&rec, "file", "audit.checkpoints");
	mr_record_addf(&rec, "cut_bytes", "%zu", cut);
	if ((r = mr_app_audit(app, "state-repair", &rec, d)) != MR_OK)
		return r;
	fprintf(stderr, "repaired: audit.checkpoints: cut %zu bytes after the latest checkpoint "
	    "(a checkpoint never released)\n", cut);
	return MR_OK;
}

/*
 * The log must still be what the last checkpoint signed: the chain alone
 * cannot see its newest records removed or its last record edited.
 */
static int
check_checkpoint(mr_app *app, mr_diag *d)
{
	char path[4096], why[200];
	uint8_t *text = NULL;
	size_t len = 0;
	mr_checkpoint cp;
	mr_merkle_hash root;
	int r;

	if (mr_app_path(app, path, sizeof(path), "audit.checkpoint") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	r = mr_file_read(path, MR_CHECKPOINT_MAX, &text, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_AUDIT, "%s: no signed checkpoint of the audit log: "
		    "refusing to continue", path);
	}
	if (r != MR_OK)
		return r;
	r = mr_checkpoint_open((const char *)text, len, &app->audit_key, &cp, why, sizeof(why));
	if (r != MR_OK) {
		free(text);
		return mr_diag_set(d, MR_E_AUDIT, "%s: %s: refusing to continue", path, why);
	}
	r = trim_history(app, (const char *)text, len, d);
	free(text);
	if (r != MR_OK)
		return r;
	if (cp.size > mr_audit_size(&app->audit))
		return mr_diag_set(d, MR_E_AUDIT, "audit.log has %zu records, its signed checkpoint "
		    "%llu: records were removed: refusing to continue", mr_audit_size(&app->audit),
		    (unsigned long long)cp.size);
	if ((r = mr_audit_root_at(&app->audit, (size_t)cp.size, root, d)) != MR_OK)
		return r;
	if (memcmp(root, cp.root, 32) != 0)
		return mr_diag_set(d, MR_E_AUDIT, "audit.log does not match its signed checkpoint "
		    "(%llu records): records were altered: refusing to continue",
		    (unsigned long long)cp.size);
	return MR_OK;
}

int
mr_app_checkpoint(mr_app *app, char *out, size_t cap, size_t *len, mr_diag *d)
{
	char text[MR_CHECKPOINT_MAX], when[32], path[4096], latest[4096], why[160];
	uint8_t sig[64], digest[32];
	const uint8_t *in = NULL;
	size_t n = 0, sig_len = 0, in_len = 0;
	mr_merkle_hash root;
	mr_checkpoint cp;
	time_t now = time(NULL);
	struct tm tm;
	int r;

	if (!app->audit_open || !app->have_audit_key || app->tok == NULL)
		return mr_diag_set(d, MR_E_AUDIT, "checkpoint: audit log, key or token not ready");
	mr_audit_root(&app->audit, root);
	if (app->cp_last_len > 0 && app->cp_last_size == mr_audit_size(&app->audit) &&
	    memcmp(app->cp_last_root, root, 32) == 0) {
		if (out != NULL) {
			if (app->cp_last_len + 1 > cap)
				return mr_diag_set(d, MR_E_AUDIT, "checkpoint buffer too small");
			memcpy(out, app->cp_last, app->cp_last_len + 1);
			*len = app->cp_last_len;
		}
		return MR_OK;
	}
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (mr_checkpoint_body(app->audit_key.name, mr_audit_size(&app->audit), root, when, text,
		sizeof(text), &n) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "checkpoint: cannot build the note");
	if (mr_note_sign_input(&app->audit_key, text, n, digest, &in, &in_len) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "checkpoint: unknown audit key type");
	if ((r = mr_token_sign(app->tok, MR_AUDIT_KEY_LABEL, in, in_len, sig, sizeof(sig),
		 &sig_len, d)) != MR_OK) {
		mr_diag_prefix(d, "signing the audit checkpoint");
		return MR_E_AUDIT;
	}
	if (sig_len != 64 || mr_checkpoint_sign_line(&app->audit_key, sig, text, sizeof(text),
		&n) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "checkpoint: bad signature size");
	/* The token's key must be the published one: a checkpoint nobody can
	 * verify is no checkpoint. */
	if (mr_checkpoint_open(text, n, &app->audit_key, &cp, why, sizeof(why)) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT,
		    "the token's %s key does not match audit-key.pub: %s", MR_AUDIT_KEY_LABEL, why);
	/* Every checkpoint is kept (audit.checkpoints, exported as
	 * `checkpoints`): an auditor checks each against the log, which
	 * also narrows down where a rewritten log was altered. */
	if (mr_app_path(app, path, sizeof(path), "audit.checkpoints") != MR_OK ||
	    mr_app_path(app, latest, sizeof(latest), "audit.checkpoint") != MR_OK ||
	    keep_checkpoint(path, latest, text, n, d) != MR_OK) {
		mr_diag_prefix(d, "audit checkpoint");
		return MR_E_AUDIT;
	}
	memcpy(app->cp_last, text, n);
	app->cp_last[n] = '\0';
	app->cp_last_len = n;
	app->cp_last_size = mr_audit_size(&app->audit);
	memcpy(app->cp_last_root, root, 32);
	if (out != NULL) {
		if (n + 1 > cap)
			return mr_diag_set(d, MR_E_AUDIT, "checkpoint buffer too small");
		memcpy(out, text, n);
		out[n] = '\0';
		*len = n;
	}
	return MR_OK;
}

int
mr_app_issue_proof_in(mr_app *app, const char *cp, size_t cp_len, const char *serial,
    long index, const char *line, size_t line_len, char *out, size_t cap, size_t *len,
    mr_diag *d)
{
	static char found[MR_RECORD_MAX + 1];
	mr_merkle_hash path[MR_MERKLE_MAX_PROOF];
	size_t at = 0, plen = 0;

	if (index < 0) {
		if (mr_audit_find(&app->audit, "issue", "serial", serial, &at, found, sizeof(found),
			&line_len, d) != MR_OK)
			return MR_E_AUDIT;
		line = found;
	} else {
		at = (size_t)index;
	}
	if (mr_audit_inclusion(&app->audit, at, mr_audit_size(&app->audit), path,
		MR_MERKLE_MAX_PROOF, &plen) != MR_OK ||
	    mr_audit_proof_format(at, line, line_len, path, plen, cp, cp_len, out, cap,
		len) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "cannot build the audit proof for serial %s", serial);
	return MR_OK;
}

int
mr_app_issue_proof(mr_app *app, const char *serial, char *out, size_t cap, size_t *len,
    mr_diag *d)
{
	char cp[MR_CHECKPOINT_MAX];
	size_t cp_len = 0;
	int r;

	if ((r = mr_app_checkpoint(app, cp, sizeof(cp), &cp_len, d)) != MR_OK)
		return r;
	return mr_app_issue_proof_in(app, cp, cp_len, serial, -1, NULL, 0, out, cap, len, d);
}

int
mr_app_confirm(mr_app *app, const char *question, const char *word)
{
	char line[64];
	char prompt[512];

	if (app->yes)
		return MR_OK;
	snprintf(prompt, sizeof(prompt), "%s Type '%s' to continue: ", question, word);
	board_console_write(prompt);
	if (board_console_read_line(line, sizeof(line)) < 0)
		return MR_E_CANCELLED;
	return strcmp(line, word) == 0 ? MR_OK : MR_E_CANCELLED;
}

/* A process killed between writing a temp file and renaming it leaves
 * the temp file behind (fileio.c); the next start removes it. */
static int
sweep_temps(mr_app *app, mr_diag *d)
{
	static const char *const subdirs[] = { "certs", "transcripts" };
	char path[4096];
	int r = mr_file_sweep_temps(app->state_dir, NULL, d);

	for (size_t i = 0; i < sizeof(subdirs) / sizeof(subdirs[0]) && r == MR_OK; i++) {
		if (mr_app_path(app, path, sizeof(path), subdirs[i]) != MR_OK)
			return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
		r = mr_file_sweep_temps(path, NULL, d);
	}
	return r;
}

int
mr_app_recover(mr_app *app, mr_diag *d)
{
	int swept = sweep_temps(app, d);

	if (swept != MR_OK)
		return swept;
	for (size_t i = 0; i < app->db.n; i++) {
		mr_db_entry *e = &app->db.e[i];
		mr_record rec;
		char path[4096], name[64];

		if (e->state != MR_DB_RESERVED)
			continue;
		snprintf(name, sizeof(name), "certs/%s.pem", e->serial);
		if (mr_app_path(app, path, sizeof(path), name) != MR_OK)
			return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
		if (mr_audit_has(&app->audit, "issue", "serial", e->serial)) {
			/* The audit record is the commit point: the certificate
			 * was stored before it, so completing the database
			 * brings both back in agreement. */
			uint8_t der[8192], fp[32];
			size_t der_len = 0;
			mr_cert c;
			int r = mr_file_read_pem(path, 65536, "CERTIFICATE", der, sizeof(der),
			    &der_len, d);
			if (r != MR_OK || mr_cert_parse(der, der_len, &c, d) != MR_OK)
				return mr_diag_set(d, MR_E_STATE,
				    "serial %s is in the audit log but %s is unreadable", e->serial, path);
			mr_fp_sha256(der, der_len, fp);
			mr_record_init(&rec);
			mr_record_add_hex(&rec, "cert", fp, 32);
			mr_record_addf(&rec, "not_after", "%lld", (long long)c.not_after);
			mr_record_add(&rec, "recovered", "yes");
			if ((r = mr_db_issue(&app->db, e->serial, &rec, d)) != MR_OK)
				return r;
			continue;
		}
		/* Never audited, so never released: the serial stays used
		 * (it is in the database) and the request can be signed anew. */
		unlink(path);
		mr_record_init(&rec);
		mr_record_add(&rec, "serial", e->serial);
		mr_record_add(&rec, "cluster", e->cluster);
		mr_record_add_hex(&rec, "request", e->request, sizeof(e->request));
		mr_record_add(&rec, "reason", "interrupted before release");
		if (mr_app_audit(app, "abandon", &rec, d) != MR_OK ||
		    mr_db_abandon(&app->db, e->serial, "interrupted before release", d) != MR_OK)
			return MR_E_AUDIT;
	}
	return MR_OK;
}

#ifdef MESHROOT_CRASHPOINTS
/* 1 when `name` is reached for the n-th time named by env ("name[:n]"). */
static int
point_hit(const char *env, const char *name, unsigned *hits)
{
	const char *spec = getenv(env);
	size_t n;
	unsigned long want = 1;

	if (spec == NULL)
		return 0;
	n = strcspn(spec, ":");
	if (strlen(name) != n || strncmp(spec, name, n) != 0)
		return 0;
	if (spec[n] == ':')
		want = strtoul(spec + n + 1, NULL, 10);
	return ++*hits == want;
}
#endif

void
mr_crashpoint(const char *name)
{
#ifdef MESHROOT_CRASHPOINTS
	/* A batch reaches its points from two threads (the signing one). */
	static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
	static unsigned crash_hits, stop_hits;
	int crash, stop;

	pthread_mutex_lock(&mu);
	crash = point_hit("MESHROOT_CRASHPOINT", name, &crash_hits);
	stop = !crash && point_hit("MESHROOT_STOPPOINT", name, &stop_hits);
	pthread_mutex_unlock(&mu);
	if (crash)
		raise(SIGKILL);
	if (stop)
		raise(SIGSTOP);
#else
	(void)name;
#endif
}

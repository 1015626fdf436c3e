#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "board_api.h"
#include "mr_app.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_lint.h"
#include "mr_pem.h"

#define PIN_MAX 256

void
mr_app_init(mr_app *app)
{
	const char *v;

	memset(app, 0, sizeof(*app));
	app->state_dir = (v = getenv("MESHROOT_STATE")) ? v : "/var/lib/meshroot";
	app->module = (v = getenv("MESHROOT_MODULE")) ? v : "/usr/lib/softhsm/libsofthsm2.so";
	app->token = (v = getenv("MESHROOT_TOKEN")) ? v : "meshroot";
}

void
mr_app_close(mr_app *app)
{
	if (app->device_registered)
		mr_token_device_unregister(MR_DEV_ID);
	app->device_registered = 0;
	mr_token_close(app->tok);
	app->tok = NULL;
	if (app->db_open)
		mr_db_close(&app->db);
	app->db_open = 0;
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
	if (mr_cert_verify_signature(&app->root, &app->root.spki, d) != MR_OK ||
	    mr_lint_ca(&app->root, MR_LINT_ROOT, NULL, time(NULL), d) != MR_OK) {
		mr_diag_prefix(d, "%s", path);
		return MR_E_STATE;
	}
	return MR_OK;
}

int
mr_app_load(mr_app *app, mr_diag *d)
{
	char path[4096];
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

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
	if ((r = load_root(app, d)) != MR_OK)
		return r;
	if (mr_app_path(app, path, sizeof(path), "audit.log") != MR_OK ||
	    (r = mr_audit_open(&app->audit, path, d)) != MR_OK)
		return r != MR_OK ? r : MR_E_RANGE;
	app->audit_open = 1;
	if (mr_app_path(app, path, sizeof(path), "issued.db") != MR_OK ||
	    (r = mr_db_open(&app->db, path, d)) != MR_OK)
		return r != MR_OK ? r : MR_E_RANGE;
	app->db_open = 1;
	return mr_app_recover(app, d);
}

static int
read_pin(mr_app *app, char *pin, size_t cap, size_t *len, mr_diag *d)
{
	int n;

	if (app->pin_file != NULL) {
		uint8_t *data = NULL;
		size_t dl = 0;
		int r = mr_file_read(app->pin_file, cap - 1, &data, &dl, d);
		if (r != MR_OK) {
			mr_diag_prefix(d, "--pin-file");
			return MR_E_PIN;
		}
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
	char pin[PIN_MAX];
	size_t pin_len = 0;
	int r;

	if ((r = mr_token_open(&app->tok, app->module, app->token, d)) != MR_OK)
		return r;
	if ((r = read_pin(app, pin, sizeof(pin), &pin_len, d)) != MR_OK)
		goto out;
	r = mr_token_login(app->tok, pin, pin_len, d);
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
				fprintf(stderr, "warning: %s\n", mr_diag_text(&ad, MR_E_AUDIT));
		} else if (mr_app_audit(app, "login", &rec, &ad) != MR_OK) {
			/* Fail closed: no session without its record. */
			r = mr_diag_set(d, MR_E_AUDIT, "%s", mr_diag_text(&ad, MR_E_AUDIT));
		}
	}
out:
	explicit_bzero(pin, sizeof(pin));
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
	if (!mr_der_equal(mr_der_view(spki, spki_len), app->root.spki.whole))
		return mr_diag_set(d, MR_E_KEY_MISMATCH,
		    "the token's key %s is not the key of root-cert.pem: wrong token?",
		    app->cfg.root_key_label);
	if (!app->device_registered) {
		if ((r = mr_token_device_register(app->tok, MR_DEV_ID, app->cfg.root_key_label,
			 d)) != MR_OK)
			return r;
		app->device_registered = 1;
	}
	return MR_OK;
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

int
mr_app_recover(mr_app *app, mr_diag *d)
{
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
		mr_record_add(&rec, "request", e->request);
		mr_record_add(&rec, "reason", "interrupted before release");
		if (mr_app_audit(app, "abandon", &rec, d) != MR_OK ||
		    mr_db_abandon(&app->db, e->serial, "interrupted before release", d) != MR_OK)
			return MR_E_AUDIT;
	}
	return MR_OK;
}

void
mr_crashpoint(const char *name)
{
#ifdef MESHROOT_CRASHPOINTS
	static unsigned hits;
	const char *spec = getenv("MESHROOT_CRASHPOINT");
	size_t n;
	unsigned long want = 1;

	if (spec == NULL)
		return;
	n = strcspn(spec, ":");
	if (strlen(name) != n || strncmp(spec, name, n) != 0)
		return;
	if (spec[n] == ':')
		want = strtoul(spec + n + 1, NULL, 10);
	if (++hits == want)
		raise(SIGKILL);
#else
	(void)name;
#endif
}

/*
 * `status` with a token named: what the token says, checked rather than
 * assumed, so that "status" answers "is this the right token, with our
 * root key, and does this PIN open it?" before a session. Without a PIN
 * file nothing is logged in and nothing is written; with one, the login is
 * audited as every login is, under the state dir's lock.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "board_api.h"
#include "mr_commands.h"
#include "mr_der.h"
#include "mr_progress.h"

int
mr_status_token(mr_app *app, mr_diag *d)
{
	char label[33] = "", serial[17] = "", pin[256] = "";
	uint8_t spki[1024];
	size_t spki_len = 0, pin_len = 0;
	mr_key_type type;
	unsigned st = 0;
	const char *words;
	int r;

	if ((r = mr_token_open(&app->tok, app->module, app->token, d)) != MR_OK ||
	    (r = mr_token_info(app->tok, label, serial, d)) != MR_OK)
		goto out;
	mr_console_say("token:     %s (serial %s), module %s\n", label, serial, app->module);
	if ((r = mr_token_pin_status(app->tok, &st, d)) != MR_OK)
		goto out;
	words = mr_token_pin_words(st);
	mr_console_say("token PIN: %s%s\n", words != NULL ? words : "no retry warning from the token",
	    (st & MR_TOKEN_PIN_TO_BE_CHANGED) != 0 ? "; the token wants it changed" : "");
	if (app->pin_file == NULL && app->shares_from == NULL) {
		/* Finding the root key means finding its private half: that
		 * needs a login, and a login needs the PIN. */
		mr_console_say("root key:  not checked (it needs a login: --pin-file)\n");
		r = MR_OK;
		goto out;
	}
	if ((r = mr_app_read_pin(app, pin, sizeof(pin), &pin_len, d)) != MR_OK ||
	    (r = mr_app_login(app, pin, pin_len, d)) != MR_OK)
		goto out;
	mr_console_say("login:     the PIN opens token %s\n", label);
	r = mr_token_public_key(app->tok, app->cfg.root_key_label, spki, sizeof(spki), &spki_len,
	    &type, d);
	if (r != MR_OK) {
		/* A token error either way (exit 5): most likely the wrong one. */
		char why[320];
		snprintf(why, sizeof(why), "%s", mr_diag_text(d, r));
		mr_diag_clear(d);
		r = mr_diag_set(d, r == MR_E_NOTFOUND ? MR_E_KEY_MISMATCH : r,
		    "token %s: %s: wrong token?", label, why);
		goto out;
	}
	if (!mr_der_equal(mr_der_view(spki, spki_len), app->root.spki.whole)) {
		r = mr_diag_set(d, MR_E_KEY_MISMATCH,
		    "token %s: its key %s is not the key of root-cert.pem: wrong token?", label,
		    app->cfg.root_key_label);
		goto out;
	}
	mr_console_say("root key:  %s in the token, %s, matches root-cert.pem\n", app->cfg.root_key_label,
	    mr_key_type_name(type));
	r = MR_OK;
out:
	explicit_bzero(pin, sizeof(pin));
	return r;
}

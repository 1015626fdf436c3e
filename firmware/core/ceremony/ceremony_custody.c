/*
 * Split custody of the token PIN at the ceremony and at `ceremony reshare`
 * (mr_custody.h has the scheme and the state it keeps).
 *
 * Ordering: the shares are built, checked (every share decodes, and both
 * the first and the last `threshold` of them combine to the secret) and
 * handed out BEFORE C_SetPIN, so a crash can never leave a token whose PIN
 * nobody holds; `custody` is written after C_SetPIN succeeded. A crash
 * between the two leaves shares that the state dir does not know yet: the
 * next login names them ("from share set ...") and `ceremony reshare`
 * cannot run, so the operator restarts from the last good share set.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "board_api.h"
#include "mr_ceremony.h"
#include "mr_commands.h"
#include "mr_fileio.h"
#include "mr_share.h"
#include "mr_transcript.h"

#define PIN_CAP 256

static int
self_check(const mr_share *s, unsigned n, unsigned t, const uint8_t *secret, mr_diag *d)
{
	char text[MR_SHARE_TEXT_MAX];
	mr_share back[MR_CONFIG_MAX_SHARES];
	uint8_t got[MR_SHAMIR_MAX_SECRET];
	size_t len = 0;
	int r = MR_E_INTERNAL;

	for (unsigned i = 0; i < n; i++) {
		if (mr_share_encode(&s[i], text, sizeof(text)) != MR_OK ||
		    mr_share_decode(text, strlen(text), &back[i], d) != MR_OK)
			goto out;
	}
	/* The first t and the last t: every share takes part at least once. */
	if (mr_share_combine(back, t, got, sizeof(got), &len, d) != MR_OK ||
	    len != MR_CUSTODY_SECRET_LEN || memcmp(got, secret, len) != 0 ||
	    mr_share_combine(back + (n - t), t, got, sizeof(got), &len, d) != MR_OK ||
	    len != MR_CUSTODY_SECRET_LEN || memcmp(got, secret, len) != 0)
		goto out;
	r = MR_OK;
out:
	if (r != MR_OK)
		mr_diag_set(d, MR_E_INTERNAL, "custody self-check failed: no PIN was changed");
	explicit_bzero(text, sizeof(text));
	explicit_bzero(back, sizeof(back));
	explicit_bzero(got, sizeof(got));
	return r;
}

/* New secret, new share set, shares handed out, C_SetPIN, state stored,
 * audited as `event`. The token is open and logged in with old_pin. */
static int
rekey(mr_app *app, const char *old_pin, size_t old_len, unsigned threshold, unsigned count,
    const char *event, mr_diag *d)
{
	uint8_t secret[MR_CUSTODY_SECRET_LEN], set_id[MR_SHARE_SET_ID_LEN];
	uint8_t rnd[(MR_CONFIG_MAX_SHARES - 1) * MR_CUSTODY_SECRET_LEN];
	mr_share shares[MR_CONFIG_MAX_SHARES];
	char pin[MR_CUSTODY_PIN_LEN + 1], label[33] = "", serial[17] = "", who[64], path[4096],
	    set_hex[9];
	size_t rnd_len = (size_t)(threshold - 1) * MR_CUSTODY_SECRET_LEN;
	mr_custody c;
	mr_record rec;
	int r = MR_E_INTERNAL;

	if (threshold < 2 || threshold > count || count > MR_CONFIG_MAX_SHARES)
		return mr_diag_set(d, MR_E_CONFIG, "custody: %u of %u is not a valid split",
		    threshold, count);
	if ((r = mr_token_info(app->tok, label, serial, d)) != MR_OK)
		goto out;
	snprintf(who, sizeof(who), "%s serial %s", label, serial);
	/* Everything random comes from the token's RNG, like key ids and
	 * serials: the appliance has no other entropy source it can vouch for. */
	if ((r = mr_token_random(app->tok, secret, sizeof(secret), d)) != MR_OK ||
	    (r = mr_token_random(app->tok, set_id, sizeof(set_id), d)) != MR_OK ||
	    (r = mr_token_random(app->tok, rnd, rnd_len, d)) != MR_OK)
		goto out;
	if (mr_share_split(secret, sizeof(secret), threshold, count, set_id, rnd, rnd_len,
		shares) != MR_OK) {
		r = mr_diag_set(d, MR_E_INTERNAL, "custody: split failed");
		goto out;
	}
	if ((r = self_check(shares, count, threshold, secret, d)) != MR_OK)
		goto out;
	mr_share_set_id_hex(set_id, set_hex);
	mr_transcript_line("custody: %u shares of set %s, any %u unlock the token (%s)", count, set_hex,
	    threshold, who);
	board_console_write("ceremony: custody: handing out the shares of set ");
	board_console_write(set_hex);
	board_console_write("; each custodian sees only their own\n");
	if ((r = mr_custody_present(shares, count, app->shares_dir, who, !app->yes, d)) != MR_OK)
		goto out;
	mr_custody_pin_text(secret, pin);
	if ((r = mr_token_set_pin(app->tok, old_pin, old_len, pin, MR_CUSTODY_PIN_LEN, d)) != MR_OK) {
		mr_diag_prefix(d, "custody: the shares just shown are void");
		goto out;
	}
	memset(&c, 0, sizeof(c));
	memcpy(c.set_id, set_id, sizeof(set_id));
	c.threshold = threshold;
	c.shares = count;
	mr_custody_pin_check(set_id, secret, c.pin_check);
	if (mr_app_path(app, path, sizeof(path), "custody") != MR_OK) {
		r = mr_diag_set(d, MR_E_RANGE, "state dir path too long");
		goto out;
	}
	if ((r = mr_custody_store(path, &c, d)) != MR_OK)
		goto out;
	app->custody = c;
	mr_record_init(&rec);
	mr_record_add(&rec, "set_id", set_hex);
	mr_record_addf(&rec, "threshold", "%u", threshold);
	mr_record_addf(&rec, "shares", "%u", count);
	mr_record_add(&rec, "token_label", label);
	mr_record_add(&rec, "token_serial", serial);
	if ((r = mr_app_audit(app, event, &rec, d)) != MR_OK)
		goto out;
	board_console_write("ceremony: custody: token PIN replaced; any ");
	snprintf(who, sizeof(who), "%u of %u", threshold, count);
	board_console_write(who);
	board_console_write(" shares unlock it from now on\n");
	mr_transcript_line("custody: shares handed out; token PIN replaced (C_SetPIN ok); "
			   "state `custody` written");
	r = MR_OK;
out:
	explicit_bzero(secret, sizeof(secret));
	explicit_bzero(rnd, sizeof(rnd));
	explicit_bzero(shares, sizeof(shares));
	explicit_bzero(pin, sizeof(pin));
	return r;
}

int
mr_ceremony_split_custody(mr_app *app, mr_diag *d)
{
	char old[PIN_CAP] = "";
	size_t old_len = 0;
	/* Best effort, as for every PIN buffer: its page never goes to swap. */
	int locked = mlock(old, sizeof(old)) == 0;
	int r;

	board_console_write("ceremony: custody: split custody is on; enter the token user PIN once "
			    "more: it is replaced by a random PIN that nobody sees\n");
	if ((r = mr_app_read_pin(app, old, sizeof(old), &old_len, d)) == MR_OK)
		r = rekey(app, old, old_len, app->cfg.custody_threshold, app->cfg.custody_shares,
		    "custody-split", d);
	explicit_bzero(old, sizeof(old));
	if (locked)
		munlock(old, sizeof(old));
	return r;
}

static void
usage(void)
{
	board_console_write(
	    "usage: meshroot-appliance [--shares-from DIR] ceremony reshare [--shares-dir DIR]\n"
	    "           [--shares N --threshold M] [--operator NAME] [--witness NAME]...\n"
	    "           [--media DIR] [--yes]\n");
}

int
cmd_ceremony_reshare(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "shares-dir", required_argument, NULL, 'D' },
		{ "shares", required_argument, NULL, 'n' },
		{ "threshold", required_argument, NULL, 'm' },
		{ "yes", no_argument, NULL, 'y' },
		{ "operator", required_argument, NULL, 'o' },
		{ "witness", required_argument, NULL, 'w' },
		{ "media", required_argument, NULL, 'M' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *media = NULL;
	char old[PIN_CAP] = "";
	size_t old_len = 0;
	unsigned count, threshold;
	mr_diag d;
	int c, r, locked = mlock(old, sizeof(old)) == 0;

	optind = 0;
	count = threshold = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'D': app->shares_dir = optarg; break;
		case 'n': count = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': threshold = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'y': app->yes = 1; break;
		case 'o': mr_transcript_person("operator", optarg); break;
		case 'w': mr_transcript_person("witness", optarg); break;
		case 'M': media = optarg; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	mr_diag_clear(&d);
	if ((r = mr_app_load(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if (!app->custody_active) {
		mr_diag_set(&d, MR_E_STATE, "split custody is off in this state dir's ceremony config");
		return mr_fail(MR_E_STATE, &d);
	}
	mr_transcript_begin("reshare");
	if (count == 0)
		count = app->custody.shares;
	if (threshold == 0)
		threshold = app->custody.threshold;
	if ((r = mr_app_token_open(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	/* The current shares give the current PIN, which C_SetPIN needs. */
	if ((r = mr_app_read_pin(app, old, sizeof(old), &old_len, &d)) != MR_OK ||
	    (r = mr_app_login(app, old, old_len, &d)) != MR_OK ||
	    (r = mr_app_check_root_key(app, &d)) != MR_OK)
		goto out;
	if (mr_app_confirm(app, "Reshare: every current share stops working.", "reshare") != MR_OK) {
		r = mr_diag_set(&d, MR_E_CANCELLED, "reshare cancelled by the operator");
		goto out;
	}
	r = rekey(app, old, old_len, threshold, count, "custody-reshare", &d);
	if (r == MR_OK && app->have_audit_key)
		r = mr_app_checkpoint(app, NULL, 0, NULL, &d);
out:
	explicit_bzero(old, sizeof(old));
	if (locked)
		munlock(old, sizeof(old));
	{
		mr_diag td;
		mr_diag_clear(&td);
		if (mr_transcript_finish(app, r, &d, media, &td) != MR_OK && r == MR_OK) {
			d = td;
			r = MR_E_AUDIT;
		}
	}
	if (r != MR_OK)
		return mr_fail(r, &d);
	return 0;
}

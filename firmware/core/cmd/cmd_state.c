/*
 * `state check [--repair [--yes]]`: the state dir's health (mr_statecheck.h).
 * Without --repair nothing is changed (a login with --pin-file is audited,
 * as every login is). One line per finding:
 *
 *   problem: <what is wrong>; repair: <what --repair does>
 *   problem: <what is wrong>; manual: docs/operations.md#<section>
 *
 * Exit 0 healthy, 3 every problem repairable, 4 a problem needs a person,
 * 1 the check could not run, 2 usage (docs/operations.md).
 *
 * --repair changes nothing while any problem needs a person. Otherwise,
 * after a typed `repair` (or --yes, recorded), it loads the state as every
 * command does (mr_app_load: torn lines cut, rows the log proves written,
 * reservations resolved, each audited), removes leftover temp files
 * (audited as `state-repair`), records the run, and checks again.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_progress.h"
#include "mr_statecheck.h"

static int
report(const mr_sc_report *rep)
{
	size_t manual = mr_sc_manual(rep);

	for (size_t i = 0; i < rep->n_ok; i++)
		printf("ok: %s\n", rep->ok[i]);
	for (size_t i = 0; i < rep->n_notes; i++)
		printf("not checked: %s\n", rep->notes[i]);
	for (size_t i = 0; i < rep->n; i++) {
		const mr_sc_finding *f = &rep->f[i];
		if (f->repair == MR_SC_MANUAL)
			printf("problem: %s; manual: docs/operations.md#%s\n", f->text, f->section);
		else
			printf("problem: %s; repair: %s (docs/operations.md#%s)\n", f->text,
			    mr_sc_action(f), f->section);
	}
	if (rep->dropped > 0)
		printf("problem: %zu more problems not listed; manual: docs/operations.md\n",
		    rep->dropped);
	if (rep->n + rep->dropped == 0) {
		printf("state check: healthy\n");
		return MR_SC_EXIT_HEALTHY;
	}
	printf("state check: %zu problem(s): %zu repairable with --repair, %zu need manual "
	       "recovery\n", rep->n + rep->dropped, rep->n - (manual - rep->dropped), manual);
	return manual > 0 ? MR_SC_EXIT_MANUAL : MR_SC_EXIT_REPAIRABLE;
}

/* Prints the error; the exit status, never 3 or 4: those are the check's
 * own findings (repairable, manual), so a failure to check or repair
 * (bad input, an operator's no) is 1. */
static int
fail(int err, const mr_diag *d)
{
	int rc = mr_fail(err, d);

	return rc == MR_EXIT_INPUT || rc == MR_EXIT_REFUSED ? MR_EXIT_FAIL : rc;
}

static int
check(mr_app *app, int opts, mr_sc_report *rep)
{
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if ((r = mr_statecheck_run(app, opts, rep, &d)) != MR_OK)
		return -fail(r, &d);
	return report(rep);
}

/* A fresh mr_app with the same command line: the re-check must see the
 * files as they are now, not what the repair loaded. */
static void
reset(mr_app *app)
{
	mr_app keep = *app;

	/* The lock stays held across the reset: no other process may change
	 * the state between the check, the repair and the re-check. */
	app->locked = 0;
	mr_app_close(app);
	mr_app_init(app);
	app->lock = keep.lock;
	app->locked = keep.locked;
	app->cmdline = keep.cmdline;
	app->state_dir = keep.state_dir;
	app->module = keep.module;
	app->token = keep.token;
	app->pin_file = keep.pin_file;
	app->yes = keep.yes;
	app->shares_from = keep.shares_from;
	app->shares_dir = keep.shares_dir;
}

static int
repair(mr_app *app, const mr_sc_report *rep)
{
	mr_diag d;
	mr_record rec;
	char question[128];
	int r;

	mr_diag_clear(&d);
	if (mr_sc_manual(rep) > 0) {
		mr_progress_stderr("error: %zu problem(s) need manual recovery (docs/operations.md): "
		    "--repair changed nothing\n", mr_sc_manual(rep));
		return MR_SC_EXIT_MANUAL;
	}
	snprintf(question, sizeof(question), "Repair the %zu problem(s) above?", rep->n);
	if (mr_app_confirm(app, question, "repair") != MR_OK) {
		mr_diag_set(&d, MR_E_CANCELLED, "repair cancelled by the operator: nothing was changed");
		return fail(MR_E_CANCELLED, &d);
	}
	/* Loading is the repair: it is what every command does at start. */
	if ((r = mr_app_load(app, &d)) != MR_OK ||
	    (r = mr_statecheck_remove_temps(app, rep, &d)) != MR_OK)
		return fail(r, &d);
	mr_record_init(&rec);
	mr_record_addf(&rec, "problems", "%zu", rep->n);
	mr_record_add(&rec, "confirmed_by", app->yes ? "--yes" : "operator");
	if ((r = mr_app_audit(app, "state-repair", &rec, &d)) != MR_OK)
		return fail(r, &d);
	printf("repaired %zu problem(s); checking again\n", rep->n);
	return 0;
}

int
cmd_state(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	mr_sc_report rep;
	int c, fix = 0, rc;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		APP_HELP(stdout, "state");
		return MR_EXIT_OK;
	}
	if (argc < 2)
		return APP_USAGE("state", "state needs check");
	if (strcmp(argv[1], "check") != 0)
		return APP_USAGE("state", "unknown state command '%s'", argv[1]);
	optind = 0; /* 0: glibc fully re-initialises its scanner */
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'r': fix = 1; break;
		case 'y': app->yes = 1; break;
		case 'h': APP_HELP(stdout, "state"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("state", c, argv + 1);
		}
	}
	if (optind < argc - 1)
		return APP_EXTRA("state", argv[1 + optind]);
	if (app->yes && !fix)
		return APP_USAGE("state", "--yes goes with --repair");
	{
		/* One owner: no batch may change the state while it is checked. */
		mr_diag d;
		int r;
		mr_diag_clear(&d);
		if ((r = mr_app_lock(app, &d)) != MR_OK)
			return fail(r, &d);
	}
	mr_sc_init(&rep);
	rc = check(app, 0, &rep);
	if (rc > 0 && fix) {
		reset(app);
		rc = repair(app, &rep);
		if (rc == 0) {
			mr_sc_free(&rep);
			mr_sc_init(&rep);
			reset(app);
			rc = check(app, MR_SC_NO_TOKEN, &rep);
		}
	}
	mr_sc_free(&rep);
	return rc < 0 ? -rc : rc;
}

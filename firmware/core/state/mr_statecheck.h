/*
 * The state dir's health: one diagnosis for `meshroot-appliance state
 * check` (cmd_state.c) and for every start (mr_app_load, through
 * mr_statecheck_reconcile).
 *
 * mr_statecheck_run reads the state dir and writes nothing (the only
 * exception: with a PIN it logs in to the token, and a login is always
 * audited). It checks issued.db (its reserve/issue/abandon/revoke rules),
 * the audit log's hash chain, audit.checkpoint and audit.checkpoints
 * against the log and audit-key.pub, certs/<serial>.pem of every issued
 * serial, that the database and the log agree, leftover temp files, and
 * the token. Each problem is one finding that says what is wrong, what
 * --repair would do (or that only a person can recover it), and the
 * section of docs/operations.md that explains it.
 *
 * What is repaired, and why that is safe (docs/operations.md):
 *   - a torn final line of audit.log or issued.db: never acknowledged
 *     (every append is fsync'ed before anything is released), so cut;
 *   - a reservation without issue or abandon: the audit `issue` record is
 *     the commit point, so without it nothing was released: abandoned;
 *   - an audit issue/abandon/revoke record without its database row: the
 *     log is the record of what happened; the row is completed from it
 *     (an issue row only when certs/<serial>.pem matches the record's
 *     certificate hash);
 *   - a leftover <name>.tmp.<pid>: never renamed into place, removed.
 * Never repaired: a database row without its audit record, a log whose
 * chain breaks before its end, a checkpoint the log does not match, an
 * unreadable database line, a missing or altered certificate.
 */
#ifndef MR_STATECHECK_H
#define MR_STATECHECK_H

#include <stddef.h>
#include <stdint.h>

#include "mr_app.h"

/* Exit statuses of `state check` (docs/operations.md). */
#define MR_SC_EXIT_HEALTHY 0
#define MR_SC_EXIT_REPAIRABLE 3 /* problems, all of which --repair fixes */
#define MR_SC_EXIT_MANUAL 4     /* at least one needs a person */

typedef enum {
	MR_SC_MANUAL = 0,   /* no automatic repair */
	MR_SC_CUT_TAIL,     /* cut a torn final line */
	MR_SC_RESOLVE,      /* resolve a reservation (mr_app_recover) */
	MR_SC_DB_FROM_LOG,  /* complete issued.db from an audit record */
	MR_SC_REMOVE_TEMP,  /* remove a leftover temp file */
} mr_sc_repair;

typedef struct {
	mr_sc_repair repair;
	const char *section;  /* docs/operations.md anchor */
	char event[16];       /* MR_SC_DB_FROM_LOG: issue, abandon or revoke */
	char serial[41];
	char path[1024];      /* MR_SC_REMOVE_TEMP */
	char text[400];       /* what is wrong, naming the file and record */
} mr_sc_finding;

#define MR_SC_MAX_LINES 16

typedef struct {
	mr_sc_finding *f;
	size_t n, cap;
	size_t dropped;       /* findings beyond the cap, counted only */
	char ok[MR_SC_MAX_LINES][200];    /* what was checked and is sound */
	size_t n_ok;
	char notes[MR_SC_MAX_LINES][240]; /* what could not be checked, and why */
	size_t n_notes;
} mr_sc_report;

/* Options of mr_statecheck_run. */
#define MR_SC_NO_TOKEN 1  /* skip the token (a re-check after --repair) */

void mr_sc_init(mr_sc_report *rep);
void mr_sc_free(mr_sc_report *rep);
/* Findings that need a person. */
size_t mr_sc_manual(const mr_sc_report *rep);
/* What --repair would do about f, one phrase. */
const char *mr_sc_action(const mr_sc_finding *f);

/*
 * Diagnoses app->state_dir (app as mr_app_init left it, with the command
 * line's module, token and PIN source). MR_OK when the check ran, whatever
 * it found; an error only when it could not run at all.
 */
int mr_statecheck_run(mr_app *app, int opts, mr_sc_report *rep, mr_diag *d) MR_MUST_CHECK;

/*
 * The database against the audit log (its complete lines log[0..len)):
 * every issue/abandon/revoke record has its row and the reverse, and every
 * reservation is resolved. certs/ is read from state_dir.
 */
int mr_statecheck_agree(const mr_db *db, const uint8_t *log, size_t len,
    const char *state_dir, mr_sc_report *rep, mr_diag *d) MR_MUST_CHECK;

/*
 * At every start (mr_app_load, audit log and database open): the same
 * agreement check, the log read again record by record and each event
 * held against its row as it comes (memory: a byte a row); rows the log
 * proves are written, each with a `state-repair` audit record and a
 * "repaired: ..." line on stderr; reservations are left to
 * mr_app_recover; anything else is MR_E_STATE with the exact finding and a
 * pointer to `state check`.
 */
int mr_statecheck_reconcile(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Removes the leftover temp files rep found, each with a `state-repair`
 * audit record (audit log open). */
int mr_statecheck_remove_temps(mr_app *app, const mr_sc_report *rep, mr_diag *d) MR_MUST_CHECK;

#endif

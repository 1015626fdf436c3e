/*
 * The appliance: its state dir, its token session, its audit log and
 * issuance database, and the loaded root. One mr_app lives for one command.
 *
 * State dir layout (docs/ceremony.md):
 *   ceremony.conf   the accepted ceremony config (policy source)
 *   root-cert.pem   the self-signed root
 *   audit.log       the audit log (mr_audit.h)
 *   issued.db       the issuance database (mr_db.h)
 *   certs/<serial>.pem  every issued certificate, stored before release
 */
#ifndef MR_APP_H
#define MR_APP_H

#include <stddef.h>
#include <stdint.h>

#include "mr_audit.h"
#include "mr_cert.h"
#include "mr_config.h"
#include "mr_db.h"
#include "mr_diag.h"
#include "mr_token.h"

#define MR_ROOT_MAX_DER 8192
#define MR_DEV_ID 0x6d72 /* wolfSSL crypto-callback device id for the root key */

typedef struct {
	/* from the command line */
	const char *state_dir;
	const char *module;
	const char *token;
	const char *pin_file;
	int yes;             /* --yes: approvals and confirmations automatic, logged */

	/* loaded */
	mr_config cfg;
	uint8_t cfg_hash[32];
	uint8_t root_der[MR_ROOT_MAX_DER];
	size_t root_len;
	mr_cert root;
	mr_audit audit;
	mr_db db;
	int audit_open, db_open;
	mr_token *tok;
	int device_registered;
} mr_app;

/* Fills the defaults for module, token and state dir (overridden by
 * the environment MESHROOT_STATE, MESHROOT_MODULE, MESHROOT_TOKEN). */
void mr_app_init(mr_app *app);
void mr_app_close(mr_app *app);

/* Path of a file in the state dir. */
int mr_app_path(const mr_app *app, char *out, size_t cap, const char *name) MR_MUST_CHECK;

/* Loads config, root, audit log and database of an initialised state dir,
 * and resolves reservations left by a crash (mr_app_recover). */
int mr_app_load(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Opens the token and logs in with the PIN from --pin-file or the console.
 * A failed login is audited when the audit log is open. */
int mr_app_open_token(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Checks that the token holds the root key: its public key equals the root
 * certificate's. Run at the start of every command that uses the token. */
int mr_app_check_root_key(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Audits one event; on failure nothing further may be released. */
int mr_app_audit(mr_app *app, const char *event, mr_record *fields, mr_diag *d) MR_MUST_CHECK;

/* Asks the operator to type `word` to go on (skipped with --yes, which is
 * recorded by the caller). MR_E_CANCELLED otherwise. */
int mr_app_confirm(mr_app *app, const char *question, const char *word) MR_MUST_CHECK;

/* Resolves every reservation without issue/abandon: issued if the audit log
 * has its issue record (the commit point), abandoned otherwise. */
int mr_app_recover(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Test hook (sim board builds only): MESHROOT_CRASHPOINT=name[:n] kills the
 * process with SIGKILL the n-th time (default 1st) `name` is reached. */
void mr_crashpoint(const char *name);

#endif

/*
 * The appliance: its state dir, its token session, its audit log and
 * issuance database, and the loaded root. One mr_app lives for one command.
 *
 * State dir layout (docs/ceremony.md):
 *   ceremony.conf   the accepted ceremony config (policy source)
 *   root-cert.pem   the self-signed root
 *   audit.log       the audit log (mr_audit.h)
 *   audit-key.pub   the audit key's C2SP verifier key (made at the ceremony)
 *   audit.checkpoint  the latest signed checkpoint of audit.log
 *   audit.checkpoints every checkpoint ever signed, oldest first
 *   issued.db       the issuance database (mr_db.h)
 *   certs/<serial>.pem  every issued certificate, stored before release
 *   custody         split custody: share set, threshold, PIN check (mr_custody.h)
 *   crl-number, root.crl.pem  the last cRLNumber and the latest root CRL (cmd_crl.c)
 *   root-key-label  after `ceremony rotate`: the current root key's label
 *   rotation/       the last rotation's roots and cross-certificates
 *   transcripts/    one transcript per ceremony (mr_transcript.h)
 *   lock            held by the one process that owns the state (mr_lock.h)
 */
#ifndef MR_APP_H
#define MR_APP_H

#include <stddef.h>
#include <stdint.h>

#include "mr_audit.h"
#include "mr_checkpoint.h"
#include "mr_cert.h"
#include "mr_config.h"
#include "mr_custody.h"
#include "mr_db.h"
#include "mr_diag.h"
#include "mr_lock.h"
#include "mr_token.h"

#define MR_ROOT_MAX_DER 8192
#define MR_DEV_ID 0x6d72 /* wolfSSL crypto-callback device id for the root key */
/* The token key that signs audit checkpoints: Ed25519, made at the
 * ceremony, never the root key. */
#define MR_AUDIT_KEY_LABEL "meshroot-audit"
#define MR_AUDIT_PROOF_MAX (MR_RECORD_MAX + MR_CHECKPOINT_MAX + 8192)

typedef struct {
	/* from the command line */
	const char *state_dir;
	const char *module;
	const char *module_args; /* --module-args: C_Initialize init string, NULL: none */
	const char *token;
	int token_named;     /* --token given or MESHROOT_TOKEN set (status checks it) */
	const char *pin_file;
	int yes;             /* --yes: approvals and confirmations automatic, logged */
	const char *shares_from; /* --shares-from DIR: custody shares (automation) */
	const char *shares_dir;  /* --shares-dir DIR: where new shares are written too */
	const char *cmdline;     /* shown to a second process refused the state dir */

	/* loaded */
	mr_config cfg;
	uint8_t cfg_hash[32];
	uint8_t root_der[MR_ROOT_MAX_DER];
	size_t root_len;
	mr_cert root;
	mr_audit audit;
	mr_note_key audit_key; /* from audit-key.pub */
	int have_audit_key;
	mr_db db;
	int audit_open, db_open;
	int config_loaded;   /* ceremony.conf read (mr_app_load_config) */
	mr_token *tok;
	/* The token opening on a thread of its own (mr_app_token_open_early),
	 * until mr_app_token_open takes its result. */
	struct mr_app_early *early;
	int device_registered;
	mr_custody custody;  /* state dir `custody`, when split custody is on */
	int custody_active;
	mr_lock lock;        /* the state dir's, while locked */
	int locked;
	/* The last checkpoint this process signed, and the log size it
	 * covers: asked again with nothing appended since, it is given
	 * again rather than signed and kept twice. */
	char cp_last[MR_CHECKPOINT_MAX];
	size_t cp_last_len, cp_last_size;
	uint8_t cp_last_root[32];
} mr_app;

/* Fills the defaults for module, token and state dir (overridden by
 * the environment MESHROOT_STATE, MESHROOT_MODULE, MESHROOT_TOKEN). */
void mr_app_init(mr_app *app);
/* The module's init string: --module-args (or MESHROOT_MODULE_ARGS) when
 * given, else the ceremony config's [token] module_args, else NULL. The
 * config of a state dir remembers it for every later command. */
const char *mr_app_module_args(const mr_app *app);
/* mr_token_open with the app's module, module args and token selector;
 * or the result of the opening mr_app_token_open_early began. */
int mr_app_token_open(mr_app *app, mr_diag *d) MR_MUST_CHECK;
/*
 * Begins mr_app_token_open on a thread of its own, so that the token's
 * module loads and initialises (SoftHSM2: about 11 ms of CPU) while the
 * state dir loads. Call it after mr_app_load_config (the module's
 * arguments may come from the config); mr_app_token_open then waits for
 * the thread and gives its result, with the same messages as without it.
 * Only the opening goes on the thread: the PIN is read and the login made
 * by mr_app_open_token on the caller's thread. Where no thread can be
 * made, mr_app_token_open opens the token in line (mr_task.h).
 */
void mr_app_token_open_early(mr_app *app);
/* For mr_app_token_open and mr_app_close: the early opening's result
 * taken (its thread joined), or the thread joined and its token closed. */
int mr_app_token_early_join(mr_app *app, mr_diag *d) MR_MUST_CHECK;
void mr_app_token_early_drop(mr_app *app);
void mr_app_close(mr_app *app);

/* Path of a file in the state dir. */
int mr_app_path(const mr_app *app, char *out, size_t cap, const char *name) MR_MUST_CHECK;

/* Takes the state dir's lock (mr_lock.h) unless this process holds it
 * already; held until mr_app_close. MR_E_IN_USE when another process owns
 * the state dir. Every command takes it before it reads or writes anything
 * of the state: mr_app_load does; call it earlier to hold it from the
 * start (before forking a confined helper, before creating a socket). */
int mr_app_lock(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Locks the state dir (mr_app_lock), then loads config, root, audit log
 * and database of an initialised state dir, reconciles the log and the
 * database (mr_statecheck_reconcile: what the log proves is completed in
 * the database, anything else stops), and resolves reservations left by a
 * crash (mr_app_recover). */
int mr_app_load(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* The first part of mr_app_load, which writes nothing: config, root (and
 * the rotated root key label), custody, audit-key.pub. */
int mr_app_load_identity(mr_app *app, mr_diag *d) MR_MUST_CHECK;
/* Its first step: the state dir locked and ceremony.conf read and parsed,
 * once (later calls, and mr_app_load_identity, do not read it again). */
int mr_app_load_config(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* ceremony.conf must be the config of the ceremony that finished, as the
 * log at app->audit.path records it (the log need not be open). */
int mr_app_check_config(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Opens the token and logs in with the PIN from --pin-file or the console.
 * A failed login is audited when the audit log is open. */
int mr_app_open_token(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* The login PIN: from custody shares when split custody is active
 * (mr_custody_read_pin: every share checked before the token is touched),
 * else from --pin-file or the console. pin is NUL-terminated; the caller
 * wipes it. */
int mr_app_read_pin(mr_app *app, char *pin, size_t cap, size_t *len, mr_diag *d) MR_MUST_CHECK;

/* Logs in to the open token with pin and audits the attempt, as
 * mr_app_open_token does. */
int mr_app_login(mr_app *app, const char *pin, size_t pin_len, mr_diag *d) MR_MUST_CHECK;

/* Checks that the token holds the root key: its public key equals the root
 * certificate's. Run at the start of every command that uses the token. */
int mr_app_check_root_key(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Audits one event; on failure nothing further may be released. */
int mr_app_audit(mr_app *app, const char *event, mr_record *fields, mr_diag *d) MR_MUST_CHECK;

/* Reads the state dir's audit-key.pub into app->audit_key. */
int mr_app_load_audit_key(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/*
 * Signs a checkpoint of the whole audit log with the token's audit key
 * (logged in), checks the signature against audit-key.pub, and stores it
 * as audit.checkpoint (atomic, fsync'ed). The text goes to out when not
 * NULL. Any failure is MR_E_AUDIT: callers release nothing more.
 */
int mr_app_checkpoint(mr_app *app, char *out, size_t cap, size_t *len, mr_diag *d) MR_MUST_CHECK;

/*
 * The answer-side proof for serial's issue record (mr_audit_proof format):
 * a fresh checkpoint and the record's inclusion proof in it.
 */
int mr_app_issue_proof(mr_app *app, const char *serial, char *out, size_t cap, size_t *len,
    mr_diag *d) MR_MUST_CHECK;

/*
 * As mr_app_issue_proof under a checkpoint already signed (cp, of the log
 * as it is now): one checkpoint serves a whole window of answers. index
 * and line are the issue record when the caller has them (index -1: the
 * log is searched for serial's issue record).
 */
int mr_app_issue_proof_in(mr_app *app, const char *cp, size_t cp_len, const char *serial,
    long index, const char *line, size_t line_len, char *out, size_t cap, size_t *len,
    mr_diag *d) MR_MUST_CHECK;

/* Asks the operator to type `word` to go on (skipped with --yes, which is
 * recorded by the caller). MR_E_CANCELLED otherwise. */
int mr_app_confirm(mr_app *app, const char *question, const char *word) MR_MUST_CHECK;

/* Resolves every reservation without issue/abandon: issued if the audit log
 * has its issue record (the commit point), abandoned otherwise. */
int mr_app_recover(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Test hook (sim board builds only): MESHROOT_CRASHPOINT=name[:n] kills the
 * process with SIGKILL the n-th time (default 1st) `name` is reached;
 * MESHROOT_STOPPOINT=name[:n] stops it there with SIGSTOP instead, for a
 * test to look at it (or run a second process) and resume it with SIGCONT. */
void mr_crashpoint(const char *name);

#endif

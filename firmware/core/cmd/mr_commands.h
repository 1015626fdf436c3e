/*
 * meshroot-appliance commands, one file each (cmd_<name>.c). Each takes
 * the arguments after the command word and returns the exit status after
 * printing its own one-line "error: ..." on failure.
 */
#ifndef MR_COMMANDS_H
#define MR_COMMANDS_H

#include "mr_app.h"

int cmd_ceremony(mr_app *app, int argc, char **argv);
int cmd_sign(mr_app *app, int argc, char **argv);
int cmd_status(mr_app *app, int argc, char **argv);
int cmd_revoke(mr_app *app, int argc, char **argv);
int cmd_crl(mr_app *app, int argc, char **argv);
int cmd_audit(mr_app *app, int argc, char **argv);
int cmd_serve(mr_app *app, int argc, char **argv);
int cmd_state(mr_app *app, int argc, char **argv);

/* `status`, after the state dir's lines, when a token is named (--token,
 * MESHROOT_TOKEN) or a --pin-file given: the token found (label, serial,
 * PIN retry state), the root key in it against root-cert.pem, and with a
 * PIN file the login. Prints its lines; MR_OK or the error in d (no token:
 * MR_E_TOKEN, listing the labels present; a PIN file that cannot be used:
 * MR_E_ARG; a wrong PIN: MR_E_PIN). */
int mr_status_token(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* Prints "error: <text>" for err/d and returns the exit status
 * (mr_exit_code: 5 token, 3 bad input, 75 state dir in use, else 1). */
int mr_fail(int err, const mr_diag *d);

/* The text of the last mr_fail (for a --json document), or NULL. */
const char *mr_fail_last(void);

#endif

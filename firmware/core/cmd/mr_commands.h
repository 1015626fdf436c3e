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

/* Prints "error: <text>" for err/d and returns the exit status for err
 * (mr_exit_code: 3 bad input, 4 refused, 5 token, 75 state dir in use...). */
int mr_fail(int err, const mr_diag *d);

/* The text of the last mr_fail (for a --json document), or NULL. */
const char *mr_fail_last(void);

#endif

/*
 * The exit status for an mr_err (mr_exit.h, docs/exit-codes.md): distinct
 * failures give distinct statuses, so that scripts and monitoring can tell
 * bad input from a policy refusal, a token fault, a link fault and a
 * failed verification.
 */
#ifndef MR_EXITCODE_H
#define MR_EXITCODE_H

#include "mr_exit.h"

/* MR_OK gives MR_EXIT_OK; an unknown code MR_EXIT_FAIL. */
int mr_exit_code(int err);

#endif

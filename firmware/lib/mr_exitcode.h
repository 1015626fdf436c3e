/*
 * The exit code (mr_exit.h, docs/exit-codes.md) a command's error maps to
 * when nothing more specific is known at the place it fails: a wrong or
 * locked PIN and other token failures 5, a malformed medium or a bad input
 * file (MR_E_ARG: a PIN file others can read) 3, a state dir in use 75,
 * anything else 1. Pure; both programs use it.
 */
#ifndef MR_EXITCODE_H
#define MR_EXITCODE_H

int mr_exit_code(int err);

#endif

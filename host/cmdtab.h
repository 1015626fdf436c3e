/*
 * meshroot's command table (cmdtab.c): the one list of commands,
 * subcommands, options and examples behind `meshroot --help`, each
 * command's --help, the usage-error hints and `--help-commands`.
 */
#ifndef MR_HOST_CMDTAB_H
#define MR_HOST_CMDTAB_H

#include "mr_cli.h"
#include "mr_exitcode.h"

extern const mr_cli_table mr_host_cli;

/* The exit status for err on the host (mr_exit_code), where a key that
 * does not match (a root other than the pinned one, an answer for another
 * key) is a failed verification: the host has no token. */
int mr_host_exit(int err);

/* Shorthands for the commands: help of cmd, a usage error of cmd. */
#define HOST_HELP(f, cmd) mr_cli_help((f), &mr_host_cli, (cmd))
#define HOST_USAGE(cmd, ...) mr_cli_usage(&mr_host_cli, (cmd), __VA_ARGS__)
#define HOST_OPT_ERROR(cmd, c, argv) mr_cli_opt_error(&mr_host_cli, (cmd), (c), (argv))
#define HOST_EXTRA(cmd, arg) mr_cli_extra(&mr_host_cli, (cmd), (arg))

#endif

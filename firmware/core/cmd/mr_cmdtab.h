/*
 * meshroot-appliance's command table (cmdtab.c): the one list of commands,
 * subcommands, options and examples behind `meshroot-appliance --help`,
 * each command's --help, the usage-error hints and `--help-commands`.
 */
#ifndef MR_CMDTAB_H
#define MR_CMDTAB_H

#include "mr_cli.h"
#include "mr_exitcode.h"

extern const mr_cli_table mr_app_cli;

#define APP_HELP(f, cmd) mr_cli_help((f), &mr_app_cli, (cmd))
#define APP_USAGE(cmd, ...) mr_cli_usage(&mr_app_cli, (cmd), __VA_ARGS__)
#define APP_OPT_ERROR(cmd, c, argv) mr_cli_opt_error(&mr_app_cli, (cmd), (c), (argv))
#define APP_EXTRA(cmd, arg) mr_cli_extra(&mr_app_cli, (cmd), (arg))

#endif

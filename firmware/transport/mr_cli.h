/*
 * The command table of a program: one per program (host/cmdtab.c,
 * firmware/core/cmd/cmdtab.c), the single source of the top-level help,
 * each command's --help, the usage-error hints and `--help-commands`, the
 * machine-readable list the completions and man/check.sh read.
 */
#ifndef MR_CLI_H
#define MR_CLI_H

#include <stddef.h>
#include <stdio.h>

#define MR_CLI_MAX_OPTS 12

typedef struct {
	const char *name; /* "--key" */
	const char *arg;  /* "TYPE", or NULL for a flag */
	const char *text; /* one line */
} mr_cli_opt;

typedef struct {
	const char *cmd;     /* command word: "cluster" */
	const char *sub;     /* subcommand word, or NULL */
	const char *args;    /* the rest of the synopsis: "NAME [--key TYPE]" */
	const char *what;    /* one line */
	mr_cli_opt opts[MR_CLI_MAX_OPTS]; /* ends at the first NULL name */
	const char *example; /* one or more lines, each a full command */
} mr_cli_cmd;

typedef struct {
	const char *prog;    /* "meshroot" */
	const char *globals; /* synopsis of the global options */
	mr_cli_opt gopts[MR_CLI_MAX_OPTS];
	const mr_cli_cmd *cmds;
	size_t n;
	const char *notes;   /* after the top-level list: environment, exit codes */
} mr_cli_table;

/* Top-level help when cmd is NULL, else the help of command cmd: every
 * subcommand's synopsis, the options, the examples. */
void mr_cli_help(FILE *f, const mr_cli_table *t, const char *cmd);

/* One line a subcommand, "CMD SUB --opt --opt= ...", SUB "-" when the
 * command has none, "=" after an option that takes an argument; the first
 * line, "- - --global ...", holds the global options. */
void mr_cli_list(FILE *f, const mr_cli_table *t);

/* Prints "error: <fmt...> (see PROG CMD --help)" and returns MR_EXIT_USAGE. */
int mr_cli_usage(const mr_cli_table *t, const char *cmd, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* For getopt_long's '?' (unknown option) and ':' (missing argument) with
 * opterr = 0 and an optstring starting with ':'; argv is the vector given
 * to getopt_long. Returns MR_EXIT_USAGE. */
int mr_cli_opt_error(const mr_cli_table *t, const char *cmd, int c, char *const *argv);

/* An argument that is an option where an operand was expected; "unknown
 * option" through mr_cli_usage, or extra operands: "unexpected argument". */
int mr_cli_extra(const mr_cli_table *t, const char *cmd, const char *arg);

#endif

#include <getopt.h>
#include <stdarg.h>
#include <string.h>

#include "mr_cli.h"
#include "mr_exitcode.h"

static size_t
n_opts(const mr_cli_opt *o)
{
	size_t n = 0;

	while (n < MR_CLI_MAX_OPTS && o[n].name != NULL)
		n++;
	return n;
}

static void
print_opt(FILE *f, const mr_cli_opt *o)
{
	char head[64];

	snprintf(head, sizeof(head), "%s%s%s", o->name, o->arg != NULL ? " " : "",
	    o->arg != NULL ? o->arg : "");
	fprintf(f, "  %-24s %s\n", head, o->text);
}

/* Whether option name appears in an entry of cmd before entry i (printed once). */
static int
seen_before(const mr_cli_table *t, const char *cmd, size_t i, const char *name)
{
	for (size_t j = 0; j < i; j++) {
		const mr_cli_cmd *e = &t->cmds[j];
		if (strcmp(e->cmd, cmd) != 0)
			continue;
		for (size_t k = 0; k < n_opts(e->opts); k++)
			if (strcmp(e->opts[k].name, name) == 0)
				return 1;
	}
	return 0;
}

static void
print_examples(FILE *f, const char *ex)
{
	const char *p = ex, *nl;

	while (*p != '\0') {
		nl = strchr(p, '\n');
		fprintf(f, "  %.*s\n", nl != NULL ? (int)(nl - p) : (int)strlen(p), p);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}

static void
help_top(FILE *f, const mr_cli_table *t)
{
	char head[128];

	fprintf(f, "usage: %s %s COMMAND [ARGS]\n       %s --help | --version | COMMAND --help\n\ncommands:\n",
	    t->prog, t->globals, t->prog);
	for (size_t i = 0; i < t->n; i++) {
		const mr_cli_cmd *e = &t->cmds[i];
		snprintf(head, sizeof(head), "%s%s%s", e->cmd, e->sub != NULL ? " " : "",
		    e->sub != NULL ? e->sub : "");
		fprintf(f, "  %s%s%s\n      %s\n", head, e->args[0] != '\0' ? " " : "", e->args,
		    e->what);
	}
	fputs("\noptions:\n", f);
	for (size_t k = 0; k < n_opts(t->gopts); k++)
		print_opt(f, &t->gopts[k]);
	fprintf(f, "\n%s", t->notes);
}

void
mr_cli_help(FILE *f, const mr_cli_table *t, const char *cmd)
{
	const char *lead = "usage:";
	int found = 0;

	if (cmd == NULL) {
		help_top(f, t);
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		const mr_cli_cmd *e = &t->cmds[i];
		if (strcmp(e->cmd, cmd) != 0)
			continue;
		fprintf(f, "%s %s [global options] %s%s%s%s%s\n", lead, t->prog, e->cmd,
		    e->sub != NULL ? " " : "", e->sub != NULL ? e->sub : "",
		    e->args[0] != '\0' ? " " : "", e->args);
		lead = "      ";
		found = 1;
	}
	if (!found)
		return;
	fputc('\n', f);
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->cmds[i].cmd, cmd) == 0)
			fprintf(f, "  %s%s%s\n", t->cmds[i].sub != NULL ? t->cmds[i].sub : "",
			    t->cmds[i].sub != NULL ? ": " : "", t->cmds[i].what);
	fputs("\noptions:\n", f);
	for (size_t i = 0; i < t->n; i++) {
		const mr_cli_cmd *e = &t->cmds[i];
		if (strcmp(e->cmd, cmd) != 0)
			continue;
		for (size_t k = 0; k < n_opts(e->opts); k++)
			if (!seen_before(t, cmd, i, e->opts[k].name) &&
			    !(k > 0 && strcmp(e->opts[k].name, e->opts[k - 1].name) == 0))
				print_opt(f, &e->opts[k]);
	}
	fprintf(f, "  %-24s %s\n\nexamples:\n", "--help", "this text");
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->cmds[i].cmd, cmd) == 0)
			print_examples(f, t->cmds[i].example);
	fprintf(f, "\nglobal options: %s --help; exit statuses: its man page, EXIT STATUS\n",
	    t->prog);
}

/* A required argument ("--to DIR"); an optional one reads "[SERIAL]". */
static int
takes_arg(const mr_cli_opt *o)
{
	return o->arg != NULL && o->arg[0] != '[';
}

void
mr_cli_list(FILE *f, const mr_cli_table *t)
{
	fputs("- -", f);
	for (size_t k = 0; k < n_opts(t->gopts); k++)
		fprintf(f, " %s%s", t->gopts[k].name, takes_arg(&t->gopts[k]) ? "=" : "");
	fputc('\n', f);
	for (size_t i = 0; i < t->n; i++) {
		const mr_cli_cmd *e = &t->cmds[i];
		fprintf(f, "%s %s", e->cmd, e->sub != NULL ? e->sub : "-");
		for (size_t k = 0; k < n_opts(e->opts); k++)
			fprintf(f, " %s%s", e->opts[k].name, takes_arg(&e->opts[k]) ? "=" : "");
		fputs(" --help\n", f);
	}
}

int
mr_cli_usage(const mr_cli_table *t, const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fflush(stdout); /* an error never lands in the middle of a line */
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (see %s%s%s --help)\n", t->prog, cmd != NULL ? " " : "",
	    cmd != NULL ? cmd : "");
	return MR_EXIT_USAGE;
}

int
mr_cli_opt_error(const mr_cli_table *t, const char *cmd, int c, char *const *argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";
	char shortopt[3] = { '-', (char)optopt, '\0' };

	/* A long option names itself in argv; a short one is optopt. */
	if (strncmp(arg, "--", 2) != 0 && optopt != 0)
		arg = shortopt;
	if (c == ':')
		return mr_cli_usage(t, cmd, "option '%s' needs an argument", arg);
	return mr_cli_usage(t, cmd, "unknown option '%s'", arg);
}

int
mr_cli_extra(const mr_cli_table *t, const char *cmd, const char *arg)
{
	if (arg[0] == '-' && arg[1] != '\0')
		return mr_cli_usage(t, cmd, "unknown option '%s'", arg);
	return mr_cli_usage(t, cmd, "unexpected argument '%s'", arg);
}

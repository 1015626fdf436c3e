/*
 * meshroot-appliance: the offline root CA. Global options, then one
 * command (cmd_<name>.c). See DESIGN.md for the interface contract.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_exitcode.h"
#include "mr_pointpool.h"
#include "mr_progress.h"

static char fail_last[1024];

const char *
mr_fail_last(void)
{
	return fail_last[0] != '\0' ? fail_last : NULL;
}

int
mr_fail(int err, const mr_diag *d)
{
	snprintf(fail_last, sizeof(fail_last), "%s", mr_diag_text(d, err));
	mr_progress_stderr("error: %s\n", mr_diag_text(d, err));
	return mr_exit_code(err);
}

static const struct {
	const char *name;
	int (*run)(mr_app *, int, char **);
} commands[] = {
	{ "ceremony", cmd_ceremony },
	{ "sign", cmd_sign },
	{ "status", cmd_status },
	{ "revoke", cmd_revoke },
	{ "crl", cmd_crl },
	{ "audit", cmd_audit },
	{ "serve", cmd_serve },
	{ "state", cmd_state },
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "module-args", required_argument, NULL, 'A' },
		{ "token", required_argument, NULL, 't' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "shares-from", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* For the completions and man/check.sh: the command table. */
		{ "help-commands", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct rlimit no_core = { 0, 0 };
	static char cmdline[256];
	mr_app app;
	int c, rc;

	/* The process holds a logged-in token session and reads PINs: no
	 * core dumps, no ptrace by other users' processes. */
	setrlimit(RLIMIT_CORE, &no_core);
	prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	/* wolfSSL's ECC points in one reused region: the root key's tables
	 * and each CSR check's 1.6 MiB, in every thread, without a copy per
	 * malloc arena or trimming and refaulting (mr_pointpool.h). 2,048
	 * points: those two and room to spare; more go to malloc. */
	(void)mr_pointpool_install(2048);
	/* Meters and their messages on the operator's console. */
	mr_progress_setup(&(mr_progress_console){ board_console_write, board_console_is_terminal,
	    MR_PROGRESS_CONSOLE });
	mr_app_init(&app);
	/* '+': stop at the command word; its options are its own. */
	opterr = 0; /* our own one-line errors */
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case 's': app.state_dir = optarg; break;
		case 'm': app.module = optarg; break;
		case 'A': app.module_args = optarg; break;
		case 't': app.token = optarg; app.token_named = 1; break;
		case 'p': app.pin_file = optarg; break;
		case 'S': app.shares_from = optarg; break;
		case 'h': APP_HELP(stdout, NULL); return MR_EXIT_OK;
		case 'V': printf("meshroot-appliance %s\n", MESHROOT_VERSION); return MR_EXIT_OK;
		case 'C': mr_cli_list(stdout, &mr_app_cli); return MR_EXIT_OK;
		default: return APP_OPT_ERROR(NULL, c, argv);
		}
	}
	if (optind >= argc)
		return APP_USAGE(NULL, "no command given");
	mr_dirlock_cmdline(argv[0], argc - optind, argv + optind, cmdline, sizeof(cmdline));
	app.cmdline = cmdline;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			rc = commands[i].run(&app, argc - optind, argv + optind);
			mr_app_close(&app);
			return rc;
		}
	}
	return APP_USAGE(NULL, "unknown command '%s'", argv[optind]);
}

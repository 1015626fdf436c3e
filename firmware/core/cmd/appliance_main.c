/*
 * meshroot-appliance: the offline root CA. Global options, then one
 * command (cmd_<name>.c). See DESIGN.md for the interface contract.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include "mr_commands.h"

static void
usage(FILE *f)
{
	fputs("usage: meshroot-appliance [--state DIR] [--module PKCS11_SO] [--module-args STRING]\n"
	      "                          [--token LABEL|URI] [--pin-file FILE | --shares-from DIR]\n"
	      "                          COMMAND [ARGS]\n"
	      "\n"
	      "commands:\n"
	      "  ceremony template               print a commented default ceremony config\n"
	      "  ceremony init --config FILE [--yes] [--shares-dir DIR] [--media DIR]\n"
	      "                [--operator NAME] [--witness NAME]...\n"
	      "                                  root key ceremony (once per state dir)\n"
	      "  ceremony rotate --key-label LABEL [--common-name CN] [--media DIR] [--yes]\n"
	      "                                  new root key and root, cross-certificates\n"
	      "  sign --media DIR [--yes]        sign the requests on mounted media\n"
	      "  status                          root, policy, issued count, audit position\n"
	      "  revoke SERIAL --reason REASON [--yes]\n"
	      "                                  revoke an issued intermediate (audited)\n"
	      "  crl [--media DIR]               sign the root's next CRL\n"
	      "  ceremony reshare [--shares-dir DIR] [--yes]\n"
	      "                                  new custody shares and PIN from M current shares\n"
	      "  state check [--repair [--yes]]  check the state dir and token; repair what is\n"
	      "                                  provably safe (docs/operations.md)\n"
	      "  audit export --to DIR           audit log, signed checkpoint, audit key (docs/audit.md)\n"
	      "  serve (--usb | --listen unix:PATH) [--approve console|button|auto]\n"
	      "                                  answer the host over the USB link (docs/protocol.md)\n"
	      "\n"
	      "The user PIN is read from the console, or from --pin-file for automation.\n"
	      "With split custody ([custody] split = on) custodians enter their shares at\n"
	      "the console instead, or --shares-from DIR reads them from files.\n"
	      "--module-args STRING is passed to the module's C_Initialize (pReserved),\n"
	      "e.g. NSS softoken's \"configdir='sql:DIR' ...\"; the ceremony config's\n"
	      "[token] module_args is the default for a state dir.\n"
	      "Environment: MESHROOT_STATE, MESHROOT_MODULE, MESHROOT_MODULE_ARGS,\n"
	      "MESHROOT_TOKEN give defaults.\n"
	      "\n"
	      "One process at a time owns a state dir (a lock on DIR/lock): a command\n"
	      "on a state dir in use exits 75 at once, naming the owner, and changes\n"
	      "nothing. Other failures exit 1, usage errors 2.\n",
	    f);
}

int
mr_fail(int err, const mr_diag *d)
{
	fprintf(stderr, "error: %s\n", mr_diag_text(d, err));
	return err == MR_E_IN_USE ? MR_EXIT_IN_USE : 1;
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
	mr_app_init(&app);
	/* '+': stop at the command word; its options are its own. */
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 's': app.state_dir = optarg; break;
		case 'm': app.module = optarg; break;
		case 'A': app.module_args = optarg; break;
		case 't': app.token = optarg; break;
		case 'p': app.pin_file = optarg; break;
		case 'S': app.shares_from = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("meshroot-appliance %s\n", MESHROOT_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	mr_dirlock_cmdline(argv[0], argc - optind, argv + optind, cmdline, sizeof(cmdline));
	app.cmdline = cmdline;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			rc = commands[i].run(&app, argc - optind, argv + optind);
			mr_app_close(&app);
			return rc;
		}
	}
	fprintf(stderr, "error: unknown command '%s' (see --help)\n", argv[optind]);
	return 2;
}

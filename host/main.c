/*
 * meshroot: the admin-host side of the offline root. Global options, then
 * one command (cmd_<name>.c). See DESIGN.md for the interface contract.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"
#include "cmdtab.h"
#include "mr_pointpool.h"
#include "mr_pubkey.h"
#include "mr_progress.h"
#include "wslock.h"

/* What a command does to the workspace (wslock.h). */
enum { WS_READ, WS_WRITE, WS_CREATE /* writes, and makes it when missing */ };

static const struct {
	const char *name;
	int (*run)(const mr_host_opts *, int, char **);
	int ws;
} commands[] = {
	{ "cluster", cmd_cluster, WS_CREATE },
	{ "media", cmd_media, WS_CREATE }, /* export: WS_READ (lock_mode) */
	{ "bundle", cmd_bundle, WS_WRITE },
	{ "verify", cmd_verify, WS_READ },
	{ "status", cmd_status, WS_READ },
	{ "root", cmd_root, WS_WRITE },
	{ "audit", cmd_audit, WS_READ },
	{ "submit", cmd_submit, WS_CREATE },
	{ "device", cmd_device, WS_CREATE },
};

/* The command's use of the workspace for these arguments: --help and a
 * usage error touch nothing, and `media export` only reads. */
static int
lock_mode(int ws, int argc, char **argv)
{
	if (argc < 2)
		return WS_READ; /* a usage error */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return WS_READ;
	if (strcmp(argv[0], "media") == 0 && strcmp(argv[1], "import") != 0)
		return WS_READ;
	return ws;
}

/* Runs command i, owning the workspace when it writes it. */
static int
run(size_t i, const mr_host_opts *o, int argc, char **argv, const char *prog)
{
	char what[256];
	mr_dirlock lock;
	mr_diag d;
	int mode = lock_mode(commands[i].ws, argc, argv), r, rc;

	mr_dirlock_init(&lock);
	if (mode != WS_READ) {
		mr_diag_clear(&d);
		mr_dirlock_cmdline(prog, argc, argv, what, sizeof(what));
		if ((r = mr_wslock_take(o->workspace, mode == WS_CREATE, what, &lock, &d)) != MR_OK) {
			mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
			return mr_exit_code(r);
		}
	}
	rc = commands[i].run(o, argc, argv);
	mr_dirlock_release(&lock);
	return rc;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		/* For the completions and man/check.sh: the command table. */
		{ "help-commands", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	mr_host_opts o;
	const char *env = getenv("MESHROOT_WORKSPACE");
	int c;

	/* wolfSSL's ECC points in one reused region (mr_pointpool.h): media
	 * export frees the tables set aside for each request's key, and
	 * malloc would give them back and fault them in again each time. */
	(void)mr_pointpool_install(2048);
	mr_sig_hold_init();
	/* Meters on stderr, so that stdout holds only what the command reports. */
	mr_progress_setup(&(mr_progress_console){ NULL, NULL, MR_PROGRESS_LOG });
	o.workspace = env != NULL ? env : "meshroot-workspace";
	opterr = 0; /* our own one-line errors */
	while ((c = getopt_long(argc, argv, "+:", opts, NULL)) != -1) {
		switch (c) {
		case 'w': o.workspace = optarg; break;
		case 'h': HOST_HELP(stdout, NULL); return MR_EXIT_OK;
		case 'V': printf("meshroot %s\n", MESHROOT_VERSION); return MR_EXIT_OK;
		case 'C': mr_cli_list(stdout, &mr_host_cli); return MR_EXIT_OK;
		default: return HOST_OPT_ERROR(NULL, c, argv);
		}
	}
	if (optind >= argc)
		return HOST_USAGE(NULL, "no command given");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return run(i, &o, argc - optind, argv + optind, argv[0]);
	return HOST_USAGE(NULL, "unknown command '%s'", argv[optind]);
}

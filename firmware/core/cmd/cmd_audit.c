/*
 * `audit export --to DIR`: hands the audit log to an auditor. The export
 * itself is logged, a checkpoint over everything (export record included)
 * is signed with the token's audit key, and DIR receives:
 *
 *   audit.log       every record, byte for byte
 *   checkpoint      the signed checkpoint just made (C2SP signed note)
 *   checkpoints     every checkpoint signed so far, oldest first
 *   audit-key.pub   the audit key's verifier key (as published at the ceremony)
 *   root-cert.pem   the root, for reference
 *
 * `meshroot audit verify DIR` checks it on the host (docs/audit.md).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_filecopy.h"
#include "mr_fileio.h"
#include "mr_pem.h"
#include "mr_progress.h"

/* The first max bytes of the state file `name` to dir/as, in pieces (the
 * log grows with every certificate ever issued). */
static int
copy_state(mr_app *app, const char *name, uint64_t max, const char *dir, const char *as,
    mr_diag *d)
{
	char from[4096], to[4096];

	if (mr_app_path(app, from, sizeof(from), name) != MR_OK ||
	    mr_path_join(to, sizeof(to), dir, as) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	return mr_file_copy_atomic(from, to, max, 0644, d);
}

static int
audit_export(mr_app *app, const char *dir)
{
	mr_diag d;
	mr_record rec;
	char cp[MR_CHECKPOINT_MAX], path[4096];
	size_t cp_len = 0;
	int r;

	mr_diag_clear(&d);
	if ((r = mr_app_load(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((r = mr_app_open_token(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((r = mr_mkdirs(dir, 0755, &d)) != MR_OK)
		return mr_fail(r, &d);
	mr_record_init(&rec);
	mr_record_add(&rec, "to", dir);
	if ((r = mr_app_audit(app, "export", &rec, &d)) != MR_OK ||
	    (r = mr_app_checkpoint(app, cp, sizeof(cp), &cp_len, &d)) != MR_OK)
		return mr_fail(MR_E_AUDIT, &d);
	/* The log up to the record the checkpoint signs, and no further: the
	 * export is exactly the checkpointed log. */
	if ((r = copy_state(app, "audit.log", mr_audit_bytes(&app->audit), dir, "audit.log",
		 &d)) != MR_OK ||
	    (r = copy_state(app, "audit.checkpoints", MR_FILE_COPY_ALL, dir, "checkpoints",
		&d)) != MR_OK ||
	    (r = copy_state(app, "audit-key.pub", MR_FILE_COPY_ALL, dir, "audit-key.pub",
		&d)) != MR_OK ||
	    (r = copy_state(app, "root-cert.pem", MR_FILE_COPY_ALL, dir, "root-cert.pem",
		&d)) != MR_OK)
		return mr_fail(r, &d);
	/* The checkpoint last: its presence marks a complete export. */
	if (mr_path_join(path, sizeof(path), dir, "checkpoint") != MR_OK ||
	    (r = mr_file_write_atomic(path, cp, cp_len, 0644, &d)) != MR_OK)
		return mr_fail(r != MR_OK ? r : MR_E_RANGE, &d);
	printf("audit log exported to %s: %zu records, checkpoint signed by %s\n", dir,
	    mr_audit_size(&app->audit), app->audit_key.name);
	return 0;
}

int
cmd_audit(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL;
	int c;

	if (argc >= 2 && (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		APP_HELP(stdout, "audit");
		return MR_EXIT_OK;
	}
	if (argc < 2)
		return APP_USAGE("audit", "audit needs export");
	if (strcmp(argv[1], "export") != 0)
		return APP_USAGE("audit", "unknown audit command '%s'", argv[1]);
	optind = 0; /* 0: glibc fully re-initialises its scanner */
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'h': APP_HELP(stdout, "audit"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("audit", c, argv + 1);
		}
	}
	if (optind != argc - 1)
		return APP_EXTRA("audit", argv[1 + optind]);
	if (to == NULL)
		return APP_USAGE("audit", "audit export needs --to DIR");
	return audit_export(app, to);
}

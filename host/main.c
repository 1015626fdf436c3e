/*
 * meshroot: the admin-host side of the offline root. Global options, then
 * one command (cmd_<name>.c). See DESIGN.md for the interface contract.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd.h"

static void
usage(FILE *f)
{
	fputs("usage: meshroot [--workspace DIR] COMMAND [ARGS]\n"
	      "\n"
	      "commands:\n"
	      "  cluster new NAME [--key ec-p256|ec-p384|rsa-3072|rsa-4096]\n"
	      "                          make the cluster's intermediate key (0600) and CSR\n"
	      "  cluster import NAME --csr FILE\n"
	      "                          take a CSR whose key was made elsewhere\n"
	      "  media export --to DIR [NAME...]\n"
	      "                          write waiting requests onto the media\n"
	      "  media import --from DIR [--expect-root SHA256]\n"
	      "                          check and take back the appliance's answers\n"
	      "  submit (--usb [SERIAL] | --connect unix:PATH) [NAME...]\n"
	      "                          send waiting requests over the link, wait, check answers\n"
	      "  device (--usb [SERIAL] | --connect unix:PATH) [--audit-from N]\n"
	      "                          the appliance's identity and root (and audit log)\n"
	      "  bundle (NAME... | --all) [--out DIR] [--secret-yaml] [--format cacerts|tls] [--crl]\n"
	      "                          write the Istio cacerts file set (default out/NAME/)\n"
	      "  verify DIR...           check a cacerts directory as istiod would, plus hygiene\n"
	      "  status [--warn-days N] [--root-warn-days N] [--crl-warn-days N]\n"
	      "                          each cluster: state, expiry, days left; warnings;\n"
	      "                          exit 0 fine, 1 warning, 2 critical, 3 unknown\n"
	      "  cluster renew NAME [--key TYPE]\n"
	      "                          new key and request; the old pair serves until import\n"
	      "  root rotate --from DIR [--expect-root SHA256]\n"
	      "                          pin the appliance's new root through its cross-certificate\n"
	      "  root finish             end the transition (no cluster left on the old root)\n"
	      "  audit verify|show|report DIR ...\n"
	      "                          check and read an appliance audit export (docs/audit.md)\n"
	      "\n"
	      "The workspace defaults to $MESHROOT_WORKSPACE, else ./meshroot-workspace.\n",
	    f);
}

static const struct {
	const char *name;
	int (*run)(const mr_host_opts *, int, char **);
} commands[] = {
	{ "cluster", cmd_cluster },
	{ "media", cmd_media },
	{ "bundle", cmd_bundle },
	{ "verify", cmd_verify },
	{ "status", cmd_status },
	{ "root", cmd_root },
	{ "audit", cmd_audit },
	{ "submit", cmd_submit },
	{ "device", cmd_device },
};

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "workspace", required_argument, NULL, 'w' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	mr_host_opts o;
	const char *env = getenv("MESHROOT_WORKSPACE");
	int c;

	o.workspace = env != NULL ? env : "meshroot-workspace";
	while ((c = getopt_long(argc, argv, "+", opts, NULL)) != -1) {
		switch (c) {
		case 'w': o.workspace = optarg; break;
		case 'h': usage(stdout); return 0;
		case 'V': printf("meshroot %s\n", MESHROOT_VERSION); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[optind], commands[i].name) == 0)
			return commands[i].run(&o, argc - optind, argv + optind);
	fprintf(stderr, "error: unknown command '%s' (see --help)\n", argv[optind]);
	return 2;
}

/*
 * `cluster new NAME [--key TYPE]` and `cluster import NAME --csr FILE`:
 * a cluster enters the workspace with its request. `new` makes the key
 * here (0600, never leaves this host); `import` takes a CSR whose key was
 * made elsewhere, so that cluster's file set will lack ca-key.pem.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cmd.h"
#include "cmdtab.h"
#include "keygen.h"
#include "mr_cluster.h"
#include "mr_exit.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_progress.h"
#include "renew.h"
#include "workspace.h"

static int
fail(const mr_diag *d, int err)
{
	mr_progress_stderr("error: %s\n", mr_diag_text(d, err));
	/* A bad name is a bad argument: a usage error. */
	return err == MR_E_ARG ? MR_EXIT_USAGE : mr_host_exit(err);
}

static int
prepare_dir(const mr_host_opts *o, const char *name, mr_diag *d)
{
	char path[4096];

	if (!mr_cluster_name_ok(name))
		return mr_diag_set(d, MR_E_ARG, "cluster name \"%s\" %s", name,
		    mr_cluster_name_why(name));
	if (mr_ws_path(o, name, NULL, path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "workspace path too long");
	if (mr_path_exists(path))
		return mr_diag_set(d, MR_E_EXISTS, "cluster %s already exists in %s", name,
		    o->workspace);
	return mr_mkdirs(path, 0700, d);
}

static void
print_request(const char *name, const uint8_t *der, size_t len)
{
	uint8_t fp[32];
	char hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];

	mr_fp_sha256(der, len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	mr_fp_words(fp, words, sizeof(words));
	printf("cluster %s: request ready\n  CSR SHA-256: %s\n  words:     %s\n", name, hex, words);
}

static int
cluster_new(const mr_host_opts *o, const char *name, mr_key_type type)
{
	mr_keygen_result kg;
	mr_diag d;
	char path[4096];
	int r;

	mr_diag_clear(&d);
	if ((r = prepare_dir(o, name, &d)) != MR_OK)
		return fail(&d, r);
	if ((r = mr_keygen_cluster(type, name, &kg, &d)) != MR_OK)
		goto out;
	if (mr_ws_path(o, name, "ca-key.pem", path, sizeof(path)) != MR_OK ||
	    (r = mr_file_write_atomic(path, kg.key_pem, kg.key_pem_len, 0600, &d)) != MR_OK)
		goto out;
	if (mr_ws_path(o, name, "csr.pem", path, sizeof(path)) != MR_OK ||
	    (r = mr_ws_write_pem(path, "CERTIFICATE REQUEST", kg.csr_der, kg.csr_der_len,
		 0644, &d)) != MR_OK)
		goto out;
	printf("cluster %s: %s key written to %s/clusters/%s/ca-key.pem (0600)\n", name,
	    mr_key_type_name(type), o->workspace, name);
	print_request(name, kg.csr_der, kg.csr_der_len);
	r = MR_OK;
out:
	explicit_bzero(&kg, sizeof(kg));
	return r == MR_OK ? MR_EXIT_OK : fail(&d, r);
}

static int
cluster_import(const mr_host_opts *o, const char *name, const char *csr_path)
{
	uint8_t der[MR_CSR_MAX_DER];
	size_t len = 0;
	mr_csr csr;
	mr_diag d;
	char path[4096];
	int r;

	mr_diag_clear(&d);
	if (!mr_cluster_name_ok(name)) {
		mr_diag_set(&d, MR_E_ARG, "cluster name \"%s\" %s", name, mr_cluster_name_why(name));
		return fail(&d, MR_E_ARG);
	}
	/* Check the request before anything is created. */
	if ((r = mr_ws_read_csr(csr_path, der, sizeof(der), &len, &csr, &d)) != MR_OK)
		return fail(&d, r);
	if ((r = prepare_dir(o, name, &d)) != MR_OK)
		return fail(&d, r);
	if (mr_ws_path(o, name, "csr.pem", path, sizeof(path)) != MR_OK ||
	    (r = mr_ws_write_pem(path, "CERTIFICATE REQUEST", der, len, 0644, &d)) != MR_OK)
		return fail(&d, r);
	printf("cluster %s: imported a %s request (its key stays where it was made;\n"
	       "  the file set will lack ca-key.pem)\n", name, mr_key_type_name(csr.spki.type));
	print_request(name, der, len);
	return MR_EXIT_OK;
}

int
cmd_cluster(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "csr", required_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	mr_key_type type = MR_KEY_EC_P256;
	int key_given = 0;
	const char *csr = NULL, *sub, *name;
	int c;

	if (argc < 2)
		return HOST_USAGE("cluster", "cluster needs new, import or renew");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		HOST_HELP(stdout, "cluster");
		return MR_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "new") != 0 && strcmp(sub, "renew") != 0 && strcmp(sub, "import") != 0)
		return HOST_USAGE("cluster", "unknown cluster command '%s'", sub);
	optind = 0; /* 0: glibc fully re-initialises its scanner */
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			type = mr_key_type_parse(optarg);
			if (type == MR_KEY_UNKNOWN || type == MR_KEY_RSA_2048)
				return HOST_USAGE("cluster",
				    "--key must be ec-p256, ec-p384, rsa-3072 or rsa-4096");
			key_given = 1;
			break;
		case 'c': csr = optarg; break;
		case 'h': HOST_HELP(stdout, "cluster"); return MR_EXIT_OK;
		default: return HOST_OPT_ERROR("cluster", c, argv + 1);
		}
	}
	if (optind >= argc - 1)
		return HOST_USAGE("cluster", "cluster %s needs a NAME", sub);
	if (optind + 1 != argc - 1)
		return HOST_EXTRA("cluster", argv[1 + optind + 1]);
	name = argv[1 + optind];
	if (strcmp(sub, "new") == 0)
		return cluster_new(o, name, type);
	if (strcmp(sub, "renew") == 0)
		return mr_host_cluster_renew(o, name, key_given ? type : MR_KEY_UNKNOWN);
	if (strcmp(sub, "import") == 0) {
		if (csr == NULL)
			return HOST_USAGE("cluster", "cluster import needs --csr FILE");
		return cluster_import(o, name, csr);
	}
	return HOST_USAGE("cluster", "unknown cluster command '%s'", sub);
}

/*
 * `bundle NAME... [--out DIR] [--secret-yaml]`: writes each cluster's
 * Istio plug-in CA file set, then runs the same checks as `meshroot verify`
 * on what it wrote, so a set that istiod would reject never looks finished.
 *
 *   ca-cert.pem     the intermediate
 *   ca-key.pem      its key, 0600 (absent for `cluster import` clusters)
 *   root-cert.pem   the pinned root
 *   cert-chain.pem  ca-cert.pem then the root: istiod clamps workload
 *                   lifetimes to the FIRST certificate of the chain
 *   cacerts.yaml    with --secret-yaml: Secret `cacerts` in istio-system
 *                   with exactly those four keys
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd.h"
#include "mr_fileio.h"
#include "mr_pem.h"
#include "verify.h"
#include "workspace.h"

static const char *const set_files[] = { "ca-cert.pem", "ca-key.pem", "root-cert.pem",
	"cert-chain.pem" };

static int
read_whole(const char *path, uint8_t **data, size_t *len, mr_diag *d)
{
	return mr_file_read(path, 1u << 20, data, len, d);
}

static int
write_secret_yaml(const char *dir, int has_key, mr_diag *d)
{
	static const char b64[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char path[4096];
	size_t cap = 65536, o = 0;
	char *y = malloc(cap);
	int r = MR_E_INTERNAL;

	if (y == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	o += (size_t)snprintf(y + o, cap - o,
	    "# Istio plug-in CA certificates. Apply with:\n"
	    "#   kubectl apply -f cacerts.yaml\n"
	    "apiVersion: v1\n"
	    "kind: Secret\n"
	    "metadata:\n"
	    "  name: cacerts\n"
	    "  namespace: istio-system\n"
	    "type: Opaque\n"
	    "data:\n");
	for (size_t f = 0; f < 4; f++) {
		uint8_t *data = NULL;
		size_t len = 0;
		if (!has_key && strcmp(set_files[f], "ca-key.pem") == 0)
			continue;
		if (mr_path_join(path, sizeof(path), dir, set_files[f]) != MR_OK ||
		    (r = read_whole(path, &data, &len, d)) != MR_OK)
			goto out;
		if (o + 8 + strlen(set_files[f]) + (len + 2) / 3 * 4 + 2 > cap) {
			explicit_bzero(data, len);
			free(data);
			r = mr_diag_set(d, MR_E_RANGE, "file set too large for the manifest");
			goto out;
		}
		o += (size_t)snprintf(y + o, cap - o, "  %s: ", set_files[f]);
		for (size_t i = 0; i < len; i += 3) {
			unsigned v = (unsigned)data[i] << 16;
			if (i + 1 < len)
				v |= (unsigned)data[i + 1] << 8;
			if (i + 2 < len)
				v |= data[i + 2];
			y[o++] = b64[(v >> 18) & 63];
			y[o++] = b64[(v >> 12) & 63];
			y[o++] = i + 1 < len ? b64[(v >> 6) & 63] : '=';
			y[o++] = i + 2 < len ? b64[v & 63] : '=';
		}
		y[o++] = '\n';
		explicit_bzero(data, len);
		free(data);
	}
	/* The manifest holds the private key: same protection as ca-key.pem. */
	if (mr_path_join(path, sizeof(path), dir, "cacerts.yaml") != MR_OK)
		r = mr_diag_set(d, MR_E_RANGE, "path too long");
	else
		r = mr_file_write_atomic(path, y, o, 0600, d);
out:
	explicit_bzero(y, cap);
	free(y);
	return r;
}

static int
bundle_one(const mr_host_opts *o, const char *name, const char *out_root, int yaml,
    const uint8_t *root_pem, size_t root_pem_len)
{
	char dir[4096], src[4096], dst[4096];
	uint8_t *cert = NULL, *key = NULL, *chain = NULL;
	size_t cert_len = 0, key_len = 0;
	int r = MR_E_RANGE, has_key;
	mr_diag d;

	mr_diag_clear(&d);
	if (!mr_ws_cluster_issued(o, name)) {
		fprintf(stderr, "error: cluster %s: no certificate for its current request yet "
		    "(media export / sign / media import first)\n", name);
		return 1;
	}
	if (snprintf(dir, sizeof(dir), "%s/%s", out_root, name) >= (int)sizeof(dir) ||
	    (r = mr_mkdirs(dir, 0700, &d)) != MR_OK)
		goto fail;
	if (mr_ws_path(o, name, "ca-cert.pem", src, sizeof(src)) != MR_OK ||
	    (r = read_whole(src, &cert, &cert_len, &d)) != MR_OK)
		goto fail;
	if (mr_path_join(dst, sizeof(dst), dir, "ca-cert.pem") != MR_OK ||
	    (r = mr_file_write_atomic(dst, cert, cert_len, 0644, &d)) != MR_OK)
		goto fail;
	if (mr_path_join(dst, sizeof(dst), dir, "root-cert.pem") != MR_OK ||
	    (r = mr_file_write_atomic(dst, root_pem, root_pem_len, 0644, &d)) != MR_OK)
		goto fail;
	chain = malloc(cert_len + root_pem_len);
	if (chain == NULL) {
		r = mr_diag_set(&d, MR_E_NOMEM, "out of memory");
		goto fail;
	}
	memcpy(chain, cert, cert_len);
	memcpy(chain + cert_len, root_pem, root_pem_len);
	if (mr_path_join(dst, sizeof(dst), dir, "cert-chain.pem") != MR_OK ||
	    (r = mr_file_write_atomic(dst, chain, cert_len + root_pem_len, 0644, &d)) != MR_OK)
		goto fail;
	has_key = mr_ws_path(o, name, "ca-key.pem", src, sizeof(src)) == MR_OK &&
	    mr_path_exists(src);
	if (has_key) {
		if ((r = read_whole(src, &key, &key_len, &d)) != MR_OK ||
		    mr_path_join(dst, sizeof(dst), dir, "ca-key.pem") != MR_OK ||
		    (r = mr_file_write_atomic(dst, key, key_len, 0600, &d)) != MR_OK)
			goto fail;
	}
	if (yaml && (r = write_secret_yaml(dir, has_key, &d)) != MR_OK)
		goto fail;
	printf("cluster %s: file set written to %s/\n", name, dir);
	if (!has_key)
		printf("cluster %s: no ca-key.pem here (key made elsewhere): add it before applying\n",
		    name);
	else if (mr_host_verify_dir(dir, stdout, time(NULL)) != 0) {
		fprintf(stderr, "error: cluster %s: the written file set fails verification\n", name);
		r = MR_E_CERT;
		goto out;
	}
	if (yaml)
		printf("  kubectl apply -f %s/cacerts.yaml\n", dir);
	else
		printf("  kubectl create secret generic cacerts -n istio-system "
		       "--from-file=%s/ca-cert.pem --from-file=%s/ca-key.pem "
		       "--from-file=%s/root-cert.pem --from-file=%s/cert-chain.pem\n",
		    dir, dir, dir, dir);
	r = MR_OK;
	goto out;
fail:
	fprintf(stderr, "error: cluster %s: %s\n", name, mr_diag_text(&d, r));
out:
	if (key != NULL)
		explicit_bzero(key, key_len);
	free(key);
	free(cert);
	free(chain);
	return r == MR_OK ? 0 : 1;
}

int
cmd_bundle(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "secret-yaml", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = "out";
	char path[4096];
	uint8_t *root = NULL;
	size_t root_len = 0;
	int c, yaml = 0, failed = 0;
	mr_diag d;

	optind = 0; /* 0: glibc fully re-initialises its scanner */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'y': yaml = 1; break;
		case 'h':
			printf("usage: meshroot [--workspace DIR] bundle NAME... [--out DIR] [--secret-yaml]\n");
			return 0;
		default: return 2;
		}
	}
	if (optind >= argc) {
		fprintf(stderr, "usage: meshroot [--workspace DIR] bundle NAME... [--out DIR] [--secret-yaml]\n");
		return 2;
	}
	mr_diag_clear(&d);
	if (mr_path_join(path, sizeof(path), o->workspace, "root-cert.pem") != MR_OK ||
	    read_whole(path, &root, &root_len, &d) != MR_OK) {
		fprintf(stderr, "error: no pinned root in %s (media import first)\n", o->workspace);
		return 1;
	}
	for (int i = optind; i < argc; i++)
		failed |= bundle_one(o, argv[i], out, yaml, root, root_len);
	free(root);
	return failed;
}

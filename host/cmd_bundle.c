/*
 * `bundle (NAME... | --all) [--out DIR] [--secret-yaml]`: writes each cluster's
 * Istio plug-in CA file set, then runs the same checks as `meshroot verify`
 * on what it wrote, so a set that istiod would reject never looks finished.
 *
 *   ca-cert.pem     the intermediate
 *   ca-key.pem      its key, 0600 (absent for `cluster import` clusters)
 *   root-cert.pem   the pinned root
 *   cert-chain.pem  ca-cert.pem then the root: istiod clamps workload
 *                   lifetimes to the FIRST certificate of the chain
 *   ca-crl.pem      with --crl: the intermediate's CRL (signed here with
 *                   ca-key.pem) then the root's (from the appliance):
 *                   istiod then wants a CRL from every cert in cert-chain.pem
 *   cacerts.yaml    with --secret-yaml: Secret `cacerts` in istio-system
 *                   with exactly those files
 *   kustomization.yaml  with --kustomize: a secretGenerator for the same
 *                   Secret from the files beside it, for GitOps
 *                   (docs/gitops.md: never commit ca-key.pem unencrypted)
 *
 * --format tls writes the kubernetes.io/tls names istiod also accepts
 * instead: tls.crt (the intermediate), tls.key (its key), ca.crt (the
 * root); istiod builds the chain as tls.crt then ca.crt.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmdtab.h"
#include "crl.h"
#include "mr_base64.h"
#include "mr_fileio.h"
#include "mr_pem.h"
#include "mr_progress.h"
#include "renew.h"
#include "rotate.h"
#include "verify.h"
#include "workspace.h"

/* The file set's names, in the order of the set (kustomization.yaml). */
static const char *const set_files[] = { "ca-cert.pem", "ca-key.pem", "root-cert.pem",
	"cert-chain.pem", "ca-crl.pem" };
static const char *const tls_files[] = { "tls.crt", "tls.key", "ca.crt" };

static struct {
	int crl;           /* --crl: write ca-crl.pem */
	unsigned crl_days; /* --crl-days: the intermediate CRL's nextUpdate */
	int tls;           /* --format tls */
} opt;

static int
read_whole(const char *path, uint8_t **data, size_t *len, mr_diag *d)
{
	return mr_file_read(path, 1u << 20, data, len, d);
}

/* The files of one set as staged, for the manifest. */
typedef struct {
	const char *name;
	const uint8_t *data;
	size_t len;
} set_file;

static int
write_secret_yaml(mr_file_group *g, const char *dir, const set_file *files, size_t n,
    mr_diag *d)
{
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
	    "type: %s\n"
	    "data:\n", opt.tls ? "kubernetes.io/tls" : "Opaque");
	for (size_t f = 0; f < n; f++) {
		if (o + 8 + strlen(files[f].name) + MR_BASE64_LEN(files[f].len) + 2 > cap) {
			r = mr_diag_set(d, MR_E_RANGE, "file set too large for the manifest");
			goto out;
		}
		o += (size_t)snprintf(y + o, cap - o, "  %s: ", files[f].name);
		/* The size check above leaves room for the encoding and its NUL. */
		if (mr_base64_encode(files[f].data, files[f].len, y + o, cap - o) != MR_OK) {
			r = mr_diag_set(d, MR_E_INTERNAL, "cannot encode %s", files[f].name);
			goto out;
		}
		o += MR_BASE64_LEN(files[f].len);
		y[o++] = '\n';
	}
	/* The manifest holds the private key: same protection as ca-key.pem. */
	if (mr_path_join(path, sizeof(path), dir, "cacerts.yaml") != MR_OK)
		r = mr_diag_set(d, MR_E_RANGE, "path too long");
	else
		r = mr_file_group_stage(g, path, y, o, 0600, d);
out:
	explicit_bzero(y, cap);
	free(y);
	return r;
}

/*
 * kustomization.yaml: `kubectl kustomize DIR` makes the same Secret as
 * cacerts.yaml. istiod looks for the exact name `cacerts`, so the
 * generator's name-suffix hash is off. Written for kustomize v2 (kubectl
 * 1.20) as well as today's: `files` without keys (the key is the file
 * name), nothing newer. ca-key.pem is listed even when it was made
 * elsewhere: a set without it must not render (istiod would refuse it).
 */
static int
write_kustomization(mr_file_group *g, const char *dir, mr_diag *d)
{
	char path[4096], y[2048];
	size_t o = 0;
	int w;

	w = snprintf(y, sizeof(y),
	    "# Istio plug-in CA: the Secret istio-system/cacerts from the files beside this one.\n"
	    "# In this directory: `kubectl kustomize .` shows it, `kubectl apply -k .` applies it.\n"
	    "# %s is the intermediate CA's private key: never commit it unencrypted\n"
	    "# (docs/gitops.md: sealed-secrets or SOPS).\n"
	    "apiVersion: kustomize.config.k8s.io/v1beta1\n"
	    "kind: Kustomization\n"
	    "namespace: istio-system\n"
	    "generatorOptions:\n"
	    "  disableNameSuffixHash: true\n"
	    "secretGenerator:\n"
	    "- name: cacerts\n"
	    "  namespace: istio-system\n"
	    "  type: %s\n"
	    "  files:\n", opt.tls ? "tls.key" : "ca-key.pem",
	    opt.tls ? "kubernetes.io/tls" : "Opaque");
	if (w < 0 || (size_t)w >= sizeof(y))
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	o = (size_t)w;
	for (size_t f = 0; f < (opt.tls ? 3u : opt.crl ? 5u : 4u); f++) {
		w = snprintf(y + o, sizeof(y) - o, "  - %s\n", opt.tls ? tls_files[f] : set_files[f]);
		if (w < 0 || (size_t)w >= sizeof(y) - o)
			return mr_diag_set(d, MR_E_RANGE, "kustomization too long");
		o += (size_t)w;
	}
	if (mr_path_join(path, sizeof(path), dir, "kustomization.yaml") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	return mr_file_group_stage(g, path, y, o, 0644, d);
}

/* ca-crl.pem: the intermediate's CRL (signed now with its key), then the
 * root's latest CRL from the appliance. */
static int
write_crl(mr_file_group *g, const mr_host_opts *o, const char *name, const char *dir,
    int has_key, uint8_t **crl, size_t *crl_len, mr_diag *d)
{
	static char inter[64 * 1024];
	char path[4096];
	uint8_t *root_crl = NULL, *all = NULL;
	size_t root_len = 0, inter_len = 0;
	int r;

	if (!has_key)
		return mr_diag_set(d, MR_E_ARG,
		    "--crl needs the cluster's ca-key.pem to sign the intermediate's CRL");
	if (mr_path_join(path, sizeof(path), o->workspace, "root.crl.pem") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if ((r = read_whole(path, &root_crl, &root_len, d)) != MR_OK) {
		if (r == MR_E_NOTFOUND) {
			mr_diag_clear(d);
			return mr_diag_set(d, r, "no root CRL in the workspace: run "
			    "`meshroot-appliance crl --media DIR`, then `meshroot media import`");
		}
		return r;
	}
	if ((r = mr_host_crl_intermediate(o, name, opt.crl_days, time(NULL), inter, sizeof(inter),
		 &inter_len, d)) != MR_OK)
		goto out;
	if ((all = malloc(inter_len + root_len)) == NULL) {
		r = mr_diag_set(d, MR_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(all, inter, inter_len);
	memcpy(all + inter_len, root_crl, root_len);
	if (mr_path_join(path, sizeof(path), dir, "ca-crl.pem") != MR_OK)
		r = mr_diag_set(d, MR_E_RANGE, "path too long");
	else
		r = mr_file_group_stage(g, path, all, inter_len + root_len, 0644, d);
	if (r == MR_OK) {
		*crl = all;
		*crl_len = inter_len + root_len;
		all = NULL;
	}
out:
	free(all);
	free(root_crl);
	return r;
}

/* A file set staged in the group, finished once the group is durable. */
typedef struct {
	char name[64];
	char dir[4096];
	int has_key;
} staged_set;

/* Sets a group takes before its commit: each costs two syncs whatever
 * its size, where one atomic write a file cost two a file. */
#define BUNDLE_GROUP 16

/* Stages one cluster's file set in g. 0 staged (or, with `all`, skipped as
 * waiting: *skipped set), 1 failed (nothing of it staged). */
static int
stage_one(mr_file_group *g, const mr_host_opts *o, const char *name, const char *out_root,
    int yaml, int kust, int all, int *skipped, staged_set *st)
{
	char src[4096], dst[4096];
	uint8_t *cert = NULL, *key = NULL, *chain = NULL, *roots = NULL, *issuer = NULL;
	uint8_t *crl = NULL;
	size_t cert_len = 0, key_len = 0, roots_len = 0, issuer_len = 0, crl_len = 0;
	size_t first = g->n, nf = 0;
	set_file files[5];
	int r = MR_E_RANGE, has_key;
	mr_diag d;

	mr_diag_clear(&d);
	/* A renewal interrupted after its certificate was imported. */
	if ((r = mr_host_renew_finish(o, name, &d)) != MR_OK)
		goto fail;
	if (!mr_ws_cluster_issued(o, name)) {
		if (all) {
			/* --all: the fleet as it is; a waiting cluster is no error. */
			printf("cluster %s: waiting for its certificate, skipped\n", name);
			*skipped = 1;
			return 0;
		}
		mr_progress_stderr("error: cluster %s: no certificate for its current request yet "
		    "(media export / sign / media import first)\n", name);
		return 1;
	}
	snprintf(st->name, sizeof(st->name), "%s", name);
	if (snprintf(st->dir, sizeof(st->dir), "%s/%s", out_root, name) >= (int)sizeof(st->dir) ||
	    (r = mr_mkdirs(st->dir, 0700, &d)) != MR_OK)
		goto fail;
	if (mr_ws_path(o, name, "ca-cert.pem", src, sizeof(src)) != MR_OK ||
	    (r = read_whole(src, &cert, &cert_len, &d)) != MR_OK)
		goto fail;
	/* During a root rotation root-cert.pem holds both roots, and the
	 * chain ends with the root that issued this intermediate. */
	if ((r = mr_host_bundle_roots(o, cert, cert_len, &roots, &roots_len, &issuer, &issuer_len,
		 &d)) != MR_OK)
		goto fail;
	chain = malloc(cert_len + issuer_len);
	if (chain == NULL) {
		r = mr_diag_set(&d, MR_E_NOMEM, "out of memory");
		goto fail;
	}
	memcpy(chain, cert, cert_len);
	memcpy(chain + cert_len, issuer, issuer_len);
	has_key = mr_ws_path(o, name, "ca-key.pem", src, sizeof(src)) == MR_OK &&
	    mr_path_exists(src);
	if (has_key && (r = read_whole(src, &key, &key_len, &d)) != MR_OK)
		goto fail;
	files[nf++] = (set_file){ opt.tls ? "tls.crt" : "ca-cert.pem", cert, cert_len };
	if (has_key)
		files[nf++] = (set_file){ opt.tls ? "tls.key" : "ca-key.pem", key, key_len };
	files[nf++] = (set_file){ opt.tls ? "ca.crt" : "root-cert.pem", roots, roots_len };
	/* The tls form has no chain file: istiod appends ca.crt to tls.crt. */
	if (!opt.tls)
		files[nf++] = (set_file){ "cert-chain.pem", chain, cert_len + issuer_len };
	for (size_t f = 0; f < nf; f++) {
		int secret = files[f].data == key;
		if (mr_path_join(dst, sizeof(dst), st->dir, files[f].name) != MR_OK) {
			r = mr_diag_set(&d, MR_E_RANGE, "path too long");
			goto fail;
		}
		if ((r = mr_file_group_stage(g, dst, files[f].data, files[f].len,
			 secret ? 0600 : 0644, &d)) != MR_OK)
			goto fail;
	}
	if (opt.crl) {
		if ((r = write_crl(g, o, name, st->dir, has_key, &crl, &crl_len, &d)) != MR_OK)
			goto fail;
		files[nf++] = (set_file){ "ca-crl.pem", crl, crl_len };
	}
	if (yaml && (r = write_secret_yaml(g, st->dir, files, nf, &d)) != MR_OK)
		goto fail;
	if (kust && (r = write_kustomization(g, st->dir, &d)) != MR_OK)
		goto fail;
	st->has_key = has_key;
	r = MR_OK;
	goto out;
fail:
	mr_progress_stderr("error: cluster %s: %s\n", name, mr_diag_text(&d, r));
	/* None of a failed set's files is committed. */
	while (g->n > first) {
		g->n--;
		unlink(g->tmp[g->n]);
	}
out:
	if (key != NULL)
		explicit_bzero(key, key_len);
	free(key);
	free(cert);
	free(chain);
	free(roots);
	free(issuer);
	free(crl);
	return r == MR_OK ? 0 : 1;
}

/* After the commit: the set as written passes the checks of `verify`,
 * and how to apply it. 0 fine, 1 failed. */
static int
finish_one(const staged_set *st, int yaml, int kust)
{
	const char *dir = st->dir, *name = st->name;

	printf("cluster %s: file set written to %s/\n", name, dir);
	if (!st->has_key)
		printf("cluster %s: no ca-key.pem here (key made elsewhere): add it before applying\n",
		    name);
	else if (mr_host_verify_dir(dir, stdout, time(NULL)) != 0) {
		mr_progress_stderr("error: cluster %s: the written file set fails verification\n", name);
		return 1;
	}
	if (kust)
		printf("  kubectl apply -k %s   (GitOps: docs/gitops.md)\n", dir);
	if (yaml)
		printf("  kubectl apply -f %s/cacerts.yaml\n", dir);
	else if (kust)
		;
	else if (opt.tls)
		printf("  kubectl create secret generic cacerts -n istio-system "
		       "--from-file=%s/tls.crt --from-file=%s/tls.key --from-file=%s/ca.crt\n",
		    dir, dir, dir);
	else if (opt.crl)
		printf("  kubectl create secret generic cacerts -n istio-system "
		       "--from-file=%s/ca-cert.pem --from-file=%s/ca-key.pem "
		       "--from-file=%s/root-cert.pem --from-file=%s/cert-chain.pem "
		       "--from-file=%s/ca-crl.pem\n",
		    dir, dir, dir, dir, dir);
	else
		printf("  kubectl create secret generic cacerts -n istio-system "
		       "--from-file=%s/ca-cert.pem --from-file=%s/ca-key.pem "
		       "--from-file=%s/root-cert.pem --from-file=%s/cert-chain.pem\n",
		    dir, dir, dir, dir);
	return 0;
}

/* Makes the group's sets durable (two syncs), then finishes each. Adds
 * to *written and *failed; the group is empty afterwards. */
static void
commit_sets(mr_file_group *g, staged_set *sets, size_t *n, int yaml, int kust, mr_progress *p,
    size_t *written, size_t *failed)
{
	size_t done = 0, files = 0;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	r = mr_file_group_commit(g, &done, &d);
	for (size_t i = 0; i < *n; i++) {
		/* A set is whole when the last of its files (in its directory,
		 * staged in a run) was committed. */
		size_t len = strlen(sets[i].dir);
		while (files < g->n && strncmp(g->dst[files], sets[i].dir, len) == 0 &&
		    g->dst[files][len] == '/')
			files++;
		mr_progress_hold(p);
		if (r != MR_OK && files > done) {
			mr_progress_stderr("error: cluster %s: %s\n", sets[i].name, mr_diag_text(&d, r));
			(*failed)++;
		} else if (finish_one(&sets[i], yaml, kust) != 0) {
			(*failed)++;
		} else {
			(*written)++;
		}
	}
	mr_file_group_free(g);
	mr_file_group_init(g, 0);
	*n = 0;
}

/* Bundles names[0..n), a group of sets at a time. */
static int
bundle_all(const mr_host_opts *o, char *const *names, size_t n, const char *out, int yaml,
    int kust, int all)
{
	static staged_set sets[BUNDLE_GROUP];
	size_t written = 0, waiting = 0, failed = 0, k = 0;
	mr_file_group g;
	mr_progress p;

	mr_file_group_init(&g, 0);
	mr_progress_start(&p, "bundle", n);
	for (size_t i = 0; i < n; i++) {
		int skipped = 0;
		mr_progress_hold(&p);
		if (stage_one(&g, o, names[i], out, yaml, kust, all, &skipped, &sets[k]) != 0)
			failed++;
		else if (skipped)
			waiting++;
		else
			k++;
		if (k == BUNDLE_GROUP || i + 1 == n)
			commit_sets(&g, sets, &k, yaml, kust, &p, &written, &failed);
		mr_progress_step(&p, 1);
	}
	mr_progress_end(&p);
	mr_file_group_free(&g);
	if (all)
		printf("%zu file set(s) written, %zu cluster(s) waiting (skipped)\n", written,
		    waiting);
	else if (n > 1)
		printf("%zu file set(s) written\n", written);
	if (failed > 0 && n > 1)
		mr_progress_stderr("error: %zu file set(s) failed (see above)\n", failed);
	return failed > 0 ? 1 : 0;
}

int
cmd_bundle(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "all", no_argument, NULL, 'a' },
		{ "secret-yaml", no_argument, NULL, 'y' },
		{ "kustomize", no_argument, NULL, 'k' },
		{ "crl", no_argument, NULL, 'c' },
		{ "crl-days", required_argument, NULL, 'C' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *out = "out";
	char path[4096];
	uint8_t *root = NULL;
	size_t root_len = 0;
	int c, yaml = 0, kust = 0, all = 0, failed = 0;
	mr_diag d;

	optind = 0; /* 0: glibc fully re-initialises its scanner */
	memset(&opt, 0, sizeof(opt));
	opt.crl_days = 30;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'o': out = optarg; break;
		case 'a': all = 1; break;
		case 'y': yaml = 1; break;
		case 'k': kust = 1; break;
		case 'c': opt.crl = 1; break;
		case 'C':
			opt.crl_days = (unsigned)strtoul(optarg, NULL, 10);
			if (opt.crl_days == 0 || opt.crl_days > 3653)
				return HOST_USAGE("bundle", "--crl-days must be 1..3653");
			break;
		case 'f':
			if (strcmp(optarg, "tls") == 0)
				opt.tls = 1;
			else if (strcmp(optarg, "cacerts") != 0)
				return HOST_USAGE("bundle", "--format is cacerts (default) or tls");
			break;
		case 'h':
			HOST_HELP(stdout, "bundle");
			return MR_EXIT_OK;
		default: return HOST_OPT_ERROR("bundle", c, argv);
		}
	}
	if (all && optind < argc)
		return HOST_USAGE("bundle", "--all or cluster names, not both");
	if (!all && optind >= argc)
		return HOST_USAGE("bundle", "bundle needs NAME... or --all");
	/* istiod reads ca-crl.pem only beside the cacerts names. */
	if (opt.tls && opt.crl)
		return HOST_USAGE("bundle", "--crl goes with the cacerts format only");
	mr_diag_clear(&d);
	if (mr_path_join(path, sizeof(path), o->workspace, "root-cert.pem") != MR_OK ||
	    read_whole(path, &root, &root_len, &d) != MR_OK) {
		mr_progress_stderr("error: no pinned root in %s (media import first)\n", o->workspace);
		return 1;
	}
	free(root);
	if (all) {
		mr_ws_list l;
		int r;
		if ((r = mr_ws_list_read(o, &l, &d)) != MR_OK) {
			mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
			return 1;
		}
		failed = bundle_all(o, l.names, l.n, out, yaml, kust, 1);
		mr_ws_list_free(&l);
	} else {
		failed = bundle_all(o, argv + optind, (size_t)(argc - optind), out, yaml, kust, 0);
	}
	return failed;
}

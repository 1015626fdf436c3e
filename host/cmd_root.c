/*
 * `root rotate --from DIR [--expect-root SHA256]` and `root finish`: the
 * host's side of a root rotation (rotate.h, docs/rotation.md).
 *
 * The new root is taken only through the old one: the media's
 * cross-certificate (new key and name, issued by the old root) must verify
 * with the pinned root's key and name the new root's key and subject, and
 * the new root must be a clean self-signed root. So a stick cannot swap
 * the pinned root for one the appliance did not make.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd.h"
#include "cmdtab.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_lint.h"
#include "mr_media.h"
#include "mr_record.h"
#include "pemfile.h"
#include "mr_progress.h"
#include "rotate.h"
#include "workspace.h"

static int
fail(const mr_diag *d, int err)
{
	mr_progress_stderr("error: %s\n", mr_diag_text(d, err));
	return mr_host_exit(err);
}

static int
read_media_cert(const char *media, const char *name, uint8_t *der, size_t cap, size_t *len,
    mr_cert *c, mr_diag *d)
{
	char path[4096];

	if (mr_path_join(path, sizeof(path), media, name) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "media path too long");
	return mr_ws_read_cert(path, der, cap, len, c, d);
}

static int
root_rotate(const mr_host_opts *o, const char *media, const char *expect)
{
	uint8_t old_der[MR_WS_CERT_MAX], new_der[MR_WS_CERT_MAX], cross_der[MR_WS_CERT_MAX],
	    media_der[MR_WS_CERT_MAX], fp[32];
	size_t old_len = 0, new_len = 0, cross_len = 0, media_len = 0;
	char path[4096], hex[65], colon[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];
	mr_cert old_root, new_root, cross, media_root;
	uint8_t *old_pem = NULL, *new_pem = NULL, *both = NULL;
	size_t old_pem_len = 0, new_pem_len = 0;
	mr_diag d;
	int r = MR_E_RANGE;

	mr_diag_clear(&d);
	if ((r = mr_ws_read_root(o, old_der, sizeof(old_der), &old_len, &old_root, &d)) != MR_OK)
		return fail(&d, r);
	if (mr_path_join(path, sizeof(path), o->workspace, "roots-transition.pem") == MR_OK &&
	    mr_path_exists(path)) {
		mr_diag_set(&d, MR_E_STATE, "a rotation is still in transition: `meshroot root finish` first");
		return fail(&d, MR_E_STATE);
	}
	if ((r = read_media_cert(media, MR_MEDIA_TOP "/rotation/new-root-cert.pem", new_der,
		 sizeof(new_der), &new_len, &new_root, &d)) != MR_OK ||
	    (r = read_media_cert(media, MR_MEDIA_TOP "/rotation/cross-new-by-old.pem", cross_der,
		 sizeof(cross_der), &cross_len, &cross, &d)) != MR_OK ||
	    (r = read_media_cert(media, MR_MEDIA_ROOT, media_der, sizeof(media_der), &media_len,
		 &media_root, &d)) != MR_OK)
		return fail(&d, r);
	if (mr_der_equal(new_root.whole, old_root.whole)) {
		mr_diag_set(&d, MR_E_STATE, "the media's new root is the pinned root already");
		return fail(&d, MR_E_STATE);
	}
	/* RFC 5280 6.1.3 for the one link old root -> cross-certificate. */
	if (!mr_der_equal(cross.issuer, old_root.subject) ||
	    mr_cert_verify_signature(&cross, &old_root.spki, &d) != MR_OK) {
		mr_diag_set(&d, MR_E_SIG, "the cross-certificate is not signed by the pinned root");
		return fail(&d, MR_E_SIG);
	}
	if (!mr_der_equal(cross.subject, new_root.subject) ||
	    !mr_der_equal(cross.spki.whole, new_root.spki.whole)) {
		mr_diag_set(&d, MR_E_KEY_MISMATCH,
		    "the cross-certificate certifies another key or name than the new root");
		return fail(&d, MR_E_KEY_MISMATCH);
	}
	if (mr_cert_verify_signature(&new_root, &new_root.spki, &d) != MR_OK ||
	    mr_lint_ca(&new_root, MR_LINT_ROOT, NULL, time(NULL), &d) != MR_OK) {
		mr_diag_prefix(&d, "new root");
		return fail(&d, MR_E_CERT);
	}
	if (!mr_der_equal(media_root.whole, new_root.whole)) {
		mr_diag_set(&d, MR_E_STATE, "%s is not the new root", MR_MEDIA_ROOT);
		return fail(&d, MR_E_STATE);
	}
	mr_fp_sha256(new_der, new_len, fp);
	mr_hex_encode(fp, 32, hex);
	if (expect != NULL) {
		char want[65];
		size_t k = 0;
		for (const char *p = expect; *p && k + 1 < sizeof(want); p++)
			if (*p != ':')
				want[k++] = (char)(*p >= 'A' && *p <= 'F' ? *p - 'A' + 'a' : *p);
		want[k] = '\0';
		if (strcmp(want, hex) != 0) {
			mr_diag_set(&d, MR_E_KEY_MISMATCH, "the new root has SHA-256 %s, not the expected %s",
			    hex, want);
			return fail(&d, MR_E_KEY_MISMATCH);
		}
	}
	/* previous, transition, then the pin itself: until the last write
	 * the old root stays pinned. */
	if (mr_path_join(path, sizeof(path), o->workspace, "root-cert.pem") != MR_OK ||
	    (r = mr_file_read(path, 1u << 20, &old_pem, &old_pem_len, &d)) != MR_OK)
		goto out;
	if (mr_path_join(path, sizeof(path), o->workspace, "previous-root-cert.pem") != MR_OK ||
	    (r = mr_file_write_atomic(path, old_pem, old_pem_len, 0644, &d)) != MR_OK)
		goto out;
	if (mr_path_join(path, sizeof(path), media, MR_MEDIA_TOP "/rotation/new-root-cert.pem") !=
		MR_OK ||
	    (r = mr_file_read(path, 1u << 20, &new_pem, &new_pem_len, &d)) != MR_OK)
		goto out;
	if ((both = malloc(old_pem_len + new_pem_len)) == NULL) {
		r = mr_diag_set(&d, MR_E_NOMEM, "out of memory");
		goto out;
	}
	memcpy(both, old_pem, old_pem_len);
	memcpy(both + old_pem_len, new_pem, new_pem_len);
	if (mr_path_join(path, sizeof(path), o->workspace, "roots-transition.pem") != MR_OK ||
	    (r = mr_file_write_atomic(path, both, old_pem_len + new_pem_len, 0644, &d)) != MR_OK)
		goto out;
	if (mr_path_join(path, sizeof(path), o->workspace, "root-cert.pem") != MR_OK) {
		r = mr_diag_set(&d, MR_E_RANGE, "path too long");
		goto out;
	}
	if ((r = mr_ws_write_pem(path, "CERTIFICATE", new_der, new_len, 0644, &d)) != MR_OK)
		goto out;
	mr_fp_hex(fp, 32, colon, sizeof(colon));
	mr_fp_words(fp, words, sizeof(words));
	printf("new root pinned (cross-certified by the old root). Compare with the rotation transcript:\n"
	       "  SHA-256: %s\n  words:   %s\n"
	       "transition: `bundle` now writes both roots in root-cert.pem. Next (docs/rotation.md):\n"
	       "  1. roll the transition root-cert.pem out to every cluster (ISTIO_MULTIROOT_MESH=true)\n"
	       "  2. renew every cluster (`meshroot cluster renew NAME`) and roll out the new sets\n"
	       "  3. `meshroot root finish`, then roll out root-cert.pem with the new root only\n",
	    colon, words);
	r = MR_OK;
out:
	free(old_pem);
	free(new_pem);
	free(both);
	return r == MR_OK ? 0 : fail(&d, r);
}

/* Clusters whose certificate in service is still from the previous root. */
static int
root_finish(const mr_host_opts *o)
{
	char path[4096];
	uint8_t prev_der[MR_WS_CERT_MAX], der[MR_WS_CERT_MAX];
	size_t prev_len = 0, len = 0, left = 0;
	mr_ws_list l;
	mr_cert prev, c;
	mr_diag d;
	int r = MR_E_RANGE;

	mr_diag_clear(&d);
	if (mr_path_join(path, sizeof(path), o->workspace, "roots-transition.pem") != MR_OK ||
	    !mr_path_exists(path)) {
		mr_diag_set(&d, MR_E_STATE, "no root rotation in transition");
		return fail(&d, MR_E_STATE);
	}
	if (mr_path_join(path, sizeof(path), o->workspace, "previous-root-cert.pem") != MR_OK ||
	    (r = mr_ws_read_cert(path, prev_der, sizeof(prev_der), &prev_len, &prev, &d)) != MR_OK)
		return fail(&d, r);
	if ((r = mr_ws_list_read(o, &l, &d)) != MR_OK)
		return fail(&d, r);
	for (size_t i = 0; i < l.n; i++) {
		if (mr_ws_path(o, l.names[i], "ca-cert.pem", path, sizeof(path)) != MR_OK ||
		    !mr_path_exists(path) ||
		    mr_ws_read_cert(path, der, sizeof(der), &len, &c, NULL) != MR_OK)
			continue;
		if (mr_der_equal(c.issuer, prev.subject) &&
		    mr_cert_verify_signature(&c, &prev.spki, NULL) == MR_OK) {
			/* istiod: once root-cert.pem drops the old root, this
			 * cluster's own chain no longer verifies, and its
			 * peers reject its workloads. */
			mr_progress_stderr("error: cluster %s still has an intermediate from the previous "
			    "root: renew it and roll it out first\n", l.names[i]);
			left++;
		}
	}
	mr_ws_list_free(&l);
	if (left > 0)
		return MR_EXIT_REFUSED; /* not a fault: the transition must wait */
	if (mr_path_join(path, sizeof(path), o->workspace, "roots-transition.pem") != MR_OK ||
	    unlink(path) != 0) {
		mr_diag_set(&d, MR_E_IO, "cannot remove %s", path);
		return fail(&d, MR_E_IO);
	}
	printf("transition finished: `bundle` writes root-cert.pem with the new root only;\n"
	       "roll it out to every cluster, then the old root key can be destroyed\n");
	return 0;
}

int
cmd_root(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "from", required_argument, NULL, 'f' },
		{ "expect-root", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *from = NULL, *expect = NULL;
	int c;

	if (argc < 2)
		return HOST_USAGE("root", "root needs rotate or finish");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		HOST_HELP(stdout, "root");
		return MR_EXIT_OK;
	}
	if (strcmp(argv[1], "rotate") != 0 && strcmp(argv[1], "finish") != 0)
		return HOST_USAGE("root", "unknown root command '%s'", argv[1]);
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'f': from = optarg; break;
		case 'e': expect = optarg; break;
		case 'h': HOST_HELP(stdout, "root"); return MR_EXIT_OK;
		default: return HOST_OPT_ERROR("root", c, argv + 1);
		}
	}
	if (optind != argc - 1)
		return HOST_EXTRA("root", argv[1 + optind]);
	if (strcmp(argv[1], "rotate") == 0) {
		if (from == NULL)
			return HOST_USAGE("root", "root rotate needs --from DIR");
		return root_rotate(o, from, expect);
	}
	if (from != NULL || expect != NULL)
		return HOST_USAGE("root", "root finish takes no option");
	return root_finish(o);
}

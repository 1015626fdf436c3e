#include <stdlib.h>
#include <string.h>

#include "mr_fileio.h"
#include "mr_pem.h"
#include "pemfile.h"
#include "rotate.h"
#include "workspace.h"

static int
pem_of(const uint8_t *der, size_t len, uint8_t **out, size_t *out_len, mr_diag *d)
{
	size_t cap = len * 2 + 128;
	char *p = malloc(cap);

	if (p == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	if (mr_pem_write("CERTIFICATE", der, len, p, cap, out_len) != MR_OK) {
		free(p);
		return mr_diag_set(d, MR_E_RANGE, "certificate too large");
	}
	*out = (uint8_t *)p;
	return MR_OK;
}

int
mr_host_bundle_roots(const mr_host_opts *o, const uint8_t *cert_pem, size_t cert_pem_len,
    uint8_t **roots, size_t *roots_len, uint8_t **issuer, size_t *issuer_len, mr_diag *d)
{
	char path[4096];
	mr_pemfile cf, rf;
	mr_cert c;
	int r;

	*roots = *issuer = NULL;
	memset(&cf, 0, sizeof(cf));
	memset(&rf, 0, sizeof(rf));
	if (mr_path_join(path, sizeof(path), o->workspace, "roots-transition.pem") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if (!mr_path_exists(path) &&
	    mr_path_join(path, sizeof(path), o->workspace, "root-cert.pem") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if ((r = mr_file_read(path, 1u << 20, roots, roots_len, d)) != MR_OK)
		return r;
	if ((r = mr_pemfile_parse(cert_pem, cert_pem_len, &cf, d)) != MR_OK ||
	    (r = mr_pemfile_parse(*roots, *roots_len, &rf, d)) != MR_OK)
		goto out;
	r = mr_diag_set(d, MR_E_CERT, "the certificate is not from the pinned root%s",
	    rf.n > 1 ? "s" : "");
	if (cf.n == 0 || mr_cert_parse(cf.blocks[0].der, cf.blocks[0].der_len, &c, NULL) != MR_OK)
		goto out;
	for (size_t i = 0; i < rf.n; i++) {
		mr_cert root;
		if (mr_cert_parse(rf.blocks[i].der, rf.blocks[i].der_len, &root, NULL) != MR_OK ||
		    !mr_der_equal(c.issuer, root.subject) ||
		    mr_cert_verify_signature(&c, &root.spki, NULL) != MR_OK)
			continue;
		mr_diag_clear(d);
		r = pem_of(rf.blocks[i].der, rf.blocks[i].der_len, issuer, issuer_len, d);
		break;
	}
out:
	mr_pemfile_free(&cf);
	mr_pemfile_free(&rf);
	if (r != MR_OK) {
		free(*roots);
		*roots = NULL;
	}
	return r;
}

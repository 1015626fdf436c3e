#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keygen.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "pemfile.h"
#include "mr_progress.h"
#include "cmdtab.h"
#include "renew.h"
#include "workspace.h"

/* The DER SubjectPublicKeyInfo of the private key in a PEM file (SEC1, PKCS#1
 * or PKCS#8), for comparison with a certificate's. */
static int
key_spki(const char *path, uint8_t *spki, size_t cap, size_t *len, mr_diag *d)
{
	mr_pemfile f;
	word32 idx = 0, p8 = 0;
	int r = MR_E_ARG, n = -1;

	memset(&f, 0, sizeof(f));
	if ((r = mr_pemfile_read(path, &f, d)) != MR_OK)
		return r;
	r = MR_E_ARG;
	if (f.n == 0 || f.blocks[0].der_len > UINT32_MAX)
		goto out;
	if (wc_GetPkcs8TraditionalOffset(f.blocks[0].der, &p8, (word32)f.blocks[0].der_len) >= 0)
		idx = p8;
	if (strcmp(f.blocks[0].label, "RSA PRIVATE KEY") != 0) {
		ecc_key k;
		word32 i = 0;
		if (wc_ecc_init(&k) == 0) {
			if (wc_EccPrivateKeyDecode(f.blocks[0].der, &i, &k,
				(word32)f.blocks[0].der_len) == 0 &&
			    wc_ecc_make_pub(&k, NULL) == 0)
				n = wc_EccPublicKeyToDer(&k, spki, (word32)cap, 1);
			wc_ecc_free(&k);
		}
	}
	if (n <= 0 && strcmp(f.blocks[0].label, "EC PRIVATE KEY") != 0) {
		RsaKey k;
		word32 i = idx;
		if (wc_InitRsaKey(&k, NULL) == 0) {
			if (wc_RsaPrivateKeyDecode(f.blocks[0].der, &i, &k,
				(word32)f.blocks[0].der_len) == 0)
				n = wc_RsaKeyToPublicDer(&k, spki, (word32)cap);
			wc_FreeRsaKey(&k);
		}
	}
	if (n > 0) {
		*len = (size_t)n;
		r = MR_OK;
	} else {
		r = mr_diag_set(d, MR_E_ARG, "%s: not an EC or RSA private key", path);
	}
out:
	mr_pemfile_free(&f);
	return r;
}

int
mr_host_renew_pending(const mr_host_opts *o, const char *name)
{
	char path[4096];

	return mr_ws_path(o, name, "ca-key.next.pem", path, sizeof(path)) == MR_OK &&
	    mr_path_exists(path);
}

static int
move(const mr_host_opts *o, const char *name, const char *from, const char *to, mr_diag *d)
{
	char a[4096], b[4096];

	if (mr_ws_path(o, name, from, a, sizeof(a)) != MR_OK ||
	    mr_ws_path(o, name, to, b, sizeof(b)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if (rename(a, b) != 0)
		return mr_diag_set(d, MR_E_IO, "cannot rename %s to %s", a, b);
	return MR_OK;
}

static int
copy(const mr_host_opts *o, const char *name, const char *from, const char *to, unsigned mode,
    mr_diag *d)
{
	char a[4096], b[4096];
	uint8_t *data = NULL;
	size_t len = 0;
	int r;

	if (mr_ws_path(o, name, from, a, sizeof(a)) != MR_OK ||
	    mr_ws_path(o, name, to, b, sizeof(b)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if ((r = mr_file_read(a, 1u << 20, &data, &len, d)) != MR_OK)
		return r;
	r = mr_file_write_atomic(b, data, len, (mode_t)mode, d);
	explicit_bzero(data, len);
	free(data);
	return r;
}

int
mr_host_renew_finish(const mr_host_opts *o, const char *name, mr_diag *d)
{
	char path[4096];
	uint8_t cert_der[MR_WS_CERT_MAX], spki[2048];
	size_t cert_len = 0, spki_len = 0;
	mr_cert c;
	int r = MR_E_RANGE;

	if (!mr_host_renew_pending(o, name))
		return MR_OK;
	if (mr_ws_path(o, name, "ca-cert.pem", path, sizeof(path)) != MR_OK ||
	    mr_ws_read_cert(path, cert_der, sizeof(cert_der), &cert_len, &c, NULL) != MR_OK)
		return MR_OK;
	if (mr_ws_path(o, name, "ca-key.next.pem", path, sizeof(path)) != MR_OK ||
	    (r = key_spki(path, spki, sizeof(spki), &spki_len, d)) != MR_OK)
		return r;
	if (!mr_der_equal(c.spki.whole, mr_der_view(spki, spki_len)))
		return MR_OK; /* the new certificate is not here yet */
	/* The new certificate is in place: retire the old key beside the
	 * old certificate's copy, then put the new key in service. */
	if (mr_ws_path(o, name, "ca-key.pem", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if (mr_path_exists(path) && (r = move(o, name, "ca-key.pem", "ca-key.prev.pem", d)) != MR_OK)
		return r;
	if ((r = move(o, name, "ca-key.next.pem", "ca-key.pem", d)) != MR_OK)
		return r;
	printf("cluster %s: renewal complete; the new key is in service (old key kept as "
	       "ca-key.prev.pem until the clusters run the new file set)\n", name);
	return MR_OK;
}

int
mr_host_cluster_renew(const mr_host_opts *o, const char *name, mr_key_type type)
{
	char path[4096];
	uint8_t cert_der[MR_WS_CERT_MAX], fp[32];
	size_t cert_len = 0;
	char hex[MR_FP_HEX_LEN(32)];
	mr_keygen_result kg;
	mr_cert c;
	mr_diag d;
	int r = MR_E_RANGE;

	mr_diag_clear(&d);
	memset(&kg, 0, sizeof(kg));
	if (!mr_ws_cluster_issued(o, name)) {
		mr_progress_stderr("error: cluster %s has no certificate in service to renew%s\n", name,
		    mr_host_renew_pending(o, name) ? " (a renewal is already waiting)" : "");
		return 1;
	}
	if (mr_ws_path(o, name, "ca-cert.pem", path, sizeof(path)) != MR_OK ||
	    (r = mr_ws_read_cert(path, cert_der, sizeof(cert_der), &cert_len, &c, &d)) != MR_OK)
		goto fail;
	if (type == MR_KEY_UNKNOWN)
		type = c.spki.type;
	/* Keep the request the old certificate answered, for the record. */
	if ((r = copy(o, name, "csr.pem", "csr.prev.pem", 0644, &d)) != MR_OK ||
	    (r = copy(o, name, "ca-cert.pem", "ca-cert.prev.pem", 0644, &d)) != MR_OK)
		goto fail;
	if ((r = mr_keygen_cluster(type, name, &kg, &d)) != MR_OK)
		goto fail;
	if (mr_ws_path(o, name, "ca-key.next.pem", path, sizeof(path)) != MR_OK ||
	    (r = mr_file_write_atomic(path, kg.key_pem, kg.key_pem_len, 0600, &d)) != MR_OK)
		goto fail;
	/* csr.pem last: from here on the cluster is waiting for the new one. */
	if (mr_ws_path(o, name, "csr.pem", path, sizeof(path)) != MR_OK ||
	    (r = mr_ws_write_pem(path, "CERTIFICATE REQUEST", kg.csr_der, kg.csr_der_len, 0644,
		 &d)) != MR_OK)
		goto fail;
	mr_fp_sha256(kg.csr_der, kg.csr_der_len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	printf("cluster %s: new %s key in ca-key.next.pem; renewal request ready\n"
	       "  CSR SHA-256: %s\n"
	       "  the current certificate and key stay in service until the new certificate "
	       "is imported\n", name, mr_key_type_name(type), hex);
	explicit_bzero(&kg, sizeof(kg));
	return 0;
fail:
	explicit_bzero(&kg, sizeof(kg));
	mr_progress_stderr("error: cluster %s: %s\n", name, mr_diag_text(&d, r));
	return mr_host_exit(r);
}

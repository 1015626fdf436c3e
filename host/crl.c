#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crl.h"
#include "mr_crl.h"
#include "mr_fileio.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_record.h"
#include "mr_tbs.h"
#include "pemfile.h"
#include "workspace.h"

#define DAY 86400
#define CHAIN_MAX 8

static int
read_crl_file(const char *path, uint8_t *der, size_t cap, size_t *len, mr_crl *c, mr_diag *d)
{
	int r = mr_file_read_pem(path, MR_HOST_CRL_MAX, "X509 CRL", der, cap, len, d);

	if (r != MR_OK)
		return r;
	if ((r = mr_crl_parse(der, *len, c, d)) != MR_OK)
		mr_diag_prefix(d, "%s", path);
	return r;
}

int
mr_host_crl_import(const mr_host_opts *o, const char *media, const mr_cert *root, int *imported,
    mr_diag *d)
{
	static uint8_t der[MR_HOST_CRL_MAX], old_der[MR_HOST_CRL_MAX];
	static char pem[2 * MR_HOST_CRL_MAX];
	char path[4096], ws_path[4096];
	size_t len = 0, old_len = 0, pem_len = 0;
	mr_crl c, old;
	int r;

	*imported = 0;
	if (mr_path_join(path, sizeof(path), media, MR_MEDIA_CRL) != MR_OK ||
	    mr_path_join(ws_path, sizeof(ws_path), o->workspace, "root.crl.pem") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if (!mr_path_exists(path))
		return MR_OK;
	if ((r = read_crl_file(path, der, sizeof(der), &len, &c, d)) != MR_OK)
		return r;
	/* RFC 5280 6.3.3 (b), (f): the CRL's issuer is the root, and the
	 * root's key verifies it. */
	if (!mr_der_equal(c.issuer, root->subject))
		return mr_diag_set(d, MR_E_CERT, "%s: not issued by the pinned root", path);
	if ((r = mr_crl_verify_signature(&c, &root->spki, d)) != MR_OK) {
		mr_diag_prefix(d, "%s: signature", path);
		return MR_E_SIG;
	}
	if (!c.has_crl_number || !c.has_next_update)
		return mr_diag_set(d, MR_E_CERT, "%s: no cRLNumber or nextUpdate (RFC 5280 5.2.3, 5.1.2.5)",
		    path);
	if (mr_path_exists(ws_path)) {
		if (read_crl_file(ws_path, old_der, sizeof(old_der), &old_len, &old, d) != MR_OK)
			return MR_E_STATE;
		if (c.crl_number < old.crl_number)
			return mr_diag_set(d, MR_E_CERT,
			    "%s: CRL number %lu is older than the workspace's %lu: refusing to go back",
			    path, c.crl_number, old.crl_number);
		if (c.crl_number == old.crl_number)
			return MR_OK;
	}
	if ((r = mr_pem_write("X509 CRL", der, len, pem, sizeof(pem), &pem_len)) != MR_OK)
		return mr_diag_set(d, r, "cannot encode the CRL");
	if ((r = mr_file_write_atomic(ws_path, pem, pem_len, 0644, d)) != MR_OK)
		return r;
	*imported = 1;
	printf("root CRL %lu imported (%zu revoked)\n", c.crl_number, c.n_revoked);
	return MR_OK;
}

static int
next_number(const mr_host_opts *o, const char *name, unsigned long *number, mr_diag *d)
{
	char path[4096], buf[32];
	uint8_t *text = NULL;
	size_t len = 0;
	unsigned long last = 0;
	int r;

	if (mr_ws_path(o, name, "crl-number", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	r = mr_file_read(path, 64, &text, &len, d);
	if (r == MR_OK) {
		last = strtoul((const char *)text, NULL, 10);
		free(text);
	} else if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
	} else {
		return r;
	}
	*number = last + 1;
	snprintf(buf, sizeof(buf), "%lu\n", *number);
	return mr_file_write_atomic(path, buf, strlen(buf), 0600, d);
}

/* The signatureValue over digest with the cluster's key (SEC1, PKCS#1 or
 * PKCS#8 in ca-key.pem). */
static int
sign_with_key(const mr_pemfile_block *b, mr_sig_alg alg, const uint8_t *digest,
    size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len, mr_diag *d)
{
	WC_RNG rng;
	word32 idx = 0, p8 = 0, out = (word32)cap;
	int r = MR_E_INTERNAL, n;

	if (wc_InitRng(&rng) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot initialise the RNG");
	if (wc_GetPkcs8TraditionalOffset(b->der, &p8, (word32)b->der_len) >= 0)
		idx = p8;
	if (alg == MR_SIG_ECDSA_SHA256 || alg == MR_SIG_ECDSA_SHA384 ||
	    alg == MR_SIG_ECDSA_SHA512) {
		ecc_key k;
		if (wc_ecc_init(&k) != 0)
			goto out;
		idx = 0; /* wc_EccPrivateKeyDecode takes PKCS#8 as is */
		if (wc_EccPrivateKeyDecode(b->der, &idx, &k, (word32)b->der_len) != 0)
			r = mr_diag_set(d, MR_E_ARG, "ca-key.pem is not an EC key");
		else if (wc_ecc_sign_hash(digest, (word32)digest_len, sig, &out, &rng, &k) != 0)
			r = mr_diag_set(d, MR_E_INTERNAL, "ECDSA signing failed");
		else {
			*sig_len = out;
			r = MR_OK;
		}
		wc_ecc_free(&k);
	} else {
		RsaKey k;
		uint8_t di[128];
		int hash = alg == MR_SIG_RSA_SHA384 ? SHA384h : alg == MR_SIG_RSA_SHA512 ? SHA512h : SHA256h;
		word32 di_len;
		if (wc_InitRsaKey(&k, NULL) != 0)
			goto out;
		di_len = wc_EncodeSignature(di, digest, (word32)digest_len, hash);
		if (wc_RsaPrivateKeyDecode(b->der, &idx, &k, (word32)b->der_len) != 0)
			r = mr_diag_set(d, MR_E_ARG, "ca-key.pem is not an RSA key");
		else if ((n = wc_RsaSSL_Sign(di, di_len, sig, (word32)cap, &k, &rng)) <= 0)
			r = mr_diag_set(d, MR_E_INTERNAL, "RSA signing failed");
		else {
			*sig_len = (size_t)n;
			r = MR_OK;
		}
		wc_FreeRsaKey(&k);
	}
out:
	wc_FreeRng(&rng);
	return r;
}

int
mr_host_crl_intermediate(const mr_host_opts *o, const char *name, unsigned days, time_t now,
    char *out, size_t cap, size_t *len, mr_diag *d)
{
	uint8_t cert_der[MR_WS_CERT_MAX], tbs_buf[4096], digest[64], sig[1024], crl_der[8192];
	size_t cert_len = 0, digest_len = 0, sig_len = 0;
	char path[4096];
	unsigned long number = 0;
	mr_pemfile key;
	mr_crl_params p;
	mr_der tbs, crl;
	mr_crl check;
	mr_cert c;
	int r = MR_E_RANGE;

	memset(&key, 0, sizeof(key));
	if (mr_ws_path(o, name, "ca-cert.pem", path, sizeof(path)) != MR_OK ||
	    (r = mr_ws_read_cert(path, cert_der, sizeof(cert_der), &cert_len, &c, d)) != MR_OK)
		return r != MR_OK ? r : MR_E_RANGE;
	if (!c.ext.has_ski || c.ext.ski.n != 20)
		return mr_diag_set(d, MR_E_CERT, "cluster %s: certificate has no 20-byte SKI", name);
	if (mr_ws_path(o, name, "ca-key.pem", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "path too long");
	if ((r = mr_pemfile_read(path, &key, d)) != MR_OK) {
		mr_diag_prefix(d, "cluster %s: ca-key.pem (needed to sign its CRL)", name);
		return r;
	}
	if (key.n == 0) {
		r = mr_diag_set(d, MR_E_PEM, "cluster %s: ca-key.pem holds no key", name);
		goto out;
	}
	if ((r = next_number(o, name, &number, d)) != MR_OK)
		goto out;
	memset(&p, 0, sizeof(p));
	p.sig_alg = mr_sig_alg_for_key(c.spki.type);
	p.issuer = c.subject;
	p.this_update = now;
	p.next_update = now + (time_t)days * DAY;
	if (p.next_update > c.not_after)
		p.next_update = c.not_after;
	p.crl_number = number;
	p.aki = c.ext.ski.p;
	if ((r = mr_crl_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs)) != MR_OK) {
		mr_diag_set(d, r, "cluster %s: cannot encode its CRL", name);
		goto out;
	}
	if ((r = mr_sig_alg_digest(p.sig_alg, tbs.p, tbs.n, digest, sizeof(digest), &digest_len)) !=
		MR_OK ||
	    (r = sign_with_key(&key.blocks[0], p.sig_alg, digest, digest_len, sig, sizeof(sig),
		 &sig_len, d)) != MR_OK)
		goto out;
	if ((r = mr_cert_assemble(tbs, p.sig_alg, sig, sig_len, crl_der, sizeof(crl_der), &crl)) !=
	    MR_OK)
		goto out;
	/* The key must be the certificate's: check before anyone relies on it. */
	if ((r = mr_crl_parse(crl.p, crl.n, &check, d)) != MR_OK ||
	    (r = mr_crl_verify_signature(&check, &c.spki, d)) != MR_OK) {
		mr_diag_prefix(d, "cluster %s: its CRL does not verify with ca-cert.pem "
				  "(ca-key.pem is not its key?)", name);
		goto out;
	}
	if ((r = mr_pem_write("X509 CRL", crl.p, crl.n, out, cap, len)) != MR_OK)
		mr_diag_set(d, r, "CRL too large");
out:
	mr_pemfile_free(&key);
	return r;
}

/* ------------------------------------------------------------------ */
/* verify */

static void problem(FILE *out, const char *shown, int *n, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void
problem(FILE *out, const char *shown, int *n, const char *fmt, ...)
{
	va_list ap;

	fprintf(out, "%s: problem: ", shown);
	va_start(ap, fmt);
	vfprintf(out, fmt, ap);
	va_end(ap);
	fputc('\n', out);
	(*n)++;
}

int
mr_host_verify_crl(const char *dir, const char *shown, const char *chain, FILE *out, time_t now)
{
	mr_pemfile fc, fr;
	mr_cert certs[CHAIN_MAX];
	mr_crl crls[MR_PEMFILE_MAX_BLOCKS];
	int crl_ok[MR_PEMFILE_MAX_BLOCKS];
	size_t nc = 0, nr = 0;
	char path[4096];
	mr_diag d;
	int n = 0;

	memset(&fc, 0, sizeof(fc));
	memset(&fr, 0, sizeof(fr));
	mr_diag_clear(&d);
	if (mr_path_join(path, sizeof(path), dir, "ca-crl.pem") != MR_OK || !mr_path_exists(path))
		return 0;
	if (mr_pemfile_read(path, &fr, &d) != MR_OK) {
		problem(out, shown, &n, "ca-crl.pem: %s", mr_diag_text(&d, MR_E_PEM));
		goto done;
	}
	for (size_t i = 0; i < fr.n; i++) {
		crl_ok[nr] = 0;
		if (strcmp(fr.blocks[i].label, "X509 CRL") != 0) {
			problem(out, shown, &n, "ca-crl.pem block %zu is \"%s\", not X509 CRL", i + 1,
			    fr.blocks[i].label);
			continue;
		}
		mr_diag_clear(&d);
		if (mr_crl_parse(fr.blocks[i].der, fr.blocks[i].der_len, &crls[nr], &d) != MR_OK) {
			problem(out, shown, &n, "ca-crl.pem CRL %zu: %s", i + 1,
			    mr_diag_text(&d, MR_E_DER));
			continue;
		}
		crl_ok[nr++] = 1;
	}
	if (nr == 0) {
		problem(out, shown, &n, "ca-crl.pem holds no CRL");
		goto done;
	}
	mr_diag_clear(&d);
	if (mr_pemfile_read(chain, &fc, &d) != MR_OK)
		goto done; /* the chain's own problems are reported elsewhere */
	for (size_t i = 0; i < fc.n && nc < CHAIN_MAX; i++) {
		if (strcmp(fc.blocks[i].label, "CERTIFICATE") != 0 ||
		    mr_cert_parse(fc.blocks[i].der, fc.blocks[i].der_len, &certs[nc], NULL) != MR_OK)
			goto done; /* reported by the chain checks */
		nc++;
	}
	for (size_t i = 0; i < nc; i++) {
		char subj[128];
		const mr_crl *found = NULL;

		mr_cert_serial_hex(&certs[i], subj, sizeof(subj));
		for (size_t k = 0; k < nr && found == NULL; k++) {
			if (crl_ok[k] && mr_der_equal(crls[k].issuer, certs[i].subject) &&
			    mr_crl_verify_signature(&crls[k], &certs[i].spki, NULL) == MR_OK)
				found = &crls[k];
		}
		if (found == NULL) {
			/* istiod: with ca-crl.pem present, every certificate of
			 * cert-chain.pem needs a CRL it signed. */
			problem(out, shown, &n, "ca-crl.pem has no CRL signed by certificate %zu of "
			    "the chain (serial %s): istiod requires one for every certificate in "
			    "cert-chain.pem", i + 1, subj);
			continue;
		}
		if (found->this_update > now)
			problem(out, shown, &n, "the CRL of chain certificate %zu is not yet valid",
			    i + 1);
		if (found->has_next_update && found->next_update < now)
			problem(out, shown, &n, "the CRL of chain certificate %zu is past its "
			    "nextUpdate: issue a new one", i + 1);
		/* RFC 5280 6.3.3: the certificate below is checked against
		 * this CRL. */
		if (i > 0 && mr_crl_find(found, certs[i - 1].serial, NULL)) {
			char s2[128];
			mr_cert_serial_hex(&certs[i - 1], s2, sizeof(s2));
			problem(out, shown, &n, "chain certificate %zu (serial %s) is revoked by its "
			    "issuer's CRL", i, s2);
		}
	}
done:
	mr_pemfile_free(&fc);
	mr_pemfile_free(&fr);
	return n;
}

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <stdio.h>
#include <string.h>

#include "keygen.h"

static int
to_pem(const uint8_t *der, int der_len, int type, mr_keygen_result *out, mr_diag *d)
{
	int n = wc_DerToPem(der, (word32)der_len, (byte *)out->key_pem,
	    (word32)sizeof(out->key_pem), type);

	if (n <= 0)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot encode the key as PEM (%d)", n);
	out->key_pem_len = (size_t)n;
	return MR_OK;
}

static int
make_csr(Cert *req, int key_type, void *key, WC_RNG *rng, mr_keygen_result *out, mr_diag *d)
{
	int n = wc_MakeCertReq_ex(req, out->csr_der, sizeof(out->csr_der), key_type, key);

	if (n <= 0)
		return mr_diag_set(d, MR_E_INTERNAL, "wc_MakeCertReq_ex failed (%d)", n);
	n = wc_SignCert_ex(req->bodySz, req->sigType, out->csr_der, sizeof(out->csr_der),
	    key_type, key, rng);
	if (n <= 0)
		return mr_diag_set(d, MR_E_INTERNAL, "signing the CSR failed (%d)", n);
	out->csr_der_len = (size_t)n;
	return MR_OK;
}

int
mr_keygen_cluster(mr_key_type type, const char *cluster, mr_keygen_result *out, mr_diag *d)
{
	WC_RNG rng;
	Cert req;
	uint8_t der[4096];
	int r = MR_E_INTERNAL, n;

	memset(out, 0, sizeof(*out));
	if (wc_InitRng(&rng) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot initialise the RNG");
	if (wc_InitCert(&req) != 0) {
		r = mr_diag_set(d, MR_E_INTERNAL, "wc_InitCert failed");
		goto out_rng;
	}
	req.version = 0;
	/* The appliance ignores the requested subject; CN only names the
	 * request for people who inspect it. */
	snprintf(req.subject.commonName, sizeof(req.subject.commonName), "%s", cluster);

	if (mr_key_type_is_ec(type)) {
		ecc_key key;
		int curve = type == MR_KEY_EC_P256 ? ECC_SECP256R1 : ECC_SECP384R1;
		int size = type == MR_KEY_EC_P256 ? 32 : 48;
		if (wc_ecc_init(&key) != 0)
			goto out_rng;
		if (wc_ecc_make_key_ex(&rng, size, &key, curve) != 0) {
			r = mr_diag_set(d, MR_E_INTERNAL, "EC key generation failed");
		} else if ((n = wc_EccKeyToDer(&key, der, sizeof(der))) <= 0) {
			r = mr_diag_set(d, MR_E_INTERNAL, "cannot encode the EC key");
		} else if ((r = to_pem(der, n, ECC_PRIVATEKEY_TYPE, out, d)) == MR_OK) {
			req.sigType = type == MR_KEY_EC_P256 ? CTC_SHA256wECDSA : CTC_SHA384wECDSA;
			r = make_csr(&req, ECC_TYPE, &key, &rng, out, d);
		}
		wc_ecc_free(&key);
	} else if (type == MR_KEY_RSA_3072 || type == MR_KEY_RSA_4096) {
		RsaKey key;
		if (wc_InitRsaKey(&key, NULL) != 0)
			goto out_rng;
		if (wc_MakeRsaKey(&key, (int)mr_key_type_bits(type), WC_RSA_EXPONENT, &rng) != 0) {
			r = mr_diag_set(d, MR_E_INTERNAL, "RSA key generation failed");
		} else if ((n = wc_RsaKeyToDer(&key, der, sizeof(der))) <= 0) {
			r = mr_diag_set(d, MR_E_INTERNAL, "cannot encode the RSA key");
		} else if ((r = to_pem(der, n, PRIVATEKEY_TYPE, out, d)) == MR_OK) {
			req.sigType = CTC_SHA256wRSA;
			r = make_csr(&req, RSA_TYPE, &key, &rng, out, d);
		}
		wc_FreeRsaKey(&key);
	} else {
		r = mr_diag_set(d, MR_E_ARG, "key type %s is not offered", mr_key_type_name(type));
	}
out_rng:
	explicit_bzero(der, sizeof(der));
	wc_FreeRng(&rng);
	return r;
}

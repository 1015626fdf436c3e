#include <string.h>

#include "mr_signer.h"
#include "mr_tbs.h"
#include "mr_token.h"

/* Reads back what was assembled: SEQUENCE { tbs, alg, BIT STRING }. */
int
mr_sign_tbs_check(const uint8_t *der, size_t n, mr_der tbs, mr_sig_alg alg, const mr_spki *issuer,
    mr_diag *d)
{
	mr_der in = mr_der_view(der, n), seq, got_tbs, alg_content, bits, sig;
	mr_sig_alg got_alg;

	if (mr_der_expect(&in, MR_DER_SEQUENCE, &seq, NULL) != MR_OK || in.n != 0 ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, NULL, &got_tbs) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, &alg_content, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_BIT_STRING, &bits, NULL) != MR_OK || seq.n != 0 ||
	    mr_der_bits(bits, &sig) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "the signed object does not parse");
	if (!mr_der_equal(got_tbs, tbs))
		return mr_diag_set(d, MR_E_INTERNAL, "the signed TBS differs from the one built");
	if (mr_sig_alg_parse(alg_content, &got_alg) != MR_OK || got_alg != alg)
		return mr_diag_set(d, MR_E_INTERNAL, "the signed object names another algorithm");
	if (mr_sig_verify(issuer, alg, tbs.p, tbs.n, sig.p, sig.n, d) != MR_OK) {
		mr_diag_prefix(d, "token signature rejected");
		return MR_E_SIG;
	}
	return MR_OK;
}

int
mr_sign_tbs_token(int dev_id, const mr_spki *issuer, mr_sig_alg alg, mr_der tbs, uint8_t *out,
    size_t cap, size_t *out_len, mr_diag *d)
{
	uint8_t sig[1024];
	size_t sig_len = 0;
	mr_der assembled;
	int r;

	if (!mr_sig_alg_fits_key(alg, issuer->type))
		return mr_diag_set(d, MR_E_INTERNAL, "%s does not fit the %s issuer key",
		    mr_sig_alg_name(alg), mr_key_type_name(issuer->type));
	/* The whole TBS goes to the token layer: it signs with a
	 * hash-and-sign mechanism where the token has one, else hashes here. */
	if ((r = mr_token_device_sign_data_unverified(dev_id, issuer->whole.p, issuer->whole.n,
		 mr_sig_alg_digest_len(alg), tbs.p, tbs.n, sig, sizeof(sig), &sig_len, d)) != MR_OK)
		return r;
	if (mr_cert_assemble(tbs, alg, sig, sig_len, out, cap, &assembled) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "the signed object does not fit its buffer");
	/* mr_cert_assemble writes at the end of out; callers want it at the start. */
	memmove(out, assembled.p, assembled.n);
	*out_len = assembled.n;
	return MR_OK;
}

int
mr_sign_tbs(int dev_id, const mr_spki *issuer, mr_sig_alg alg, mr_der tbs, uint8_t *out,
    size_t cap, size_t *out_len, mr_diag *d)
{
	int r;

	if ((r = mr_sign_tbs_token(dev_id, issuer, alg, tbs, out, cap, out_len, d)) != MR_OK)
		return r;
	if ((r = mr_sign_tbs_check(out, *out_len, tbs, alg, issuer, d)) != MR_OK) {
		*out_len = 0;
		return r;
	}
	return MR_OK;
}

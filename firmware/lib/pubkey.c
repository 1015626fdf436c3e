#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <string.h>

#include "mr_oid.h"
#include "mr_pubkey.h"

static int
parse_ec(mr_der params, mr_der key, mr_spki *out, mr_diag *d)
{
	mr_der curve;
	size_t field;

	if (mr_der_expect(&params, MR_DER_OID, &curve, NULL) != MR_OK || params.n != 0)
		return mr_diag_set(d, MR_E_CERT, "EC key without a named curve");
	if (mr_oid_is(curve, &MR_OID_P256)) {
		out->type = MR_KEY_EC_P256;
		field = 32;
	} else if (mr_oid_is(curve, &MR_OID_P384)) {
		out->type = MR_KEY_EC_P384;
		field = 48;
	} else {
		return mr_diag_set(d, MR_E_CERT, "EC curve not allowed (P-256 and P-384 only)");
	}
	/* SEC1 2.3.3: uncompressed points only; compressed forms are optional
	 * for implementations and we have no need for them. */
	if (key.n != 1 + 2 * field || key.p[0] != 0x04)
		return mr_diag_set(d, MR_E_CERT, "EC point is not an uncompressed %s point",
		    mr_key_type_name(out->type));
	return MR_OK;
}

static unsigned
bit_length(mr_der be)
{
	size_t i = 0;
	unsigned bits;
	uint8_t top;

	while (i < be.n && be.p[i] == 0)
		i++;
	if (i == be.n)
		return 0;
	top = be.p[i];
	bits = (unsigned)(be.n - i - 1) * 8;
	while (top != 0) {
		bits++;
		top >>= 1;
	}
	return bits;
}

static int
parse_rsa(mr_der params, mr_der key, mr_spki *out, mr_diag *d)
{
	mr_der seq, modulus, exponent;
	unsigned long e;
	unsigned bits;

	/* RFC 3279 2.3.1: the parameters MUST be NULL. */
	if (mr_der_expect(&params, MR_DER_NULL, &seq, NULL) != MR_OK || seq.n != 0 ||
	    params.n != 0)
		return mr_diag_set(d, MR_E_CERT, "RSA key parameters are not NULL");
	if (mr_der_whole(key.p, key.n, MR_DER_SEQUENCE, &seq) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_INTEGER, &modulus, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_INTEGER, &exponent, NULL) != MR_OK || seq.n != 0)
		return mr_diag_set(d, MR_E_CERT, "malformed RSA public key");
	if (modulus.n == 0 || (modulus.p[0] & 0x80) != 0 ||
	    (modulus.n > 1 && modulus.p[0] == 0 && (modulus.p[1] & 0x80) == 0))
		return mr_diag_set(d, MR_E_CERT, "RSA modulus is not a minimal positive integer");
	if (mr_der_uint(exponent, &e) != MR_OK || e != 65537)
		return mr_diag_set(d, MR_E_CERT, "RSA public exponent is not 65537");
	bits = bit_length(modulus);
	switch (bits) {
	case 2048: out->type = MR_KEY_RSA_2048; break;
	case 3072: out->type = MR_KEY_RSA_3072; break;
	case 4096: out->type = MR_KEY_RSA_4096; break;
	default:
		return mr_diag_set(d, MR_E_CERT, "RSA-%u keys are not allowed", bits);
	}
	return MR_OK;
}

int
mr_spki_parse(mr_der spki, mr_spki *out, mr_diag *d)
{
	mr_der in = spki, seq, alg, oid, bits, key;

	memset(out, 0, sizeof(*out));
	if (mr_der_expect(&in, MR_DER_SEQUENCE, &seq, &out->whole) != MR_OK || in.n != 0 ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, &alg, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_BIT_STRING, &bits, NULL) != MR_OK || seq.n != 0 ||
	    mr_der_bits(bits, &key) != MR_OK ||
	    mr_der_expect(&alg, MR_DER_OID, &oid, NULL) != MR_OK)
		return mr_diag_set(d, MR_E_CERT, "malformed SubjectPublicKeyInfo");
	out->key = key;
	if (mr_oid_is(oid, &MR_OID_EC_PUBLIC_KEY))
		return parse_ec(alg, key, out, d);
	if (mr_oid_is(oid, &MR_OID_RSA_ENCRYPTION))
		return parse_rsa(alg, key, out, d);
	return mr_diag_set(d, MR_E_CERT, "public key algorithm not allowed (EC and RSA only)");
}

void
mr_spki_key_id(const mr_spki *k, uint8_t id[20])
{
	uint8_t h[WC_SHA256_DIGEST_SIZE];

	if (wc_Sha256Hash(k->key.p, (word32)k->key.n, h) != 0)
		memset(h, 0, sizeof(h)); /* only on a broken wolfSSL; SKI lint catches zeros */
	memcpy(id, h, 20);
}

static const struct {
	mr_sig_alg alg;
	const mr_oid *oid;
	const char *name;
	int is_ec;
	size_t digest_len;
} sig_algs[] = {
	{ MR_SIG_ECDSA_SHA256, &MR_OID_ECDSA_SHA256, "ecdsa-with-SHA256", 1, 32 },
	{ MR_SIG_ECDSA_SHA384, &MR_OID_ECDSA_SHA384, "ecdsa-with-SHA384", 1, 48 },
	{ MR_SIG_ECDSA_SHA512, &MR_OID_ECDSA_SHA512, "ecdsa-with-SHA512", 1, 64 },
	{ MR_SIG_RSA_SHA256, &MR_OID_SHA256_RSA, "sha256WithRSAEncryption", 0, 32 },
	{ MR_SIG_RSA_SHA384, &MR_OID_SHA384_RSA, "sha384WithRSAEncryption", 0, 48 },
	{ MR_SIG_RSA_SHA512, &MR_OID_SHA512_RSA, "sha512WithRSAEncryption", 0, 64 },
};
#define N_SIG_ALGS (sizeof(sig_algs) / sizeof(sig_algs[0]))

static size_t
sig_index(mr_sig_alg alg)
{
	for (size_t i = 0; i < N_SIG_ALGS; i++)
		if (sig_algs[i].alg == alg)
			return i;
	return N_SIG_ALGS;
}

int
mr_sig_alg_parse(mr_der alg, mr_sig_alg *out)
{
	mr_der oid, null;

	*out = MR_SIG_UNKNOWN;
	if (mr_der_expect(&alg, MR_DER_OID, &oid, NULL) != MR_OK)
		return MR_E_DER;
	for (size_t i = 0; i < N_SIG_ALGS; i++) {
		if (!mr_oid_is(oid, sig_algs[i].oid))
			continue;
		if (sig_algs[i].is_ec && alg.n != 0)
			return MR_E_DER;
		if (!sig_algs[i].is_ec && alg.n != 0 &&
		    (mr_der_expect(&alg, MR_DER_NULL, &null, NULL) != MR_OK ||
			null.n != 0 || alg.n != 0))
			return MR_E_DER;
		*out = sig_algs[i].alg;
		return MR_OK;
	}
	return MR_E_SIG;
}

void
mr_dw_sig_alg(mr_dw *w, mr_sig_alg alg)
{
	size_t i = sig_index(alg), mark = mr_dw_len(w);

	if (i == N_SIG_ALGS) {
		w->err = MR_E_INTERNAL;
		return;
	}
	if (!sig_algs[i].is_ec)
		mr_dw_tlv(w, MR_DER_NULL, NULL, 0);
	mr_dw_oid(w, sig_algs[i].oid);
	mr_dw_wrap(w, MR_DER_SEQUENCE, mark);
}

const char *
mr_sig_alg_name(mr_sig_alg alg)
{
	size_t i = sig_index(alg);

	return i == N_SIG_ALGS ? "unknown" : sig_algs[i].name;
}

mr_sig_alg
mr_sig_alg_for_key(mr_key_type t)
{
	switch (t) {
	case MR_KEY_EC_P256: return MR_SIG_ECDSA_SHA256;
	case MR_KEY_EC_P384: return MR_SIG_ECDSA_SHA384;
	case MR_KEY_RSA_2048:
	case MR_KEY_RSA_3072:
	case MR_KEY_RSA_4096: return MR_SIG_RSA_SHA256;
	case MR_KEY_ED25519: /* the audit key signs notes, never certificates */
	case MR_KEY_UNKNOWN: break;
	}
	return MR_SIG_UNKNOWN;
}

size_t
mr_sig_alg_digest_len(mr_sig_alg alg)
{
	size_t i = sig_index(alg);

	return i == N_SIG_ALGS ? 0 : sig_algs[i].digest_len;
}

int
mr_sig_alg_fits_key(mr_sig_alg alg, mr_key_type t)
{
	size_t i = sig_index(alg);

	return i != N_SIG_ALGS && t != MR_KEY_UNKNOWN &&
	    sig_algs[i].is_ec == mr_key_type_is_ec(t);
}

int
mr_sig_alg_digest(mr_sig_alg alg, const uint8_t *msg, size_t n, uint8_t *out,
    size_t cap, size_t *len)
{
	size_t dl = mr_sig_alg_digest_len(alg);
	int rc;

	if (dl == 0 || cap < dl || n > 0xffffffffu)
		return MR_E_ARG;
	if (dl == 32)
		rc = wc_Sha256Hash(msg, (word32)n, out);
	else if (dl == 48)
		rc = wc_Sha384Hash(msg, (word32)n, out);
	else
		rc = wc_Sha512Hash(msg, (word32)n, out);
	if (rc != 0)
		return MR_E_INTERNAL;
	*len = dl;
	return MR_OK;
}

static int
hash_oid(size_t digest_len)
{
	return wc_HashGetOID(digest_len == 32 ? WC_HASH_TYPE_SHA256 :
	    digest_len == 48 ? WC_HASH_TYPE_SHA384 : WC_HASH_TYPE_SHA512);
}

static int
verify_ec(const mr_spki *k, const uint8_t *h, size_t hl, const uint8_t *sig,
    size_t sig_len)
{
	ecc_key key;
	word32 idx = 0;
	int ok = 0, r = MR_E_SIG;

	if (wc_ecc_init(&key) != 0)
		return MR_E_INTERNAL;
	if (wc_EccPublicKeyDecode(k->whole.p, &idx, &key, (word32)k->whole.n) == 0 &&
	    wc_ecc_verify_hash(sig, (word32)sig_len, h, (word32)hl, &ok, &key) == 0 &&
	    ok == 1)
		r = MR_OK;
	wc_ecc_free(&key);
	return r;
}

static int
verify_rsa(const mr_spki *k, const uint8_t *h, size_t hl, const uint8_t *sig,
    size_t sig_len)
{
	RsaKey key;
	word32 idx = 0, expected_len;
	uint8_t buf[512], expected[128];
	int n, r = MR_E_SIG;

	if (sig_len > sizeof(buf))
		return MR_E_SIG;
	if (wc_InitRsaKey(&key, NULL) != 0)
		return MR_E_INTERNAL;
	if (wc_RsaPublicKeyDecode(k->whole.p, &idx, &key, (word32)k->whole.n) != 0)
		goto out;
	/* RFC 8017 8.2.2: the signature is exactly the modulus size. */
	if ((int)sig_len != wc_RsaEncryptSize(&key))
		goto out;
	n = wc_RsaSSL_Verify(sig, (word32)sig_len, buf, sizeof(buf), &key);
	if (n <= 0)
		goto out;
	/* Compare the whole DigestInfo, not just the hash, so that a different
	 * hash algorithm or extra bytes are rejected. */
	expected_len = wc_EncodeSignature(expected, h, (word32)hl, hash_oid(hl));
	if (expected_len != (word32)n || memcmp(expected, buf, expected_len) != 0)
		goto out;
	r = MR_OK;
out:
	wc_FreeRsaKey(&key);
	return r;
}

int
mr_sig_verify(const mr_spki *key, mr_sig_alg alg, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t sig_len, mr_diag *d)
{
	uint8_t h[64];
	size_t hl;
	int r;

	if (!mr_sig_alg_fits_key(alg, key->type))
		return mr_diag_set(d, MR_E_SIG, "%s does not fit a %s key",
		    mr_sig_alg_name(alg), mr_key_type_name(key->type));
	if (mr_sig_alg_digest(alg, msg, n, h, sizeof(h), &hl) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "hashing failed");
	if (mr_key_type_is_ec(key->type))
		r = verify_ec(key, h, hl, sig, sig_len);
	else
		r = verify_rsa(key, h, hl, sig, sig_len);
	if (r != MR_OK)
		return mr_diag_set(d, r, "%s signature does not verify", mr_sig_alg_name(alg));
	return MR_OK;
}

void
mr_sig_hold_init(void)
{
	(void)wolfCrypt_Init();
}

void
mr_sig_release_cache(void)
{
#ifdef FP_ECC
	wc_ecc_fp_free();
#endif
}

/* wolfSSL side of the token layer: no PKCS#11 header here (they clash). */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/rsa.h>

#include <limits.h>
#include <string.h>

#include "token_spki.h"

int
mr_token_spki_ed25519(const uint8_t *point, size_t point_len, uint8_t *spki, size_t cap,
    size_t *spki_len, mr_diag *d)
{
	/* SEQUENCE { SEQUENCE { id-Ed25519 } BIT STRING (0 unused bits) } */
	static const uint8_t prefix[] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65,
		0x70, 0x03, 0x21, 0x00 };

	if (point_len == 34 && point[0] == 0x04 && point[1] == 32) {
		point += 2;
		point_len -= 2;
	}
	if (point_len != 32)
		return mr_diag_set(d, MR_E_TOKEN, "CKA_EC_POINT is not an Ed25519 key (%zu bytes)",
		    point_len);
	if (cap < sizeof(prefix) + 32)
		return mr_diag_set(d, MR_E_RANGE, "SPKI buffer too small");
	memcpy(spki, prefix, sizeof(prefix));
	memcpy(spki + sizeof(prefix), point, 32);
	*spki_len = sizeof(prefix) + 32;
	return MR_OK;
}

static word32
cap32(size_t cap)
{
	return cap > UINT32_MAX ? UINT32_MAX : (word32)cap;
}

int
mr_token_spki_ec(mr_key_type type, const uint8_t *point, size_t point_len, uint8_t *spki,
    size_t cap, size_t *spki_len, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	ecc_key key;
	int key_init = 0;
	int curve, size, ret;
	size_t raw;

	if (type == MR_KEY_EC_P256)
		curve = ECC_SECP256R1;
	else if (type == MR_KEY_EC_P384)
		curve = ECC_SECP384R1;
	else {
		r = mr_diag_set(d, MR_E_ARG, "not an EC key type: %s", mr_key_type_name(type));
		goto out;
	}
	size = wc_ecc_get_curve_size_from_id(curve);
	if (size <= 0)
		goto out;
	raw = 1 + 2 * (size_t)size;
	/*
	 * PKCS#11 says DER OCTET STRING, some tokens return the bare point; the
	 * length the curve implies tells them apart (raw is 65 or 97 bytes, so
	 * the wrapper has a one-byte length). Compressed points are legal in
	 * X.509 but nothing we generate has one, and relying parties handle
	 * them unevenly: only uncompressed ones are taken.
	 */
	if (point_len == raw + 2 && point[0] == 0x04 && point[1] == raw) {
		point += 2;
		point_len -= 2;
	}
	if (point_len != raw || point[0] != 0x04) {
		r = mr_diag_set(d, MR_E_TOKEN,
		    "CKA_EC_POINT is not an uncompressed %s point (%zu bytes)",
		    mr_key_type_name(type), point_len);
		goto out;
	}
	if (wc_ecc_init_ex(&key, NULL, INVALID_DEVID) != 0)
		goto out;
	key_init = 1;
	if ((ret = wc_ecc_import_x963_ex(point, (word32)point_len, &key, curve)) != 0 ||
	    (ret = wc_ecc_check_key(&key)) != 0) {
		r = mr_diag_set(d, MR_E_TOKEN, "CKA_EC_POINT is not a valid %s point: %s",
		    mr_key_type_name(type), wc_GetErrorString(ret));
		goto out;
	}
	ret = wc_EccPublicKeyToDer(&key, spki, cap32(cap), 1);
	if (ret <= 0) {
		r = mr_diag_set(d, ret == BUFFER_E ? MR_E_RANGE : MR_E_INTERNAL,
		    "wc_EccPublicKeyToDer: %s", wc_GetErrorString(ret));
		goto out;
	}
	*spki_len = (size_t)ret;
	r = MR_OK;
out:
	if (key_init)
		wc_ecc_free(&key);
	return r;
}

static void
strip_zeros(const uint8_t **p, size_t *n)
{
	while (*n > 0 && (*p)[0] == 0) {
		(*p)++;
		(*n)--;
	}
}

int
mr_token_spki_rsa(mr_key_type type, const uint8_t *n, size_t n_len, const uint8_t *e,
    size_t e_len, uint8_t *spki, size_t cap, size_t *spki_len, mr_diag *d)
{
	static const uint8_t f4[] = { 0x01, 0x00, 0x01 };
	int r = MR_E_INTERNAL;
	RsaKey key;
	int key_init = 0;
	unsigned bits = mr_key_type_bits(type);
	int ret;

	if (mr_key_type_is_ec(type) || bits == 0) {
		r = mr_diag_set(d, MR_E_ARG, "not an RSA key type: %s", mr_key_type_name(type));
		goto out;
	}
	strip_zeros(&n, &n_len);
	strip_zeros(&e, &e_len);
	if (n_len != bits / 8 || (n[0] & 0x80) == 0) {
		r = mr_diag_set(d, MR_E_TOKEN, "CKA_MODULUS is not a %u-bit modulus", bits);
		goto out;
	}
	/* Our keys are generated with F4; another exponent means a key we did
	 * not make, so it is refused rather than judged. */
	if (e_len != sizeof(f4) || memcmp(e, f4, sizeof(f4)) != 0) {
		r = mr_diag_set(d, MR_E_TOKEN, "CKA_PUBLIC_EXPONENT is not 65537");
		goto out;
	}
	if (wc_InitRsaKey_ex(&key, NULL, INVALID_DEVID) != 0)
		goto out;
	key_init = 1;
	if ((ret = wc_RsaPublicKeyDecodeRaw(n, (word32)n_len, e, (word32)e_len, &key)) != 0) {
		r = mr_diag_set(d, MR_E_TOKEN, "wc_RsaPublicKeyDecodeRaw: %s",
		    wc_GetErrorString(ret));
		goto out;
	}
	ret = wc_RsaKeyToPublicDer_ex(&key, spki, cap32(cap), 1);
	if (ret <= 0) {
		r = mr_diag_set(d, ret == BUFFER_E ? MR_E_RANGE : MR_E_INTERNAL,
		    "wc_RsaKeyToPublicDer_ex: %s", wc_GetErrorString(ret));
		goto out;
	}
	*spki_len = (size_t)ret;
	r = MR_OK;
out:
	if (key_init)
		wc_FreeRsaKey(&key);
	return r;
}

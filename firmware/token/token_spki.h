/*
 * SubjectPublicKeyInfo from the raw public values a token returns. Neutral
 * API (no CK_* and no wolfSSL types) so that token_pkcs11.c can call it
 * without including wolfSSL; token_spki.c does the work with wolfCrypt and
 * checks what it is given: an EC point must be uncompressed and on the
 * curve, an RSA key must be one of our sizes with exponent 65537.
 */
#ifndef MR_TOKEN_SPKI_H
#define MR_TOKEN_SPKI_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_err.h"
#include "mr_keytype.h"

/* `point` is CKA_EC_POINT as the token gave it: the uncompressed point
 * 04||X||Y of curve `type`, bare or in a DER OCTET STRING. */
int mr_token_spki_ec(mr_key_type type, const uint8_t *point, size_t point_len,
    uint8_t *spki, size_t cap, size_t *spki_len, mr_diag *d) MR_MUST_CHECK;
/* `point` is CKA_EC_POINT of an Ed25519 key: the 32-byte public key
 * (RFC 8032 5.1.5), bare or in a DER OCTET STRING. The SPKI is RFC 8410's. */
int mr_token_spki_ed25519(const uint8_t *point, size_t point_len, uint8_t *spki, size_t cap,
    size_t *spki_len, mr_diag *d) MR_MUST_CHECK;
/* Big-endian modulus and exponent; leading zero bytes are allowed. */
int mr_token_spki_rsa(mr_key_type type, const uint8_t *n, size_t n_len,
    const uint8_t *e, size_t e_len, uint8_t *spki, size_t cap, size_t *spki_len,
    mr_diag *d) MR_MUST_CHECK;

#endif

/*
 * Private to the firmware/token files that speak PKCS#11. It pulls in the
 * PKCS#11 header, which clashes with wolfSSL's: include it only from
 * token_pkcs11.c, token_mech.c, token_rv.c and token_uri.c, never from outside this folder.
 */
#ifndef MR_TOKEN_P11_H
#define MR_TOKEN_P11_H

#include <p11-kit/pkcs11.h>

#include "mr_diag.h"
#include "mr_err.h"
#include "mr_keytype.h"

/* "CKR_PIN_INCORRECT", or NULL for a value the standard does not name. */
const char *mr_token_rv_name(CK_RV rv);
/* MR_E_PIN for a wrong, locked, expired or missing PIN, MR_E_TOKEN otherwise. */
int mr_token_rv_err(CK_RV rv);
/* Sets "fn: CKR_NAME" in d and returns mr_token_rv_err(rv). */
int mr_token_rv_diag(mr_diag *d, const char *fn, CK_RV rv);

/*
 * A token selector: a label compared with the blank-trimmed CKA_LABEL, or a
 * PKCS#11 URI (RFC 7512) when it starts with "pkcs11:". URIs naming objects,
 * carrying a PIN or using attributes we cannot honour are refused rather
 * than half-applied.
 */
typedef struct mr_token_sel mr_token_sel;

int mr_token_sel_parse(const char *selector, const char *module_path,
    mr_token_sel **out, mr_diag *d) MR_MUST_CHECK;
/* 1 if the token in slot `id` is selected. */
int mr_token_sel_match(const mr_token_sel *s, const CK_INFO *module, CK_SLOT_ID id,
    const CK_SLOT_INFO *slot, const CK_TOKEN_INFO *token);
/* The selector as given, safe to print (a URI with a PIN is never echoed). */
const char *mr_token_sel_name(const mr_token_sel *s);
void mr_token_sel_free(mr_token_sel *s);

/*
 * What the token says it can do (token_mech.c): C_GetMechanismList, read
 * once, and C_GetMechanismInfo per question. A token that lists nothing
 * (C_GetMechanismList fails or is empty) is taken at its word: it can do
 * nothing, and the refusal names the CK_RV.
 */
typedef struct {
	CK_MECHANISM_TYPE *list;
	CK_ULONG n;
	int loaded;
} mr_token_mechs;

/* MR_OK when the token can generate keys of `type` and sign with them
 * (CKF_GENERATE_KEY_PAIR, key size, EC curve flags, CKF_SIGN); else
 * MR_E_TOKEN and a one-line reason naming the mechanism. */
int mr_token_mechs_can_make(mr_token_mechs *m, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot,
    mr_key_type type, mr_diag *d) MR_MUST_CHECK;
/* The hash-and-sign mechanism (CKM_ECDSA_SHA256, CKM_SHA384_RSA_PKCS, ...)
 * for keys of `type` and a digest of `digest_len` bytes, when the token
 * lists it with CKF_SIGN; CKM_VENDOR_DEFINED when it does not. */
CK_MECHANISM_TYPE mr_token_mechs_hash_sign(mr_token_mechs *m, CK_FUNCTION_LIST_PTR f,
    CK_SLOT_ID slot, mr_key_type type, size_t digest_len);
void mr_token_mechs_free(mr_token_mechs *m);

/* Copies a blank-padded PKCS#11 string field into a C string of cap bytes. */
void mr_token_p11_string(char *dst, size_t cap, const CK_UTF8CHAR *src, size_t n);

#endif

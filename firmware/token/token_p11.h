/*
 * Private to the firmware/token files that speak PKCS#11. It pulls in the
 * PKCS#11 header, which clashes with wolfSSL's: include it only from
 * token_pkcs11.c, token_rv.c and token_uri.c, never from outside this folder.
 */
#ifndef MR_TOKEN_P11_H
#define MR_TOKEN_P11_H

#include <p11-kit/pkcs11.h>

#include "mr_diag.h"
#include "mr_err.h"

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

/* Copies a blank-padded PKCS#11 string field into a C string of cap bytes. */
void mr_token_p11_string(char *dst, size_t cap, const CK_UTF8CHAR *src, size_t n);

#endif

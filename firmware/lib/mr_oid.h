/*
 * The object identifiers meshroot reads or writes, as DER content bytes
 * (no tag, no length). OIDs are compared by length and bytes (STYLE.md).
 */
#ifndef MR_OID_H
#define MR_OID_H

#include <stddef.h>
#include <stdint.h>

#include "mr_der.h"

typedef struct {
	const uint8_t *p;
	size_t n;
} mr_oid;

extern const mr_oid MR_OID_EC_PUBLIC_KEY, MR_OID_P256, MR_OID_P384,
    MR_OID_RSA_ENCRYPTION, MR_OID_SHA256_RSA, MR_OID_SHA384_RSA,
    MR_OID_SHA512_RSA, MR_OID_ECDSA_SHA256, MR_OID_ECDSA_SHA384,
    MR_OID_ECDSA_SHA512, MR_OID_AT_CN, MR_OID_AT_O, MR_OID_AT_OU, MR_OID_AT_L,
    MR_OID_AT_C, MR_OID_EXTENSION_REQUEST, MR_OID_CE_BASIC_CONSTRAINTS,
    MR_OID_CE_KEY_USAGE, MR_OID_CE_SKI, MR_OID_CE_AKI, MR_OID_CE_EKU,
    MR_OID_CE_SAN, MR_OID_CE_NAME_CONSTRAINTS, MR_OID_KP_SERVER_AUTH;

/* 1 if the OID element content `v` is `oid`. */
int mr_oid_is(mr_der v, const mr_oid *oid);
/* Writes the OID as a complete element. */
void mr_dw_oid(mr_dw *w, const mr_oid *oid);

#endif

/*
 * PEM (RFC 7468) reading and writing, strict: only the labels a caller asks
 * for, base64 bodies of bounded size, no headers (RFC 1421 style headers are
 * rejected). Text outside the blocks is ignored, as RFC 7468 section 2 allows.
 */
#ifndef MR_PEM_H
#define MR_PEM_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

/*
 * Finds the next block labelled `label` ("CERTIFICATE", "CERTIFICATE
 * REQUEST", ...) in text[*pos .. n), decodes it into der (cap bytes) and
 * advances *pos past it. MR_E_NOTFOUND when no further block exists,
 * MR_E_PEM when a block is malformed or does not fit.
 */
int mr_pem_next(const char *text, size_t n, size_t *pos, const char *label,
    uint8_t *der, size_t cap, size_t *der_len) MR_MUST_CHECK;

/* Encodes der as one PEM block with 64-character lines into out (NUL
 * terminated); *len excludes the NUL. */
int mr_pem_write(const char *label, const uint8_t *der, size_t der_len, char *out,
    size_t cap, size_t *len) MR_MUST_CHECK;

/* Bytes needed by mr_pem_write for der_len bytes of DER, NUL included. */
size_t mr_pem_size(const char *label, size_t der_len);

#endif

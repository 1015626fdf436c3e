/*
 * Standard base64 (RFC 4648 section 4) with padding, for PEM bodies,
 * signed-note checkpoints and Kubernetes Secret manifests.
 */
#ifndef MR_BASE64_H
#define MR_BASE64_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

/* Bytes mr_base64_encode writes for n input bytes, NUL excluded. */
#define MR_BASE64_LEN(n) (((n) + 2) / 3 * 4)

/* Encodes in[0..n) into out, NUL-terminated; MR_E_RANGE when cap is less
 * than MR_BASE64_LEN(n) + 1. */
int mr_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap) MR_MUST_CHECK;
/* Decodes in[0..n) strictly: canonical padding, no whitespace, no other
 * characters. MR_E_DER when malformed, MR_E_RANGE when it does not fit. */
int mr_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *len) MR_MUST_CHECK;
/* The value of one base64 character, -1 for anything else ('=' included). */
int mr_base64_value(char c);

#endif

/*
 * Line records "key=value key=value ...\n", the text form of the audit log
 * and the issuance database. Values are percent-encoded outside a safe
 * set, so a record is always one line of printable ASCII whatever a
 * requester put in a subject, and parsing back is exact.
 */
#ifndef MR_RECORD_H
#define MR_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

#define MR_RECORD_MAX 2048

typedef struct {
	char buf[MR_RECORD_MAX];
	size_t len;
	int err;
} mr_record;

void mr_record_init(mr_record *r);
void mr_record_add(mr_record *r, const char *key, const char *value);
void mr_record_addf(mr_record *r, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
void mr_record_add_hex(mr_record *r, const char *key, const uint8_t *b, size_t n);
/* Appends the fields of another unfinished record. */
void mr_record_append(mr_record *r, const mr_record *other);
/* Terminates the line with '\n'; MR_E_RANGE if anything did not fit. */
int mr_record_finish(mr_record *r) MR_MUST_CHECK;

/*
 * Finds `key` in one record line (line[0..n), no '\n' needed) and decodes
 * its value into out. MR_E_NOTFOUND when absent, MR_E_RANGE when it does
 * not fit, MR_E_DER when the encoding is invalid.
 */
int mr_record_get(const char *line, size_t n, const char *key, char *out, size_t cap) MR_MUST_CHECK;

/* Decodes lowercase/uppercase hex of exactly 2*n digits. */
int mr_hex_decode(const char *hex, uint8_t *out, size_t n) MR_MUST_CHECK;
void mr_hex_encode(const uint8_t *b, size_t n, char *out /* 2n+1 */);

#endif

/*
 * Bounded DER reading and writing.
 *
 * Reading: an mr_der is a view {p, n} into bytes owned by someone else.
 * mr_der_next takes one element off the front of a view; it checks the
 * whole element fits before it advances and leaves the view unchanged on
 * failure. Only what X.509 needs is accepted: single-byte tags, definite
 * minimal lengths up to MR_DER_MAX_LEN. Nothing recurses.
 *
 * Writing: mr_dw writes BACKWARDS from the end of a caller buffer (as
 * mbedTLS's asn1write does), so that a constructed element is written by
 * writing its children last-to-first and then wrapping them with
 * mr_dw_wrap(w, tag, mark). Errors are sticky: after an overflow every
 * write is a no-op and mr_dw_finish reports MR_E_RANGE.
 */
#ifndef MR_DER_H
#define MR_DER_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mr_err.h"

#define MR_DER_MAX_LEN (1u << 20)

enum {
	MR_DER_BOOLEAN = 0x01,
	MR_DER_INTEGER = 0x02,
	MR_DER_BIT_STRING = 0x03,
	MR_DER_OCTET_STRING = 0x04,
	MR_DER_NULL = 0x05,
	MR_DER_OID = 0x06,
	MR_DER_UTF8_STRING = 0x0c,
	MR_DER_PRINTABLE_STRING = 0x13,
	MR_DER_IA5_STRING = 0x16,
	MR_DER_UTC_TIME = 0x17,
	MR_DER_GENERALIZED_TIME = 0x18,
	MR_DER_SEQUENCE = 0x30,
	MR_DER_SET = 0x31,
	MR_DER_CONTEXT0 = 0xa0, /* [0] constructed */
	MR_DER_CONTEXT1 = 0xa1,
	MR_DER_CONTEXT3 = 0xa3,
};

typedef struct {
	const uint8_t *p;
	size_t n;
} mr_der;

static inline mr_der
mr_der_view(const uint8_t *p, size_t n)
{
	mr_der v = { p, n };
	return v;
}

/* Takes the next element: its tag, its content, and (optional) the whole
 * TLV. MR_E_DER when the view is empty or the element is malformed. */
int mr_der_next(mr_der *in, uint8_t *tag, mr_der *content, mr_der *whole) MR_MUST_CHECK;
/* As mr_der_next, but the tag must be `tag`. */
int mr_der_expect(mr_der *in, uint8_t tag, mr_der *content, mr_der *whole) MR_MUST_CHECK;
/* The tag of the next element, or -1 if the view is empty. */
int mr_der_peek(const mr_der *in);
/* Parses a complete element that must span all of buf (no trailing bytes). */
int mr_der_whole(const uint8_t *buf, size_t n, uint8_t tag, mr_der *content) MR_MUST_CHECK;
/* 1 if both views hold the same bytes. */
int mr_der_equal(mr_der a, mr_der b);
/* A BIT STRING's content with 0 unused bits: the bytes after the count. */
int mr_der_bits(mr_der content, mr_der *bytes) MR_MUST_CHECK;
/* A DER BOOLEAN's content: 0xff or 0x00 only. */
int mr_der_bool(mr_der content, int *value) MR_MUST_CHECK;
/* A small non-negative INTEGER (minimal encoding) into *v. */
int mr_der_uint(mr_der content, unsigned long *v) MR_MUST_CHECK;
/* UTCTime (YYMMDDHHMMSSZ) or GeneralizedTime (YYYYMMDDHHMMSSZ) to time_t. */
int mr_der_time(uint8_t tag, mr_der content, time_t *t) MR_MUST_CHECK;

typedef struct {
	uint8_t *buf;
	size_t cap;
	size_t pos; /* the output is buf[pos .. cap) */
	int err;
} mr_dw;

void mr_dw_init(mr_dw *w, uint8_t *buf, size_t cap);
/* Bytes written so far; use as a mark before writing an element's children. */
size_t mr_dw_len(const mr_dw *w);
void mr_dw_raw(mr_dw *w, const void *data, size_t n);
void mr_dw_raw_der(mr_dw *w, mr_der v);
/* Wraps everything written since `mark` into one element with `tag`. */
void mr_dw_wrap(mr_dw *w, uint8_t tag, size_t mark);
void mr_dw_tlv(mr_dw *w, uint8_t tag, const void *data, size_t n);
/* An INTEGER from unsigned big-endian bytes: leading zeros dropped, a 0x00
 * added when the top bit is set. */
void mr_dw_uint_bytes(mr_dw *w, const uint8_t *be, size_t n);
void mr_dw_uint(mr_dw *w, unsigned long v);
void mr_dw_bool(mr_dw *w, int v);
/* BIT STRING with 0 unused bits. */
void mr_dw_bits(mr_dw *w, const uint8_t *data, size_t n);
/* RFC 5280 4.1.2.5: UTCTime through 2049, GeneralizedTime from 2050. */
void mr_dw_time(mr_dw *w, time_t t);
/* MR_OK and the output, or the sticky error. */
int mr_dw_finish(const mr_dw *w, const uint8_t **out, size_t *len) MR_MUST_CHECK;

#endif

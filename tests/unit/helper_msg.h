/*
 * Crafted helper messages for the unit tests of the signer's readers
 * (privsep_test.c, serve_ps_test.c): the framing of mr_psmsg.h written
 * byte by byte, independently of mr_pswr, so that a change to the framing
 * shows up as a failing test.
 */
#ifndef HELPER_MSG_H
#define HELPER_MSG_H

#include <stdint.h>
#include <string.h>

/* Appends a message to b at *n: type, `pad` (a reserved byte: 0 but in
 * tests of it), two zero bytes, the body length (big-endian u32), body. */
static inline void
helper_msg(uint8_t *b, size_t *n, uint8_t type, uint8_t pad, const void *body, size_t len)
{
	b[(*n)++] = type;
	b[(*n)++] = pad;
	b[(*n)++] = 0;
	b[(*n)++] = 0;
	b[(*n)++] = (uint8_t)(len >> 24);
	b[(*n)++] = (uint8_t)(len >> 16);
	b[(*n)++] = (uint8_t)(len >> 8);
	b[(*n)++] = (uint8_t)len;
	if (len > 0)
		memcpy(b + *n, body, len);
	*n += len;
}

#endif

/*
 * mr_diag: the human detail that goes with an mr_err. A caller owns one
 * mr_diag and passes it down; the function that detects a problem writes one
 * line into it ("C_Sign: CKR_PIN_EXPIRED", "RSA-2048 is below the policy
 * minimum of 3072 bits"). The first message wins: callers higher up may add
 * context with mr_diag_prefix. Never put secrets in a diag.
 */
#ifndef MR_DIAG_H
#define MR_DIAG_H

#include <stddef.h>

#include "mr_err.h"

typedef struct {
	char msg[320];
} mr_diag;

void mr_diag_clear(mr_diag *d);
/* Sets the message unless one is already set. Returns err, so that
 * `return mr_diag_set(d, MR_E_CSR, "...")` reads naturally. d may be NULL. */
int mr_diag_set(mr_diag *d, int err, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to the current message. */
void mr_diag_prefix(mr_diag *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The message, or mr_strerror(err) when none was set. */
const char *mr_diag_text(const mr_diag *d, int err);

#endif

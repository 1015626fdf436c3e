/*
 * meshroot's own lints for the CA certificates it builds. They run on the
 * TBS BEFORE the token signs (a certificate that breaks a rule is never
 * signed) and again on the signed result. Each rule quotes its source.
 *
 * `issuer` is the parsed root for an intermediate, NULL for the self-signed
 * root itself. `now` is the appliance clock.
 */
#ifndef MR_LINT_H
#define MR_LINT_H

#include <time.h>

#include "mr_cert.h"
#include "mr_diag.h"

typedef enum {
	MR_LINT_ROOT,
	MR_LINT_INTERMEDIATE,
} mr_lint_kind;

/* MR_OK, or MR_E_LINT with the first broken rule in d. */
int mr_lint_ca(const mr_cert *c, mr_lint_kind kind, const mr_cert *issuer, time_t now,
    mr_diag *d) MR_MUST_CHECK;

#endif

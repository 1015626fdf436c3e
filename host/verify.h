/*
 * verify: checks an Istio cacerts directory (ours or anyone's) the way istiod
 * checks it when it loads a plug-in CA, plus PKI hygiene.
 *
 * The directory must hold ca-cert.pem, ca-key.pem, root-cert.pem and
 * cert-chain.pem (istiod refuses a partial set); ca-crl.pem may be present,
 * and then must hold a current CRL signed by every certificate of
 * cert-chain.pem, none of which may be revoked (crl.h). Every problem found is written to report as one line
 * "DIR: problem: <text>"; when there is none, one line
 * "DIR: ok (<intermediate subject, expiry, root fingerprint>)" is written.
 * Validity periods are judged at `now`, not at the wall clock.
 *
 * Returns the number of problems (0 = istiod would load it and it is
 * hygienic), or a negative mr_err when the directory cannot be read at all;
 * then nothing is written to report and the detail goes into d.
 */
#ifndef MR_HOST_VERIFY_H
#define MR_HOST_VERIFY_H

#include <stdio.h>
#include <time.h>

#include "mr_diag.h"
#include "mr_err.h"

int mr_host_verify_dir(const char *dir, FILE *report, time_t now) MR_MUST_CHECK;

/* The same, with the reason for a negative return in d (may be NULL). */
int mr_host_verify_dir_diag(const char *dir, FILE *report, time_t now,
    mr_diag *d) MR_MUST_CHECK;

/* What the "ok" line says, as fields (for `verify --json`). */
typedef struct {
	int ok;                  /* set when the directory had no problem */
	char intermediate[192];  /* subject, made printable */
	time_t not_after;        /* the intermediate's */
	char root[192];          /* the root it verifies to, made printable */
	char root_sha256[3 * 32 + 1]; /* AA:BB:... */
} mr_host_verify_summary;

/* The same again, filling sum (cleared first) when there is no problem. */
int mr_host_verify_dir_sum(const char *dir, FILE *report, time_t now,
    mr_host_verify_summary *sum, mr_diag *d) MR_MUST_CHECK;

#endif

/*
 * Building CA certificates from policy: the Name, the TBSCertificate and
 * the final Certificate. Everything written here comes from the caller's
 * policy decisions; no requester bytes are copied except the public key,
 * which the caller has parsed and checked with mr_spki_parse.
 *
 * Extensions written (RFC 5280 4.2): basicConstraints critical CA:TRUE
 * (pathLenConstraint when path_len >= 0), keyUsage critical, SKI, AKI
 * (keyIdentifier only), and, when the policy asks for it, nameConstraints
 * (critical, 4.2.1.10) with permitted subtrees only: one URI host (the
 * SPIFFE trust domain) and DNS domains.
 */
#ifndef MR_TBS_H
#define MR_TBS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mr_der.h"
#include "mr_pubkey.h"

/* Name attributes; NULL or "" ones are left out. Written in the order
 * C, O, OU, L, CN, each as its own RDN. C is a PrintableString of two
 * letters, the others UTF8String of at most 64 bytes (RFC 5280 ub-*). */
typedef struct {
	const char *c, *o, *ou, *l, *cn;
} mr_name_fields;

int mr_name_build(const mr_name_fields *f, uint8_t *buf, size_t cap, mr_der *out) MR_MUST_CHECK;

typedef struct {
	const uint8_t *serial;   /* big-endian, positive, 1..20 bytes */
	size_t serial_len;
	mr_sig_alg sig_alg;
	mr_der issuer, subject;  /* Name elements */
	time_t not_before, not_after;
	mr_der spki;             /* SubjectPublicKeyInfo element */
	const uint8_t *ski;      /* 20 bytes */
	const uint8_t *aki;      /* 20 bytes */
	long path_len;           /* -1: none */
	unsigned key_usage;      /* MR_KU_* */
	/* nameConstraints permittedSubtrees; none written when both are empty.
	 * Each a DNS name as RFC 5280 4.2.1.10 wants it (no scheme, no
	 * wildcard); checked by the caller (mr_config). */
	const char *nc_uri_host;      /* uniformResourceIdentifier host, or NULL */
	const char *const *nc_dns;    /* dNSName subtrees */
	size_t n_nc_dns;
} mr_tbs_params;

/* Writes the TBSCertificate into buf; *out views it inside buf. */
int mr_tbs_build(const mr_tbs_params *p, uint8_t *buf, size_t cap, mr_der *out) MR_MUST_CHECK;

/* Certificate ::= SEQUENCE { tbs, signatureAlgorithm, signatureValue }. */
int mr_cert_assemble(mr_der tbs, mr_sig_alg alg, const uint8_t *sig, size_t sig_len,
    uint8_t *buf, size_t cap, mr_der *out) MR_MUST_CHECK;

#endif

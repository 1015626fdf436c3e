/*
 * Certificate revocation lists (RFC 5280 section 5): the encoder for the
 * CRLs the root (in the token) and an intermediate (on the host) sign, and
 * a bounded, non-recursive parser to check them.
 *
 * Encoder: TBSCertList version v2 with
 *   signature, issuer (the issuer's subject Name, 5.1.2.3), thisUpdate,
 *   nextUpdate (5.1.2.5: conforming CAs MUST include it),
 *   revokedCertificates (absent when empty, 5.1.2.6), each entry with a
 *   reasonCode entry extension (5.3.1) unless the reason is unspecified
 *   ("SHOULD be absent instead of using the unspecified (0) reasonCode"),
 *   crlExtensions: authorityKeyIdentifier (5.2.1, MUST) and cRLNumber
 *   (5.2.3, MUST, non-critical, monotonically increasing).
 * The CertificateList itself has a Certificate's shape
 * (SEQUENCE { tbs, signatureAlgorithm, signatureValue }): sign the TBS's
 * digest as for a certificate and wrap it with mr_cert_assemble.
 *
 * Parser: views into the caller's buffer, which must outlive the mr_crl.
 * Unknown critical CRL or entry extensions are rejected (5.2, 5.3: a CRL
 * with an unrecognised critical extension MUST NOT be used).
 */
#ifndef MR_CRL_H
#define MR_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mr_der.h"
#include "mr_diag.h"
#include "mr_pubkey.h"

/* CRLReason (RFC 5280 5.3.1); 7 is not used. */
enum {
	MR_CRL_REASON_UNSPECIFIED = 0,
	MR_CRL_REASON_KEY_COMPROMISE = 1,
	MR_CRL_REASON_CA_COMPROMISE = 2,
	MR_CRL_REASON_AFFILIATION_CHANGED = 3,
	MR_CRL_REASON_SUPERSEDED = 4,
	MR_CRL_REASON_CESSATION_OF_OPERATION = 5,
	MR_CRL_REASON_CERTIFICATE_HOLD = 6,
	MR_CRL_REASON_REMOVE_FROM_CRL = 8,
	MR_CRL_REASON_PRIVILEGE_WITHDRAWN = 9,
	MR_CRL_REASON_AA_COMPROMISE = 10,
};

/* The RFC 5280 name ("keyCompromise", ...) of a reason, or NULL. */
const char *mr_crl_reason_name(int reason);
/* Parses an RFC 5280 reason name (case-insensitive). A CA issuing
 * intermediates never puts them on hold, and removeFromCRL belongs to delta
 * CRLs: both are refused here. MR_E_ARG for anything else unknown. */
int mr_crl_reason_parse(const char *name, int *reason) MR_MUST_CHECK;

typedef struct {
	const uint8_t *serial; /* big-endian, positive, 1..20 bytes */
	size_t serial_len;
	time_t revoked_at;
	int reason;            /* MR_CRL_REASON_* */
} mr_crl_entry;

typedef struct {
	mr_sig_alg sig_alg;
	mr_der issuer;               /* the issuer's subject Name element */
	time_t this_update, next_update;
	const mr_crl_entry *entries; /* may be NULL when n_entries is 0 */
	size_t n_entries;
	unsigned long crl_number;
	const uint8_t *aki;          /* the issuer's SKI, 20 bytes */
} mr_crl_params;

/* Writes the TBSCertList into buf; *out views it inside buf. MR_E_ARG for
 * bad parameters (nextUpdate not after thisUpdate, a bad serial or
 * reason), MR_E_RANGE when buf is too small. */
int mr_crl_tbs_build(const mr_crl_params *p, uint8_t *buf, size_t cap, mr_der *out) MR_MUST_CHECK;

typedef struct {
	mr_der whole, tbs;
	mr_sig_alg sig_alg;     /* outer signatureAlgorithm */
	mr_der sig;             /* signatureValue bytes */
	mr_sig_alg tbs_sig_alg;
	mr_der issuer;          /* Name element */
	time_t this_update, next_update;
	int has_next_update;
	mr_der revoked;         /* revokedCertificates content; empty if absent */
	size_t n_revoked;
	int has_crl_number;
	unsigned long crl_number; /* ULONG_MAX when it does not fit (crl_number_der has it) */
	mr_der crl_number_der;    /* the INTEGER content, up to 20 octets (5.2.3) */
	int has_aki;
	mr_der aki_key_id;
} mr_crl;

typedef struct {
	mr_der serial;          /* INTEGER content */
	time_t revoked_at;
	int reason;             /* -1 when no reasonCode */
} mr_crl_revoked;

/* Parses a CertificateList spanning all of der: v2 only; every entry is
 * checked. */
int mr_crl_parse(const uint8_t *der, size_t n, mr_crl *c, mr_diag *d) MR_MUST_CHECK;
/* Takes the next entry off a view of revokedCertificates content (start
 * with c->revoked). MR_E_NOTFOUND at the end. */
int mr_crl_next(mr_der *revoked, mr_crl_revoked *e, mr_diag *d) MR_MUST_CHECK;
/* 1 and *e if the serial (INTEGER content) is on the CRL, else 0. */
int mr_crl_find(const mr_crl *c, mr_der serial, mr_crl_revoked *e);
/* Verifies the CRL's signature with the issuer's key. */
int mr_crl_verify_signature(const mr_crl *c, const mr_spki *issuer_key, mr_diag *d) MR_MUST_CHECK;

#endif

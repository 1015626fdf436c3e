/*
 * PKCS#10 certificate requests (RFC 2986), parsed from untrusted bytes.
 *
 * Only three things of a CSR are ever used: its public key, the proof that
 * the requester holds the private key (the self-signature), and its hash.
 * What the CSR asks for (subject, extensions) is recorded so the operator
 * can be told what was ignored; nothing of it reaches a certificate.
 */
#ifndef MR_CSR_H
#define MR_CSR_H

#include "mr_cert.h"
#include "mr_der.h"
#include "mr_diag.h"
#include "mr_pubkey.h"

#define MR_CSR_MAX_DER 16384u

typedef struct {
	mr_der whole;
	mr_der info;           /* CertificationRequestInfo: the signed bytes */
	mr_der subject;        /* Name element as requested (shown, never copied) */
	mr_spki spki;
	mr_sig_alg sig_alg;
	mr_der sig;
	int has_ext_request;   /* an extensionRequest attribute was present */
	mr_exts requested;     /* ... and what it asked for */
	unsigned other_attributes;
} mr_csr;

/* Parses a DER CSR spanning all of der and checks its self-signature. */
int mr_csr_parse(const uint8_t *der, size_t n, mr_csr *c, mr_diag *d) MR_MUST_CHECK;

/* mr_csr_parse without the self-signature check: the structure only. For
 * the confined request parser, whose CSRs the signer parses again and
 * checks in full (mr_request_parse): the signature is checked once, on the
 * side that trusts its result. */
int mr_csr_parse_unverified(const uint8_t *der, size_t n, mr_csr *c, mr_diag *d) MR_MUST_CHECK;

/* The self-signature check of mr_csr_parse, on a CSR parsed unverified:
 * MR_E_SIG ("CSR self-signature: ...") when it does not verify. */
int mr_csr_verify(const mr_csr *c, mr_diag *d) MR_MUST_CHECK;

/* One line naming what the CSR asked for and meshroot ignores, e.g.
 * "basicConstraints pathlen 5, subjectAltName"; "" when nothing. */
void mr_csr_ignored(const mr_csr *c, char *out, size_t cap);

#endif

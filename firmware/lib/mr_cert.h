/*
 * X.509 certificate and extension parsing (RFC 5280), bounded and
 * non-recursive. The views in an mr_cert point into the caller's buffer,
 * which must outlive it.
 *
 * Parsing only checks structure; whether the content is acceptable for a
 * CA certificate is mr_lint's job.
 */
#ifndef MR_CERT_H
#define MR_CERT_H

#include <time.h>

#include "mr_der.h"
#include "mr_diag.h"
#include "mr_pubkey.h"

/* keyUsage bits, RFC 5280 4.2.1.3 numbering. */
enum {
	MR_KU_DIGITAL_SIGNATURE = 1u << 0,
	MR_KU_NON_REPUDIATION = 1u << 1,
	MR_KU_KEY_ENCIPHERMENT = 1u << 2,
	MR_KU_DATA_ENCIPHERMENT = 1u << 3,
	MR_KU_KEY_AGREEMENT = 1u << 4,
	MR_KU_KEY_CERT_SIGN = 1u << 5,
	MR_KU_CRL_SIGN = 1u << 6,
	MR_KU_ENCIPHER_ONLY = 1u << 7,
	MR_KU_DECIPHER_ONLY = 1u << 8,
};

typedef struct {
	unsigned count;        /* extensions seen */
	int has_bc, bc_critical, bc_ca;
	long bc_pathlen;       /* -1 when absent */
	int has_ku, ku_critical;
	unsigned ku;           /* MR_KU_* */
	int has_ski, ski_critical;
	mr_der ski;
	int has_aki, aki_critical;
	mr_der aki_key_id;     /* empty when the AKI has no keyIdentifier */
	int has_eku, eku_server_auth;
	int has_san, has_name_constraints;
	unsigned unknown;          /* extensions we do not know */
	unsigned unknown_critical; /* ... and marked critical */
} mr_exts;

/* Parses the content of an Extensions SEQUENCE. Duplicate extensions
 * (RFC 5280 4.2: "MUST NOT include more than one instance") and an explicit
 * critical FALSE (DER: DEFAULT values are omitted) are MR_E_DER. */
int mr_exts_parse(mr_der seq_content, mr_exts *out, mr_diag *d) MR_MUST_CHECK;

typedef struct {
	mr_der whole;          /* the Certificate element */
	mr_der tbs;            /* the TBSCertificate element: the signed bytes */
	mr_sig_alg sig_alg;    /* outer signatureAlgorithm */
	mr_der sig;            /* signatureValue bytes */

	unsigned long version; /* 2 for v3 */
	mr_der serial;         /* INTEGER content */
	mr_sig_alg tbs_sig_alg;
	mr_der issuer, subject; /* Name elements */
	time_t not_before, not_after;
	mr_spki spki;
	mr_exts ext;
} mr_cert;

/* Parses a TBSCertificate element (all of tbs). */
int mr_tbs_parse(mr_der tbs, mr_cert *c, mr_diag *d) MR_MUST_CHECK;
/* Parses a Certificate that spans all of der. */
int mr_cert_parse(const uint8_t *der, size_t n, mr_cert *c, mr_diag *d) MR_MUST_CHECK;
/* Verifies c's signature with issuer's key. */
int mr_cert_verify_signature(const mr_cert *c, const mr_spki *issuer_key, mr_diag *d) MR_MUST_CHECK;
/* Writes the serial as lowercase hex without separators. */
void mr_cert_serial_hex(const mr_cert *c, char *out, size_t cap);

#endif

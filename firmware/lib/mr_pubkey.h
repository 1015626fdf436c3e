/*
 * Public keys (SubjectPublicKeyInfo) and the signatures made with them.
 *
 * mr_spki_parse accepts only the key types in mr_keytype.h: EC on P-256 or
 * P-384 with an uncompressed point of the right length, RSA with a modulus
 * of exactly 2048/3072/4096 bits and exponent 65537. Anything else is
 * MR_E_CERT with the reason in the diag.
 */
#ifndef MR_PUBKEY_H
#define MR_PUBKEY_H

#include <stddef.h>
#include <stdint.h>

#include "mr_der.h"
#include "mr_diag.h"
#include "mr_keytype.h"

typedef struct {
	mr_der whole;   /* the SPKI element */
	mr_der key;     /* subjectPublicKey BIT STRING bytes */
	mr_key_type type;
} mr_spki;

int mr_spki_parse(mr_der spki, mr_spki *out, mr_diag *d) MR_MUST_CHECK;

/* RFC 7093 section 2 method 1: the leftmost 160 bits of the SHA-256 of
 * subjectPublicKey. Used for SKI and AKI. */
void mr_spki_key_id(const mr_spki *k, uint8_t id[20]);

typedef enum {
	MR_SIG_UNKNOWN = 0,
	MR_SIG_ECDSA_SHA256,
	MR_SIG_ECDSA_SHA384,
	MR_SIG_ECDSA_SHA512,
	MR_SIG_RSA_SHA256,
	MR_SIG_RSA_SHA384,
	MR_SIG_RSA_SHA512,
} mr_sig_alg;

/* Parses an AlgorithmIdentifier element's content. ECDSA must have absent
 * parameters (RFC 5758 3.2), RSA NULL or absent. */
int mr_sig_alg_parse(mr_der alg_content, mr_sig_alg *out) MR_MUST_CHECK;
/* Writes a complete AlgorithmIdentifier (RSA with NULL parameters). */
void mr_dw_sig_alg(mr_dw *w, mr_sig_alg alg);
const char *mr_sig_alg_name(mr_sig_alg alg);
/* The signature algorithm meshroot uses for an issuer key of this type:
 * ECDSA with SHA-256 for P-256, SHA-384 for P-384, RSA with SHA-256. */
mr_sig_alg mr_sig_alg_for_key(mr_key_type t);
/* Digest length of the algorithm's hash (32, 48, 64), 0 when unknown. */
size_t mr_sig_alg_digest_len(mr_sig_alg alg);
/* Hashes msg with the algorithm's hash. */
int mr_sig_alg_digest(mr_sig_alg alg, const uint8_t *msg, size_t n,
    uint8_t *out, size_t cap, size_t *len) MR_MUST_CHECK;
/* 1 when the algorithm is for this key's family. */
int mr_sig_alg_fits_key(mr_sig_alg alg, mr_key_type t);

/*
 * wolfSSL (built with FP_ECC, as Debian's is) keeps per-thread tables of
 * the EC points it verified with: several MiB after a window of checks,
 * and never freed when the thread exits. A thread that verifies calls this
 * when it is done, so memory stays flat however many windows a batch has.
 */
void mr_sig_release_cache(void);

/*
 * Keeps wolfCrypt initialised for the whole process (called once at
 * start). A library call that brackets its work with wolfCrypt_Init and
 * wolfCrypt_Cleanup (wc_CheckCertSigPubKey's users: host verify, once per
 * cluster) would otherwise tear the tables above down each time, and the
 * next cluster would build the root key's again on its second use: 35
 * million instructions a cluster in `bundle --all`.
 */
void mr_sig_hold_init(void);

/*
 * Verifies that sig (the signatureValue BIT STRING bytes) is alg's signature
 * over msg by key. MR_OK or MR_E_SIG.
 */
int mr_sig_verify(const mr_spki *key, mr_sig_alg alg, const uint8_t *msg, size_t n,
    const uint8_t *sig, size_t sig_len, mr_diag *d) MR_MUST_CHECK;

#endif

/*
 * The ceremony config: one small reviewable text file that fixes the root
 * (subject, key type, validity, token key label) and the issuing policy for
 * intermediates. Witnesses read it before the ceremony; its SHA-256 goes
 * into the audit log and the transcript.
 *
 * Syntax: "[section]" lines, "key = value" lines, '#' comments, blank
 * lines. Unknown sections or keys, duplicates, and control characters are
 * errors naming the line: a typo must never silently fall back to a default.
 */
#ifndef MR_CONFIG_H
#define MR_CONFIG_H

#include <stddef.h>

#include "mr_diag.h"
#include "mr_keytype.h"

#define MR_CONFIG_MAX 16384u
#define MR_CONFIG_MAX_DNS 8u

typedef struct {
	char root_cn[65];
	char root_o[65];
	char root_c[3];
	mr_key_type root_key_type;
	unsigned root_validity_days;
	char root_key_label[65];
	int audit_key; /* MR_AUDIT_KEY_*: the audit key's type */

	char policy_o[65];
	unsigned max_validity_days;
	unsigned allowed_key_types; /* bit (1u << mr_key_type) */
	unsigned crl_validity_days; /* root CRL nextUpdate - thisUpdate */
	/* Name constraints on every intermediate (empty: none): the SPIFFE
	 * trust domain its workloads' URI SANs must use, and DNS domains. */
	char nc_trust_domain[128];
	char nc_dns[MR_CONFIG_MAX_DNS][128];
	unsigned n_nc_dns;

	/* [custody]: split custody of the token PIN (mr_share.h) */
	int custody_split;
	unsigned custody_shares, custody_threshold;

	/* [token]: the module's C_Initialize init string (pReserved), "" none */
	char module_args[256];
} mr_config;

/* [root] audit_key: auto picks Ed25519 when the token can make and use it
 * (CKM_EC_EDWARDS_KEY_PAIR_GEN, CKM_EDDSA), else ECDSA P-256. */
enum { MR_AUDIT_KEY_AUTO = 0, MR_AUDIT_KEY_ED25519, MR_AUDIT_KEY_ECDSA_P256 };

/* Most custody shares: enough for any board of custodians, and few enough
 * to print and collect in one ceremony. */
#define MR_CONFIG_MAX_SHARES 16u

/* Fills c with the defaults, then applies the text. */
int mr_config_parse(const char *text, size_t n, mr_config *c, mr_diag *d) MR_MUST_CHECK;
/* The commented default config printed by `ceremony template`. */
const char *mr_config_template(void);
/* 1 if policy allows intermediates with this key type. */
int mr_config_allows(const mr_config *c, mr_key_type t);

#endif

/*
 * The key types meshroot knows. Policy allowlists are expressed in these;
 * anything else (other curves, RSA sizes, Ed25519...) is MR_KEY_UNKNOWN.
 */
#ifndef MR_KEYTYPE_H
#define MR_KEYTYPE_H

typedef enum {
	MR_KEY_UNKNOWN = 0,
	MR_KEY_EC_P256,
	MR_KEY_EC_P384,
	MR_KEY_RSA_2048, /* recognised so it can be named in a refusal; never allowed */
	MR_KEY_RSA_3072,
	MR_KEY_RSA_4096,
	/* The audit key only (mr_audit.h): named, never parsed from a config
	 * nor allowed by a policy. */
	MR_KEY_ED25519,
} mr_key_type;

/* "ec-p256", "ec-p384", "rsa-2048", "rsa-3072", "rsa-4096", "ed25519", "unknown". */
const char *mr_key_type_name(mr_key_type t);
/* Parses the names above except ed25519; MR_KEY_UNKNOWN when not one of them. */
mr_key_type mr_key_type_parse(const char *name);
/* 1 for the EC types, 0 otherwise. */
int mr_key_type_is_ec(mr_key_type t);
/* Curve bits or modulus bits. */
unsigned mr_key_type_bits(mr_key_type t);

#endif

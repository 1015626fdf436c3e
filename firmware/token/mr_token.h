/*
 * The token layer: the only code in meshroot that calls PKCS#11 (C_*)
 * functions. Its API uses no CK_* types, so that callers never include the
 * PKCS#11 header (it clashes with wolfSSL's).
 *
 * One mr_token is one loaded module, one selected token, one long-lived
 * R/W session and at most one login. Key handles are looked up by CKA_LABEL
 * once and cached. Every failing PKCS#11 call is reported in the diag as
 * "C_Function: CKR_NAME" so an operator can act on it.
 *
 * Keys are generated with a template every conforming token takes:
 * CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, !CKA_EXTRACTABLE, CKA_SIGN only
 * (no decrypt, unwrap, derive), CKA_ID 16 random bytes from the token RNG,
 * and, where the token takes them, !CKA_MODIFIABLE, !CKA_COPYABLE,
 * !CKA_SIGN_RECOVER. What the token made is read back; a key weaker than
 * asked is refused and destroyed. Generation refuses a label that already
 * exists.
 */
#ifndef MR_TOKEN_H
#define MR_TOKEN_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_err.h"
#include "mr_keytype.h"

typedef struct mr_token mr_token;

/* Longest key label (CKA_LABEL) the token layer accepts, in bytes. */
#define MR_TOKEN_LABEL_MAX 64

/*
 * Loads the module (dlopen), C_Initialize, selects the one token whose label
 * equals `selector`, or that matches `selector` as a PKCS#11 URI (RFC 7512,
 * "pkcs11:token=...;serial=..."; parsed with p11-kit, loaded for it), and
 * opens an R/W session. Zero or several matching tokens is an error naming
 * the selector.
 */
int mr_token_open(mr_token **out, const char *module_path, const char *selector,
    mr_diag *d) MR_MUST_CHECK;
/* As mr_token_open; `module_args` (NULL or "": none) goes to C_Initialize
 * in CK_C_INITIALIZE_ARGS.pReserved, the init string some modules need
 * (NSS softoken: "configdir='sql:DIR' certPrefix='' keyPrefix='' ..."). A
 * module already initialised in this process keeps its first string. */
int mr_token_open_args(mr_token **out, const char *module_path, const char *module_args,
    const char *selector, mr_diag *d) MR_MUST_CHECK;
/* Logs out, closes the session, C_Finalize, dlclose. NULL is fine. */
void mr_token_close(mr_token *t);

/* Token label and serial number, blank padding removed. */
int mr_token_info(mr_token *t, char label[33], char serial[17], mr_diag *d) MR_MUST_CHECK;

/*
 * C_Login as CKU_USER. A wrong PIN gives MR_E_PIN and a diag that names the
 * CK_RV. The PIN is not kept after the call. Logging in twice is a no-op.
 */
int mr_token_login(mr_token *t, const char *pin, size_t pin_len, mr_diag *d) MR_MUST_CHECK;

/*
 * C_SetPIN in the logged-in user session: changes the user PIN from old to
 * new (split custody sets a fresh random PIN at the ceremony and at each
 * reshare). Neither PIN is kept; a refusal names the CK_RV.
 */
int mr_token_set_pin(mr_token *t, const char *old_pin, size_t old_len, const char *new_pin,
    size_t new_len, mr_diag *d) MR_MUST_CHECK;

/*
 * The user PIN's retry state as the token reports it in CK_TOKEN_INFO.flags
 * (CKF_USER_PIN_COUNT_LOW, _FINAL_TRY, _LOCKED, _TO_BE_CHANGED): a mask of
 * MR_TOKEN_PIN_*, 0 when the token reports nothing (SoftHSM2 2.6 reports
 * only COUNT_LOW, after a wrong PIN, until the next good login).
 * Callers show it before a login and MUST NOT spend a final try without the
 * operator's explicit confirmation.
 */
enum {
	MR_TOKEN_PIN_COUNT_LOW = 1u << 0,
	MR_TOKEN_PIN_FINAL_TRY = 1u << 1,
	MR_TOKEN_PIN_LOCKED = 1u << 2,
	MR_TOKEN_PIN_TO_BE_CHANGED = 1u << 3,
};
int mr_token_pin_status(mr_token *t, unsigned *status, mr_diag *d) MR_MUST_CHECK;

/*
 * Whether the token can generate keys of `type` and sign with them, from
 * C_GetMechanismList and C_GetMechanismInfo (key pair mechanism with
 * CKF_GENERATE_KEY_PAIR, RSA key sizes, EC curve flags where reported, a
 * signing mechanism with CKF_SIGN). MR_OK, or MR_E_TOKEN with a one-line
 * reason ("the token cannot make rsa-4096 keys: CKM_RSA_PKCS_KEY_PAIR_GEN
 * allows 1024 to 3072 bits"). Ask before generating anything.
 */
int mr_token_can_make(mr_token *t, mr_key_type type, mr_diag *d) MR_MUST_CHECK;

/* What a retry state tells the operator, in words for a message: the most
 * severe flag wins ("the token's user PIN is locked: ...", "the next wrong
 * PIN locks the token", "few tries left"); NULL when status says nothing.
 * Pure: no token is touched. */
const char *mr_token_pin_words(unsigned status);

/* Generates a key pair labelled `label` with the strict template above
 * (MR_KEY_ED25519: CKM_EC_EDWARDS_KEY_PAIR_GEN, CKA_EC_PARAMS id-Ed25519).
 * MR_E_EXISTS if any object already has that label. A token that rejects
 * the template (CKR_ATTRIBUTE_TYPE_INVALID, _VALUE_INVALID,
 * CKR_TEMPLATE_INCONSISTENT, CKR_GENERAL_ERROR) is asked again without
 * CKA_COPYABLE, then without every optional attribute. The new private
 * key is read back (C_GetAttributeValue): a property weaker than asked
 * (CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
 * CKA_NEVER_EXTRACTABLE, CKA_SIGN, CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE,
 * CKA_MODIFIABLE when asked, key type and size) refuses the pair: both
 * objects are destroyed and the diag names the attribute. */
int mr_token_generate(mr_token *t, const char *label, mr_key_type type, mr_diag *d) MR_MUST_CHECK;
typedef struct {
	/* The optional attributes the token refused, space separated
	 * ("CKA_COPYABLE"), "" when it took the whole template. */
	char dropped[128];
} mr_token_gen_report;
int mr_token_generate_report(mr_token *t, const char *label, mr_key_type type,
    mr_token_gen_report *rep, mr_diag *d) MR_MUST_CHECK;

/*
 * Destroys the key pair labelled `label` (private key, and its public key
 * object when there is one). An object the token refuses to destroy is
 * added to mr_token_leftover.
 */
int mr_token_destroy(mr_token *t, const char *label, mr_diag *d) MR_MUST_CHECK;
/* The objects this mr_token generated or was asked to destroy and could
 * not: one line each, "  private key label 'L' id HEX: pkcs11-tool ...
 * --delete-object --type privkey --id HEX", or "" when there are none. */
const char *mr_token_leftover(const mr_token *t);

/* Whether a private key labelled `label` exists: MR_OK or MR_E_NOTFOUND. */
int mr_token_find(mr_token *t, const char *label, mr_diag *d) MR_MUST_CHECK;

/*
 * The public key of key `label` as a DER SubjectPublicKeyInfo, read back
 * from the token (CKA_EC_POINT raw or DER-wrapped, for Ed25519 too; CKA_MODULUS and
 * CKA_PUBLIC_EXPONENT), and its type. The EC point must be uncompressed
 * and on the curve; an RSA public key must have exponent 65537 and the
 * private key's modulus (else MR_E_KEY_MISMATCH).
 */
int mr_token_public_key(mr_token *t, const char *label, uint8_t *spki, size_t cap,
    size_t *spki_len, mr_key_type *type, mr_diag *d) MR_MUST_CHECK;

/*
 * Signs with private key `label`.
 * EC keys: `in` is the message digest; CKM_ECDSA; the output is the raw
 *   r||s (2 * field size bytes).
 * RSA keys: `in` is a DER DigestInfo; CKM_RSA_PKCS; the output is the
 *   signature (modulus size bytes).
 * Ed25519 keys (the audit key): `in` is the message itself (at most 4096
 *   bytes); CKM_EDDSA without parameters (PureEdDSA); 64 bytes out.
 */
int mr_token_sign(mr_token *t, const char *label, const uint8_t *in, size_t in_len,
    uint8_t *sig, size_t cap, size_t *sig_len, mr_diag *d) MR_MUST_CHECK;

/*
 * Hash-and-sign: when the token has a mechanism that hashes and signs
 * (CKM_ECDSA_SHA256/384, CKM_SHA256_RSA_PKCS, CKM_SHA384_RSA_PKCS) for key
 * `label` and a digest of `digest_len` (32 or 48) bytes, signs the whole
 * `data` with it and sets *done (EC: raw r||s; RSA: the signature).
 * Otherwise returns MR_OK with *done = 0 and the caller hashes and signs
 * the digest (mr_token_sign). The choice is made once per key.
 */
int mr_token_sign_hashing(mr_token *t, const char *label, size_t digest_len,
    const uint8_t *data, size_t n, uint8_t *sig, size_t cap, size_t *sig_len, int *done,
    mr_diag *d) MR_MUST_CHECK;

/* n bytes from the token's RNG (C_GenerateRandom). */
int mr_token_random(mr_token *t, uint8_t *buf, size_t n, mr_diag *d) MR_MUST_CHECK;

/* The protection attributes of private key `label`, for tests and status:
 * 1 or 0, or -1 where the token does not report the attribute. */
typedef struct {
	int token, private_, sensitive, extractable, always_sensitive,
	    never_extractable, sign, decrypt, unwrap, derive;
} mr_token_key_attrs;
int mr_token_key_attributes(mr_token *t, const char *label, mr_token_key_attrs *a,
    mr_diag *d) MR_MUST_CHECK;

/*
 * wolfSSL crypto-callback device (token_device.c): registers device `dev_id`
 * whose callback signs with key `label` of token `t` (ECDSA: digest in, DER
 * signature out; RSA: the PKCS#1 v1.5 padded block is unpadded and the
 * DigestInfo signed with CKM_RSA_PKCS). wolfSSL keys created with this
 * dev_id and the token's public key then sign through the token. The device
 * records the last token diag; mr_token_device_diag returns it.
 * `t` must stay open while the device is registered. Only SHA-256/384/512
 * DigestInfos are signed with RSA; decryption is refused.
 */
int mr_token_device_register(mr_token *t, int dev_id, const char *label, mr_diag *d) MR_MUST_CHECK;
void mr_token_device_unregister(int dev_id);
/*
 * The diag and error of the device's last failed token call (MR_OK and ""
 * when the last one succeeded or the device is unknown): wolfSSL reports a
 * callback failure only as WC_HW_E, this keeps the CK_RV.
 */
int mr_token_device_diag(int dev_id, mr_diag *d);

/*
 * Signs `digest` (SHA-256 or SHA-384, by its length) through wolfSSL with a
 * key object bound to device `dev_id` and built from the token's public key
 * `spki`. The output is the X.509 signatureValue content: for EC a DER
 * Ecdsa-Sig-Value, for RSA the PKCS#1 v1.5 signature over the DigestInfo
 * (made here with wc_EncodeSignature). Token errors keep their CK_RV in d.
 */
int mr_token_device_sign_digest(int dev_id, const uint8_t *spki, size_t spki_len,
    const uint8_t *digest, size_t digest_len, uint8_t *sig, size_t cap,
    size_t *sig_len, mr_diag *d) MR_MUST_CHECK;

/*
 * Signs `data` (a TBS) for a signature algorithm with a `digest_len`-byte
 * hash (SHA-256 or SHA-384): with the token's hash-and-sign mechanism when
 * it has one (mr_token_sign_hashing; tpm2-pkcs11 signs RSA only so), else
 * by hashing here and signing the digest as
 * mr_token_device_sign_digest_unverified does. The output is the X.509
 * signatureValue content. Not verified: the caller verifies what it
 * assembles (mr_sign_tbs_check).
 */
int mr_token_device_sign_data_unverified(int dev_id, const uint8_t *spki, size_t spki_len,
    size_t digest_len, const uint8_t *data, size_t data_len, uint8_t *sig, size_t cap,
    size_t *sig_len, mr_diag *d) MR_MUST_CHECK;

/* As mr_token_device_sign_digest without the software verify of the
 * signature, for a caller that verifies what it assembles anyway, and
 * may do so on another thread while the token signs the next digest
 * (mr_sign_tbs_token, whose output mr_sign_tbs_check verifies before
 * anything is released). */
int mr_token_device_sign_digest_unverified(int dev_id, const uint8_t *spki, size_t spki_len,
    const uint8_t *digest, size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len,
    mr_diag *d) MR_MUST_CHECK;

#endif

/*
 * Checkpoints of the audit log as C2SP signed notes (c2sp.org/signed-note,
 * c2sp.org/tlog-checkpoint), so that any tlog tool can read them:
 *
 *   <origin>\n
 *   <tree size, decimal>\n
 *   <base64 RFC 9162 root hash>\n
 *   time <UTC, RFC 3339>\n          (an extension line: when it was signed)
 *   \n
 *   — <key name> <base64(key ID[4] || signature)>\n
 *
 * The signature covers the note text up to and including its last newline
 * before the blank line. Two of signed-note's signature types, because not
 * every token has Ed25519 (TPMs and NSS softoken do not):
 *
 *   0x01 Ed25519 (RFC 8032) over the note text; the public key is the
 *        32-byte key; key ID = SHA-256(name || 0x0A || 0x01 || key)[:4].
 *   0x02 ECDSA as github.com/transparency-dev/witness implements it (the
 *        convention signed-note names): P-256, over SHA-256 of the note
 *        text, the signature ASN.1 DER; the public key is the DER
 *        SubjectPublicKeyInfo; key ID = SHA-256(SPKI)[:4], without the name.
 *
 * The verifier key is published as the text
 * "<name>+<8 hex key ID>+<base64(type || public key)>" (audit-key.pub).
 *
 * Parsing takes untrusted text: bounded, no allocation, every field checked
 * (no leading zeros, canonical base64, ASCII names without '+' or spaces,
 * no control characters but newline). `why` gets a one-line reason.
 */
#ifndef MR_CHECKPOINT_H
#define MR_CHECKPOINT_H

#include <stddef.h>
#include <stdint.h>

#include "mr_base64.h" /* checkpoint users encode keys and hashes */
#include "mr_err.h"
#include "mr_merkle.h"

#define MR_CHECKPOINT_MAX 8192
#define MR_NOTE_NAME_MAX 128

typedef struct {
	char origin[MR_NOTE_NAME_MAX];
	uint64_t size;
	mr_merkle_hash root;
	char time[40];   /* "" when the note has no time line */
	size_t body_len; /* bytes the signatures cover */
	size_t nsigs;    /* signature lines seen */
} mr_checkpoint;

/* signed-note signature type bytes */
enum { MR_NOTE_ED25519 = 0x01, MR_NOTE_ECDSA = 0x02 };
/* Ed25519: 32 bytes; ECDSA P-256: its 91-byte SubjectPublicKeyInfo. */
#define MR_NOTE_PUB_MAX 96

typedef struct {
	char name[MR_NOTE_NAME_MAX];
	uint8_t type; /* MR_NOTE_ED25519 or MR_NOTE_ECDSA */
	uint8_t pub[MR_NOTE_PUB_MAX];
	size_t pub_len;
	uint8_t id[4];
} mr_note_key;


/* A name as signed-note wants it: 1..127 printable ASCII, no space, no '+'. */
int mr_note_name_ok(const char *name);
/* An Ed25519 key: fills id from name and pub. MR_E_ARG for a bad name. */
int mr_note_key_init(mr_note_key *k, const char *name, const uint8_t pub[32]) MR_MUST_CHECK;
/* An ECDSA key from its DER SubjectPublicKeyInfo, which must be an
 * uncompressed P-256 point on the curve. MR_E_ARG for a bad name or key. */
int mr_note_key_init_ecdsa(mr_note_key *k, const char *name, const uint8_t *spki,
    size_t spki_len) MR_MUST_CHECK;
/* "ed25519" or "ecdsa-p256": the key type as names and records spell it. */
const char *mr_note_key_type_name(const mr_note_key *k);
int mr_note_vkey_format(const mr_note_key *k, char *out, size_t cap) MR_MUST_CHECK;
/* One vkey line (a trailing newline is allowed). Checks the key ID. */
int mr_note_vkey_parse(const char *text, size_t n, mr_note_key *k, char *why,
    size_t why_cap) MR_MUST_CHECK;

/* The note text (body) of a checkpoint; `time` may be NULL. */
int mr_checkpoint_body(const char *origin, uint64_t size, const mr_merkle_hash root,
    const char *time, char *out, size_t cap, size_t *len) MR_MUST_CHECK;
/* What the token signs for a body: the body itself for Ed25519 (CKM_EDDSA),
 * its SHA-256 for ECDSA (CKM_ECDSA). `in` points into body or at digest. */
int mr_note_sign_input(const mr_note_key *k, const char *body, size_t body_len,
    uint8_t digest[32], const uint8_t **in, size_t *in_len) MR_MUST_CHECK;
/* Appends "\n— name base64(id||sig)\n" to a body of body_len bytes in out.
 * `sig` is what the token returned: the Ed25519 signature, or the raw
 * ECDSA r||s, which is written as DER. Both are 64 bytes. */
int mr_checkpoint_sign_line(const mr_note_key *k, const uint8_t sig[64], char *out,
    size_t cap, size_t *len) MR_MUST_CHECK;

/* Syntax only: the body fields and the signature lines' shape. */
int mr_checkpoint_parse(const char *text, size_t n, mr_checkpoint *cp, char *why,
    size_t why_cap) MR_MUST_CHECK;
/* Parse, then require a valid signature by k (lines of other keys
 * are ignored; a line with k's name and ID that does not verify rejects
 * the note). MR_E_SIG when not validly signed by k. */
int mr_checkpoint_open(const char *text, size_t n, const mr_note_key *k, mr_checkpoint *cp,
    char *why, size_t why_cap) MR_MUST_CHECK;

/* Splits a concatenation of signed notes (a checkpoint history such as
 * audit.checkpoints): the note starting at *pos is text[*start, *start +
 * *len), and *pos moves past it. 0 when no note is left. A note ends after
 * its run of signature lines ("\u2014 " ...). */
int mr_checkpoint_next_note(const char *text, size_t n, size_t *pos, size_t *start,
    size_t *len);

#endif

/*
 * Checkpoints of the audit log as C2SP signed notes (c2sp.org/signed-note,
 * c2sp.org/tlog-checkpoint), so that any tlog tool can read them:
 *
 *   <origin>\n
 *   <tree size, decimal>\n
 *   <base64 RFC 9162 root hash>\n
 *   time <UTC, RFC 3339>\n          (an extension line: when it was signed)
 *   \n
 *   — <key name> <base64(key ID[4] || Ed25519 signature[64])>\n
 *
 * The signature covers the note text up to and including its last newline
 * before the blank line. Key ID = SHA-256(name || 0x0A || 0x01 || public
 * key)[:4]; the verifier key is published as the text
 * "<name>+<8 hex key ID>+<base64(0x01 || public key)>" (audit-key.pub).
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

typedef struct {
	char name[MR_NOTE_NAME_MAX];
	uint8_t pub[32];
	uint8_t id[4];
} mr_note_key;


/* A name as signed-note wants it: 1..127 printable ASCII, no space, no '+'. */
int mr_note_name_ok(const char *name);
/* Fills id from name and pub. MR_E_ARG for a bad name. */
int mr_note_key_init(mr_note_key *k, const char *name, const uint8_t pub[32]) MR_MUST_CHECK;
int mr_note_vkey_format(const mr_note_key *k, char *out, size_t cap) MR_MUST_CHECK;
/* One vkey line (a trailing newline is allowed). Checks the key ID. */
int mr_note_vkey_parse(const char *text, size_t n, mr_note_key *k, char *why,
    size_t why_cap) MR_MUST_CHECK;

/* The note text (body) of a checkpoint; `time` may be NULL. */
int mr_checkpoint_body(const char *origin, uint64_t size, const mr_merkle_hash root,
    const char *time, char *out, size_t cap, size_t *len) MR_MUST_CHECK;
/* Appends "\n— name base64(id||sig)\n" to a body of body_len bytes in out. */
int mr_checkpoint_sign_line(const mr_note_key *k, const uint8_t sig[64], char *out,
    size_t cap, size_t *len) MR_MUST_CHECK;

/* Syntax only: the body fields and the signature lines' shape. */
int mr_checkpoint_parse(const char *text, size_t n, mr_checkpoint *cp, char *why,
    size_t why_cap) MR_MUST_CHECK;
/* Parse, then require a valid Ed25519 signature by k (lines of other keys
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

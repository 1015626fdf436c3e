/*
 * mr_share: one custodian's share of the token PIN (split custody), and
 * its spoken/written form.
 *
 * Binary form (MR_SHARE_HEADER + len + MR_SHARE_CHECK bytes):
 *   version (1) | set id (4) | threshold (1) | index x (1) | y (len) |
 *   check (4) = the first 4 bytes of SHA-256("meshroot-share-v1" || all before)
 * The set id is random per split: shares of different splits (before and
 * after a reshare) never mix silently.
 *
 * Text form: the binary bytes as PGP words (mr_fp_word: list A at even
 * positions, list B at odd), single spaces, a newline after every
 * MR_SHARE_WORDS_PER_LINE words. The decoder accepts any whitespace, any
 * case, and '#' comment lines, and names what is wrong: an unknown word,
 * a word from the wrong list (a dropped or doubled word), a bad length, a
 * checksum mismatch. It never needs the token: a mistyped share is caught
 * before any login is tried, so the token's retry counter is not burned.
 *
 * The y bytes are secret: the decoder and the checksum compare run without
 * early exits on them; callers wipe mr_share values after use.
 */
#ifndef MR_SHARE_H
#define MR_SHARE_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_shamir.h"

#define MR_SHARE_VERSION 1u
#define MR_SHARE_SET_ID_LEN 4u
#define MR_SHARE_HEADER (1u + MR_SHARE_SET_ID_LEN + 2u)
#define MR_SHARE_CHECK 4u
#define MR_SHARE_MAX_BIN (MR_SHARE_HEADER + MR_SHAMIR_MAX_SECRET + MR_SHARE_CHECK)
#define MR_SHARE_WORDS_PER_LINE 6u
/* Text buffer size: 12 bytes per word at most (11 letters and a separator)
 * and the NUL. */
#define MR_SHARE_TEXT_MAX (MR_SHARE_MAX_BIN * 12u + 1u)

typedef struct {
	uint8_t set_id[MR_SHARE_SET_ID_LEN];
	uint8_t threshold;
	uint8_t index;  /* the x-coordinate, 1..255 */
	size_t len;     /* secret length */
	uint8_t y[MR_SHAMIR_MAX_SECRET];
} mr_share;

/*
 * Splits secret[0..n) into `count` shares of threshold `threshold`
 * (mr_shamir_split's limits), all carrying set_id. rnd as for
 * mr_shamir_split. out[0..count) are filled.
 */
int mr_share_split(const uint8_t *secret, size_t n, unsigned threshold, unsigned count,
    const uint8_t set_id[MR_SHARE_SET_ID_LEN], const uint8_t *rnd, size_t rnd_len,
    mr_share *out) MR_MUST_CHECK;

/*
 * Combines shares s[0..count) into secret (cap bytes at least s[0].len).
 * All must carry the same set id, threshold and length and distinct
 * indexes; count must reach the threshold (extra shares beyond it are not
 * used). The diag names the offending share by its position, 1-based:
 * "share 3: from share set 0a1b2c3d, share 1 from 4e5f6a7b".
 */
int mr_share_combine(const mr_share *s, unsigned count, uint8_t *secret, size_t cap,
    size_t *len, mr_diag *d) MR_MUST_CHECK;

/* The text form of s into out (NUL-terminated). MR_E_RANGE if cap is short. */
int mr_share_encode(const mr_share *s, char *out, size_t cap) MR_MUST_CHECK;

/* Parses the text form; MR_E_ARG with the reason in d ("checksum mismatch",
 * "word 7 'abc' is not a share word"). */
int mr_share_decode(const char *text, size_t n, mr_share *s, mr_diag *d) MR_MUST_CHECK;

/* The set id as 8 lowercase hex digits. */
void mr_share_set_id_hex(const uint8_t set_id[MR_SHARE_SET_ID_LEN], char out[9]);

#endif

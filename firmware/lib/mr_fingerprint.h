/*
 * mr_fingerprint: the fingerprints an operator reads aloud to the witnesses
 * of a ceremony (the SHA-256 of a certificate, a public key, a manifest).
 * Pure code: no I/O, no state; the only globals are the const word lists.
 *
 * The same digest has two spoken forms:
 *   hex    "ba:78:16:bf:...", lowercase, one colon between bytes;
 *   words  the PGP word list (Juola and Zimmermann, PGPfone, 1995; public
 *          domain) over the first MR_FP_WORDS_BYTES bytes of the digest.
 *          The byte at position i is read from list A (two syllables) when
 *          i is even and from list B (three syllables) when i is odd. The
 *          lists are disjoint, so a swapped, doubled or dropped word breaks
 *          the two-three rhythm and the listener hears it. Tools that speak
 *          the PGP word list (ZRTP, PGP) produce the same words for the
 *          same bytes.
 *
 * Output buffers belong to the caller; out may be NULL only when cap is 0.
 * With cap > 0 the formatters always NUL-terminate and never write past
 * out[cap - 1]. A short buffer gets the whole bytes or whole words that fit,
 * never half of one: a truncated fingerprint reads as a shorter one, not as
 * a different one. Size buffers with MR_FP_HEX_LEN and MR_FP_WORDS_LEN.
 */
#ifndef MR_FINGERPRINT_H
#define MR_FINGERPRINT_H

#include <stddef.h>
#include <stdint.h>

#define MR_FP_SHA256_LEN 32
/* Bytes of the digest spoken in the words form: 128 bits. */
#define MR_FP_WORDS_BYTES 16
/* Entries in each word list: one per byte value. */
#define MR_FP_LIST_LEN 256

/* Buffer size for mr_fp_hex of n bytes: 3n - 1 characters and the NUL. */
#define MR_FP_HEX_LEN(n) ((n) == 0 ? (size_t)1 : (size_t)3 * (size_t)(n))
/* Buffer size for mr_fp_words: the longest list A word is 9 letters, the
 * longest list B word 11; 8 of each, 15 spaces and the NUL. */
#define MR_FP_WORDS_LEN (8 * 9 + 8 * 11 + 15 + 1)

/* out = SHA-256(data[0..n)). data may be NULL when n is 0. Fails closed: a
 * digest that cannot be computed aborts the process rather than leave a
 * fingerprint that would be read aloud as if it were real. */
void mr_fp_sha256(const uint8_t *data, size_t n, uint8_t out[MR_FP_SHA256_LEN]);

/* Lowercase hex of d[0..n), colon-separated pairs; see truncation above.
 * d may be NULL when n is 0. */
void mr_fp_hex(const uint8_t *d, size_t n, char *out, size_t cap);

/* The words form of a digest: MR_FP_WORDS_BYTES words separated by single
 * spaces; see truncation above. */
void mr_fp_words(const uint8_t fp[MR_FP_SHA256_LEN], char *out, size_t cap);

/* The word for byte at position pos of the digest: list A when pos is even,
 * list B when odd. Never NULL. */
const char *mr_fp_word(unsigned pos, uint8_t byte);

/* The lists, indexed by byte value (wordlist.c). Exported for tests; use
 * mr_fp_word. */
extern const char *const mr_fp_list_a[MR_FP_LIST_LEN];
extern const char *const mr_fp_list_b[MR_FP_LIST_LEN];

#endif

/* options.h first: it fixes the wolfSSL build configuration (struct sizes,
 * enabled algorithms) that every other wolfSSL header depends on. */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mr_fingerprint.h"

static const char hexdigits[] = "0123456789abcdef";

void
mr_fp_sha256(const uint8_t *data, size_t n, uint8_t out[MR_FP_SHA256_LEN])
{
#if SIZE_MAX > UINT32_MAX
	/* wc_Sha256Hash takes a word32 length: never hash a silently
	 * truncated input. */
	if (n > UINT32_MAX)
		abort();
#endif
	if (wc_Sha256Hash(data, (word32)n, out) != 0)
		abort();
}

void
mr_fp_hex(const uint8_t *d, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (size_t i = 0; i < n; i++) {
		size_t need = i == 0 ? 2 : 3;

		/* o < cap holds throughout; a byte goes out only if its
		 * separator, both digits and the NUL still fit. */
		if (cap - o <= need)
			break;
		if (i > 0)
			out[o++] = ':';
		out[o++] = hexdigits[d[i] >> 4];
		out[o++] = hexdigits[d[i] & 0x0f];
	}
	out[o] = '\0';
}

void
mr_fp_words(const uint8_t fp[MR_FP_SHA256_LEN], char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (unsigned i = 0; i < MR_FP_WORDS_BYTES; i++) {
		const char *w = mr_fp_word(i, fp[i]);
		size_t len = strlen(w);
		size_t need = i == 0 ? len : len + 1;

		/* Whole words only: a word cut short can be heard as a
		 * different word. */
		if (cap - o <= need)
			break;
		if (i > 0)
			out[o++] = ' ';
		memcpy(out + o, w, len);
		o += len;
	}
	out[o] = '\0';
}

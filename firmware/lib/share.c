#include <stdio.h>
#include <string.h>

#include "mr_fingerprint.h"
#include "mr_share.h"

static const char domain[] = "meshroot-share-v1";

/* Longest word in either list, plus one: token buffers and the fixed-width
 * compare below. */
#define WORD_MAX 12

static size_t
to_bin(const mr_share *s, uint8_t *bin)
{
	size_t o = 0;

	bin[o++] = MR_SHARE_VERSION;
	memcpy(bin + o, s->set_id, MR_SHARE_SET_ID_LEN);
	o += MR_SHARE_SET_ID_LEN;
	bin[o++] = s->threshold;
	bin[o++] = s->index;
	memcpy(bin + o, s->y, s->len);
	return o + s->len;
}

static void
check_bytes(const uint8_t *bin, size_t n, uint8_t out[MR_SHARE_CHECK])
{
	uint8_t buf[sizeof(domain) - 1 + MR_SHARE_MAX_BIN], fp[MR_FP_SHA256_LEN];

	memcpy(buf, domain, sizeof(domain) - 1);
	memcpy(buf + sizeof(domain) - 1, bin, n);
	mr_fp_sha256(buf, sizeof(domain) - 1 + n, fp);
	memcpy(out, fp, MR_SHARE_CHECK);
	explicit_bzero(buf, sizeof(buf));
}

int
mr_share_split(const uint8_t *secret, size_t n, unsigned threshold, unsigned count,
    const uint8_t set_id[MR_SHARE_SET_ID_LEN], const uint8_t *rnd, size_t rnd_len,
    mr_share *out)
{
	uint8_t ys[MR_SHAMIR_MAX_SHARES * MR_SHAMIR_MAX_SECRET];
	int r;

	if (count == 0 || count > MR_SHAMIR_MAX_SHARES)
		return MR_E_ARG;
	r = mr_shamir_split(secret, n, threshold, count, rnd, rnd_len, ys, sizeof(ys));
	if (r == MR_OK) {
		for (unsigned i = 0; i < count; i++) {
			memset(&out[i], 0, sizeof(out[i]));
			memcpy(out[i].set_id, set_id, MR_SHARE_SET_ID_LEN);
			out[i].threshold = (uint8_t)threshold;
			out[i].index = (uint8_t)(i + 1);
			out[i].len = n;
			memcpy(out[i].y, ys + (size_t)i * n, n);
		}
	}
	explicit_bzero(ys, sizeof(ys));
	return r;
}

void
mr_share_set_id_hex(const uint8_t set_id[MR_SHARE_SET_ID_LEN], char out[9])
{
	snprintf(out, 9, "%02x%02x%02x%02x", set_id[0], set_id[1], set_id[2], set_id[3]);
}

int
mr_share_combine(const mr_share *s, unsigned count, uint8_t *secret, size_t cap,
    size_t *len, mr_diag *d)
{
	uint8_t xs[MR_SHAMIR_MAX_SHARES];
	const uint8_t *ys[MR_SHAMIR_MAX_SHARES];
	char a[9], b[9];
	unsigned t;

	if (count == 0)
		return mr_diag_set(d, MR_E_ARG, "no shares");
	t = s[0].threshold;
	for (unsigned i = 0; i < count; i++) {
		if (memcmp(s[i].set_id, s[0].set_id, MR_SHARE_SET_ID_LEN) != 0) {
			mr_share_set_id_hex(s[i].set_id, a);
			mr_share_set_id_hex(s[0].set_id, b);
			return mr_diag_set(d, MR_E_ARG, "share %u: from share set %s, share 1 from %s",
			    i + 1, a, b);
		}
		if (s[i].threshold != t || s[i].len != s[0].len)
			return mr_diag_set(d, MR_E_ARG,
			    "share %u: threshold or length differs from share 1's", i + 1);
		for (unsigned j = 0; j < i; j++)
			if (s[j].index == s[i].index)
				return mr_diag_set(d, MR_E_ARG,
				    "share %u: the same share as share %u (index %u)", i + 1, j + 1,
				    s[i].index);
	}
	if (t < 2 || s[0].len == 0 || s[0].len > MR_SHAMIR_MAX_SECRET)
		return mr_diag_set(d, MR_E_ARG, "share 1: bad threshold or length");
	if (count < t)
		return mr_diag_set(d, MR_E_ARG, "%u share%s given, %u needed", count,
		    count == 1 ? "" : "s", t);
	if (cap < s[0].len)
		return mr_diag_set(d, MR_E_RANGE, "secret buffer too small");
	for (unsigned i = 0; i < t; i++) {
		xs[i] = s[i].index;
		ys[i] = s[i].y;
	}
	if (mr_shamir_combine(xs, ys, t, s[0].len, secret) != MR_OK)
		return mr_diag_set(d, MR_E_ARG, "shares cannot be combined");
	*len = s[0].len;
	return MR_OK;
}

int
mr_share_encode(const mr_share *s, char *out, size_t cap)
{
	uint8_t bin[MR_SHARE_MAX_BIN];
	size_t n, o = 0;
	int r = MR_E_RANGE;

	if (s->len == 0 || s->len > MR_SHAMIR_MAX_SECRET || cap == 0)
		return MR_E_ARG;
	n = to_bin(s, bin);
	check_bytes(bin, n, bin + n);
	n += MR_SHARE_CHECK;
	for (size_t i = 0; i < n; i++) {
		const char *w = mr_fp_word((unsigned)i, bin[i]);
		size_t wl = strlen(w);

		if (cap - o <= wl + 1)
			goto out;
		if (i > 0)
			out[o++] = i % MR_SHARE_WORDS_PER_LINE == 0 ? '\n' : ' ';
		memcpy(out + o, w, wl);
		o += wl;
	}
	out[o] = '\0';
	r = MR_OK;
out:
	if (r != MR_OK)
		explicit_bzero(out, cap);
	explicit_bzero(bin, sizeof(bin));
	return r;
}

/* Diags never repeat a typed word: it is (nearly) a byte of the share. */

/* Index of word w (NUL-terminated, lowercase, < WORD_MAX) in list, or -1.
 * Every entry is compared over the full width, without early exit. */
static int
lookup(const char *const *list, const char w[WORD_MAX])
{
	unsigned found = 0, idx = 0;

	for (unsigned i = 0; i < MR_FP_LIST_LEN; i++) {
		const char *e = list[i];
		unsigned diff = 0, ended = 0, eq;

		for (unsigned k = 0; k < WORD_MAX; k++) {
			/* Past the entry's NUL keep comparing against NULs. */
			unsigned ec = ended ? 0u : (unsigned char)e[k];
			ended |= ec == 0;
			diff |= ec ^ (unsigned char)w[k];
		}
		eq = (unsigned)(((diff | (0u - diff)) >> 31) ^ 1u);
		idx |= i & (0u - eq);
		found |= eq;
	}
	return found ? (int)idx : -1;
}

static int
is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

int
mr_share_decode(const char *text, size_t n, mr_share *s, mr_diag *d)
{
	uint8_t bin[MR_SHARE_MAX_BIN], check[MR_SHARE_CHECK];
	size_t count = 0, i = 0;
	unsigned diff = 0;
	int r = MR_E_ARG;

	memset(s, 0, sizeof(*s));
	while (i < n) {
		char w[WORD_MAX];
		size_t wl = 0;
		int v;

		if (is_space(text[i])) {
			i++;
			continue;
		}
		if (text[i] == '#') { /* a comment line */
			while (i < n && text[i] != '\n')
				i++;
			continue;
		}
		memset(w, 0, sizeof(w));
		while (i < n && !is_space(text[i])) {
			char c = text[i++];
			if (c >= 'A' && c <= 'Z')
				c = (char)(c - 'A' + 'a');
			if (c < 'a' || c > 'z' || wl + 1 >= WORD_MAX) {
				mr_diag_set(d, MR_E_ARG, "word %zu is not a share word", count + 1);
				goto out;
			}
			w[wl++] = c;
		}
		if (count >= sizeof(bin)) {
			mr_diag_set(d, MR_E_ARG, "too many words (at most %zu)", sizeof(bin));
			goto out;
		}
		v = lookup(count % 2 == 0 ? mr_fp_list_a : mr_fp_list_b, w);
		if (v < 0) {
			if (lookup(count % 2 == 0 ? mr_fp_list_b : mr_fp_list_a, w) >= 0)
				mr_diag_set(d, MR_E_ARG,
				    "word %zu is out of order: a word dropped or doubled before it?",
				    count + 1);
			else
				mr_diag_set(d, MR_E_ARG, "word %zu is not a share word", count + 1);
			explicit_bzero(w, sizeof(w));
			goto out;
		}
		explicit_bzero(w, sizeof(w));
		bin[count++] = (uint8_t)v;
	}
	if (count < MR_SHARE_HEADER + 1 + MR_SHARE_CHECK) {
		mr_diag_set(d, MR_E_ARG, "%zu words: too short for a share", count);
		goto out;
	}
	check_bytes(bin, count - MR_SHARE_CHECK, check);
	for (size_t k = 0; k < MR_SHARE_CHECK; k++)
		diff |= (unsigned)(check[k] ^ bin[count - MR_SHARE_CHECK + k]);
	if (diff != 0) {
		mr_diag_set(d, MR_E_ARG, "checksum mismatch");
		goto out;
	}
	if (bin[0] != MR_SHARE_VERSION) {
		mr_diag_set(d, MR_E_ARG, "share format version %u is not supported", bin[0]);
		goto out;
	}
	memcpy(s->set_id, bin + 1, MR_SHARE_SET_ID_LEN);
	s->threshold = bin[1 + MR_SHARE_SET_ID_LEN];
	s->index = bin[2 + MR_SHARE_SET_ID_LEN];
	s->len = count - MR_SHARE_HEADER - MR_SHARE_CHECK;
	if (s->threshold < 2 || s->index == 0 || s->len > MR_SHAMIR_MAX_SECRET) {
		mr_diag_set(d, MR_E_ARG, "share header is invalid (threshold %u, index %u)",
		    s->threshold, s->index);
		goto out;
	}
	memcpy(s->y, bin + MR_SHARE_HEADER, s->len);
	r = MR_OK;
out:
	if (r != MR_OK)
		explicit_bzero(s, sizeof(*s));
	explicit_bzero(bin, sizeof(bin));
	explicit_bzero(check, sizeof(check));
	return r;
}

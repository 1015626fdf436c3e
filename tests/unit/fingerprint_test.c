#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mr_fingerprint.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* FIPS 180-2 appendix B (the same examples as in FIPS 180-4), and the
 * digest of the empty message. */
static const struct {
	const char *msg;
	const char *digest;
} sha256_vectors[] = {
	{ "abc",
	  "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad" },
	{ "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	  "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1" },
	{ "",
	  "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855" },
};

static const char abc_hex[] =
    "ba:78:16:bf:8f:01:cf:ea:41:41:40:de:5d:ae:22:23:"
    "b0:03:61:a3:96:17:7a:9c:b4:10:ff:61:f2:00:15:ad";

static const char abc_words[] =
    "shadow indigo backward rebellion payday adviser stagehand undaunted "
    "cranky decadence crackdown telephone exceed performance blockade "
    "cannonball";

/* A published PGP word list example: these 16 bytes read as these words in
 * any implementation of the standard list. */
static const char pgp_example_hex[] = "12b4b0057400076fa5c0f5cbf726ac65";
static const char pgp_example_words[] =
    "atlas politeness ruffled almighty indoors adroitness ahead hemisphere "
    "reindeer recipe vapor revival virus caretaker ribcage glossary";

/* Kept apart from mr_fp_hex so that a formatting bug cannot hide a digest
 * bug or the other way round. */
static void
unhex(const char *s, uint8_t *out, size_t n)
{
	assert_int_equal(strlen(s), 2 * n);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
}

static void
abc_digest(uint8_t fp[MR_FP_SHA256_LEN])
{
	mr_fp_sha256((const uint8_t *)"abc", 3, fp);
}

static void
test_sha256_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(sha256_vectors); i++) {
		uint8_t want[MR_FP_SHA256_LEN], got[MR_FP_SHA256_LEN];
		const char *msg = sha256_vectors[i].msg;

		unhex(sha256_vectors[i].digest, want, sizeof(want));
		mr_fp_sha256((const uint8_t *)msg, strlen(msg), got);
		assert_memory_equal(got, want, sizeof(want));
	}
}

static void
test_sha256_empty_null(void **state)
{
	uint8_t want[MR_FP_SHA256_LEN], got[MR_FP_SHA256_LEN];

	(void)state;
	unhex(sha256_vectors[2].digest, want, sizeof(want));
	mr_fp_sha256(NULL, 0, got);
	assert_memory_equal(got, want, sizeof(want));
}

static void
test_hex_full(void **state)
{
	uint8_t fp[MR_FP_SHA256_LEN];
	char out[MR_FP_HEX_LEN(MR_FP_SHA256_LEN)];

	(void)state;
	abc_digest(fp);
	mr_fp_hex(fp, sizeof(fp), out, sizeof(out));
	assert_string_equal(out, abc_hex);
	assert_int_equal(strlen(out) + 1, sizeof(out));
}

static void
test_hex_empty(void **state)
{
	char out[4] = "###";

	(void)state;
	mr_fp_hex(NULL, 0, out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(MR_FP_HEX_LEN(0), 1);
}

static void
test_hex_truncation(void **state)
{
	uint8_t fp[MR_FP_SHA256_LEN];
	char buf[MR_FP_HEX_LEN(MR_FP_SHA256_LEN) + 8];

	(void)state;
	abc_digest(fp);

	mr_fp_hex(fp, sizeof(fp), NULL, 0);

	memset(buf, '#', sizeof(buf));
	mr_fp_hex(fp, sizeof(fp), buf, 0);
	for (size_t i = 0; i < sizeof(buf); i++)
		assert_int_equal(buf[i], '#');

	memset(buf, '#', sizeof(buf));
	mr_fp_hex(fp, sizeof(fp), buf, 1);
	assert_string_equal(buf, "");
	assert_int_equal(buf[1], '#');

	/* "ba:7" would fit in 5 with its NUL, but half a byte is not a
	 * fingerprint. */
	memset(buf, '#', sizeof(buf));
	mr_fp_hex(fp, sizeof(fp), buf, 5);
	assert_string_equal(buf, "ba");
	for (size_t i = 5; i < sizeof(buf); i++)
		assert_int_equal(buf[i], '#');

	for (size_t cap = 0; cap < sizeof(buf); cap++) {
		size_t k = cap / 3 < sizeof(fp) ? cap / 3 : sizeof(fp);
		size_t want = k == 0 ? 0 : 3 * k - 1;

		memset(buf, '#', sizeof(buf));
		mr_fp_hex(fp, sizeof(fp), buf, cap);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], '#');
		if (cap == 0)
			continue;
		assert_non_null(memchr(buf, '\0', cap));
		assert_int_equal(strlen(buf), want);
		assert_memory_equal(buf, abc_hex, want);
	}
}

static int
is_lower_word(const char *w)
{
	if (w == NULL || w[0] == '\0')
		return 0;
	for (; *w != '\0'; w++)
		if (*w < 'a' || *w > 'z')
			return 0;
	return 1;
}

static void
test_lists_shape(void **state)
{
	(void)state;
	assert_int_equal(NELEM(mr_fp_list_a), 256);
	assert_int_equal(NELEM(mr_fp_list_b), 256);
	/* A list one word short leaves a NULL at the end. */
	for (size_t i = 0; i < MR_FP_LIST_LEN; i++) {
		assert_true(is_lower_word(mr_fp_list_a[i]));
		assert_true(is_lower_word(mr_fp_list_b[i]));
	}
}

static void
test_lists_distinct(void **state)
{
	const char *all[2 * MR_FP_LIST_LEN];

	(void)state;
	for (size_t i = 0; i < MR_FP_LIST_LEN; i++) {
		all[i] = mr_fp_list_a[i];
		all[MR_FP_LIST_LEN + i] = mr_fp_list_b[i];
	}
	/* Distinct within and across the lists, so a word names its byte and
	 * its parity; and no word begins another, so a word clipped on a bad
	 * line cannot pass for a shorter one. */
	for (size_t i = 0; i < NELEM(all); i++) {
		for (size_t j = 0; j < NELEM(all); j++) {
			if (i == j)
				continue;
			if (strncmp(all[i], all[j], strlen(all[i])) == 0)
				fail_msg("\"%s\" begins \"%s\"", all[i], all[j]);
		}
	}
}

static void
test_lists_fit_buffer(void **state)
{
	size_t max_a = 0, max_b = 0;

	(void)state;
	for (size_t i = 0; i < MR_FP_LIST_LEN; i++) {
		if (strlen(mr_fp_list_a[i]) > max_a)
			max_a = strlen(mr_fp_list_a[i]);
		if (strlen(mr_fp_list_b[i]) > max_b)
			max_b = strlen(mr_fp_list_b[i]);
	}
	assert_true(MR_FP_WORDS_BYTES / 2 * (max_a + max_b) +
	    (MR_FP_WORDS_BYTES - 1) + 1 <= MR_FP_WORDS_LEN);
}

static void
test_lists_published(void **state)
{
	uint8_t fp[MR_FP_SHA256_LEN];
	char out[MR_FP_WORDS_LEN];

	(void)state;
	assert_string_equal(mr_fp_list_a[0x00], "aardvark");
	assert_string_equal(mr_fp_list_b[0x00], "adroitness");
	assert_string_equal(mr_fp_list_a[0xff], "zulu");
	assert_string_equal(mr_fp_list_b[0xff], "yucatan");

	/* Only the first 16 bytes are spoken: the tail must not matter. */
	memset(fp, 0xff, sizeof(fp));
	unhex(pgp_example_hex, fp, MR_FP_WORDS_BYTES);
	mr_fp_words(fp, out, sizeof(out));
	assert_string_equal(out, pgp_example_words);
}

static void
test_word_parity(void **state)
{
	(void)state;
	for (unsigned b = 0; b < MR_FP_LIST_LEN; b++) {
		uint8_t byte = (uint8_t)b;

		for (unsigned pos = 0; pos < MR_FP_WORDS_BYTES; pos++) {
			const char *want = pos % 2 == 0 ? mr_fp_list_a[b] :
			    mr_fp_list_b[b];

			assert_ptr_equal(mr_fp_word(pos, byte), want);
		}
	}
}

static void
test_words_abc(void **state)
{
	uint8_t fp[MR_FP_SHA256_LEN];
	char want[MR_FP_WORDS_LEN], got[MR_FP_WORDS_LEN];
	size_t o = 0;

	(void)state;
	abc_digest(fp);

	/* Built straight from the lists, not through mr_fp_word. */
	for (size_t i = 0; i < MR_FP_WORDS_BYTES; i++) {
		const char *w = i % 2 == 0 ? mr_fp_list_a[fp[i]] :
		    mr_fp_list_b[fp[i]];
		int r = snprintf(want + o, sizeof(want) - o, "%s%s",
		    i == 0 ? "" : " ", w);

		assert_true(r > 0 && (size_t)r < sizeof(want) - o);
		o += (size_t)r;
	}

	mr_fp_words(fp, got, sizeof(got));
	assert_string_equal(got, want);
	assert_string_equal(got, abc_words);
}

static void
test_words_truncation(void **state)
{
	uint8_t fp[MR_FP_SHA256_LEN];
	char full[MR_FP_WORDS_LEN];
	char buf[MR_FP_WORDS_LEN + 8];
	size_t full_len;

	(void)state;
	abc_digest(fp);
	mr_fp_words(fp, full, sizeof(full));
	full_len = strlen(full);

	mr_fp_words(fp, NULL, 0);

	for (size_t cap = 0; cap < sizeof(buf); cap++) {
		size_t len, next;

		memset(buf, '#', sizeof(buf));
		mr_fp_words(fp, buf, cap);
		for (size_t i = cap; i < sizeof(buf); i++)
			assert_int_equal(buf[i], '#');
		if (cap == 0)
			continue;
		assert_non_null(memchr(buf, '\0', cap));
		len = strlen(buf);
		assert_true(len < cap);
		/* A prefix that ends where a word ends... */
		assert_memory_equal(buf, full, len);
		assert_true(len == 0 || full[len] == ' ' || full[len] == '\0');
		assert_true(len == 0 || buf[len - 1] != ' ');
		/* ...and the longest such: the next word would not fit. */
		if (len == full_len)
			continue;
		next = len == 0 ? 0 : len + 1;
		while (full[next] != ' ' && full[next] != '\0')
			next++;
		assert_true(next + 1 > cap);
	}
}

static void
test_words_bit_flip(void **state)
{
	const uint8_t msg[3] = { 'a', 'b', 'c' };
	uint8_t fp[MR_FP_SHA256_LEN];
	char base[MR_FP_WORDS_LEN], got[MR_FP_WORDS_LEN];

	(void)state;
	mr_fp_sha256(msg, sizeof(msg), fp);
	mr_fp_words(fp, base, sizeof(base));

	for (size_t bit = 0; bit < 8 * sizeof(msg); bit++) {
		uint8_t m[sizeof(msg)];

		memcpy(m, msg, sizeof(m));
		m[bit / 8] = (uint8_t)(m[bit / 8] ^ (1u << (bit % 8)));
		mr_fp_sha256(m, sizeof(m), fp);
		mr_fp_words(fp, got, sizeof(got));
		assert_string_not_equal(got, base);
	}

	/* Every spoken bit of the digest itself is heard. */
	mr_fp_sha256(msg, sizeof(msg), fp);
	for (size_t bit = 0; bit < 8 * MR_FP_WORDS_BYTES; bit++) {
		uint8_t d[MR_FP_SHA256_LEN];

		memcpy(d, fp, sizeof(d));
		d[bit / 8] = (uint8_t)(d[bit / 8] ^ (1u << (bit % 8)));
		mr_fp_words(d, got, sizeof(got));
		assert_string_not_equal(got, base);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sha256_vectors),
		cmocka_unit_test(test_sha256_empty_null),
		cmocka_unit_test(test_hex_full),
		cmocka_unit_test(test_hex_empty),
		cmocka_unit_test(test_hex_truncation),
		cmocka_unit_test(test_lists_shape),
		cmocka_unit_test(test_lists_distinct),
		cmocka_unit_test(test_lists_fit_buffer),
		cmocka_unit_test(test_lists_published),
		cmocka_unit_test(test_word_parity),
		cmocka_unit_test(test_words_abc),
		cmocka_unit_test(test_words_truncation),
		cmocka_unit_test(test_words_bit_flip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "mr_fingerprint.h"
#include "mr_share.h"

static const uint8_t secret[16] = { 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77,
	0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff };
static const uint8_t set_a[4] = { 0xde, 0xad, 0xbe, 0xef };
static const uint8_t set_b[4] = { 0x01, 0x02, 0x03, 0x04 };

static void
split3(const uint8_t set[4], mr_share out[3])
{
	uint8_t rnd[16];

	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 37 + set[0]);
	assert_int_equal(mr_share_split(secret, 16, 2, 3, set, rnd, sizeof(rnd), out), MR_OK);
}

static void
test_roundtrip_text(void **state)
{
	mr_share s[3], back[3];
	char text[MR_SHARE_TEXT_MAX];
	uint8_t got[16];
	size_t len = 0;
	mr_diag d;

	(void)state;
	split3(set_a, s);
	for (int i = 0; i < 3; i++) {
		mr_diag_clear(&d);
		assert_int_equal(mr_share_encode(&s[i], text, sizeof(text)), MR_OK);
		/* 7 header + 16 + 4 check bytes, one word each. */
		{
			size_t words = 1;
			for (const char *p = text; *p; p++)
				words += *p == ' ' || *p == '\n';
			assert_int_equal(words, 27);
		}
		assert_int_equal(mr_share_decode(text, strlen(text), &back[i], &d), MR_OK);
		assert_int_equal(back[i].index, i + 1);
		assert_int_equal(back[i].threshold, 2);
		assert_int_equal(back[i].len, 16);
		assert_memory_equal(back[i].set_id, set_a, 4);
	}
	/* Any two of three, in either order. */
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++) {
			mr_share pair[2];
			if (i == j)
				continue;
			pair[0] = back[i];
			pair[1] = back[j];
			memset(got, 0, sizeof(got));
			assert_int_equal(mr_share_combine(pair, 2, got, sizeof(got), &len, &d), MR_OK);
			assert_int_equal(len, 16);
			assert_memory_equal(got, secret, 16);
		}
}

static void
test_one_is_not_enough(void **state)
{
	mr_share s[3];
	uint8_t got[16];
	size_t len;
	mr_diag d;

	(void)state;
	split3(set_a, s);
	mr_diag_clear(&d);
	assert_int_equal(mr_share_combine(s, 1, got, sizeof(got), &len, &d), MR_E_ARG);
	assert_string_equal(d.msg, "1 share given, 2 needed");
}

static void
test_mixed_sets_and_duplicates(void **state)
{
	mr_share a[3], b[3], pair[2];
	uint8_t got[16];
	size_t len;
	mr_diag d;

	(void)state;
	split3(set_a, a);
	split3(set_b, b);
	pair[0] = a[0];
	pair[1] = b[1];
	mr_diag_clear(&d);
	assert_int_equal(mr_share_combine(pair, 2, got, sizeof(got), &len, &d), MR_E_ARG);
	assert_string_equal(d.msg, "share 2: from share set 01020304, share 1 from deadbeef");
	pair[1] = a[0];
	mr_diag_clear(&d);
	assert_int_equal(mr_share_combine(pair, 2, got, sizeof(got), &len, &d), MR_E_ARG);
	assert_string_equal(d.msg, "share 2: the same share as share 1 (index 1)");
}

static void
test_case_whitespace_comments(void **state)
{
	mr_share s[3], back;
	char text[MR_SHARE_TEXT_MAX], messy[MR_SHARE_TEXT_MAX + 64];
	mr_diag d;

	(void)state;
	split3(set_a, s);
	assert_int_equal(mr_share_encode(&s[1], text, sizeof(text)), MR_OK);
	snprintf(messy, sizeof(messy), "# meshroot share 2 of 3\n\t%s  \r\n", text);
	for (char *p = messy; *p; p++)
		if (*p >= 'a' && *p <= 'z' && (p - messy) % 3 == 0)
			*p = (char)(*p - 'a' + 'A');
	/* The comment line was uppercased too: still a comment. */
	mr_diag_clear(&d);
	assert_int_equal(mr_share_decode(messy, strlen(messy), &back, &d), MR_OK);
	assert_memory_equal(back.y, s[1].y, 16);
}

/* Replaces word number `k` (0-based) of text by `w`. */
static void
replace_word(const char *text, unsigned k, const char *w, char *out, size_t cap)
{
	const char *p = text;
	unsigned i = 0;
	size_t o = 0;

	while (*p) {
		const char *start = p;
		while (*p && *p != ' ' && *p != '\n')
			p++;
		if (i == k)
			o += (size_t)snprintf(out + o, cap - o, "%s", w);
		else
			o += (size_t)snprintf(out + o, cap - o, "%.*s", (int)(p - start), start);
		if (*p)
			out[o++] = *p++;
		i++;
	}
	out[o] = '\0';
}

static void
test_errors_named(void **state)
{
	static const struct {
		unsigned word;
		const char *replacement; /* NULL: the correct word from the other byte */
		const char *msg;
	} cases[] = {
		{ 9, "zzzz", "word 10 is not a share word" },
		{ 9, "x1", "word 10 is not a share word" },
		/* A list A word at an odd position: a word dropped or doubled. */
		{ 9, "aardvark", "word 10 is out of order: a word dropped or doubled before it?" },
		{ 12, NULL, "checksum mismatch" },
	};
	mr_share s[3], back;
	char text[MR_SHARE_TEXT_MAX], bad[MR_SHARE_TEXT_MAX + 32];
	mr_diag d;

	(void)state;
	split3(set_a, s);
	assert_int_equal(mr_share_encode(&s[1], text, sizeof(text)), MR_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *w = cases[i].replacement;
		if (w == NULL) /* a valid list word, one byte value off */
			w = mr_fp_word(cases[i].word, (uint8_t)(s[1].y[cases[i].word - 7] ^ 1));
		replace_word(text, cases[i].word, w, bad, sizeof(bad));
		mr_diag_clear(&d);
		assert_int_equal(mr_share_decode(bad, strlen(bad), &back, &d), MR_E_ARG);
		assert_string_equal(d.msg, cases[i].msg);
		/* A failed decode leaves nothing of the share behind. */
		assert_int_equal(back.len, 0);
	}
}

static void
test_every_substitution_caught(void **state)
{
	/* Each word replaced in turn by every other word of its list: the
	 * checksum (or the header check) catches all of them. */
	mr_share s[3], back;
	char text[MR_SHARE_TEXT_MAX], bad[MR_SHARE_TEXT_MAX + 32];
	mr_diag d;

	(void)state;
	split3(set_a, s);
	assert_int_equal(mr_share_encode(&s[0], text, sizeof(text)), MR_OK);
	for (unsigned k = 0; k < 27; k++)
		for (unsigned v = 0; v < 256; v += 17) {
			replace_word(text, k, mr_fp_word(k, (uint8_t)v), bad, sizeof(bad));
			if (strcmp(bad, text) == 0)
				continue;
			mr_diag_clear(&d);
			assert_int_equal(mr_share_decode(bad, strlen(bad), &back, &d), MR_E_ARG);
		}
}

static void
test_dropped_and_truncated(void **state)
{
	mr_share s[3], back;
	char text[MR_SHARE_TEXT_MAX];
	mr_diag d;
	size_t n;

	(void)state;
	split3(set_a, s);
	assert_int_equal(mr_share_encode(&s[2], text, sizeof(text)), MR_OK);
	n = strlen(text);
	/* Every prefix that ends at a word boundary is rejected. */
	for (size_t cut = 0; cut < n; cut++) {
		if (text[cut] != ' ' && text[cut] != '\n')
			continue;
		mr_diag_clear(&d);
		assert_int_equal(mr_share_decode(text, cut, &back, &d), MR_E_ARG);
	}
	/* Dropping the first word shifts every list: named at word 1. */
	mr_diag_clear(&d);
	assert_int_equal(mr_share_decode(strchr(text, ' ') + 1, strlen(strchr(text, ' ') + 1),
	    &back, &d), MR_E_ARG);
	assert_string_equal(d.msg, "word 1 is out of order: a word dropped or doubled before it?");
	mr_diag_clear(&d);
	assert_int_equal(mr_share_decode("", 0, &back, &d), MR_E_ARG);
	assert_string_equal(d.msg, "0 words: too short for a share");
}

static void
test_encode_short_buffer(void **state)
{
	mr_share s[3];
	char text[40];

	(void)state;
	split3(set_a, s);
	assert_int_equal(mr_share_encode(&s[0], text, sizeof(text)), MR_E_RANGE);
	/* Nothing of the share left in a buffer that was too short. */
	for (size_t i = 0; i < sizeof(text); i++)
		assert_int_equal(text[i], 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_text),
		cmocka_unit_test(test_one_is_not_enough),
		cmocka_unit_test(test_mixed_sets_and_duplicates),
		cmocka_unit_test(test_case_whitespace_comments),
		cmocka_unit_test(test_errors_named),
		cmocka_unit_test(test_every_substitution_caught),
		cmocka_unit_test(test_dropped_and_truncated),
		cmocka_unit_test(test_encode_short_buffer),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

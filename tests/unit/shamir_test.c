#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mr_shamir.h"

/* A small deterministic generator: tests need repeatable "random" bytes. */
static uint32_t rng_state = 0x12345678u;

static void
fill(uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 17;
		rng_state ^= rng_state << 5;
		b[i] = (uint8_t)rng_state;
	}
}

/* Reference multiplication: schoolbook with reduction by 0x11b. */
static uint8_t
ref_mul(uint8_t a, uint8_t b)
{
	unsigned r = 0;

	for (int i = 0; i < 8; i++)
		if (b & (1u << i))
			r ^= (unsigned)a << i;
	for (int i = 14; i >= 8; i--)
		if (r & (1u << i))
			r ^= 0x11bu << (i - 8);
	return (uint8_t)r;
}

static void
test_field(void **state)
{
	(void)state;
	/* FIPS 197 4.2: {57} * {83} = {c1}, {57} * {13} = {fe}. */
	assert_int_equal(mr_gf256_mul(0x57, 0x83), 0xc1);
	assert_int_equal(mr_gf256_mul(0x57, 0x13), 0xfe);
	for (unsigned a = 0; a < 256; a++) {
		for (unsigned b = 0; b < 256; b++)
			assert_int_equal(mr_gf256_mul((uint8_t)a, (uint8_t)b),
			    ref_mul((uint8_t)a, (uint8_t)b));
		if (a != 0)
			assert_int_equal(mr_gf256_mul((uint8_t)a, mr_gf256_inv((uint8_t)a)), 1);
	}
	assert_int_equal(mr_gf256_inv(0), 0);
	/* FIPS 197 5.1.1: the inverse of {53} is {ca}. */
	assert_int_equal(mr_gf256_inv(0x53), 0xca);
}

static void
combine_subset(const uint8_t *ys, size_t n, const unsigned *pick, unsigned count,
    uint8_t *out)
{
	uint8_t xs[8];
	const uint8_t *yp[8];

	for (unsigned i = 0; i < count; i++) {
		xs[i] = (uint8_t)(pick[i] + 1);
		yp[i] = ys + (size_t)pick[i] * n;
	}
	assert_int_equal(mr_shamir_combine(xs, yp, count, n, out), MR_OK);
}

static void
test_every_subset(void **state)
{
	uint8_t secret[16], rnd[4 * 16], ys[5 * 16], got[16];

	(void)state;
	for (unsigned t = 2; t <= 5; t++) {
		fill(secret, sizeof(secret));
		fill(rnd, sizeof(rnd));
		assert_int_equal(mr_shamir_split(secret, 16, t, 5, rnd, (t - 1) * 16u, ys,
		    sizeof(ys)), MR_OK);
		/* Every subset of exactly t of the 5 shares, in any order. */
		for (unsigned mask = 0; mask < 32; mask++) {
			unsigned pick[5], c = 0;
			for (unsigned i = 0; i < 5; i++)
				if (mask & (1u << i))
					pick[c++] = 4 - i; /* reversed order on purpose */
			if (c != t)
				continue;
			combine_subset(ys, 16, pick, c, got);
			assert_memory_equal(got, secret, 16);
		}
		/* Fewer than t shares give something else (with overwhelming
		 * probability for these fixed bytes). */
		if (t > 2) {
			unsigned pick[] = { 0, 1 };
			combine_subset(ys, 16, pick, 2, got);
			assert_memory_not_equal(got, secret, 16);
		}
	}
}

static void
test_one_share_reveals_nothing(void **state)
{
	/* For 2-of-N, one share's byte takes every value equally often over
	 * the random coefficient: check the distribution is exactly uniform
	 * for a fixed secret byte. */
	unsigned hist[256];
	uint8_t secret = 0x42, y[3];

	(void)state;
	memset(hist, 0, sizeof(hist));
	for (unsigned c = 0; c < 256; c++) {
		uint8_t coef = (uint8_t)c;
		assert_int_equal(mr_shamir_split(&secret, 1, 2, 3, &coef, 1, y, sizeof(y)), MR_OK);
		hist[y[0]]++;
	}
	for (unsigned v = 0; v < 256; v++)
		assert_int_equal(hist[v], 1);
}

static void
test_bad_arguments(void **state)
{
	uint8_t s[4] = { 1, 2, 3, 4 }, rnd[8], out[64], got[4];
	uint8_t xs[2] = { 1, 1 };
	const uint8_t *ys[2] = { out, out + 4 };

	(void)state;
	memset(rnd, 7, sizeof(rnd));
	assert_int_equal(mr_shamir_split(s, 4, 1, 3, rnd, 0, out, sizeof(out)), MR_E_ARG);
	assert_int_equal(mr_shamir_split(s, 4, 4, 3, rnd, 12, out, sizeof(out)), MR_E_ARG);
	assert_int_equal(mr_shamir_split(s, 4, 2, 3, rnd, 8, out, sizeof(out)), MR_E_ARG);
	assert_int_equal(mr_shamir_split(s, 4, 2, 3, rnd, 4, out, 8), MR_E_ARG);
	assert_int_equal(mr_shamir_split(s, 0, 2, 3, rnd, 0, out, sizeof(out)), MR_E_ARG);
	assert_int_equal(mr_shamir_split(s, 4, 2, 256, rnd, 4, out, sizeof(out)), MR_E_ARG);
	assert_int_equal(mr_shamir_split(s, 4, 2, 3, rnd, 4, out, sizeof(out)), MR_OK);
	/* Duplicate and zero x-coordinates. */
	assert_int_equal(mr_shamir_combine(xs, ys, 2, 4, got), MR_E_ARG);
	xs[0] = 0;
	xs[1] = 2;
	assert_int_equal(mr_shamir_combine(xs, ys, 2, 4, got), MR_E_ARG);
	xs[0] = 1;
	assert_int_equal(mr_shamir_combine(xs, ys, 1, 4, got), MR_E_ARG);
	assert_int_equal(mr_shamir_combine(xs, ys, 2, 4, got), MR_OK);
	assert_memory_equal(got, s, 4);
}

static void
test_max_shares(void **state)
{
	static uint8_t ys[255 * 2];
	uint8_t secret[2] = { 0xde, 0xad }, rnd[2 * 2], got[2], xs[3];
	const uint8_t *yp[3];

	(void)state;
	fill(rnd, sizeof(rnd));
	assert_int_equal(mr_shamir_split(secret, 2, 3, 255, rnd, sizeof(rnd), ys, sizeof(ys)),
	    MR_OK);
	xs[0] = 255;
	xs[1] = 128;
	xs[2] = 7;
	for (int i = 0; i < 3; i++)
		yp[i] = ys + (size_t)(xs[i] - 1) * 2;
	assert_int_equal(mr_shamir_combine(xs, yp, 3, 2, got), MR_OK);
	assert_memory_equal(got, secret, 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_field),
		cmocka_unit_test(test_every_subset),
		cmocka_unit_test(test_one_share_reveals_nothing),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_max_shares),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

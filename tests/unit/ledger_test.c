#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ledger.h"
#include "test_rng.h"

#define N 10000 /* SUBMIT_MAX_CLUSTERS */

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t
next(void)
{
	return test_xorshift32(&rng_state);
}

static void
random_hash(uint8_t h[32])
{
	for (size_t i = 0; i < 32; i++)
		h[i] = (uint8_t)next();
}

/* Every item is found by its hash, a hash not put is not, and hashes that
 * share the bytes the table is keyed on are told apart. */
static void
test_find(void **state)
{
	static uint8_t h[N][32];
	uint8_t absent[32];
	mr_ledger lg;

	(void)state;
	assert_int_equal(mr_ledger_init(&lg, N), MR_OK);
	for (size_t i = 0; i < N; i++) {
		random_hash(h[i]);
		if (i % 10 == 1) /* the same first 16 bytes as the item before */
			memcpy(h[i], h[i - 1], 16);
		assert_int_equal(mr_ledger_put_hash(&lg, i, h[i]), MR_OK);
	}
	for (size_t i = 0; i < N; i++)
		assert_int_equal(mr_ledger_find(&lg, h[i]), i);
	memcpy(absent, h[5], 32);
	absent[31] ^= 1;
	assert_int_equal(mr_ledger_find(&lg, absent), N);
	mr_ledger_free(&lg);
}

/* The same request twice: the lowest index, in whichever order put. */
static void
test_duplicates(void **state)
{
	uint8_t a[32], b[32];
	mr_ledger lg;

	(void)state;
	random_hash(a);
	random_hash(b);
	assert_int_equal(mr_ledger_init(&lg, 5), MR_OK);
	assert_int_equal(mr_ledger_put_hash(&lg, 4, a), MR_OK);
	assert_int_equal(mr_ledger_put_hash(&lg, 3, b), MR_OK);
	assert_int_equal(mr_ledger_put_hash(&lg, 1, a), MR_OK);
	assert_int_equal(mr_ledger_put_hash(&lg, 2, a), MR_OK);
	assert_int_equal(mr_ledger_put_hash(&lg, 0, b), MR_OK);
	assert_int_equal(mr_ledger_find(&lg, a), 1);
	assert_int_equal(mr_ledger_find(&lg, b), 0);
	mr_ledger_free(&lg);
}

/* States changed at random, as a submit does, against a plain array:
 * every count and every walk agree, from every kind of start. */
static void
test_states(void **state)
{
	static uint8_t model[N];
	static const size_t sizes[] = { 1, 63, 64, 65, 4095, 4096, 4097, N };
	mr_ledger lg;

	(void)state;
	for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
		size_t n = sizes[z];
		assert_int_equal(mr_ledger_init(&lg, n), MR_OK);
		memset(model, 0, n);
		for (int round = 0; round < 40; round++) {
			/* Sparse rounds (a few moves) and dense ones. */
			size_t moves = round % 2 ? 3 : n / 2 + 1;
			for (size_t m = 0; m < moves; m++) {
				size_t i = next() % n;
				int s = (int)(next() % MR_LEDGER_STATES);
				mr_ledger_set(&lg, i, s);
				model[i] = (uint8_t)s;
			}
			for (int s = 0; s < MR_LEDGER_STATES; s++) {
				size_t k = 0, at = mr_ledger_next(&lg, s, 0);
				for (size_t i = 0; i < n; i++) {
					assert_int_equal(mr_ledger_state(&lg, i), model[i]);
					if (model[i] != s)
						continue;
					k++;
					assert_int_equal(at, i);
					at = mr_ledger_next(&lg, s, i + 1);
				}
				assert_int_equal(at, n);
				assert_int_equal(mr_ledger_count(&lg, s), k);
				for (int t = 0; t < 20; t++) {
					size_t from = next() % (n + 2), want = from;
					while (want < n && model[want] != s)
						want++;
					assert_int_equal(mr_ledger_next(&lg, s, from),
					    want < n ? want : n);
				}
			}
		}
		mr_ledger_free(&lg);
	}
}

/* No items: nothing is found, every walk ends at once. */
static void
test_empty(void **state)
{
	uint8_t h[32] = { 0 };
	mr_ledger lg;

	(void)state;
	assert_int_equal(mr_ledger_init(&lg, 0), MR_OK);
	assert_int_equal(mr_ledger_find(&lg, h), 0);
	for (int s = 0; s < MR_LEDGER_STATES; s++) {
		assert_int_equal(mr_ledger_count(&lg, s), 0);
		assert_int_equal(mr_ledger_next(&lg, s, 0), 0);
	}
	mr_ledger_free(&lg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_find),
		cmocka_unit_test(test_duplicates),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

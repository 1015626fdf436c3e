#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mr_sort.h"
#include "test_rng.h"

static uint32_t rng_state = 0x9e3779b9u;

static uint32_t
next(void)
{
	return test_xorshift32(&rng_state);
}

static int
by_u32(const void *a, const void *b, void *ctx)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	(*(size_t *)ctx)++;
	return x < y ? -1 : x > y;
}

static int
by_name(const void *a, const void *b, void *ctx)
{
	(void)ctx;
	return strcmp((const char *)a, (const char *)b);
}

/* Every size around the heap's shape changes, with duplicates, sorted,
 * reversed and random input: the result is ordered and a permutation. */
static void
test_numbers(void **state)
{
	static uint32_t v[5000], sum_before, sum_after;
	static const size_t sizes[] = { 0, 1, 2, 3, 4, 7, 8, 9, 31, 32, 33, 1000, 5000 };

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int shape = 0; shape < 4; shape++) {
			size_t n = sizes[s], calls = 0;
			sum_before = sum_after = 0;
			for (size_t i = 0; i < n; i++) {
				v[i] = shape == 0 ? next() : shape == 1 ? (uint32_t)i
				    : shape == 2 ? (uint32_t)(n - i) : next() % 4;
				sum_before += v[i] * 2654435761u + 1u;
			}
			mr_sort(v, n, sizeof(v[0]), by_u32, &calls);
			for (size_t i = 0; i < n; i++)
				sum_after += v[i] * 2654435761u + 1u;
			for (size_t i = 1; i < n; i++)
				assert_true(v[i - 1] <= v[i]);
			assert_int_equal(sum_before, sum_after);
			/* O(n log n): at most 2 n log2(n) + n comparisons. */
			if (n > 1) {
				size_t lg = 0;
				while ((1u << lg) < n)
					lg++;
				assert_true(calls <= 2 * n * lg + n);
			}
		}
	}
}

/* Fixed-size records, as the media listing sorts names. */
static void
test_names(void **state)
{
	char v[6][16] = { "west", "east", "a", "east-2", "b-1", "b" };

	(void)state;
	mr_sort(v, 6, sizeof(v[0]), by_name, NULL);
	assert_string_equal(v[0], "a");
	assert_string_equal(v[1], "b");
	assert_string_equal(v[2], "b-1");
	assert_string_equal(v[3], "east");
	assert_string_equal(v[4], "east-2");
	assert_string_equal(v[5], "west");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

/* mr_hindex: every key found after growth, replacement, keys that are
 * prefixes of each other, a put without room refused, and the first or
 * last of several items keeping a key whatever order they came in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_hindex.h"

#define N 50000

static char (*keys)[16];

static const void *
key_of(const void *ctx, uint32_t item, size_t *len)
{
	const char (*k)[16] = ctx;

	*len = strlen(k[item]);
	return k[item];
}

static uint32_t
find(const mr_hindex *ix, const char *s)
{
	return mr_hindex_find(ix, s, strlen(s), key_of, keys);
}

static void
test_grow(void **state)
{
	mr_hindex ix;

	(void)state;
	keys = calloc(N + 1, sizeof(*keys));
	assert_non_null(keys);
	mr_hindex_init(&ix);
	assert_int_equal(find(&ix, "x"), MR_HINDEX_NONE); /* empty: no table yet */
	for (uint32_t i = 0; i < N; i++) {
		/* Reserved one at a time: many growths, each a rehash. */
		snprintf(keys[i], sizeof(keys[i]), "k%u", i);
		assert_int_equal(mr_hindex_reserve(&ix, i + 1, key_of, keys), MR_OK);
		assert_int_equal(mr_hindex_put(&ix, keys[i], strlen(keys[i]), i, key_of, keys), MR_OK);
	}
	assert_int_equal(ix.used, N);
	assert_true(ix.cap >= 2 * N && ix.cap < 4 * N);
	assert_int_equal(ix.cap & (ix.cap - 1), 0);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(find(&ix, keys[i]), i);
	/* "k1" is a prefix of "k10": lengths count. */
	assert_int_equal(find(&ix, "k"), MR_HINDEX_NONE);
	assert_int_equal(find(&ix, "k50000"), MR_HINDEX_NONE);
	assert_int_equal(mr_hindex_find(&ix, "k10", 2, key_of, keys), 1);

	/* A later item with the same key (a cluster's renewal): replaced,
	 * not added. */
	snprintf(keys[N], sizeof(keys[N]), "k6");
	assert_int_equal(mr_hindex_reserve(&ix, N + 1, key_of, keys), MR_OK);
	assert_int_equal(mr_hindex_put(&ix, "k6", 2, N, key_of, keys), MR_OK);
	assert_int_equal(ix.used, N);
	assert_int_equal(find(&ix, "k6"), N);
	assert_int_equal(find(&ix, "k7"), 7);
	mr_hindex_free(&ix);
	assert_null(ix.slot);
	assert_int_equal(find(&ix, "k6"), MR_HINDEX_NONE);
	free(keys);
}

static void
test_no_room(void **state)
{
	static char k[64][16];
	mr_hindex ix;

	(void)state;
	keys = k;
	mr_hindex_init(&ix);
	snprintf(k[0], sizeof(k[0]), "a");
	/* Never reserved: refused, nothing held. */
	assert_int_equal(mr_hindex_put(&ix, "a", 1, 0, key_of, k), MR_E_INTERNAL);
	/* Room for 8 keys (16 slots, at most half full); a ninth is refused,
	 * so a probe always ends on an empty slot. */
	assert_int_equal(mr_hindex_reserve(&ix, 8, key_of, k), MR_OK);
	assert_int_equal(ix.cap, 16);
	for (uint32_t i = 0; i < 8; i++) {
		snprintf(k[i], sizeof(k[i]), "%c", 'a' + i);
		assert_int_equal(mr_hindex_put(&ix, k[i], 1, i, key_of, k), MR_OK);
	}
	snprintf(k[8], sizeof(k[8]), "z");
	assert_int_equal(mr_hindex_put(&ix, "z", 1, 8, key_of, k), MR_E_INTERNAL);
	assert_int_equal(find(&ix, "z"), MR_HINDEX_NONE);
	/* Item MR_HINDEX_NONE would read as "not found": refused. */
	assert_int_equal(mr_hindex_put(&ix, "a", 1, MR_HINDEX_NONE, key_of, k), MR_E_INTERNAL);
	assert_int_equal(find(&ix, "a"), 0);
	/* Reserving what is there already keeps the table. */
	assert_int_equal(mr_hindex_reserve(&ix, 8, key_of, k), MR_OK);
	assert_int_equal(ix.cap, 16);
	assert_int_equal(mr_hindex_reserve(&ix, (size_t)MR_HINDEX_NONE, key_of, k), MR_E_NOMEM);
	assert_int_equal(ix.cap, 16);
	for (uint32_t i = 0; i < 8; i++)
		assert_int_equal(find(&ix, k[i]), i);
	mr_hindex_free(&ix);
}

/* Items 0..4 all have the key "a" and are put in the order 3, 1, 4, 0, 2:
 * MR_HINDEX_FIRST ends with 0, MR_HINDEX_LAST with 4, a plain put with 2. */
static void
test_ordered(void **state)
{
	static const char k[5][16] = { "a", "a", "a", "a", "a" };
	static const uint32_t order[] = { 3, 1, 4, 0, 2 };
	mr_hindex first, last, plain;

	(void)state;
	mr_hindex_init(&first);
	mr_hindex_init(&last);
	mr_hindex_init(&plain);
	assert_int_equal(mr_hindex_reserve(&first, 5, key_of, k), MR_OK);
	assert_int_equal(mr_hindex_reserve(&last, 5, key_of, k), MR_OK);
	assert_int_equal(mr_hindex_reserve(&plain, 5, key_of, k), MR_OK);
	for (size_t j = 0; j < 5; j++) {
		uint32_t i = order[j];
		assert_int_equal(mr_hindex_put_ordered(&first, "a", 1, i, MR_HINDEX_FIRST, key_of, k),
		    MR_OK);
		assert_int_equal(mr_hindex_put_ordered(&last, "a", 1, i, MR_HINDEX_LAST, key_of, k),
		    MR_OK);
		assert_int_equal(mr_hindex_put(&plain, "a", 1, i, key_of, k), MR_OK);
	}
	assert_int_equal(mr_hindex_find(&first, "a", 1, key_of, k), 0);
	assert_int_equal(mr_hindex_find(&last, "a", 1, key_of, k), 4);
	assert_int_equal(mr_hindex_find(&plain, "a", 1, key_of, k), 2);
	/* One key, one slot, however many items had it. */
	assert_int_equal(first.used, 1);
	assert_int_equal(last.used, 1);
	mr_hindex_free(&first);
	mr_hindex_free(&last);
	mr_hindex_free(&plain);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_grow),
		cmocka_unit_test(test_no_room),
		cmocka_unit_test(test_ordered),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

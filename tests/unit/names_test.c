/*
 * mr_names: one copy of each distinct string, at an address that stays
 * put while thousands more are added (the database keeps these pointers
 * in its entries); a string longer than a chunk is kept whole.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mr_names.h"

static void
test_once_each(void **state)
{
	enum { N = 5000 };
	static const char *first[N];
	char name[64];
	mr_names nm;

	(void)state;
	mr_names_init(&nm);
	for (size_t i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "cluster-%05zu", i);
		first[i] = mr_names_intern(&nm, name);
		assert_non_null(first[i]);
		assert_ptr_not_equal(first[i], name);
		assert_string_equal(first[i], name);
	}
	assert_int_equal(nm.n, N);
	/* Asked again, in another order: the same copy, nothing added, and
	 * every early address still holds its text. */
	for (size_t k = 0; k < N; k++) {
		size_t i = (k * 7919) % N;
		snprintf(name, sizeof(name), "cluster-%05zu", i);
		assert_ptr_equal(mr_names_intern(&nm, name), first[i]);
		assert_string_equal(first[i], name);
	}
	assert_int_equal(nm.n, N);
	/* A prefix or an extension is another name. */
	assert_ptr_not_equal(mr_names_intern(&nm, "cluster-0000"), first[0]);
	assert_ptr_not_equal(mr_names_intern(&nm, "cluster-000000"), first[0]);
	assert_string_equal(mr_names_intern(&nm, ""), "");
	assert_int_equal(nm.n, N + 3);
	mr_names_free(&nm);
	assert_int_equal(nm.n, 0);
	assert_null(nm.chunks);
}

static void
test_long(void **state)
{
	size_t len = 40000;
	char *big = malloc(len + 1);
	const char *a, *b, *c;
	mr_names nm;

	(void)state;
	assert_non_null(big);
	memset(big, 'x', len);
	big[len] = '\0';
	mr_names_init(&nm);
	a = mr_names_intern(&nm, "short");
	b = mr_names_intern(&nm, big);
	c = mr_names_intern(&nm, "after");
	assert_non_null(b);
	assert_int_equal(strlen(b), len);
	assert_memory_equal(b, big, len + 1);
	assert_string_equal(a, "short");
	assert_string_equal(c, "after");
	assert_ptr_equal(mr_names_intern(&nm, big), b);
	mr_names_free(&nm);
	free(big);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_once_each),
		cmocka_unit_test(test_long),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * mr_exit_code (docs/exit-codes.md): every mr_err maps to the status its
 * table says, the statuses are mr_exit.h's values, and the error codes
 * of one kind never share a status with another kind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mr_err.h"
#include "mr_exitcode.h"

static const struct {
	int err, want;
} table[] = {
	{ MR_OK, 0 },
	{ MR_E_INTERNAL, 1 }, { MR_E_NOMEM, 1 }, { MR_E_IO, 1 }, { MR_E_RANGE, 1 },
	{ MR_E_EXISTS, 1 }, { MR_E_STATE, 1 }, { MR_E_AUDIT, 1 }, { MR_E_DB, 1 },
	{ MR_E_ARG, 3 }, { MR_E_NOTFOUND, 3 }, { MR_E_DER, 3 }, { MR_E_PEM, 3 }, { MR_E_CSR, 3 },
	{ MR_E_CONFIG, 3 }, { MR_E_MEDIA, 3 }, { MR_E_CERT, 3 },
	{ MR_E_POLICY, 4 }, { MR_E_LINT, 4 }, { MR_E_DUPLICATE, 4 }, { MR_E_CANCELLED, 4 },
	{ MR_E_TOKEN, 5 }, { MR_E_PIN, 5 }, { MR_E_KEY_MISMATCH, 5 },
	{ MR_E_PROTO, 6 }, { MR_E_VERSION, 6 }, { MR_E_UNSUPPORTED, 6 }, { MR_E_SEQUENCE, 6 },
	{ MR_E_BUSY, 6 }, { MR_E_TIMEOUT, 6 }, { MR_E_GONE, 6 }, { MR_E_ACCESS, 6 },
	{ MR_E_SIG, 7 },
	{ MR_E_IN_USE, 75 },
};

static void
test_table(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		print_message("%s -> %d\n", mr_strerror(table[i].err), table[i].want);
		assert_int_equal(mr_exit_code(table[i].err), table[i].want);
	}
}

/* Every code mr_strerror knows is in the table above: a new MR_E_* must
 * be given its status on purpose. */
static void
test_every_code_listed(void **state)
{
	(void)state;
	for (int err = 0; err >= -200; err--) {
		int listed = 0;
		if (strcmp(mr_strerror(err), "unknown error") == 0)
			continue; /* no such code */
		for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
			listed |= table[i].err == err;
		if (!listed)
			print_error("code %d (%s) has no status in the test\n", err, mr_strerror(err));
		assert_true(listed);
	}
}

static void
test_values(void **state)
{
	(void)state;
	assert_int_equal(MR_EXIT_OK, 0);
	assert_int_equal(MR_EXIT_FAIL, 1);
	assert_int_equal(MR_EXIT_USAGE, 2);
	assert_int_equal(MR_EXIT_INPUT, 3);
	assert_int_equal(MR_EXIT_REFUSED, 4);
	assert_int_equal(MR_EXIT_TOKEN, 5);
	assert_int_equal(MR_EXIT_LINK, 6);
	assert_int_equal(MR_EXIT_VERIFY, 7);
	assert_int_equal(MR_EXIT_NOTHING, 8);
	assert_int_equal(MR_EXIT_IN_USE, 75);
	assert_int_equal(MR_EXIT_INTERRUPTED, 130);
	assert_int_equal(mr_exit_code(-12345), MR_EXIT_FAIL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_every_code_listed),
		cmocka_unit_test(test_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

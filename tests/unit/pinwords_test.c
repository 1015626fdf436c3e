/* mr_token_pin_words: what each PIN retry flag (CK_TOKEN_INFO) says to the
 * operator; the most severe flag wins. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "mr_token.h"

static void
test_words(void **state)
{
	static const char locked[] = "the token's user PIN is locked: only its security officer "
				     "can unlock it (C_InitPIN with the SO PIN)";

	(void)state;
	assert_null(mr_token_pin_words(0));
	assert_null(mr_token_pin_words(MR_TOKEN_PIN_TO_BE_CHANGED));
	assert_string_equal(mr_token_pin_words(MR_TOKEN_PIN_COUNT_LOW), "few tries left");
	assert_string_equal(mr_token_pin_words(MR_TOKEN_PIN_FINAL_TRY),
	    "the next wrong PIN locks the token");
	assert_string_equal(mr_token_pin_words(MR_TOKEN_PIN_LOCKED), locked);
	/* Tokens set several at once: the worst one is said. */
	assert_string_equal(mr_token_pin_words(MR_TOKEN_PIN_COUNT_LOW | MR_TOKEN_PIN_FINAL_TRY),
	    "the next wrong PIN locks the token");
	assert_string_equal(mr_token_pin_words(MR_TOKEN_PIN_COUNT_LOW | MR_TOKEN_PIN_FINAL_TRY |
				MR_TOKEN_PIN_LOCKED), locked);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <stddef.h>

#include "mr_token.h"

/* PKCS#11 2.40 section 3.2 (CK_TOKEN_INFO flags): COUNT_LOW means at least
 * one wrong PIN since the last good login, FINAL_TRY that one more wrong
 * PIN locks it, LOCKED that it is locked. Only the security officer
 * (C_InitPIN) unlocks a user PIN. */
const char *
mr_token_pin_words(unsigned status)
{
	const char *w = NULL;

	if ((status & MR_TOKEN_PIN_LOCKED) != 0)
		w = "the token's user PIN is locked: only its security officer can unlock it "
		    "(C_InitPIN with the SO PIN)";
	else if ((status & MR_TOKEN_PIN_FINAL_TRY) != 0)
		w = "the next wrong PIN locks the token";
	else if ((status & MR_TOKEN_PIN_COUNT_LOW) != 0)
		w = "few tries left";
	return w;
}

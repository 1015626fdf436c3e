/* Custody shares (firmware/lib/share.c): any text as a share. A share that
 * decodes encodes back to text that decodes to the same share. */
#include <string.h>

#include "fuzz.h"
#include "mr_share.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mr_share s, back;
	char text[MR_SHARE_TEXT_MAX];

	if (mr_share_decode((const char *)data, size, &s, NULL) != MR_OK)
		return 0;
	if (mr_share_encode(&s, text, sizeof(text)) != MR_OK ||
	    mr_share_decode(text, strlen(text), &back, NULL) != MR_OK ||
	    memcmp(&s, &back, sizeof(s)) != 0)
		__builtin_trap();
	return 0;
}

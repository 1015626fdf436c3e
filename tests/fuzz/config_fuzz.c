/* Ceremony config parser (firmware/lib/config.c). */
#include "fuzz.h"
#include "mr_config.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mr_config c;
	mr_diag d;
	int t;

	mr_diag_clear(&d);
	if (mr_config_parse((const char *)data, size, &c, &d) != MR_OK)
		return 0;
	for (t = 0; t < 8; t++)
		IGNORE(mr_config_allows(&c, (mr_key_type)t));
	/* Fields MUST be NUL-terminated within their arrays. */
	if (c.root_cn[sizeof(c.root_cn) - 1] != '\0' || c.root_o[sizeof(c.root_o) - 1] != '\0' ||
	    c.root_c[sizeof(c.root_c) - 1] != '\0' ||
	    c.root_key_label[sizeof(c.root_key_label) - 1] != '\0' ||
	    c.policy_o[sizeof(c.policy_o) - 1] != '\0')
		__builtin_trap();
	return 0;
}

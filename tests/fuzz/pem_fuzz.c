/* PEM reader (firmware/lib/pem.c, mr_pem_next) over every label the
 * appliance reads, then a write/read round trip of each decoded block. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mr_pem.h"

static const char *const labels[] = { "CERTIFICATE REQUEST", "CERTIFICATE",
	"PUBLIC KEY" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t der[65536], der2[65536];
	static char text[65536 * 2];
	size_t i;

	for (i = 0; i < sizeof(labels) / sizeof(labels[0]); i++) {
		size_t pos = 0, len, tlen, pos2, len2;
		unsigned blocks = 0;
		size_t cap = size > 0 ? (size_t)data[0] * 64u + 1u : sizeof(der);

		if (cap > sizeof(der))
			cap = sizeof(der);
		while (blocks++ < 64) {
			size_t was = pos;
			int r = mr_pem_next((const char *)data, size, &pos, labels[i], der,
			    cap, &len);

			if (r != MR_OK)
				break;
			if (pos <= was || pos > size || len > cap)
				__builtin_trap();
			if (mr_pem_write(labels[i], der, len, text, sizeof(text), &tlen) != MR_OK)
				continue;
			pos2 = 0;
			if (mr_pem_next(text, tlen, &pos2, labels[i], der2, sizeof(der2), &len2) !=
			    MR_OK || len2 != len || memcmp(der, der2, len) != 0)
				__builtin_trap();
		}
	}
	return 0;
}

/* Line records (firmware/lib/record.c): the audit log and database text.
 * Byte 0 picks the key, byte 1 the output size; the rest is the line. Also
 * an encode/decode round trip of the line as a value. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mr_record.h"

static const char *const keys[] = { "seq", "prev", "event", "op", "serial", "cert",
	"request", "cluster", "not_after", "hash", "" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char out[MR_RECORD_MAX];
	const char *key;
	size_t cap;
	mr_record r;
	uint8_t bin[32];

	if (size < 2)
		return 0;
	key = keys[data[0] % (sizeof(keys) / sizeof(keys[0]))];
	cap = data[1] % 2 ? sizeof(out) : (size_t)data[1] / 2;
	IGNORE(mr_record_get((const char *)data + 2, size - 2, key, out, cap));
	{
		/* mr_hex_decode takes a C string. */
		char *hex = mr_fuzz_strndup(data + 2, size - 2);

		if (hex != NULL)
			IGNORE(mr_hex_decode(hex, bin, 32));
		free(hex);
	}

	/* Round trip: any bytes as a value come back exactly. */
	{
		char val[600];
		size_t vn = size - 2 < sizeof(val) - 1 ? size - 2 : sizeof(val) - 1;

		memcpy(val, data + 2, vn);
		val[vn] = '\0';
		vn = strlen(val);
		mr_record_init(&r);
		mr_record_add(&r, "a", "1");
		mr_record_add(&r, "v", val);
		mr_record_add_hex(&r, "h", data, size < 40 ? size : 40);
		if (mr_record_finish(&r) == MR_OK) {
			if (memchr(r.buf, '\n', r.len - 1) != NULL ||
			    mr_record_get(r.buf, r.len, "v", out, sizeof(out)) != MR_OK ||
			    strlen(out) != vn || memcmp(out, val, vn) != 0)
				__builtin_trap();
		}
	}
	return 0;
}

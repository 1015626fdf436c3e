/* The host verifier's PEM bundle parser (host/pemfile.c), Go encoding/pem
 * framing, on cacerts files that come from a cluster. */
#include <string.h>

#include "fuzz.h"
#include "pemfile.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mr_pemfile f;
	mr_diag d;
	size_t i;

	mr_diag_clear(&d);
	memset(&f, 0, sizeof(f));
	if (mr_pemfile_parse(data, size, &f, &d) != MR_OK) {
		if (f.n != 0 || f.blocks != NULL)
			__builtin_trap();
		return 0;
	}
	if (f.n > MR_PEMFILE_MAX_BLOCKS)
		__builtin_trap();
	for (i = 0; i < f.n; i++)
		if (strlen(f.blocks[i].label) > MR_PEMFILE_LABEL_MAX ||
		    f.blocks[i].der_len > size)
			__builtin_trap();
	mr_pemfile_free(&f);
	return 0;
}

/* The signer's decoder of the confined link process's messages
 * (firmware/core/confine/serve_ps.c, mr_sps_decode): what a compromised link
 * process could send after the header checks. The first input byte picks
 * the message type, the rest is the body. */
#include <stddef.h>
#include <string.h>

#include "fuzz.h"
#include "mr_serve_ps.h"

static const uint8_t types[] = { 'N', 'X', 'I', 'S', 'R', 'A', 'L', 'F', 'P', 'Y', 0 };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mr_serve_req rq;
	char text[1100];
	const char *why = NULL;
	const uint8_t *body;
	size_t len;

	memset(text, 0x55, sizeof(text));

	if (size == 0)
		return 0;
	body = data + 1;
	len = size - 1;
	if (mr_sps_decode(types[data[0] % sizeof(types)], body, len, &rq, text, sizeof(text),
		&why) != 0) {
		if (why == NULL)
			__builtin_trap(); /* a refusal always says why */
		return 0;
	}
	/* Whatever is accepted stays inside its bounds and inside the body. */
	if (memchr(text, '\0', sizeof(text)) == NULL)
		__builtin_trap();
	if (rq.op == MR_OP_SUBMIT) {
		if (rq.n > MR_LINK_MAX_BATCH)
			__builtin_trap();
		for (size_t i = 0; i < rq.n; i++) {
			const mr_serve_csr *c = &rq.csrs[i];
			if (c->csr.n > 0 &&
			    (c->csr.p < body || c->csr.p + c->csr.n > body + len))
				__builtin_trap();
			if (c->cluster[sizeof(c->cluster) - 1] != '\0' ||
			    c->why[sizeof(c->why) - 1] != '\0')
				__builtin_trap();
		}
	}
	if (rq.op == MR_OP_RESULT && (rq.n == 0 || rq.n > MR_LINK_MAX_RESULTS))
		__builtin_trap();
	return 0;
}

/* CSR intake (firmware/lib/csr.c and step 1 of firmware/core/engine/issue.c): the
 * PKCS#10 parser with its self-signature check, the policy checks of
 * mr_request_parse against the default config, and what the operator is
 * shown. Input: DER, or PEM when it starts with '-'. */
#include <string.h>

#include "fuzz.h"
#include "mr_csr.h"
#include "mr_issue.h"
#include "mr_pem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mr_app app;
	static uint8_t der[MR_CSR_MAX_DER];
	mr_request rq;
	mr_diag d;
	char out[2048];
	const uint8_t *p = data;
	size_t n = size;

	if (size > 0 && data[0] == '-') {
		size_t pos = 0;

		if (mr_pem_next((const char *)data, size, &pos, "CERTIFICATE REQUEST", der,
		    sizeof(der), &n) != MR_OK)
			return 0;
		p = der;
	}
	memset(&app, 0, sizeof(app));
	mr_diag_clear(&d);
	if (mr_config_parse("", 0, &app.cfg, &d) != MR_OK)
		__builtin_trap();
	if (mr_request_parse(&app, "fuzz-cluster", p, n, &rq, &d) == MR_OK) {
		mr_request_describe(&app, &rq, out, sizeof(out));
		mr_csr_ignored(&rq.csr, out, 8); /* truncation path */
	}
	IGNORE(mr_diag_text(&d, MR_E_CSR));
	return 0;
}

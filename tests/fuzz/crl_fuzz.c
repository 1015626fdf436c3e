/* CRLs (firmware/lib/crl.c): any bytes as a CertificateList. A CRL that
 * parses has every entry readable again through mr_crl_next, as many as
 * mr_crl_parse counted, and each serial findable. */
#include "fuzz.h"
#include "mr_crl.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mr_crl c;
	mr_crl_revoked e, found;
	mr_der list;
	size_t n = 0;

	if (mr_crl_parse(data, size, &c, NULL) != MR_OK)
		return 0;
	list = c.revoked;
	while (mr_crl_next(&list, &e, NULL) == MR_OK) {
		if (!mr_crl_find(&c, e.serial, &found))
			__builtin_trap();
		n++;
	}
	if (n != c.n_revoked || list.n != 0)
		__builtin_trap();
	return 0;
}

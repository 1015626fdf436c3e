/* The appliance's frame decoder (firmware/lib/link.c): header, then every
 * request decoder over the payload, as mr_serve_frame runs them. */
#include "fuzz.h"
#include "mr_link.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mr_link_csr csrs[MR_LINK_MAX_BATCH];
	uint8_t hashes[MR_LINK_MAX_RESULTS][32];
	mr_link_hdr h;
	mr_der payload;
	uint32_t index;
	size_t n;

	(void)!mr_link_hdr_decode(data, size, &h);
	if (mr_link_frame_decode(data, size, &h, &payload) != MR_OK) {
		/* Also as a bare payload: the item decoders on any bytes. */
		payload = mr_der_view(data, size);
	}
	(void)!mr_link_submit_decode(payload, csrs, MR_LINK_MAX_BATCH, &n);
	(void)!mr_link_hashes_decode(payload, hashes, MR_LINK_MAX_RESULTS, &n);
	(void)!mr_link_audit_req_decode(payload, &index);
	return 0;
}

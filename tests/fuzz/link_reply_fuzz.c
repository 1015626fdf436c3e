/* The host's decoders for the appliance's replies (firmware/lib/link.c),
 * as host/link_client.c and cmd_submit.c run them. */
#include "fuzz.h"
#include "mr_link.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mr_link_result res[MR_LINK_MAX_RESULTS];
	mr_link_info info;
	mr_link_audit audit;
	mr_link_hdr h;
	mr_der payload;
	char msg[MR_LINK_MAX_MESSAGE + 1];
	size_t n;
	uint32_t free_slots;

	if (mr_link_frame_decode(data, size, &h, &payload) != MR_OK)
		payload = mr_der_view(data, size);
	(void)!mr_link_error_decode(payload, msg, sizeof(msg));
	(void)!mr_link_info_decode(payload, &info);
	(void)!mr_link_results_decode(payload, res, MR_LINK_MAX_RESULTS, &n, &free_slots);
	(void)!mr_link_audit_decode(payload, &audit);
	(void)mr_link_err_from_status(h.status);
	return 0;
}

/* The signer's reader of the media parser's messages (firmware/core/confine/
 * privsep.c): what a compromised, sandboxed parser child could send. */
#include <sys/socket.h>
#include <unistd.h>

#include "fuzz.h"
#include "mr_privsep.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static mr_ps_item it;
	size_t count = 0, off = 0;
	int sv[2];
	mr_ps ps;
	mr_diag d;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		__builtin_trap();
	/* Inputs are at most -max_len (16 KiB): within the socket buffer. */
	while (off < size) {
		ssize_t k = write(sv[1], data + off, size - off);
		if (k <= 0)
			__builtin_trap();
		off += (size_t)k;
	}
	close(sv[1]);
	mr_diag_clear(&d);
	mr_ps_attach(&ps, sv[0]);
	if (mr_ps_list(&ps, &count, &d) == MR_OK) {
		while (mr_ps_next(&ps, &it, &d) == MR_OK && it.kind != MR_PS_END) {
			/* Whatever is accepted is bounded and terminated. */
			if (it.der_len > sizeof(it.der) ||
			    it.name[sizeof(it.name) - 1] != '\0' ||
			    it.cluster[sizeof(it.cluster) - 1] != '\0' ||
			    it.why[sizeof(it.why) - 1] != '\0')
				__builtin_trap();
		}
	}
	mr_ps_stop(&ps);
	return 0;
}

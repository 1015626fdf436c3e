/*
 * Frames over a byte stream: the unix socket, the FunctionFS endpoint pair
 * and the host's libusb bulk pipes all look like a stream of bytes with a
 * read timeout. The port supplies read and write; this module cuts the
 * stream into frames (mr_link.h), checking the header's length against the
 * protocol limit before it reads (or copies) a payload byte.
 *
 * A frame that stops arriving (a peer that lied about its length, a cable
 * pulled mid-transfer) is cut off after `inner_ms` without a byte.
 */
#ifndef MR_LINKIO_H
#define MR_LINKIO_H

#include <stddef.h>
#include <stdint.h>

#include "mr_link.h"

typedef struct {
	/* Reads 1..n bytes, waiting at most timeout_ms (-1: forever). Returns
	 * the count, 0 on timeout, MR_E_GONE when the peer is gone, another
	 * mr_err on failure. */
	int (*read)(void *ctx, uint8_t *buf, size_t n, int timeout_ms);
	/* Writes all n bytes: MR_OK, MR_E_GONE, MR_E_TIMEOUT or MR_E_IO. */
	int (*write)(void *ctx, const uint8_t *buf, size_t n);
	void *ctx;
	size_t chunk;        /* read size (a USB port reads one packet) */
	uint8_t rx[16384];   /* bytes read beyond the frame being returned */
	size_t rx_pos, rx_len;
} mr_linkio;

void mr_linkio_init(mr_linkio *io, void *ctx,
    int (*rd)(void *, uint8_t *, size_t, int), int (*wr)(void *, const uint8_t *, size_t),
    size_t chunk);

/*
 * Receives one frame into buf (cap >= MR_LINK_MAX_FRAME). Waits first_ms
 * for its first byte (MR_E_TIMEOUT if none came), then at most inner_ms
 * between bytes. On MR_OK, *h and *payload (a view into buf) are set.
 * Errors: MR_E_PROTO (bad magic, or a frame cut short: *got_hdr tells
 * whether h holds a decoded header), MR_E_VERSION, MR_E_RANGE (length
 * beyond the limit; nothing of the payload was read), MR_E_GONE.
 */
int mr_linkio_recv(mr_linkio *io, uint8_t *buf, size_t cap, mr_link_hdr *h, mr_der *payload,
    int *got_hdr, int first_ms, int inner_ms) MR_MUST_CHECK;

/* Sends a whole frame. */
int mr_linkio_send(mr_linkio *io, const uint8_t *frame, size_t n) MR_MUST_CHECK;

/* Discards buffered input and whatever arrives until quiet_ms pass
 * without a byte: resynchronises the stream after a bad frame. */
void mr_linkio_drain(mr_linkio *io, int quiet_ms);

#endif

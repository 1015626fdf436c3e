#include <string.h>

#include "mr_linkio.h"

void
mr_linkio_init(mr_linkio *io, void *ctx,
    int (*rd)(void *, uint8_t *, size_t, int), int (*wr)(void *, const uint8_t *, size_t),
    size_t chunk)
{
	memset(io, 0, sizeof(*io));
	io->ctx = ctx;
	io->read = rd;
	io->write = wr;
	io->chunk = chunk == 0 || chunk > sizeof(io->rx) ? sizeof(io->rx) : chunk;
}

/* Fills buf[*have .. want) from the buffered bytes and the port. */
static int
fill(mr_linkio *io, uint8_t *buf, size_t *have, size_t want, int first_ms, int inner_ms)
{
	while (*have < want) {
		size_t take = io->rx_len - io->rx_pos;
		int r;

		if (take > 0) {
			if (take > want - *have)
				take = want - *have;
			memcpy(buf + *have, io->rx + io->rx_pos, take);
			io->rx_pos += take;
			*have += take;
			continue;
		}
		io->rx_pos = io->rx_len = 0;
		r = io->read(io->ctx, io->rx, io->chunk, *have == 0 ? first_ms : inner_ms);
		if (r < 0)
			return r;
		if (r == 0)
			return MR_E_TIMEOUT;
		if ((size_t)r > io->chunk)
			return MR_E_INTERNAL;
		io->rx_len = (size_t)r;
	}
	return MR_OK;
}

int
mr_linkio_recv(mr_linkio *io, uint8_t *buf, size_t cap, mr_link_hdr *h, mr_der *payload,
    int *got_hdr, int first_ms, int inner_ms)
{
	size_t have = 0;
	int r;

	*got_hdr = 0;
	memset(h, 0, sizeof(*h));
	if (cap < MR_LINK_MAX_FRAME)
		return MR_E_INTERNAL;
	r = fill(io, buf, &have, MR_LINK_HDR_LEN, first_ms, inner_ms);
	if (r == MR_E_TIMEOUT && have > 0)
		return MR_E_PROTO;
	if (r != MR_OK)
		return r;
	/* The length is checked here, before a single payload byte is read. */
	if ((r = mr_link_hdr_decode(buf, have, h)) != MR_OK)
		return r;
	*got_hdr = 1;
	r = fill(io, buf, &have, MR_LINK_HDR_LEN + (size_t)h->len, inner_ms, inner_ms);
	if (r == MR_E_TIMEOUT)
		return MR_E_PROTO;
	if (r != MR_OK)
		return r;
	*payload = mr_der_view(buf + MR_LINK_HDR_LEN, h->len);
	return MR_OK;
}

int
mr_linkio_send(mr_linkio *io, const uint8_t *frame, size_t n)
{
	return io->write(io->ctx, frame, n);
}

void
mr_linkio_drain(mr_linkio *io, int quiet_ms)
{
	uint8_t junk[512];
	int r;

	io->rx_pos = io->rx_len = 0;
	do {
		size_t n = io->chunk < sizeof(junk) ? io->chunk : sizeof(junk);
		r = io->read(io->ctx, junk, n, quiet_ms);
	} while (r > 0);
}

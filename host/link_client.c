#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "link.h"
#include "mr_link_socket.h"

int
mr_hostlink_open(mr_hostlink *l, const char *connect, int usb, const char *serial, mr_diag *d)
{
	const char *path, *env;
	int r;

	memset(l, 0, sizeof(*l));
	l->fd = -1;
	l->timeout_ms = 10000;
	/* Tests shorten the wait for a reply. */
	if ((env = getenv("MESHROOT_LINK_TIMEOUT_MS")) != NULL && atoi(env) > 0)
		l->timeout_ms = atoi(env);
	if (usb) {
		if ((r = mr_usb_open(serial, &l->usb, l->where, sizeof(l->where), d)) != MR_OK)
			return r;
		mr_linkio_init(&l->io, l->usb, mr_usb_read, mr_usb_write, mr_usb_packet(l->usb));
		return MR_OK;
	}
	if ((path = mr_link_socket_path(connect)) == NULL)
		return mr_diag_set(d, MR_E_ARG, "--connect takes unix:PATH");
	if ((r = mr_link_socket_connect(path, &l->fd, d)) != MR_OK)
		return r;
	snprintf(l->where, sizeof(l->where), "unix:%.80s", path);
	mr_linkio_init(&l->io, &l->fd, mr_link_fd_read, mr_link_fd_write, 0);
	return MR_OK;
}

void
mr_hostlink_close(mr_hostlink *l)
{
	if (l->fd >= 0)
		close(l->fd);
	l->fd = -1;
	mr_usb_close(l->usb);
	l->usb = NULL;
}

int
mr_hostlink_call(mr_hostlink *l, uint8_t op, const uint8_t *payload, size_t n, mr_der *reply,
    mr_diag *d)
{
	int r;

	if ((r = mr_hostlink_send(l, op, payload, n, d)) != MR_OK)
		return r;
	return mr_hostlink_recv(l, reply, d);
}

int
mr_hostlink_send(mr_hostlink *l, uint8_t op, const uint8_t *payload, size_t n, mr_diag *d)
{
	size_t len = 0;
	uint16_t seq = (uint16_t)(l->seq + 1);
	int r;

	l->answered = 0;
	l->answer[0] = '\0';
	if (mr_link_frame_encode(op, seq, MR_ST_OK, payload, n, l->tx, sizeof(l->tx), &len) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "request does not fit one frame");
	if ((r = mr_linkio_send(&l->io, l->tx, len)) != MR_OK)
		return mr_diag_set(d, r, "%s: %s", l->where,
		    r == MR_E_GONE ? "the appliance went away (unplugged?)" :
		    r == MR_E_TIMEOUT ? "the appliance does not take requests (timeout)" :
					"write failed");
	l->seq = seq;
	l->sent_op = op;
	return MR_OK;
}

int
mr_hostlink_recv(mr_hostlink *l, mr_der *reply, mr_diag *d)
{
	char msg[MR_LINK_MAX_MESSAGE + 1];
	mr_link_hdr h;
	uint8_t op = l->sent_op;
	uint16_t seq = l->seq;
	int got_hdr = 0, r;

	r = mr_linkio_recv(&l->io, l->rx, sizeof(l->rx), &h, reply, &got_hdr, l->timeout_ms,
	    l->timeout_ms < 2000 ? l->timeout_ms : 2000);
	switch (r) {
	case MR_OK: break;
	case MR_E_TIMEOUT:
		return mr_diag_set(d, r, "%s: no answer from the appliance within %d ms (timeout)",
		    l->where, l->timeout_ms);
	case MR_E_GONE:
		return mr_diag_set(d, r, "%s: the appliance went away mid-transfer (unplugged?)",
		    l->where);
	case MR_E_RANGE:
		return mr_diag_set(d, MR_E_PROTO,
		    "%s: the appliance sent a frame of %lu bytes, beyond the %u-byte limit", l->where,
		    (unsigned long)h.len, MR_LINK_MAX_PAYLOAD);
	case MR_E_VERSION:
		return mr_diag_set(d, r, "%s: the appliance speaks protocol version %u, not %u",
		    l->where, h.version, MR_LINK_VERSION);
	case MR_E_PROTO:
		return mr_diag_set(d, r, "%s: %s", l->where,
		    got_hdr ? "the appliance's frame is shorter than its length (cut off)" :
			      "the appliance sent a malformed frame");
	default:
		return mr_diag_set(d, r, "%s: read failed", l->where);
	}
	/* An error reply to a frame the appliance could not decode carries
	 * op 0 and seq 0: its message still says what went wrong. */
	if (h.status != MR_ST_OK && h.op == MR_OP_REPLY && h.seq == 0) {
		h.op = (uint8_t)(op | MR_OP_REPLY);
		h.seq = seq;
	}
	if (h.op != (op | MR_OP_REPLY) || h.seq != seq)
		return mr_diag_set(d, MR_E_PROTO, "%s: reply out of order (op %#x seq %u for op %#x seq %u)",
		    l->where, h.op, h.seq, op, seq);
	if (h.status != MR_ST_OK) {
		if (mr_link_error_decode(*reply, msg, sizeof(msg)) != MR_OK || msg[0] == '\0')
			snprintf(msg, sizeof(msg), "%s", mr_link_status_name(h.status));
		/* The message alone: a prefix could push the end of a long one
		 * out of the one-line diag. */
		l->answered = 1;
		memcpy(l->answer, msg, sizeof(l->answer));
		return mr_diag_set(d, mr_link_err_from_status(h.status), "%s", msg);
	}
	return MR_OK;
}

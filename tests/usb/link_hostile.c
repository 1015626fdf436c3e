/*
 * T0 hostile peer: connects to `serve --listen unix:PATH` and sends what a
 * broken or malicious host might. Each case must get the error reply named
 * next to it, and the appliance must still answer a good INFO afterwards.
 * Usage: link_hostile PATH
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mr_link.h"
#include "mr_link_socket.h"
#include "mr_linkio.h"

static int fd = -1;
static mr_linkio io;
static uint8_t rx[MR_LINK_MAX_FRAME];
static int failures;

static void
reconnect(const char *path)
{
	mr_diag d;

	if (fd >= 0)
		close(fd);
	mr_diag_clear(&d);
	if (mr_link_socket_connect(path, &fd, &d) != MR_OK) {
		fprintf(stderr, "connect: %s\n", mr_diag_text(&d, MR_E_IO));
		_exit(1);
	}
	mr_linkio_init(&io, &fd, mr_link_fd_read, mr_link_fd_write, 0);
}

/* Sends raw bytes, expects a reply with this status (and op, seq). */
static void
expect(const char *name, const uint8_t *raw, size_t n, uint16_t status)
{
	mr_link_hdr h;
	mr_der pl;
	char msg[256];
	int got = 0, r;

	if (mr_linkio_send(&io, raw, n) != MR_OK) {
		printf("FAIL %s: send\n", name);
		failures++;
		return;
	}
	r = mr_linkio_recv(&io, rx, sizeof(rx), &h, &pl, &got, 5000, 2000);
	if (r != MR_OK) {
		printf("FAIL %s: no reply (%s)\n", name, mr_strerror(r));
		failures++;
		return;
	}
	if (mr_link_error_decode(pl, msg, sizeof(msg)) != MR_OK)
		msg[0] = '\0';
	if (h.status != status) {
		printf("FAIL %s: status %u (%s), want %u\n", name, h.status, msg, status);
		failures++;
		return;
	}
	printf("ok   %s: %s%s%s\n", name, mr_link_status_name(h.status), msg[0] ? ": " : "", msg);
}

static size_t
frame(uint8_t op, uint16_t seq, const uint8_t *pl, size_t n, uint8_t *out)
{
	size_t len = 0;

	if (mr_link_frame_encode(op, seq, 0, pl, n, out, MR_LINK_MAX_FRAME, &len) != MR_OK)
		_exit(1);
	return len;
}

int
main(int argc, char **argv)
{
	static uint8_t f[MR_LINK_MAX_FRAME];
	uint8_t pl[64];
	mr_link_w w;
	size_t n;

	if (argc != 2)
		return 2;
	reconnect(argv[1]);

	expect("request before INFO", f, frame(MR_OP_RESULT, 1, NULL, 0, f), MR_ST_SEQUENCE);
	expect("INFO", f, frame(MR_OP_INFO, 1, NULL, 0, f), MR_ST_OK);
	/* Rejected before the sequence check: seq 2 is still the next. */
	expect("unknown operation", f, frame(0x33, 2, NULL, 0, f), MR_ST_UNKNOWN_OP);
	expect("sequence skipped", f, frame(MR_OP_RESULT, 9, NULL, 0, f), MR_ST_SEQUENCE);
	expect("empty RESULT", f, frame(MR_OP_RESULT, 2, NULL, 0, f), MR_ST_PROTO);
	mr_link_w_init(&w, pl, sizeof(pl));
	mr_link_put(&w, MR_T_HASH, "short", 5);
	expect("hash of 5 bytes", f, frame(MR_OP_RESULT, 3, pl, w.len, f), MR_ST_PROTO);
	mr_link_w_init(&w, pl, sizeof(pl));
	mr_link_put_str(&w, MR_T_CLUSTER, "east");
	mr_link_put(&w, MR_T_CSR, "\x30\x03\x02\x01\x01", 5);
	expect("SUBMIT of a non-CSR answers REFUSED", f, frame(MR_OP_SUBMIT, 4, pl, w.len, f),
	    MR_ST_OK);
	n = frame(MR_OP_INFO, 6, NULL, 0, f);
	f[0] = 'X';
	expect("bad magic", f, n, MR_ST_PROTO);
	n = frame(MR_OP_INFO, 6, NULL, 0, f);
	f[2] = 9;
	expect("protocol version 9", f, n, MR_ST_VERSION);
	n = frame(MR_OP_INFO, 6, NULL, 0, f);
	f[8] = 0x7f; /* length 2 GiB */
	expect("length beyond the limit", f, n, MR_ST_TOO_LARGE);
	/* A frame lying about its length: says 100, sends 10, then stalls. */
	n = frame(MR_OP_INFO, 6, (const uint8_t *)"0123456789", 10, f);
	f[11] = 100;
	expect("frame shorter than its length", f, n, MR_ST_PROTO);
	n = frame(MR_OP_INFO, 7, NULL, 0, f);
	f[3] = MR_OP_INFO | MR_OP_REPLY;
	expect("a reply sent as a request", f, n, MR_ST_PROTO);
	expect("INFO still answered", f, frame(MR_OP_INFO, 8, NULL, 0, f), MR_ST_OK);
	/* The peer vanishing mid-frame must not stop the appliance. */
	n = frame(MR_OP_INFO, 1, NULL, 0, f);
	(void)!write(fd, f, 5);
	reconnect(argv[1]);
	expect("INFO after a peer vanished mid-frame", f, frame(MR_OP_INFO, 1, NULL, 0, f), MR_ST_OK);
	close(fd);
	printf("%s\n", failures ? "hostile frames: FAILED" : "hostile frames: all answered");
	return failures ? 1 : 0;
}

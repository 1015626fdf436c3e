/*
 * The host's end of the appliance link (docs/protocol.md): one request at
 * a time, each reply matched to its request by op and sequence number,
 * over a unix socket (`--connect unix:PATH`) or libusb (`--usb [SERIAL]`).
 * Errors are one line an operator can act on: no device, permission
 * denied (with the udev rule), busy, timeout, unplugged.
 */
#ifndef MR_HOST_LINK_H
#define MR_HOST_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_linkio.h"

typedef struct mr_usb mr_usb;

typedef struct {
	mr_linkio io;
	uint16_t seq;
	int fd;
	mr_usb *usb;
	int timeout_ms;          /* for each reply */
	char where[96];
	/* The appliance's own message of the last error reply, whole (d
	 * holds the same text; answered says it came from the appliance). */
	int answered;
	char answer[MR_LINK_MAX_MESSAGE + 1];
	uint8_t sent_op;         /* the request mr_hostlink_recv answers */
	uint8_t tx[MR_LINK_MAX_FRAME], rx[MR_LINK_MAX_FRAME];
} mr_hostlink;

/* Exactly one of connect ("unix:PATH") and usb (serial may be NULL). */
int mr_hostlink_open(mr_hostlink *l, const char *connect, int usb, const char *serial,
    mr_diag *d) MR_MUST_CHECK;
void mr_hostlink_close(mr_hostlink *l);

/* One exchange. On MR_OK *reply views the reply payload in l->rx (valid
 * until the next call). An error reply becomes its mr_err with the
 * appliance's message, unchanged, in d and l->answer (l->answered set). */
int mr_hostlink_call(mr_hostlink *l, uint8_t op, const uint8_t *payload, size_t n,
    mr_der *reply, mr_diag *d) MR_MUST_CHECK;
/* The two halves of mr_hostlink_call, for a caller that works while the
 * appliance answers: send one request, then (before any other send) read
 * its reply. */
int mr_hostlink_send(mr_hostlink *l, uint8_t op, const uint8_t *payload, size_t n,
    mr_diag *d) MR_MUST_CHECK;
int mr_hostlink_recv(mr_hostlink *l, mr_der *reply, mr_diag *d) MR_MUST_CHECK;

/* libusb port (link_usb.c). */
int mr_usb_open(const char *serial, mr_usb **out, char *where, size_t where_cap, mr_diag *d)
    MR_MUST_CHECK;
void mr_usb_close(mr_usb *u);
size_t mr_usb_packet(const mr_usb *u);
int mr_usb_read(void *ctx, uint8_t *buf, size_t n, int timeout_ms);
int mr_usb_write(void *ctx, const uint8_t *buf, size_t n);

#endif

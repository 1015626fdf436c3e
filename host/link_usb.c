/*
 * The appliance over USB with libusb-1.0: found by VID/PID (mr_link.h) and
 * its serial string, one vendor interface with a bulk OUT/IN pair. Reads
 * take one packet at a time, so a transfer never waits for a short packet
 * that a frame ending on a packet boundary would not send; writes end with
 * a zero-length packet in that case for the same reason on the other side.
 */
#include <libusb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "link.h"
#include "mr_link.h"

#define WRITE_TIMEOUT_MS 5000

struct mr_usb {
	libusb_context *ctx;
	libusb_device_handle *h;
	uint8_t ep_in, ep_out;
	size_t packet;
};

static const char udev_rule[] =
    "SUBSYSTEM==\"usb\", ATTR{idVendor}==\"1209\", ATTR{idProduct}==\"0001\", "
    "MODE=\"0660\", TAG+=\"uaccess\"";

static int
find_endpoints(mr_usb *u, mr_diag *d)
{
	struct libusb_config_descriptor *cfg = NULL;
	const struct libusb_interface_descriptor *alt;

	if (libusb_get_active_config_descriptor(libusb_get_device(u->h), &cfg) != 0)
		return mr_diag_set(d, MR_E_IO, "cannot read the appliance's configuration");
	if (cfg->bNumInterfaces < 1 || cfg->interface[0].num_altsetting < 1) {
		libusb_free_config_descriptor(cfg);
		return mr_diag_set(d, MR_E_PROTO, "the device has no interface 0");
	}
	alt = &cfg->interface[0].altsetting[0];
	for (int i = 0; i < alt->bNumEndpoints; i++) {
		const struct libusb_endpoint_descriptor *e = &alt->endpoint[i];
		if ((e->bmAttributes & 3) != LIBUSB_TRANSFER_TYPE_BULK)
			continue;
		if (e->bEndpointAddress & LIBUSB_ENDPOINT_IN) {
			u->ep_in = e->bEndpointAddress;
			u->packet = e->wMaxPacketSize;
		} else {
			u->ep_out = e->bEndpointAddress;
		}
	}
	libusb_free_config_descriptor(cfg);
	if (u->ep_in == 0 || u->ep_out == 0 || u->packet == 0 || u->packet > 1024)
		return mr_diag_set(d, MR_E_PROTO, "the device lacks the bulk IN/OUT pair");
	return MR_OK;
}

int
mr_usb_open(const char *serial, mr_usb **out, char *where, size_t where_cap, mr_diag *d)
{
	libusb_device **list = NULL;
	libusb_device_handle *pick = NULL;
	char seen[256] = "", s[128];
	ssize_t n;
	int found = 0, denied = 0, r;
	mr_usb *u;

	if ((u = calloc(1, sizeof(*u))) == NULL)
		return MR_E_NOMEM;
	if (libusb_init(&u->ctx) != 0) {
		free(u);
		return mr_diag_set(d, MR_E_IO, "libusb cannot start (no USB support here?)");
	}
	if ((n = libusb_get_device_list(u->ctx, &list)) < 0) {
		r = mr_diag_set(d, MR_E_IO, "cannot list USB devices: %s", libusb_strerror((int)n));
		goto fail;
	}
	for (ssize_t i = 0; i < n; i++) {
		struct libusb_device_descriptor dd;
		libusb_device_handle *h = NULL;
		if (libusb_get_device_descriptor(list[i], &dd) != 0 || dd.idVendor != MR_USB_VID ||
		    dd.idProduct != MR_USB_PID)
			continue;
		r = libusb_open(list[i], &h);
		if (r == LIBUSB_ERROR_ACCESS) {
			denied++;
			continue;
		}
		if (r != 0)
			continue;
		s[0] = '\0';
		if (dd.iSerialNumber == 0 ||
		    libusb_get_string_descriptor_ascii(h, dd.iSerialNumber, (unsigned char *)s,
			sizeof(s)) < 0)
			s[0] = '\0';
		if (serial != NULL && strcmp(serial, s) != 0) {
			libusb_close(h);
			continue;
		}
		found++;
		if (strlen(seen) + strlen(s) + 3 < sizeof(seen)) {
			if (seen[0])
				strcat(seen, ", ");
			strcat(seen, s[0] ? s : "(no serial)");
		}
		if (pick == NULL) {
			pick = h;
			snprintf(where, where_cap, "USB %04x:%04x serial %.40s", MR_USB_VID, MR_USB_PID,
			    s[0] ? s : "(none)");
		} else {
			libusb_close(h);
		}
	}
	libusb_free_device_list(list, 1);
	if (found == 0) {
		if (denied > 0) {
			fprintf(stderr,
			    "hint: allow your user to open the appliance with a udev rule, e.g. as root:\n"
			    "  cp host/99-meshroot.rules /etc/udev/rules.d/ && udevadm control --reload && udevadm trigger\n"
			    "  (%s)\n", udev_rule);
			r = mr_diag_set(d, MR_E_ACCESS,
			    "permission denied opening the appliance (USB %04x:%04x): install the udev rule (see hint)",
			    MR_USB_VID, MR_USB_PID);
		} else if (serial != NULL) {
			r = mr_diag_set(d, MR_E_NOTFOUND, "no meshroot appliance with serial %s on USB",
			    serial);
		} else {
			r = mr_diag_set(d, MR_E_NOTFOUND,
			    "no meshroot appliance on USB (VID %04x PID %04x): plugged in and serving?",
			    MR_USB_VID, MR_USB_PID);
		}
		goto fail;
	}
	if (found > 1) {
		libusb_close(pick);
		r = mr_diag_set(d, MR_E_ARG, "%d appliances on USB (%s): pick one with --usb=SERIAL",
		    found, seen);
		goto fail;
	}
	u->h = pick;
	libusb_set_auto_detach_kernel_driver(u->h, 1);
	r = libusb_claim_interface(u->h, 0);
	if (r == LIBUSB_ERROR_BUSY) {
		r = mr_diag_set(d, MR_E_BUSY, "the appliance is busy: another program holds its interface");
		goto fail;
	}
	if (r == LIBUSB_ERROR_NO_DEVICE) {
		r = mr_diag_set(d, MR_E_GONE, "the appliance went away (unplugged?)");
		goto fail;
	}
	if (r != 0) {
		r = mr_diag_set(d, MR_E_IO, "cannot claim the appliance's interface: %s",
		    libusb_strerror(r));
		goto fail;
	}
	if ((r = find_endpoints(u, d)) != MR_OK)
		goto fail;
	*out = u;
	return MR_OK;
fail:
	mr_usb_close(u);
	return r;
}

void
mr_usb_close(mr_usb *u)
{
	if (u == NULL)
		return;
	if (u->h != NULL) {
		libusb_release_interface(u->h, 0);
		libusb_close(u->h);
	}
	libusb_exit(u->ctx);
	free(u);
}

size_t
mr_usb_packet(const mr_usb *u)
{
	return u->packet;
}

static int
map_error(int r)
{
	switch (r) {
	case LIBUSB_ERROR_TIMEOUT: return MR_E_TIMEOUT;
	case LIBUSB_ERROR_NO_DEVICE: return MR_E_GONE;
	case LIBUSB_ERROR_ACCESS: return MR_E_ACCESS;
	case LIBUSB_ERROR_BUSY: return MR_E_BUSY;
	}
	return MR_E_IO;
}

int
mr_usb_read(void *ctx, uint8_t *buf, size_t n, int timeout_ms)
{
	mr_usb *u = ctx;
	int got = 0, r;

	/* One packet: never ask for more than the device may send at once. */
	if (n > u->packet)
		n = u->packet;
	r = libusb_bulk_transfer(u->h, u->ep_in, buf, (int)n, &got,
	    timeout_ms < 0 ? 0 : timeout_ms == 0 ? 1 : (unsigned)timeout_ms);
	if (got > 0)
		return got;
	if (r == 0 || r == LIBUSB_ERROR_TIMEOUT)
		return 0;
	return map_error(r);
}

int
mr_usb_write(void *ctx, const uint8_t *buf, size_t n)
{
	mr_usb *u = ctx;
	int done = 0, r;

	r = libusb_bulk_transfer(u->h, u->ep_out, (unsigned char *)(uintptr_t)buf, (int)n, &done,
	    WRITE_TIMEOUT_MS);
	if (r != 0)
		return map_error(r);
	if ((size_t)done != n)
		return MR_E_IO;
	if (n % u->packet == 0) {
		r = libusb_bulk_transfer(u->h, u->ep_out, (unsigned char *)(uintptr_t)buf, 0, &done,
		    WRITE_TIMEOUT_MS);
		if (r != 0)
			return map_error(r);
	}
	return MR_OK;
}

#define _GNU_SOURCE /* pipe2 */
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/usb/ch9.h>
#include <linux/usb/functionfs.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr_link_ffs.h"

/* Constant little-endian values for the static descriptor tables. */
#if __BYTE_ORDER == __LITTLE_ENDIAN
#define LE16(x) ((uint16_t)(x))
#define LE32(x) ((uint32_t)(x))
#else
#define LE16(x) __builtin_bswap16((uint16_t)(x))
#define LE32(x) __builtin_bswap32((uint32_t)(x))
#endif

struct mr_link_ffs {
	int ep0, ep1, ep2;
	int pipe_r, pipe_w;
	atomic_int reset, enabled, stop;
	pthread_t t_ep0, t_ep1;
	char dir[256];
};

#define STR_INTERFACE "meshroot link"

static const struct {
	struct usb_functionfs_descs_head_v2 header;
	__le32 fs_count, hs_count;
	struct {
		struct usb_interface_descriptor intf;
		struct usb_endpoint_descriptor_no_audio out, in;
	} __attribute__((packed)) fs, hs;
} __attribute__((packed)) descriptors = {
	.header = {
		.magic = LE32(FUNCTIONFS_DESCRIPTORS_MAGIC_V2),
		.flags = LE32(FUNCTIONFS_HAS_FS_DESC | FUNCTIONFS_HAS_HS_DESC),
		.length = LE32(sizeof(descriptors)),
	},
	.fs_count = LE32(3),
	.hs_count = LE32(3),
	.fs = {
		.intf = { .bLength = sizeof(descriptors.fs.intf), .bDescriptorType = USB_DT_INTERFACE,
			.bNumEndpoints = 2, .bInterfaceClass = USB_CLASS_VENDOR_SPEC, .iInterface = 1 },
		.out = { .bLength = sizeof(descriptors.fs.out), .bDescriptorType = USB_DT_ENDPOINT,
			.bEndpointAddress = 1 | USB_DIR_OUT, .bmAttributes = USB_ENDPOINT_XFER_BULK,
			.wMaxPacketSize = LE16(64) },
		.in = { .bLength = sizeof(descriptors.fs.in), .bDescriptorType = USB_DT_ENDPOINT,
			.bEndpointAddress = 2 | USB_DIR_IN, .bmAttributes = USB_ENDPOINT_XFER_BULK,
			.wMaxPacketSize = LE16(64) },
	},
	.hs = {
		.intf = { .bLength = sizeof(descriptors.hs.intf), .bDescriptorType = USB_DT_INTERFACE,
			.bNumEndpoints = 2, .bInterfaceClass = USB_CLASS_VENDOR_SPEC, .iInterface = 1 },
		.out = { .bLength = sizeof(descriptors.hs.out), .bDescriptorType = USB_DT_ENDPOINT,
			.bEndpointAddress = 1 | USB_DIR_OUT, .bmAttributes = USB_ENDPOINT_XFER_BULK,
			.wMaxPacketSize = LE16(512) },
		.in = { .bLength = sizeof(descriptors.hs.in), .bDescriptorType = USB_DT_ENDPOINT,
			.bEndpointAddress = 2 | USB_DIR_IN, .bmAttributes = USB_ENDPOINT_XFER_BULK,
			.wMaxPacketSize = LE16(512) },
	},
};

static const struct {
	struct usb_functionfs_strings_head header;
	struct {
		__le16 code;
		const char s1[sizeof(STR_INTERFACE)];
	} __attribute__((packed)) lang0;
} __attribute__((packed)) strings = {
	.header = {
		.magic = LE32(FUNCTIONFS_STRINGS_MAGIC),
		.length = LE32(sizeof(strings)),
		.str_count = LE32(1),
		.lang_count = LE32(1),
	},
	.lang0 = { LE16(0x0409), STR_INTERFACE },
};

static int
write_all(int fd, const void *p, size_t n)
{
	ssize_t k;

	do
		k = write(fd, p, n);
	while (k < 0 && errno == EINTR);
	return k == (ssize_t)n ? 0 : -1;
}

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static void *
ep0_thread(void *arg)
{
	mr_link_ffs *f = arg;
	struct usb_functionfs_event ev[4];

	while (!atomic_load(&f->stop)) {
		ssize_t k = read(f->ep0, ev, sizeof(ev));
		if (k < 0) {
			if (errno != EINTR)
				sleep_ms(50);
			continue;
		}
		for (size_t i = 0; i < (size_t)k / sizeof(ev[0]); i++) {
			switch (ev[i].type) {
			case FUNCTIONFS_ENABLE:
				atomic_store(&f->enabled, 1);
				atomic_store(&f->reset, 1);
				break;
			case FUNCTIONFS_DISABLE:
			case FUNCTIONFS_UNBIND:
				atomic_store(&f->enabled, 0);
				atomic_store(&f->reset, 1);
				break;
			case FUNCTIONFS_SETUP:
				/* No class or vendor control requests: stall. */
				if (ev[i].u.setup.bRequestType & USB_DIR_IN)
					(void)!write(f->ep0, NULL, 0);
				else
					(void)!read(f->ep0, NULL, 0);
				break;
			default:
				break;
			}
		}
	}
	return NULL;
}

/* Reads OUT packets into the pipe: the serve loop polls the pipe. */
static void *
ep1_thread(void *arg)
{
	mr_link_ffs *f = arg;
	uint8_t buf[MR_LINK_FFS_CHUNK];

	while (!atomic_load(&f->stop)) {
		ssize_t k = read(f->ep1, buf, sizeof(buf));
		if (k < 0) {
			/* ESHUTDOWN: the host went away mid-transfer; wait for
			 * the next ENABLE (the read blocks until then). */
			if (errno != EINTR)
				sleep_ms(20);
			continue;
		}
		if (k > 0 && write_all(f->pipe_w, buf, (size_t)k) != 0)
			break;
	}
	return NULL;
}

int
mr_link_ffs_open(const char *dir, const char *serial, mr_link_ffs **out, mr_diag *d)
{
	mr_link_ffs *f;
	char path[320];
	int p[2];

	(void)serial; /* the serial string is the gadget's (configfs) */
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return MR_E_NOMEM;
	f->ep0 = f->ep1 = f->ep2 = f->pipe_r = f->pipe_w = -1;
	snprintf(f->dir, sizeof(f->dir), "%s", dir);
	snprintf(path, sizeof(path), "%s/ep0", dir);
	if ((f->ep0 = open(path, O_RDWR | O_CLOEXEC)) < 0) {
		mr_diag_set(d, MR_E_IO, "%s: %s (is FunctionFS mounted there? see boards/linux-gadget)",
		    path, strerror(errno));
		goto fail;
	}
	if (write_all(f->ep0, &descriptors, sizeof(descriptors)) != 0 ||
	    write_all(f->ep0, &strings, sizeof(strings)) != 0) {
		mr_diag_set(d, MR_E_IO, "%s: descriptors refused: %s", path, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/ep1", dir);
	if ((f->ep1 = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	snprintf(path, sizeof(path), "%s/ep2", dir);
	if ((f->ep2 = open(path, O_WRONLY | O_CLOEXEC)) < 0) {
		mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (pipe2(p, O_CLOEXEC) != 0) {
		mr_diag_set(d, MR_E_IO, "pipe: %s", strerror(errno));
		goto fail;
	}
	f->pipe_r = p[0];
	f->pipe_w = p[1];
	*out = f;
	return MR_OK;
fail:
	if (f->ep0 >= 0)
		close(f->ep0);
	if (f->ep1 >= 0)
		close(f->ep1);
	if (f->ep2 >= 0)
		close(f->ep2);
	free(f);
	return MR_E_IO;
}

int
mr_link_ffs_start(mr_link_ffs *f, mr_diag *d)
{
	if (pthread_create(&f->t_ep0, NULL, ep0_thread, f) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot start the FunctionFS ep0 thread");
	pthread_detach(f->t_ep0);
	if (pthread_create(&f->t_ep1, NULL, ep1_thread, f) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot start the FunctionFS ep1 thread");
	pthread_detach(f->t_ep1);
	return MR_OK;
}

void
mr_link_ffs_fds(const mr_link_ffs *f, int fds[MR_LINK_FFS_NFDS])
{
	fds[0] = f->ep0;
	fds[1] = f->ep1;
	fds[2] = f->ep2;
	fds[3] = f->pipe_r;
	fds[4] = f->pipe_w;
}

void
mr_link_ffs_close(mr_link_ffs *f)
{
	if (f == NULL)
		return;
	/* The threads are blocked in read(2); the process is about to exit
	 * and the kernel tears the function down with the files. */
	atomic_store(&f->stop, 1);
}

int
mr_link_ffs_reset_seen(mr_link_ffs *f)
{
	return atomic_exchange(&f->reset, 0);
}

int
mr_link_ffs_read(void *ctx, uint8_t *buf, size_t n, int timeout_ms)
{
	mr_link_ffs *f = ctx;
	struct pollfd p = { f->pipe_r, POLLIN, 0 };
	ssize_t k;
	int r = poll(&p, 1, timeout_ms);

	if (r <= 0)
		return r < 0 && errno != EINTR ? MR_E_IO : 0;
	k = read(f->pipe_r, buf, n);
	if (k <= 0)
		return k == 0 ? MR_E_GONE : (errno == EINTR ? 0 : MR_E_IO);
	return (int)k;
}

int
mr_link_ffs_write(void *ctx, const uint8_t *buf, size_t n)
{
	mr_link_ffs *f = ctx;
	ssize_t k;

	while (n > 0) {
		k = write(f->ep2, buf, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			/* ESHUTDOWN: disabled mid-transfer (host gone). */
			return errno == ESHUTDOWN || errno == ENODEV ? MR_E_GONE : MR_E_IO;
		}
		buf += k;
		n -= (size_t)k;
	}
	return MR_OK;
}

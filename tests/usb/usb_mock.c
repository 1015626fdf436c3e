/*
 * T1: an emulated USB appliance for the host's real libusb code. A umockdev
 * testbed holds one device 1209:0001 with the appliance's descriptors; its
 * usbdevfs ioctl handler feeds bulk OUT data to the real appliance core
 * (mr_serve_frame, with a real SoftHSM2 token and state dir) and returns
 * the replies on bulk IN. The real `meshroot` binary runs as a child under
 * umockdev-wrapper.
 *
 *   usb_mock CASE STATE_DIR TOKEN PIN_FILE -- COMMAND...
 *
 * CASE: auto (approve at once), operator (approve 300 ms after a request
 * waits), mute (never answer), vanish (unplug after the first SUBMIT),
 * liar (a reply claiming 1000 bytes, sending 20), huge (a reply claiming
 * 2 GiB), busy (the interface is claimed elsewhere), badproof (audit
 * proofs with one byte changed). Exit status: the
 * child's.
 */
#include <errno.h>
#include <sys/ioctl.h>
#include <linux/usbdevice_fs.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <umockdev.h>
#include <unistd.h>
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>

#include "mr_serve.h"

#define DEVNODE "/dev/bus/usb/001/002"
#define PACKET 512

typedef struct {
	UMockdevIoctlData *urb;    /* ref; its buffer resolved at submit */
	UMockdevIoctlData *buf;
	int status;
	int actual;
} pending_urb;

static struct {
	pthread_mutex_t mu;
	mr_server *s;
	const char *mode;
	GQueue in_wait;     /* bulk IN URBs waiting for data */
	GQueue done;        /* URBs ready to reap */
	uint8_t rx[2 * MR_LINK_MAX_FRAME];
	size_t rx_len;
	uint8_t *tx;
	size_t tx_len, tx_cap;
	int gone, submits;
} mock = { PTHREAD_MUTEX_INITIALIZER, NULL, NULL, G_QUEUE_INIT, G_QUEUE_INIT, { 0 }, 0, NULL, 0,
	0, 0, 0 };

static uint8_t reply[MR_LINK_MAX_FRAME];

static void
tx_append(const uint8_t *p, size_t n)
{
	if (mock.tx_len + n > mock.tx_cap) {
		mock.tx_cap = (mock.tx_len + n) * 2;
		mock.tx = realloc(mock.tx, mock.tx_cap);
		if (mock.tx == NULL)
			abort();
	}
	memcpy(mock.tx + mock.tx_len, p, n);
	mock.tx_len += n;
}

/* The device side of the stream, as cmd_serve.c's loop does it. */
static void
device_input(void)
{
	for (;;) {
		mr_link_hdr h;
		size_t out_len = 0, whole;
		int r;

		if (mock.rx_len < MR_LINK_HDR_LEN)
			return;
		r = mr_link_hdr_decode(mock.rx, mock.rx_len, &h);
		if (r != MR_OK) {
			mr_serve_error_frame(&h, r, "bad header", reply, sizeof(reply), &out_len);
			tx_append(reply, out_len);
			mock.rx_len = 0;
			return;
		}
		whole = MR_LINK_HDR_LEN + (size_t)h.len;
		if (mock.rx_len < whole)
			return;
		if (strcmp(mock.mode, "mute") == 0) {
			mock.rx_len = 0;
			return;
		}
		mr_serve_frame(mock.s, mock.rx, whole, reply, sizeof(reply), &out_len);
		memmove(mock.rx, mock.rx + whole, mock.rx_len - whole);
		mock.rx_len -= whole;
		if (h.op == MR_OP_SUBMIT)
			mock.submits++;
		if (strcmp(mock.mode, "liar") == 0 && h.op == MR_OP_INFO) {
			/* Claims 1000 payload bytes, sends 20. */
			reply[8] = 0; reply[9] = 0; reply[10] = 0x03; reply[11] = 0xe8;
			out_len = MR_LINK_HDR_LEN + 20;
		} else if (strcmp(mock.mode, "badproof") == 0 && h.op == MR_OP_RESULT) {
			/* A forged audit proof: one byte of its checkpoint changed. */
			mr_link_result res[MR_LINK_MAX_RESULTS];
			size_t k = 0;
			uint32_t free_slots = 0;
			mr_der pl = mr_der_view(reply + MR_LINK_HDR_LEN, out_len - MR_LINK_HDR_LEN);
			if (mr_link_results_decode(pl, res, MR_LINK_MAX_RESULTS, &k, &free_slots) == MR_OK)
				for (size_t j = 0; j < k; j++)
					if (res[j].proof.n > 0)
						((uint8_t *)res[j].proof.p)[res[j].proof.n / 2] ^= 0x01;
		} else if (strcmp(mock.mode, "huge") == 0 && h.op == MR_OP_INFO) {
			reply[8] = 0x7f; reply[9] = 0xff; reply[10] = 0xff; reply[11] = 0xff;
		}
		tx_append(reply, out_len);
		if (mock.s->mode == MR_APPROVE_AUTO)
			(void)!mr_serve_step(mock.s, 0);
	}
}

/* Completes waiting IN URBs from the device's output, one packet each. */
static void
fill_in(void)
{
	while (mock.tx_len > 0 && !g_queue_is_empty(&mock.in_wait)) {
		pending_urb *p = g_queue_pop_head(&mock.in_wait);
		struct usbdevfs_urb *urb = (struct usbdevfs_urb *)p->urb->data;
		size_t n = mock.tx_len;

		if (n > (size_t)urb->buffer_length)
			n = (size_t)urb->buffer_length;
		if (n > PACKET)
			n = PACKET;
		memcpy(p->buf->data, mock.tx, n);
		memmove(mock.tx, mock.tx + n, mock.tx_len - n);
		mock.tx_len -= n;
		p->actual = (int)n;
		p->status = 0;
		g_queue_push_tail(&mock.done, p);
	}
}

static size_t
string_desc(unsigned idx, uint16_t lang, uint8_t *out, size_t cap)
{
	const char *s;
	size_t n;

	(void)lang;
	if (idx == 0) {
		static const uint8_t langs[] = { 4, 3, 0x09, 0x04 };
		n = sizeof(langs) < cap ? sizeof(langs) : cap;
		memcpy(out, langs, n);
		return n;
	}
	s = idx == 1 ? "meshroot" : idx == 2 ? "meshroot appliance (umockdev)" : mock.s->device_serial;
	n = 2 + 2 * strlen(s);
	if (n > 255)
		n = 255;
	if (cap < 2)
		return 0;
	out[0] = (uint8_t)n;
	out[1] = 3;
	for (size_t i = 0; 2 + 2 * i + 1 < n && 2 + 2 * i + 1 < cap; i++) {
		out[2 + 2 * i] = (uint8_t)s[i];
		out[3 + 2 * i] = 0;
	}
	return n < cap ? n : cap;
}

static gboolean
on_ioctl(UMockdevIoctlBase *handler, UMockdevIoctlClient *client, gpointer data)
{
	UMockdevIoctlData *arg = umockdev_ioctl_client_get_arg(client);
	gulong req = umockdev_ioctl_client_get_request(client);
	gboolean handled = TRUE;

	(void)handler;
	(void)data;
	pthread_mutex_lock(&mock.mu);
	if (mock.gone && req != USBDEVFS_REAPURB && req != USBDEVFS_REAPURBNDELAY &&
	    req != USBDEVFS_DISCARDURB) {
		umockdev_ioctl_client_complete(client, -1, ENODEV);
		goto out;
	}
	switch (req) {
	case USBDEVFS_GET_CAPABILITIES: {
		UMockdevIoctlData *d = umockdev_ioctl_data_resolve(arg, 0, sizeof(guint32), NULL);
		*(guint32 *)d->data = USBDEVFS_CAP_BULK_CONTINUATION | USBDEVFS_CAP_NO_PACKET_SIZE_LIM |
		    USBDEVFS_CAP_REAP_AFTER_DISCONNECT | USBDEVFS_CAP_ZERO_PACKET;
		umockdev_ioctl_data_unref(d);
		umockdev_ioctl_client_complete(client, 0, 0);
		break;
	}
	case USBDEVFS_CLAIMINTERFACE:
	case USBDEVFS_DISCONNECT_CLAIM:
		/* busy: another program holds the interface. */
		if (strcmp(mock.mode, "busy") == 0)
			umockdev_ioctl_client_complete(client, -1, EBUSY);
		else
			umockdev_ioctl_client_complete(client, 0, 0);
		break;
	case USBDEVFS_RELEASEINTERFACE:
	case USBDEVFS_CLEAR_HALT:
	case USBDEVFS_RESET:
	case USBDEVFS_RESETEP:
	case USBDEVFS_SETINTERFACE:
		umockdev_ioctl_client_complete(client, 0, 0);
		break;
	case USBDEVFS_IOCTL:
		/* Kernel driver queries (detach): there is none. */
		umockdev_ioctl_client_complete(client, -1, ENODATA);
		break;
	case USBDEVFS_SUBMITURB: {
		pending_urb *p = g_new0(pending_urb, 1);
		struct usbdevfs_urb *urb;

		p->urb = umockdev_ioctl_data_resolve(arg, 0, sizeof(struct usbdevfs_urb), NULL);
		urb = (struct usbdevfs_urb *)p->urb->data;
		p->buf = umockdev_ioctl_data_resolve(p->urb, G_STRUCT_OFFSET(struct usbdevfs_urb, buffer),
		    (gsize)urb->buffer_length, NULL);
		umockdev_ioctl_data_ref(p->urb);
		if (urb->type == USBDEVFS_URB_TYPE_CONTROL) {
			uint8_t *b = p->buf->data;
			size_t n = 0;
			unsigned wlen = (unsigned)(b[6] | b[7] << 8);
			if (b[1] == 6 && b[3] == 3) /* GET_DESCRIPTOR string */
				n = string_desc(b[2], (uint16_t)(b[4] | b[5] << 8), b + 8,
				    wlen < (unsigned)urb->buffer_length - 8 ? wlen : (unsigned)urb->buffer_length - 8);
			p->actual = (int)n;
			p->status = n > 0 ? 0 : -EPIPE;
			g_queue_push_tail(&mock.done, p);
		} else if (urb->endpoint & 0x80) {
			g_queue_push_tail(&mock.in_wait, p);
		} else {
			size_t n = (size_t)urb->buffer_length;
			if (n > sizeof(mock.rx) - mock.rx_len)
				n = sizeof(mock.rx) - mock.rx_len;
			memcpy(mock.rx + mock.rx_len, p->buf->data, n);
			mock.rx_len += n;
			p->actual = (int)n;
			g_queue_push_tail(&mock.done, p);
			device_input();
		}
		fill_in();
		umockdev_ioctl_client_complete(client, 0, 0);
		break;
	}
	case USBDEVFS_REAPURB:
	case USBDEVFS_REAPURBNDELAY: {
		pending_urb *p = g_queue_pop_head(&mock.done);
		if (p == NULL) {
			umockdev_ioctl_client_complete(client, -1, mock.gone ? ENODEV : EAGAIN);
			break;
		}
		{
			struct usbdevfs_urb *urb = (struct usbdevfs_urb *)p->urb->data;
			UMockdevIoctlData *ptr = umockdev_ioctl_data_resolve(arg, 0, sizeof(gpointer), NULL);
			urb->actual_length = p->actual;
			urb->status = p->status;
			umockdev_ioctl_data_set_ptr(ptr, 0, p->urb);
			umockdev_ioctl_client_complete(client, 0, 0);
			umockdev_ioctl_data_unref(ptr);
			umockdev_ioctl_data_unref(p->urb);
			g_free(p);
		}
		break;
	}
	case USBDEVFS_DISCARDURB: {
		gulong addr = *(gulong *)arg->data;
		GList *l;
		for (l = mock.in_wait.head; l != NULL; l = l->next)
			if (((pending_urb *)l->data)->urb->client_addr == addr)
				break;
		if (l == NULL) {
			umockdev_ioctl_client_complete(client, -1, EINVAL);
			break;
		}
		{
			pending_urb *p = l->data;
			g_queue_delete_link(&mock.in_wait, l);
			p->status = -ENOENT;
			p->actual = 0;
			g_queue_push_tail(&mock.done, p);
		}
		umockdev_ioctl_client_complete(client, 0, 0);
		break;
	}
	default:
		handled = FALSE;
	}
out:
	/* The core ran on umockdev's worker thread: free wolfSSL's per-thread
	 * ECC point cache (FP_ECC), which no cleanup of ours reaches there. */
	wc_ecc_fp_free();
	pthread_mutex_unlock(&mock.mu);
	return handled;
}

static const char descriptors[] =
    /* device: USB 2.0, class in interface, ep0 64, 1209:0001, strings 1 2 3 */
    "12010002000000400912010000010102" "0301"
    /* configuration: 32 bytes, 1 interface, bus powered 100 mA */
    "0902200001010080" "32"
    /* interface 0: 2 endpoints, vendor specific */
    "0904000002ff000000"
    /* bulk OUT 0x01, bulk IN 0x82, 512 bytes */
    "07050102000200" "07058202000200";

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	UMockdevTestbed *tb;
	UMockdevIoctlBase *h;
	GError *err = NULL;
	char desc[256], *spec;
	mr_app app;
	mr_diag d;
	pid_t pid;
	int i, status, r, approved = 0;

	if (argc < 7 || strcmp(argv[5], "--") != 0) {
		fprintf(stderr, "usage: usb_mock CASE STATE TOKEN PIN_FILE -- COMMAND...\n");
		return 2;
	}
	mock.mode = argv[1];
	mr_app_init(&app);
	app.state_dir = argv[2];
	app.token = argv[3];
	app.pin_file = argv[4];
	mr_diag_clear(&d);
	if ((r = mr_app_load(&app, &d)) != MR_OK || (r = mr_app_open_token(&app, &d)) != MR_OK ||
	    (r = mr_app_check_root_key(&app, &d)) != MR_OK) {
		fprintf(stderr, "usb_mock: %s\n", mr_diag_text(&d, r));
		return 1;
	}
	mock.s = malloc(sizeof(*mock.s));
	if (mock.s == NULL ||
	    mr_serve_init(mock.s, &app,
		strcmp(mock.mode, "auto") == 0 || strcmp(mock.mode, "badproof") == 0 ? MR_APPROVE_AUTO :
		MR_APPROVE_EXTERNAL, "usb", &d) != MR_OK) {
		fprintf(stderr, "usb_mock: %s\n", mr_diag_text(&d, MR_E_STATE));
		return 1;
	}

	/* descriptors without the spaces the table above keeps readable */
	for (i = 0, r = 0; descriptors[i] && r + 1 < (int)sizeof(desc); i++)
		if (descriptors[i] != ' ')
			desc[r++] = descriptors[i];
	desc[r] = '\0';
	tb = umockdev_testbed_new();
	h = umockdev_ioctl_base_new();
	g_signal_connect(h, "handle-ioctl", G_CALLBACK(on_ioctl), NULL);
	if (!umockdev_testbed_attach_ioctl(tb, DEVNODE, h, &err)) {
		fprintf(stderr, "usb_mock: attach: %s\n", err->message);
		return 1;
	}
	spec = g_strdup_printf("P: /devices/pci0000:00/usb1/1-1\n"
			       "N: bus/usb/001/002\n"
			       "E: SUBSYSTEM=usb\nE: DEVTYPE=usb_device\nE: DEVNAME=" DEVNODE "\n"
			       "E: BUSNUM=001\nE: DEVNUM=002\n"
			       "A: busnum=1\\n\nA: devnum=2\\n\nA: speed=480\\n\n"
			       "A: bConfigurationValue=1\\n\nA: idVendor=1209\\n\nA: idProduct=0001\\n\n"
			       "A: serial=%s\\n\n"
			       "H: descriptors=%s\n", mock.s->device_serial, desc);
	if (!umockdev_testbed_add_from_string(tb, spec, &err)) {
		fprintf(stderr, "usb_mock: add: %s\n", err->message);
		return 1;
	}
	g_free(spec);

	if ((pid = fork()) == 0) {
		char **av = calloc((size_t)argc, sizeof(char *));
		av[0] = (char *)"umockdev-wrapper";
		for (i = 6; i < argc; i++)
			av[i - 5] = argv[i];
		execvp(av[0], av);
		_exit(127);
	}
	for (;;) {
		r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		nap(20);
		pthread_mutex_lock(&mock.mu);
		if (strcmp(mock.mode, "operator") == 0 && mr_serve_pending(mock.s) > 0) {
			/* The operator looks at the request for a while, then approves. */
			if (++approved >= 15) {
				for (size_t k = 0; k < MR_SERVE_QUEUE; k++)
					if (mock.s->items[k].used && mock.s->items[k].state == MR_RS_PENDING)
						(void)!mr_serve_decide(mock.s, mock.s->items[k].hash, 1, "operator");
				approved = 0;
			}
		}
		if (strcmp(mock.mode, "vanish") == 0 && mock.submits > 0 && !mock.gone) {
			/* Unplugged: URBs in flight end with -ESHUTDOWN, every
			 * later ioctl fails with ENODEV, as usbfs does. */
			pending_urb *p;
			mock.gone = 1;
			while ((p = g_queue_pop_head(&mock.in_wait)) != NULL) {
				p->status = -ESHUTDOWN;
				p->actual = 0;
				g_queue_push_tail(&mock.done, p);
			}
		}
		pthread_mutex_unlock(&mock.mu);
	}
	umockdev_testbed_detach_ioctl(tb, DEVNODE, NULL);
	g_object_unref(h);
	g_object_unref(tb);
	mr_serve_free(mock.s);
	mr_app_close(&app);
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

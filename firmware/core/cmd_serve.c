/*
 * `serve (--usb | --listen unix:PATH) [--approve console|button|auto]`:
 * answers the link protocol (docs/protocol.md) until SIGINT/SIGTERM. The
 * operator approves each request on the appliance (its console or its
 * button); `--approve auto` exists for tests and demos and is recorded in
 * the audit log as such. A bad frame gets an error reply and the appliance
 * keeps serving.
 *
 * With --listen, the host's bytes are read and decoded by a separate,
 * confined link process forked before the token or the state dir are
 * opened (mr_serve_ps.h, docs/security.md); this process only answers the
 * decoded requests it forwards. --usb still decodes in this process.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board_api.h"
#include "mr_commands.h"
#include "mr_link_ffs.h"
#include "mr_link_socket.h"
#include "mr_linkio.h"
#include "mr_serve.h"
#include "mr_serve_ps.h"

#define POLL_MS 100
#define INNER_MS 2000 /* a frame stalled this long is cut off */
#define DRAIN_MS 50

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

static uint8_t in_frame[MR_LINK_MAX_FRAME], out_frame[MR_LINK_MAX_FRAME];

/* One frame in, one reply out. MR_E_GONE when the peer left. */
static int
serve_one(mr_server *s, mr_linkio *io)
{
	mr_link_hdr h;
	mr_der payload;
	size_t out_len = 0;
	int got_hdr = 0, r;

	r = mr_linkio_recv(io, in_frame, sizeof(in_frame), &h, &payload, &got_hdr, POLL_MS,
	    INNER_MS);
	if (r == MR_E_TIMEOUT)
		return MR_OK;
	if (r == MR_E_GONE || r == MR_E_IO)
		return MR_E_GONE;
	if (r == MR_OK) {
		mr_serve_frame(s, in_frame, MR_LINK_HDR_LEN + (size_t)h.len, out_frame,
		    sizeof(out_frame), &out_len);
	} else {
		const char *why = r == MR_E_RANGE ? "frame length beyond the protocol limit" :
		    r == MR_E_VERSION ? "protocol version 1 only" :
		    got_hdr ? "frame shorter than its length (cut off)" : "malformed frame header";
		board_console_write("link: ");
		board_console_write(why);
		board_console_write("\n");
		/* Resynchronise: whatever followed the bad header is junk. */
		mr_linkio_drain(io, DRAIN_MS);
		mr_serve_error_frame(got_hdr || r != MR_E_PROTO ? &h : NULL, r, why, out_frame,
		    sizeof(out_frame), &out_len);
	}
	if (out_len > 0 && mr_linkio_send(io, out_frame, out_len) != MR_OK)
		return MR_E_GONE;
	return MR_OK;
}

/* The signer's loop for --listen: the link process (started on the
 * listening socket before anything was opened) forwards decoded requests. */
static int
serve_socket(mr_server *s, mr_sps *ps, const char *path, mr_diag *d)
{
	int r = MR_OK;

	printf("serving on unix:%s (approve: %s)\n", path,
	    s->mode == MR_APPROVE_AUTO ? "auto" : s->mode == MR_APPROVE_BUTTON ? "button" : "console");
	fflush(stdout);
	while (!stopping) {
		if ((r = mr_sps_serve(ps, s, POLL_MS, d)) != MR_OK)
			break;
		if ((r = mr_serve_step(s, 0)) != MR_OK) {
			mr_diag_set(d, r, "%s", mr_diag_text(&s->fatal_diag, r));
			break;
		}
	}
	return r;
}

static int
serve_usb(mr_server *s, const char *ffs_dir, mr_diag *d)
{
	mr_link_ffs *f = NULL;
	mr_linkio io;
	int r;

	if ((r = mr_link_ffs_open(ffs_dir, s->device_serial, &f, d)) != MR_OK)
		return r;
	mr_linkio_init(&io, f, mr_link_ffs_read, mr_link_ffs_write, MR_LINK_FFS_CHUNK);
	printf("serving on USB (FunctionFS %s, serial %s)\n", ffs_dir, s->device_serial);
	fflush(stdout);
	r = MR_OK;
	while (!stopping) {
		/* Unbind, disable or a bus reset ends the host's session. */
		if (mr_link_ffs_reset_seen(f)) {
			mr_serve_reset_session(s);
			io.rx_pos = io.rx_len = 0;
		}
		(void)serve_one(s, &io);
		if ((r = mr_serve_step(s, 0)) != MR_OK) {
			mr_diag_set(d, r, "%s", mr_diag_text(&s->fatal_diag, r));
			break;
		}
	}
	mr_link_ffs_close(f);
	return r;
}

static void
usage(FILE *f)
{
	fputs("usage: meshroot-appliance [global options] serve (--usb [--ffs DIR] | --listen unix:PATH)\n"
	      "                          [--approve console|button|auto]\n", f);
}

int
cmd_serve(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "usb", no_argument, NULL, 'u' },
		{ "ffs", required_argument, NULL, 'f' },
		{ "listen", required_argument, NULL, 'l' },
		{ "approve", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *listen_spec = NULL, *path = NULL, *ffs = MR_LINK_FFS_DEFAULT;
	mr_approve_mode mode = MR_APPROVE_CONSOLE;
	mr_sps ps = { -1, -1, 0, 1 };
	struct sigaction sa;
	mr_server *s;
	mr_diag d;
	int c, usb = 0, r;

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': usb = 1; break;
		case 'f': ffs = optarg; break;
		case 'l': listen_spec = optarg; break;
		case 'a':
			if (strcmp(optarg, "console") == 0)
				mode = MR_APPROVE_CONSOLE;
			else if (strcmp(optarg, "button") == 0)
				mode = MR_APPROVE_BUTTON;
			else if (strcmp(optarg, "auto") == 0)
				mode = MR_APPROVE_AUTO;
			else {
				fprintf(stderr, "error: --approve takes console, button or auto\n");
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (usb == (listen_spec != NULL) || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (listen_spec != NULL && (path = mr_link_socket_path(listen_spec)) == NULL) {
		fprintf(stderr, "error: --listen takes unix:PATH\n");
		return 2;
	}
	mr_diag_clear(&d);
	if (path != NULL) {
		/* The link process is forked on the listening socket before the
		 * state dir or the token is touched. */
		int lfd = -1;
		if ((r = mr_link_socket_listen(path, &lfd, &d)) != MR_OK)
			return mr_fail(r, &d);
		if ((r = mr_sps_start(&ps, lfd, &d)) != MR_OK) {
			close(lfd);
			unlink(path);
			return mr_fail(r, &d);
		}
	}
	if ((r = mr_app_load(app, &d)) != MR_OK ||
	    (r = mr_app_open_token(app, &d)) != MR_OK ||
	    (r = mr_app_check_root_key(app, &d)) != MR_OK)
		goto early;
	if ((s = malloc(sizeof(*s))) == NULL) {
		r = mr_diag_set(&d, MR_E_NOMEM, "out of memory");
		goto early;
	}
	if ((r = mr_serve_init(s, app, mode, usb ? "usb" : "socket", &d)) != MR_OK) {
		free(s);
		goto early;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	r = usb ? serve_usb(s, ffs, &d) : serve_socket(s, &ps, path, &d);
	if (path != NULL) {
		mr_sps_stop(&ps);
		unlink(path);
	}
	{
		mr_record rec;
		mr_diag ad;
		mr_diag_clear(&ad);
		mr_record_init(&rec);
		mr_record_addf(&rec, "issued", "%u", s->issued);
		mr_record_addf(&rec, "refused", "%u", s->refused);
		mr_record_addf(&rec, "pending", "%zu", mr_serve_pending(s));
		if (!s->fatal && mr_app_audit(app, "serve-end", &rec, &ad) != MR_OK)
			fprintf(stderr, "warning: %s\n", mr_diag_text(&ad, MR_E_AUDIT));
		printf("serve: %u issued, %u refused, %zu left waiting\n", s->issued, s->refused,
		    mr_serve_pending(s));
	}
	mr_serve_free(s);
	free(s);
	if (r != MR_OK)
		return mr_fail(r, &d);
	return 0;
early:
	if (path != NULL) {
		mr_sps_stop(&ps);
		unlink(path);
	}
	return mr_fail(r, &d);
}

/*
 * `serve (--usb | --listen unix:PATH) [--approve console|button|auto]`:
 * answers the link protocol (docs/protocol.md) until SIGINT/SIGTERM. The
 * operator approves each request on the appliance (its console or its
 * button); `--approve auto` exists for tests and demos and is recorded in
 * the audit log as such. A bad frame gets an error reply and the appliance
 * keeps serving.
 *
 * With --listen and --usb alike, the host's bytes are read and decoded by
 * a separate, confined link process forked before the token or the state
 * dir are opened (mr_serve_ps.h, docs/security.md); this process only
 * answers the decoded requests it forwards.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "board_api.h"
#include "mr_cmdtab.h"
#include "mr_commands.h"
#include "mr_issue.h"
#include "mr_link_ffs.h"
#include "mr_link_socket.h"
#include "mr_progress.h"
#include "mr_pointpool.h"
#include "mr_pubkey.h"
#include "mr_serve.h"
#include "mr_serve_ps.h"

/* Nothing to do: how long to wait for the link before looking again (a
 * frame ends the wait at once; so does a signal). */
#define IDLE_MS 1000
/* A request before the operator: the link and the console (or button)
 * take turns, each this long. */
#define TURN_MS 50
/* While the token signs a group: the link is answered, and the group is
 * finished within a millisecond of its last signature. */
#define SIGNING_MS 1

static volatile sig_atomic_t stopping;

static void
on_signal(int sig)
{
	(void)sig;
	stopping = 1;
}

/* The signer's loop: the link process (started on the listening socket
 * or the FunctionFS directory before anything was opened) forwards
 * decoded requests. */
static int
serve_link(mr_server *s, mr_sps *ps, const char *path, const char *ffs, mr_diag *d)
{
	int r = MR_OK;

	if (path != NULL)
		printf("serving on unix:%s (approve: %s)\n", path,
		    s->mode == MR_APPROVE_AUTO ? "auto" :
		    s->mode == MR_APPROVE_BUTTON ? "button" : "console");
	else
		printf("serving on USB (FunctionFS %s, serial %s)\n", ffs, s->device_serial);
	fflush(stdout);
	while (!stopping) {
		/* Auto approval with requests pending never waits: it takes
		 * what the link has now, then issues a group. */
		int operator = s->mode != MR_APPROVE_AUTO && mr_serve_pending(s) > 0;
		int link_ms = mr_serve_ready(s) ? 0 : mr_serve_signing(s) ? SIGNING_MS :
		    operator ? TURN_MS : IDLE_MS;

		if ((r = mr_sps_serve(ps, s, link_ms, d)) != MR_OK)
			break;
		if ((r = mr_serve_step(s, operator ? TURN_MS : 0)) != MR_OK) {
			mr_diag_set(d, r, "%s", mr_diag_text(&s->fatal_diag, r));
			break;
		}
	}
	return r;
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
	int c, usb = 0, r, helper_dead;

	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
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
			else
				return APP_USAGE("serve", "--approve takes console, button or auto");
			break;
		case 'h': APP_HELP(stdout, "serve"); return MR_EXIT_OK;
		default: return APP_OPT_ERROR("serve", c, argv);
		}
	}
	if (optind != argc)
		return APP_EXTRA("serve", argv[optind]);
	if (usb == (listen_spec != NULL))
		return APP_USAGE("serve", "serve needs one of --usb or --listen unix:PATH");
	if (listen_spec != NULL && (path = mr_link_socket_path(listen_spec)) == NULL)
		return APP_USAGE("serve", "--listen takes unix:PATH");
	mr_diag_clear(&d);
	/* Owner of the state dir first: a second serve must not touch the
	 * socket path of the first. (The link process closes its copy.) */
	if ((r = mr_app_lock(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if (usb && (r = mr_sps_start_usb(&ps, ffs, &d)) != MR_OK)
		return mr_fail(r, &d);
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
	/* The points a batch's verifications will take, resident at once. */
	mr_pointpool_prefault(MR_POINTPOOL_BATCH);
	if ((r = mr_app_load(app, &d)) != MR_OK)
		goto early;
	/* The read-back's tables are built on its own thread while the
	 * token opens, not in the first approved group. */
	mr_issue_prepare(app);
	if ((r = mr_app_open_token(app, &d)) != MR_OK ||
	    (r = mr_app_check_root_key(app, &d)) != MR_OK)
		goto early;
	/* The start's checks are done with: the point wolfSSL (FP_ECC) set
	 * aside for the token's root key (257 points, 0.8 MiB) goes, as in
	 * `sign` (it stayed for the whole of serving). */
	mr_sig_release_cache();
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
	r = serve_link(s, &ps, path, ffs, &d);
	mr_issue_prepare_wait(); /* a serve that ended before its first group */
	/* A group the token was signing when serving stopped is finished:
	 * its records durable and signed, its results for a later serve. */
	{
		int dr = mr_serve_drain(s);
		if (r == MR_OK && dr != MR_OK) {
			r = dr;
			mr_diag_set(&d, r, "%s", mr_diag_text(&s->fatal_diag, r));
		}
	}
	helper_dead = ps.dead; /* before the stop, which marks it dead */
	mr_sps_stop(&ps);
	if (path != NULL)
		unlink(path);
	{
		mr_record rec;
		mr_diag ad;
		mr_diag_clear(&ad);
		mr_record_init(&rec);
		mr_record_addf(&rec, "issued", "%u", s->issued);
		mr_record_addf(&rec, "refused", "%u", s->refused);
		mr_record_addf(&rec, "pending", "%zu", mr_serve_pending(s));
		if (!s->fatal && mr_app_audit(app, "serve-end", &rec, &ad) != MR_OK)
			mr_progress_stderr("warning: %s\n", mr_diag_text(&ad, MR_E_AUDIT));
		printf("serve: %u issued, %u refused, %zu left waiting\n", s->issued, s->refused,
		    mr_serve_pending(s));
	}
	mr_serve_free(s);
	free(s);
	if (r != MR_OK) {
		/* The confined link process died or broke its protocol: a
		 * failure (1), not a device or link error (6). */
		int rc = mr_fail(r, &d);
		return helper_dead && rc == MR_EXIT_LINK ? MR_EXIT_FAIL : rc;
	}
	return MR_EXIT_OK;
early:
	mr_issue_prepare_wait();
	mr_sps_stop(&ps);
	if (path != NULL)
		unlink(path);
	return mr_fail(r, &d);
}

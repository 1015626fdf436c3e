/*
 * `submit (--usb [SERIAL] | --connect unix:PATH) [NAME...]`: the requests
 * go to the appliance over the link instead of media, and the answers come
 * back checked exactly as `media import` checks them (answer.c). The host
 * shows each request's SHA-256 and words, as the appliance does, so the
 * operator can compare. Approval can take minutes: the host waits, polling,
 * and may be interrupted (Ctrl-C) at any time; the requests stay queued on
 * the appliance and running the same command again fetches the results by
 * request hash (resubmitting is idempotent: nothing is issued twice).
 *
 * `device (--usb [SERIAL] | --connect unix:PATH) [--audit-from N]`: what
 * the appliance reports about itself, and its audit log from record N.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "cmd.h"
#include "link.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_link.h"
#include "mr_record.h"
#include "workspace.h"

typedef struct {
	char name[64];
	uint8_t der[MR_CSR_MAX_DER];
	size_t der_len;
	uint8_t hash[32];
	int done;      /* accepted, refused or failed */
	int pending;
} item;

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
	(void)sig;
	interrupted = 1;
}

static int
fail(const mr_diag *d, int err)
{
	fprintf(stderr, "error: %s\n", mr_diag_text(d, err));
	return 1;
}

/* INFO: prints the appliance and checks its root against the pin. */
static int
open_session(const mr_host_opts *o, mr_hostlink *l, const char *expect, uint8_t *root_der,
    size_t cap, size_t *root_len, mr_cert *root, int quiet, mr_diag *d)
{
	uint8_t pinned[MR_WS_CERT_MAX];
	size_t pinned_len = 0;
	mr_link_info in;
	mr_der reply;
	mr_cert pc;
	size_t pick = 0;
	int r;

	if ((r = mr_hostlink_call(l, MR_OP_INFO, NULL, 0, &reply, d)) != MR_OK)
		return r;
	if (mr_link_info_decode(reply, &in) != MR_OK)
		return mr_diag_set(d, MR_E_PROTO, "%s: malformed INFO reply", l->where);
	if (!quiet)
		printf("appliance on %s: firmware %s, board %s, token %s (serial %s), audit %lu record(s)\n",
		    l->where, in.firmware, in.board, in.token_label, in.token_serial,
		    (unsigned long)in.audit_count);
	/* During a root rotation the appliance sends several roots: use the
	 * pinned one if it is among them. */
	if (mr_ws_read_root(o, pinned, sizeof(pinned), &pinned_len, &pc, d) == MR_OK)
		for (size_t i = 0; i < in.n_roots; i++)
			if (in.roots[i].n == pinned_len && memcmp(in.roots[i].p, pinned, pinned_len) == 0)
				pick = i;
	mr_diag_clear(d);
	if (in.roots[pick].n > cap)
		return mr_diag_set(d, MR_E_RANGE, "the appliance's root is too large");
	memcpy(root_der, in.roots[pick].p, in.roots[pick].n);
	*root_len = in.roots[pick].n;
	if ((r = mr_answer_root(o, root_der, *root_len, expect, "the appliance", root, d)) != MR_OK)
		return r;
	return mr_answer_audit_key(o, in.audit_key, "the appliance", d);
}

static void
show_request(const item *it)
{
	char hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];

	mr_fp_hex(it->hash, 32, hex, sizeof(hex));
	mr_fp_words(it->hash, words, sizeof(words));
	printf("cluster %s: request\n  CSR SHA-256: %s\n  words:     %s\n", it->name, hex, words);
}

static item *
by_hash(item *items, size_t n, const uint8_t hash[32])
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(items[i].hash, hash, 32) == 0)
			return &items[i];
	return NULL;
}

/* Applies one result; returns 1 when the item is finished with an error. */
static int
apply(const mr_host_opts *o, item *it, const mr_link_result *res, const mr_cert *root,
    int *resubmit)
{
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	switch (res->state) {
	case MR_RS_PENDING:
		it->pending = 1;
		return 0;
	case MR_RS_UNKNOWN:
		/* The appliance restarted and forgot the queue: ask again. */
		*resubmit = 1;
		it->pending = 0;
		return 0;
	case MR_RS_REFUSED:
		fprintf(stderr, "error: cluster %s: refused by the appliance: %s\n", it->name,
		    res->reason);
		it->done = 1;
		return 1;
	}
	if (res->cert.n == 0)
		return 0; /* issued: RESULT brings the certificate */
	it->done = 1;
	it->pending = 0;
	if ((r = mr_answer_accept(o, it->name, res->cert.p, res->cert.n, root, &d)) != MR_OK) {
		fprintf(stderr, "error: cluster %s: %s\n", it->name, mr_diag_text(&d, r));
		return 1;
	}
	/* Signed by the root, and proven to be in the audit log (with a
	 * pinned audit key), as media import requires; else taken back. */
	if ((r = mr_answer_audit_proof(o, it->name, res->proof.p, res->proof.n, res->cert.p,
		 res->cert.n, &d)) != MR_OK) {
		char path[4096];
		if (mr_ws_path(o, it->name, "ca-cert.pem", path, sizeof(path)) == MR_OK)
			remove(path);
		fprintf(stderr, "error: cluster %s: %s\n", it->name, mr_diag_text(&d, r));
		return 1;
	}
	return 0;
}

static int
submit_batch(const mr_host_opts *o, mr_hostlink *l, item *items, size_t n, int only_flagged,
    const int *flag, const mr_cert *root, int *failed, mr_diag *d)
{
	static uint8_t pl[MR_LINK_MAX_PAYLOAD];
	size_t i = 0;

	while (i < n) {
		mr_link_result res[MR_LINK_MAX_BATCH];
		size_t k = 0, got = 0;
		mr_link_w w;
		mr_der reply;
		int r;

		mr_link_w_init(&w, pl, sizeof(pl));
		for (; i < n && k < MR_LINK_MAX_BATCH; i++) {
			size_t before = w.len;
			if (items[i].done || (only_flagged && !flag[i]))
				continue;
			mr_link_submit_put(&w, items[i].name, items[i].der, items[i].der_len);
			if (w.err != MR_OK) {
				if (k == 0)
					return mr_diag_set(d, MR_E_RANGE, "request %s does not fit a frame",
					    items[i].name);
				w.err = MR_OK;
				w.len = before;
				break;
			}
			k++;
		}
		if (k == 0)
			continue;
		if ((r = mr_hostlink_call(l, MR_OP_SUBMIT, pl, w.len, &reply, d)) != MR_OK)
			return r;
		if (mr_link_results_decode(reply, res, MR_LINK_MAX_BATCH, &got) != MR_OK || got != k)
			return mr_diag_set(d, MR_E_PROTO, "%s: malformed SUBMIT reply", l->where);
		for (size_t j = 0; j < got; j++) {
			item *it = by_hash(items, n, res[j].hash);
			int again = 0; /* UNKNOWN right after SUBMIT: the next poll resubmits */
			if (it == NULL)
				return mr_diag_set(d, MR_E_PROTO, "%s: a result for a request never sent",
				    l->where);
			*failed += apply(o, it, &res[j], root, &again);
		}
	}
	return MR_OK;
}

static int
fetch_results(const mr_host_opts *o, mr_hostlink *l, item *items, size_t n, int *flag,
    const mr_cert *root, int *failed, int *resubmit, mr_diag *d)
{
	size_t i = 0;

	while (i < n) {
		uint8_t pl[MR_LINK_MAX_RESULTS * 40];
		mr_link_result res[MR_LINK_MAX_RESULTS];
		size_t k = 0, got = 0;
		mr_link_w w;
		mr_der reply;
		int r;

		mr_link_w_init(&w, pl, sizeof(pl));
		for (; i < n && k < MR_LINK_MAX_RESULTS; i++) {
			if (items[i].done)
				continue;
			mr_link_put(&w, MR_T_HASH, items[i].hash, 32);
			k++;
		}
		if (k == 0)
			continue;
		if ((r = mr_hostlink_call(l, MR_OP_RESULT, pl, w.len, &reply, d)) != MR_OK)
			return r;
		if (mr_link_results_decode(reply, res, MR_LINK_MAX_RESULTS, &got) != MR_OK || got != k)
			return mr_diag_set(d, MR_E_PROTO, "%s: malformed RESULT reply", l->where);
		for (size_t j = 0; j < got; j++) {
			item *it = by_hash(items, n, res[j].hash);
			int again = 0;
			if (it == NULL)
				return mr_diag_set(d, MR_E_PROTO, "%s: a result for a request never sent",
				    l->where);
			*failed += apply(o, it, &res[j], root, &again);
			if (again) {
				flag[it - items] = 1;
				*resubmit = 1;
			}
		}
	}
	return MR_OK;
}

static void
nap(int ms)
{
	for (int t = 0; t < ms && !interrupted; t += 50) {
		struct timespec ts = { 0, 50 * 1000000L };
		nanosleep(&ts, NULL);
	}
}

static int
submit(const mr_host_opts *o, const char *connect, int usb, const char *serial,
    const char *expect, int no_wait, int poll_ms, long wait_s, int n_names, char **names)
{
	char all[MR_WS_MAX_CLUSTERS][64];
	uint8_t root_der[MR_WS_CERT_MAX];
	size_t n = 0, root_len = 0, accepted = 0;
	mr_hostlink *l = NULL;
	item *items = NULL;
	int *flag = NULL;
	mr_cert root;
	mr_diag d;
	int r, failed = 0, told = 0, rc = 1;
	time_t start = time(NULL);

	mr_diag_clear(&d);
	if (n_names > 0) {
		if (n_names > MR_WS_MAX_CLUSTERS) {
			fprintf(stderr, "error: at most %d clusters at once\n", MR_WS_MAX_CLUSTERS);
			return 2;
		}
		for (int i = 0; i < n_names; i++)
			snprintf(all[n++], sizeof(all[0]), "%s", names[i]);
	} else {
		size_t m = 0;
		if ((r = mr_ws_clusters(o, all, MR_WS_MAX_CLUSTERS, &m, &d)) != MR_OK)
			return fail(&d, r);
		for (size_t i = 0; i < m; i++)
			if (!mr_ws_cluster_issued(o, all[i]))
				memmove(all[n++], all[i], sizeof(all[0]));
	}
	if (n == 0) {
		printf("no cluster is waiting for a certificate\n");
		return 0;
	}
	items = calloc(n, sizeof(*items));
	flag = calloc(n, sizeof(*flag));
	l = malloc(sizeof(*l));
	if (items == NULL || flag == NULL || l == NULL) {
		fprintf(stderr, "error: out of memory\n");
		goto out_nolink;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		mr_csr csr;
		snprintf(items[i].name, sizeof(items[i].name), "%s", all[i]);
		if (mr_ws_path(o, all[i], "csr.pem", path, sizeof(path)) != MR_OK) {
			fprintf(stderr, "error: invalid cluster name '%s'\n", all[i]);
			goto out_nolink;
		}
		/* Only a request that parses and verifies goes to the appliance. */
		if ((r = mr_ws_read_csr(path, items[i].der, sizeof(items[i].der), &items[i].der_len,
			 &csr, &d)) != MR_OK) {
			fprintf(stderr, "error: cluster %s: %s\n", all[i], mr_diag_text(&d, r));
			goto out_nolink;
		}
		mr_fp_sha256(items[i].der, items[i].der_len, items[i].hash);
	}
	if ((r = mr_hostlink_open(l, connect, usb, serial, &d)) != MR_OK) {
		free(l);
		l = NULL;
		rc = fail(&d, r);
		goto out_nolink;
	}
	if ((r = open_session(o, l, expect, root_der, sizeof(root_der), &root_len, &root, 0, &d)) !=
	    MR_OK) {
		rc = fail(&d, r);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		show_request(&items[i]);
	if ((r = submit_batch(o, l, items, n, 0, flag, &root, &failed, &d)) != MR_OK) {
		rc = fail(&d, r);
		goto out;
	}
	for (;;) {
		size_t waiting = 0;
		int resubmit = 0;

		memset(flag, 0, n * sizeof(*flag));
		if ((r = fetch_results(o, l, items, n, flag, &root, &failed, &resubmit, &d)) != MR_OK) {
			rc = fail(&d, r);
			goto out;
		}
		if (resubmit &&
		    (r = submit_batch(o, l, items, n, 1, flag, &root, &failed, &d)) != MR_OK) {
			rc = fail(&d, r);
			goto out;
		}
		for (size_t i = 0; i < n; i++)
			waiting += !items[i].done;
		if (waiting == 0)
			break;
		if (no_wait) {
			printf("%zu request(s) waiting for approval on the appliance; run this command "
			       "again to fetch the results\n", waiting);
			rc = failed ? 1 : 0;
			goto out;
		}
		if (!told) {
			printf("waiting for the operator to approve %zu request(s) on the appliance "
			       "(Ctrl-C stops waiting; the requests stay queued)\n", waiting);
			fflush(stdout);
			told = 1;
		}
		if (wait_s > 0 && time(NULL) - start >= wait_s) {
			fprintf(stderr, "error: %zu request(s) still waiting for approval after %ld s; "
			    "run this command again to fetch them\n", waiting, wait_s);
			goto out;
		}
		nap(poll_ms);
		if (interrupted) {
			fprintf(stderr, "interrupted: %zu request(s) stay queued on the appliance; run "
			    "this command again to fetch the results\n", waiting);
			rc = 130;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++)
		accepted += (size_t)mr_ws_cluster_issued(o, items[i].name);
	printf("%zu certificate(s) imported\n", accepted);
	rc = failed ? 1 : 0;
out:
	mr_hostlink_close(l);
	free(l);
	l = NULL;
out_nolink:
	free(l);
	free(items);
	free(flag);
	return rc;
}

static int
device(const mr_host_opts *o, const char *connect, int usb, const char *serial,
    const char *expect, long audit_from)
{
	uint8_t root_der[MR_WS_CERT_MAX], fp[32];
	char hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];
	size_t root_len = 0;
	mr_hostlink *l = malloc(sizeof(mr_hostlink));
	mr_cert root;
	mr_diag d;
	int r, rc = 1;

	mr_diag_clear(&d);
	if (l == NULL)
		return 1;
	if ((r = mr_hostlink_open(l, connect, usb, serial, &d)) != MR_OK) {
		free(l);
		return fail(&d, r);
	}
	if ((r = open_session(o, l, expect, root_der, sizeof(root_der), &root_len, &root, 0, &d)) !=
	    MR_OK) {
		rc = fail(&d, r);
		goto out;
	}
	mr_fp_sha256(root_der, root_len, fp);
	mr_fp_hex(fp, 32, hex, sizeof(hex));
	mr_fp_words(fp, words, sizeof(words));
	printf("root SHA-256: %s\nroot words:   %s\n", hex, words);
	if (audit_from > 0) {
		uint32_t index = (uint32_t)audit_from;
		for (;;) {
			uint8_t pl[16];
			mr_link_audit a;
			mr_link_w w;
			mr_der reply;
			uint32_t lines = 0;

			mr_link_w_init(&w, pl, sizeof(pl));
			mr_link_put_u32(&w, MR_T_INDEX, index);
			if ((r = mr_hostlink_call(l, MR_OP_AUDIT, pl, w.len, &reply, &d)) != MR_OK) {
				rc = fail(&d, r);
				goto out;
			}
			if (mr_link_audit_decode(reply, &a) != MR_OK || a.index != index) {
				fprintf(stderr, "error: malformed AUDIT reply\n");
				goto out;
			}
			for (size_t i = 0; i < a.records.n; i++) {
				uint8_t c = a.records.p[i];
				lines += c == '\n';
				/* Records are printable ASCII lines; show anything else tame. */
				putchar(c == '\n' || (c >= 0x20 && c < 0x7f) ? c : '?');
			}
			if (lines == 0 || index + lines > a.total)
				break;
			index += lines;
		}
	}
	rc = 0;
out:
	mr_hostlink_close(l);
	free(l);
	return rc;
}

static void
usage(FILE *f)
{
	fputs("usage: meshroot [--workspace DIR] submit (--usb [SERIAL] | --connect unix:PATH)\n"
	      "                [--expect-root SHA256] [--no-wait] [--wait SECONDS] [NAME...]\n"
	      "       meshroot [--workspace DIR] device (--usb [SERIAL] | --connect unix:PATH)\n"
	      "                [--audit-from N]\n", f);
}

/*
 * DESIGN.md's form is `--usb [SERIAL]`: a word right after --usb is the
 * appliance serial unless it names a cluster of this workspace (cluster
 * names and serials share an alphabet). Takes it out of argv and returns
 * it; `--usb=SERIAL` needs no help.
 */
static const char *
take_usb_serial(const mr_host_opts *o, int *argc, char **argv)
{
	char path[4096];
	const char *serial;

	for (int i = 1; i + 1 < *argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			return NULL;
		if (strcmp(argv[i], "--usb") != 0)
			continue;
		serial = argv[i + 1];
		if (serial[0] == '-' || serial[0] == '\0')
			return NULL;
		if (mr_ws_path(o, serial, NULL, path, sizeof(path)) == MR_OK && mr_path_exists(path))
			return NULL;
		memmove(&argv[i + 1], &argv[i + 2], (size_t)(*argc - i - 2) * sizeof(*argv));
		(*argc)--;
		argv[*argc] = NULL;
		return serial;
	}
	return NULL;
}

static int
run(const mr_host_opts *o, int argc, char **argv, int is_device)
{
	static const struct option opts[] = {
		{ "usb", optional_argument, NULL, 'u' },
		{ "connect", required_argument, NULL, 'c' },
		{ "expect-root", required_argument, NULL, 'e' },
		{ "no-wait", no_argument, NULL, 'n' },
		{ "wait", required_argument, NULL, 'w' },
		{ "poll-ms", required_argument, NULL, 'p' },
		{ "audit-from", required_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *connect = NULL, *serial = NULL, *expect = NULL;
	int c, usb = 0, no_wait = 0, poll_ms = 1000;
	long wait_s = 0, audit_from = 0;
	struct sigaction sa;
	const char *spaced_serial = take_usb_serial(o, &argc, argv);

	optind = 0;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u': usb = 1; serial = optarg != NULL ? optarg : spaced_serial; break;
		case 'c': connect = optarg; break;
		case 'e': expect = optarg; break;
		case 'n': no_wait = 1; break;
		case 'w': wait_s = strtol(optarg, NULL, 10); break;
		case 'p': poll_ms = (int)strtol(optarg, NULL, 10); break;
		case 'a': audit_from = strtol(optarg, NULL, 10); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (usb == (connect != NULL) || poll_ms < 10 || poll_ms > 60000) {
		usage(stderr);
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_sigint; /* no SA_RESTART: waits end early */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	if (is_device)
		return optind == argc ? device(o, connect, usb, serial, expect, audit_from) : 2;
	return submit(o, connect, usb, serial, expect, no_wait, poll_ms, wait_s, argc - optind,
	    argv + optind);
}

int
cmd_submit(const mr_host_opts *o, int argc, char **argv)
{
	return run(o, argc, argv, 0);
}

int
cmd_device(const mr_host_opts *o, int argc, char **argv)
{
	return run(o, argc, argv, 1);
}

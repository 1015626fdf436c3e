/*
 * `media export --to DIR [NAME...]` writes the waiting requests onto the
 * stick; `media import --from DIR` takes the answers back. The appliance is
 * trusted only through cryptography: an answer is accepted only if it is
 * signed by the pinned root, names the root as issuer, carries exactly the
 * public key of this workspace's CSR, and passes the same CA lints the
 * appliance applies.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "audit_media.h"
#include "cmd.h"
#include "crl.h"
#include "mr_cluster.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_lint.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_record.h"
#include "progress.h"
#include "workspace.h"

static int
fail(const mr_diag *d, int err)
{
	fprintf(stderr, "error: %s\n", mr_diag_text(d, err));
	return 1;
}

/* Requests a group takes before its commit (two syncs a group, where one
 * atomic write a request cost two a request). */
#define EXPORT_GROUP 64

static int
export_one(const mr_host_opts *o, const char *media, const char *name, mr_file_group *g,
    mr_diag *d)
{
	char path[4096];
	uint8_t *pem = NULL, der[MR_CSR_MAX_DER];
	size_t len = 0, der_len = 0;
	mr_csr csr;
	int r;

	if (g->n == 0 &&
	    (snprintf(path, sizeof(path), "%s/%s", media, MR_MEDIA_REQUESTS) >= (int)sizeof(path) ||
		mr_mkdirs(path, 0755, d) != MR_OK))
		return mr_diag_set(d, MR_E_IO, "%s: cannot create", path);
	if (mr_ws_path(o, name, "csr.pem", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_ARG, "invalid cluster name '%s'", name);
	/* Only a request that parses and verifies goes on the stick. */
	if ((r = mr_ws_read_csr(path, der, sizeof(der), &der_len, &csr, d)) != MR_OK)
		return r;
	if ((r = mr_file_read(path, MR_MEDIA_MAX_FILE, &pem, &len, d)) != MR_OK)
		return r;
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_REQUESTS, name, ".csr") != MR_OK)
		r = mr_diag_set(d, MR_E_RANGE, "media path too long");
	else
		r = mr_file_group_stage(g, path, pem, len, 0644, d);
	free(pem);
	return r;
}

/* Makes the staged requests durable, then names each. */
static void
export_commit(const char *media, mr_file_group *g, char (*staged)[MR_CLUSTER_MAX + 1],
    size_t *k, mr_progress *p, size_t *written, size_t *failed)
{
	size_t done = 0;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	r = mr_file_group_commit(g, &done, &d);
	mr_progress_hold(p);
	for (size_t i = 0; i < *k; i++) {
		if (i >= done) {
			mr_progress_error(p, "cluster %s: %s", staged[i], mr_diag_text(&d, r));
			(*failed)++;
			continue;
		}
		printf("cluster %s: request written to %s/%s/%s.csr\n", staged[i], media,
		    MR_MEDIA_REQUESTS, staged[i]);
		(*written)++;
	}
	mr_file_group_free(g);
	mr_file_group_init(g, 0);
	*k = 0;
}

/* Exports names[0..n) (only the waiting ones when only_waiting), a group
 * of requests at a time. */
static int
export_all(const mr_host_opts *o, const char *media, char *const *names, size_t n,
    int only_waiting)
{
	static char staged[EXPORT_GROUP][MR_CLUSTER_MAX + 1];
	size_t written = 0, failed = 0, k = 0;
	mr_file_group g;
	mr_progress p;
	mr_diag d;
	int r;

	mr_file_group_init(&g, 0);
	mr_progress_start(&p, "export", n);
	for (size_t i = 0; i < n; i++) {
		mr_progress_hold(&p);
		if (!only_waiting || !mr_ws_cluster_issued(o, names[i])) {
			mr_diag_clear(&d);
			if ((r = export_one(o, media, names[i], &g, &d)) != MR_OK) {
				mr_progress_error(&p, "cluster %s: %s", names[i], mr_diag_text(&d, r));
				failed++;
			} else {
				snprintf(staged[k++], sizeof(staged[0]), "%s", names[i]);
			}
		}
		if (k == EXPORT_GROUP || (i + 1 == n && k > 0))
			export_commit(media, &g, staged, &k, &p, &written, &failed);
		mr_progress_step(&p, 1);
	}
	mr_progress_end(&p);
	mr_file_group_free(&g);
	if (written == 0 && failed == 0)
		printf("no cluster is waiting for a certificate\n");
	else
		printf("%zu request(s) written\n", written);
	if (failed > 0)
		fprintf(stderr, "error: %zu request(s) not written (see above)\n", failed);
	return failed > 0 ? 1 : 0;
}

static int
media_export(const mr_host_opts *o, const char *media, int n_names, char **names)
{
	mr_ws_list all;
	mr_diag d;
	int r;

	if (n_names > 0)
		return export_all(o, media, names, (size_t)n_names, 0);
	mr_diag_clear(&d);
	if ((r = mr_ws_list_read(o, &all, &d)) != MR_OK)
		return fail(&d, r);
	r = export_all(o, media, all.names, all.n, 1);
	mr_ws_list_free(&all);
	return r;
}

/* Loads the media's root and checks it against the pinned one (answer.c). */
static int
check_root(const mr_host_opts *o, const char *media, const char *expect, uint8_t *der,
    size_t cap, size_t *len, mr_cert *root, mr_diag *d)
{
	char path[4096];
	int r;

	if (mr_path_join(path, sizeof(path), media, MR_MEDIA_ROOT) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "media path too long");
	if ((r = mr_ws_read_cert(path, der, cap, len, root, d)) != MR_OK)
		return r;
	return mr_answer_root(o, der, *len, expect, "the media", root, d);
}

/* An answer file that is no whole certificate: most likely cut short by
 * a stick pulled while it was written. Says so, with the file's name; the
 * reader's own finding (already prefixed with the path) goes in brackets. */
static int
incomplete_answer(const char *answer, int err, mr_diag *d)
{
	char why[512];
	const char *t = mr_diag_text(d, err);
	size_t pl = strlen(answer);

	if (strncmp(t, answer, pl) == 0 && strncmp(t + pl, ": ", 2) == 0)
		t += pl + 2;
	snprintf(why, sizeof(why), "%s", t);
	mr_diag_clear(d); /* mr_diag_set keeps a first message */
	return mr_diag_set(d, err,
	    "%s: incomplete or not a certificate (%s): not taken; a new `sign --media` "
	    "run writes it again", answer, why);
}

/* Checks one answer file against the root and the cluster's own CSR, and
 * with a pinned audit key against its proof; stages it in b. */
static int
check_answer(const mr_host_opts *o, const char *media, const char *name, const char *answer,
    const mr_cert *root, mr_answer_batch *b, mr_diag *d)
{
	uint8_t der[MR_WS_CERT_MAX];
	size_t len = 0;
	mr_cert c;
	int r;

	if ((r = mr_ws_read_cert(answer, der, sizeof(der), &len, &c, d)) != MR_OK)
		return r == MR_E_PEM || r == MR_E_CERT ? incomplete_answer(answer, r, d) : r;
	return mr_answer_take(o, b, name, der, len, root, media, NULL, 0, d);
}

/* An answer checked but not stored (answer.c's group commit). */
static void
report_unstored(void *ctx, const char *name, const char *text)
{
	mr_progress_error(ctx, "cluster %s: %s", name, text);
}

static void
print_refusal(const char *name, const char *path)
{
	uint8_t *text = NULL;
	size_t len = 0;

	if (mr_file_read(path, 4096, &text, &len, NULL) != MR_OK) {
		fprintf(stderr, "error: cluster %s: refused by the appliance\n", name);
		return;
	}
	/* The reason came from the media: print it tame. */
	for (size_t i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			text[i] = i + 1 == len ? '\0' : ' ';
	fprintf(stderr, "error: cluster %s: refused by the appliance: %.200s\n", name,
	    (const char *)text);
	free(text);
}

/* Takes the answer for one waiting cluster, if the media has one. */
static int
import_one(const mr_host_opts *o, const char *media, const char *name, const mr_cert *root,
    mr_answer_batch *b, mr_progress *p, size_t *imported)
{
	char path[4096];
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, name, ".pem") != MR_OK) {
		mr_progress_error(p, "cluster %s: media path too long", name);
		return 1;
	}
	if (mr_path_exists(path)) {
		if ((r = check_answer(o, media, name, path, root, b, &d)) != MR_OK) {
			mr_progress_error(p, "cluster %s: %s", name, mr_diag_text(&d, r));
			return 1;
		}
		(*imported)++;
		return 0;
	}
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, name, ".refused") ==
		MR_OK && mr_path_exists(path)) {
		print_refusal(name, path);
		return 1;
	}
	printf("cluster %s: no answer on the media yet\n", name);
	return 0;
}

static int
media_import(const mr_host_opts *o, const char *media, const char *expect)
{
	uint8_t root_der[MR_WS_CERT_MAX];
	size_t root_len = 0, imported = 0, failed = 0, unstored = 0;
	mr_answer_batch b;
	mr_ws_list names;
	mr_progress p;
	mr_cert root;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if ((r = check_root(o, media, expect, root_der, sizeof(root_der), &root_len, &root,
		 &d)) != MR_OK)
		return fail(&d, r);
	{
		int crl_imported = 0;
		if ((r = mr_host_crl_import(o, media, &root, &crl_imported, &d)) != MR_OK)
			return fail(&d, r);
	}
	if ((r = mr_host_audit_pin(o, media, &d)) != MR_OK)
		return fail(&d, r);
	if ((r = mr_ws_list_read(o, &names, &d)) != MR_OK)
		return fail(&d, r);
	mr_answer_batch_init(&b);
	mr_progress_start(&p, "import", names.n);
	for (size_t i = 0; i < names.n; i++) {
		mr_progress_hold(&p);
		if (!mr_ws_cluster_issued(o, names.names[i]))
			failed += (size_t)import_one(o, media, names.names[i], &root, &b, &p,
			    &imported);
		/* A group at a time, and the last one before the summary. */
		if (mr_answer_batch_full(&b) || i + 1 == names.n)
			mr_answer_commit(o, &b, report_unstored, &p, &unstored);
		mr_progress_step(&p, 1);
	}
	mr_progress_end(&p);
	mr_answer_batch_free(&b);
	mr_ws_list_free(&names);
	failed += unstored;
	imported -= unstored < imported ? unstored : imported;
	printf("%zu certificate(s) imported\n", imported);
	if (failed > 0)
		fprintf(stderr, "error: %zu answer(s) not taken (see above)\n", failed);
	return failed > 0 ? 1 : 0;
}

static void
usage(FILE *f)
{
	fputs("usage: meshroot [--workspace DIR] media export --to DIR [NAME...]\n"
	      "       meshroot [--workspace DIR] media import --from DIR [--expect-root SHA256]\n", f);
}

int
cmd_media(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "expect-root", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL, *from = NULL, *expect = NULL, *sub;
	int c;

	if (argc < 2 || strcmp(argv[1], "--help") == 0) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	sub = argv[1];
	optind = 0; /* 0: glibc fully re-initialises its scanner */
	while ((c = getopt_long(argc - 1, argv + 1, "", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'f': from = optarg; break;
		case 'e': expect = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (strcmp(sub, "export") == 0 && to != NULL)
		return media_export(o, to, argc - 1 - optind, argv + 1 + optind);
	if (strcmp(sub, "import") == 0 && from != NULL && optind == argc - 1)
		return media_import(o, from, expect);
	usage(stderr);
	return 2;
}

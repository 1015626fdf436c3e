/*
 * `media export --to DIR [NAME...]` writes the waiting requests onto the
 * stick; `media import --from DIR` takes the answers back. The appliance is
 * trusted only through cryptography: an answer is accepted only if it is
 * signed by the pinned root, names the root as issuer, carries exactly the
 * public key of this workspace's CSR, and passes the same CA lints the
 * appliance applies.
 *
 * `media import --json` prints one document at the end (docs/json.md):
 * every waiting cluster and what became of its answer; the progress and
 * the lines go to stderr, and the exit status does not change.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "audit_media.h"
#include "cmd.h"
#include "cmdtab.h"
#include "crl.h"
#include "mr_cluster.h"
#include "mr_exit.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_jsonout.h"
#include "mr_lint.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_progress.h"
#include "mr_pubkey.h"
#include "mr_record.h"
#include "workspace.h"

static json_object *jdoc;     /* import --json: the document */
static json_object *jclusters; /* and its "clusters" */

static int
fail(const mr_diag *d, int err)
{
	mr_progress_stderr("error: %s\n", mr_diag_text(d, err));
	mr_json_put_str(jdoc, "error", mr_diag_text(d, err));
	return mr_host_exit(err);
}

/* --json: what became of cluster name's answer. */
static void
outcome(const char *name, const char *result, const char *reason)
{
	json_object *j;

	if (jclusters == NULL)
		return;
	j = json_object_new_object();
	mr_json_put_str(j, "cluster", name);
	mr_json_put_str(j, "result", result);
	mr_json_put_str(j, "reason", reason);
	mr_json_append(jclusters, j);
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
	/* Only a request that parses and verifies goes on the stick. Each
	 * brings its own key: wolfSSL's point cache would keep an entry
	 * (hundreds of KiB) for each, and a fleet's export would grow to the
	 * cache's limit (16.5 MiB for 150 clusters), so it goes each time. */
	r = mr_ws_read_csr(path, der, sizeof(der), &der_len, &csr, d);
	mr_sig_release_cache();
	if (r != MR_OK)
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
	fflush(stdout);
	if (failed > 0)
		mr_progress_stderr("error: %zu request(s) not written (see above)\n", failed);
	return failed > 0 ? MR_EXIT_FAIL : MR_EXIT_OK;
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
 * with a pinned audit key against its proof; stages it in b. *exit: the
 * exit status its failure gives (a certificate that fails a check is a
 * failed verification, a file that is none bad input). */
static int
check_answer(const mr_host_opts *o, const char *media, const char *name, const char *answer,
    const mr_cert *root, mr_answer_batch *b, int *exit, mr_diag *d)
{
	uint8_t der[MR_WS_CERT_MAX];
	size_t len = 0;
	mr_cert c;
	int r;

	*exit = MR_EXIT_INPUT;
	b->checked = 0;
	if ((r = mr_ws_read_cert(answer, der, sizeof(der), &len, &c, d)) != MR_OK)
		return r == MR_E_PEM || r == MR_E_CERT ? incomplete_answer(answer, r, d) : r;
	*exit = MR_EXIT_VERIFY;
	return mr_answer_take(o, b, name, der, len, NULL, 0, root, media, NULL, 0, d);
}

/* An answer checked but not stored (answer.c's group commit): its --json
 * entry, written "imported" when it was taken, says so. */
static void
report_unstored(void *ctx, const char *name, const char *text)
{
	mr_progress_error(ctx, "cluster %s: %s", name, text);
	for (size_t i = jclusters != NULL ? json_object_array_length(jclusters) : 0; i-- > 0;) {
		json_object *j = json_object_array_get_idx(jclusters, i), *v;
		if (json_object_object_get_ex(j, "cluster", &v) &&
		    strcmp(json_object_get_string(v), name) == 0) {
			mr_json_put_str(j, "result", "not_stored");
			mr_json_put_str(j, "reason", text);
			break;
		}
	}
}

static void
print_refusal(const char *name, const char *path)
{
	uint8_t *text = NULL;
	size_t len = 0;

	char why[201];

	if (mr_file_read(path, 4096, &text, &len, NULL) != MR_OK) {
		mr_progress_stderr("error: cluster %s: refused by the appliance\n", name);
		outcome(name, "refused", NULL);
		return;
	}
	/* The reason came from the media: print it tame. */
	for (size_t i = 0; i < len; i++)
		if (text[i] < 0x20 || text[i] > 0x7e)
			text[i] = i + 1 == len ? '\0' : ' ';
	snprintf(why, sizeof(why), "%s", (const char *)text);
	mr_progress_stderr("error: cluster %s: refused by the appliance: %s\n", name, why);
	outcome(name, "refused", why);
	free(text);
}

/* Takes the answer for one waiting cluster, if the media has one.
 * Returns the exit status of its failure, else MR_EXIT_OK. */
static int
import_one(const mr_host_opts *o, const char *media, const char *name, const mr_cert *root,
    mr_answer_batch *b, mr_progress *p, size_t *imported)
{
	char path[4096];
	mr_diag d;
	int r, exit = MR_EXIT_FAIL;

	mr_diag_clear(&d);
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, name, ".pem") != MR_OK) {
		mr_progress_error(p, "cluster %s: media path too long", name);
		outcome(name, "rejected", "media path too long");
		return MR_EXIT_FAIL;
	}
	if (mr_path_exists(path)) {
		if ((r = check_answer(o, media, name, path, root, b, &exit, &d)) != MR_OK) {
			mr_progress_error(p, "cluster %s: %s", name, mr_diag_text(&d, r));
			if (b->checked) {
				/* Passed its checks; the workspace would not take it. */
				outcome(name, "not_stored", mr_diag_text(&d, r));
				return MR_EXIT_FAIL;
			}
			outcome(name, "rejected", mr_diag_text(&d, r));
			return exit;
		}
		outcome(name, "imported", NULL);
		(*imported)++;
		return MR_EXIT_OK;
	}
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, name, ".refused") ==
		MR_OK && mr_path_exists(path)) {
		print_refusal(name, path);
		return MR_EXIT_REFUSED;
	}
	printf("cluster %s: no answer on the media yet\n", name);
	outcome(name, "no_answer", NULL);
	return MR_EXIT_OK;
}

/* Answers are looked up by cluster name, so other systems' metadata files
 * beside them are never read; they are counted once, as on the appliance. */
static void
note_metadata(const char *media)
{
	char shown[4096], note[160];
	mr_media_names nm;
	mr_diag d;
	int fd = -1;

	mr_diag_clear(&d);
	if (mr_media_open_dir(media, MR_MEDIA_ANSWERS, &fd, shown, sizeof(shown), &d) != MR_OK)
		return;
	if (mr_media_names_at(fd, shown, &nm, &d) == MR_OK) {
		if (nm.ignored > 0) {
			mr_media_ignored_note(nm.ignored, note, sizeof(note));
			fflush(stdout);
			mr_progress_stderr("%s\n", note);
		}
		mr_media_names_free(&nm);
	}
	close(fd);
}

static int
media_import(const mr_host_opts *o, const char *media, const char *expect)
{
	uint8_t root_der[MR_WS_CERT_MAX];
	size_t root_len = 0, imported = 0, failed = 0, waiting = 0, already = 0, unstored = 0;
	int e, failed_exit = MR_EXIT_FAIL, crl_imported = 0;
	char path[4096], why[512];
	mr_answer_batch b;
	mr_ws_list names;
	mr_progress p;
	mr_cert root;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if ((r = mr_media_check(media, &d)) != MR_OK)
		return fail(&d, r);
	if ((r = check_root(o, media, expect, root_der, sizeof(root_der), &root_len, &root,
		 &d)) != MR_OK)
		return fail(&d, r);
	if (jdoc != NULL) {
		uint8_t fp[32];
		char hex[MR_FP_HEX_LEN(32)];
		mr_fp_sha256(root_der, root_len, fp);
		mr_fp_hex(fp, 32, hex, sizeof(hex));
		mr_json_put_str(jdoc, "root_sha256", hex);
	}
	if ((r = mr_host_crl_import(o, media, &root, &crl_imported, &d)) != MR_OK)
		return fail(&d, r);
	mr_json_put_bool(jdoc, "crl_imported", crl_imported);
	if ((r = mr_host_audit_pin(o, media, &d)) != MR_OK)
		return fail(&d, r);
	if ((r = mr_ws_list_read(o, &names, &d)) != MR_OK)
		return fail(&d, r);
	note_metadata(media);
	mr_answer_batch_init(&b);
	mr_progress_start(&p, "import", names.n);
	for (size_t i = 0; i < names.n; i++) {
		mr_progress_hold(&p);
		if (!mr_ws_cluster_issued(o, names.names[i])) {
			waiting++;
			if ((e = import_one(o, media, names.names[i], &root, &b, &p, &imported)) !=
			    MR_EXIT_OK)
				/* One kind of failure gives its own status; a mix gives 1. */
				failed_exit = failed++ == 0 || failed_exit == e ? e : MR_EXIT_FAIL;
		} else if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS,
			       names.names[i], ".pem") == MR_OK && mr_path_exists(path)) {
			already++; /* only to say why nothing was taken */
		}
		/* A group at a time, and the last one before the summary. */
		if (mr_answer_batch_full(&b) || i + 1 == names.n)
			mr_answer_commit(o, &b, report_unstored, &p, &unstored);
		mr_progress_step(&p, 1);
	}
	mr_progress_end(&p);
	mr_answer_batch_free(&b);
	if (unstored > 0) {
		/* Checked, then not stored: the disk, not the answer. */
		failed_exit = MR_EXIT_FAIL;
		failed += unstored;
		imported -= unstored < imported ? unstored : imported;
	}
	printf("%zu certificate(s) imported\n", imported);
	mr_json_put_int(jdoc, "imported", (long long)imported);
	mr_json_put_int(jdoc, "not_taken", (long long)failed);
	fflush(stdout); /* the summary line ends before an error starts */
	why[0] = '\0';
	if (failed > 0) {
		snprintf(why, sizeof(why), "%zu answer(s) not taken (see above)", failed);
		e = failed_exit;
	} else if (imported == 0 && !crl_imported) {
		/* Not a failure, but scripts must tell it from an import that
		 * took something (an answer or a newer CRL): its own exit code
		 * (docs/media.md). */
		if (names.n == 0)
			snprintf(why, sizeof(why), "nothing to import: the workspace has no clusters");
		else if (waiting == 0)
			snprintf(why, sizeof(why), "nothing to import: every cluster's certificate is "
			    "already imported (%zu cluster(s))", names.n);
		else if (already > 0)
			snprintf(why, sizeof(why), "nothing to import: no answer on %s for the %zu "
			    "waiting cluster(s); its %zu other answer(s) are already imported",
			    media, waiting, already);
		else
			snprintf(why, sizeof(why), "nothing to import: no answer on %s for the %zu "
			    "waiting cluster(s) (has the appliance run `sign --media` on it?)",
			    media, waiting);
		e = MR_EXIT_NOTHING;
	} else {
		e = MR_EXIT_OK;
	}
	if (why[0] != '\0') {
		mr_progress_stderr("error: %s\n", why);
		mr_json_put_str(jdoc, "error", why);
	}
	mr_ws_list_free(&names);
	return e;
}

/* import, as one JSON document when json. */
static int
media_import_json(const mr_host_opts *o, const char *media, const char *expect, int json)
{
	mr_jsonout out = { -1 };
	int rc;

	if (!json)
		return media_import(o, media, expect);
	if (mr_jsonout_begin(&out) != 0) {
		mr_progress_stderr("error: cannot set up the JSON output\n");
		return MR_EXIT_FAIL;
	}
	jdoc = mr_json_doc("meshroot.media-import");
	mr_json_put_str(jdoc, "media", media);
	mr_json_put(jdoc, "error", NULL);
	mr_json_put(jdoc, "clusters", jclusters = json_object_new_array());
	rc = media_import(o, media, expect);
	mr_json_put_int(jdoc, "exit_code", rc);
	if (mr_jsonout_end(&out, jdoc) != 0) {
		mr_progress_stderr("error: cannot write the JSON document\n");
		rc = rc != 0 ? rc : MR_EXIT_FAIL;
	}
	jdoc = jclusters = NULL;
	return rc;
}

int
cmd_media(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "to", required_argument, NULL, 't' },
		{ "from", required_argument, NULL, 'f' },
		{ "expect-root", required_argument, NULL, 'e' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *to = NULL, *from = NULL, *expect = NULL, *sub;
	int c, json = 0;

	if (argc < 2)
		return HOST_USAGE("media", "media needs export or import");
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		HOST_HELP(stdout, "media");
		return MR_EXIT_OK;
	}
	sub = argv[1];
	if (strcmp(sub, "export") != 0 && strcmp(sub, "import") != 0)
		return HOST_USAGE("media", "unknown media command '%s'", sub);
	optind = 0; /* 0: glibc fully re-initialises its scanner */
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 't': to = optarg; break;
		case 'f': from = optarg; break;
		case 'e': expect = optarg; break;
		case 'j': json = 1; break;
		case 'h': HOST_HELP(stdout, "media"); return MR_EXIT_OK;
		default: return HOST_OPT_ERROR("media", c, argv + 1);
		}
	}
	if (strcmp(sub, "export") == 0) {
		if (to == NULL)
			return HOST_USAGE("media", "media export needs --to DIR");
		if (from != NULL || expect != NULL)
			return HOST_USAGE("media", "media export takes --to, not --from or --expect-root");
		if (json)
			return HOST_USAGE("media", "--json is for media import");
		return media_export(o, to, argc - 1 - optind, argv + 1 + optind);
	}
	if (from == NULL)
		return HOST_USAGE("media", "media import needs --from DIR");
	if (to != NULL)
		return HOST_USAGE("media", "media import takes --from, not --to");
	if (optind != argc - 1)
		return HOST_EXTRA("media", argv[1 + optind]);
	return media_import_json(o, from, expect, json);
}

/*
 * `sign --media DIR`: processes every request on mounted media. Each
 * request is shown to the operator and approved (or --yes, recorded as
 * such); a refused or malformed request gets a .refused answer and the
 * batch goes on. Running it again on the same media never signs a request
 * twice: an issued request hash gets its stored certificate back.
 *
 * The media's bytes are read and parsed by a confined parser process
 * (mr_privsep.h), forked before the state dir and the token are opened;
 * this process re-parses every CSR it is handed before it goes further.
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "board_api.h"
#include "mr_commands.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_issue.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_privsep.h"

typedef struct {
	unsigned signed_new, signed_before, refused, skipped;
} batch_counts;

static void
say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
say(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	board_console_write(line);
}

static int
write_refusal(mr_app *app, const char *media, const char *cluster, const char *why,
    mr_diag *d)
{
	char line[512];
	int k = snprintf(line, sizeof(line), "%s\n", why);

	char path[4096];

	(void)app;
	if (k < 0)
		return MR_E_INTERNAL;
	/* A certificate answered for an earlier request of this cluster would
	 * contradict the refusal of its current one. */
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, cluster, ".pem") == MR_OK)
		remove(path);
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, cluster, ".audit") == MR_OK)
		remove(path);
	return mr_media_write(media, MR_MEDIA_ANSWERS, cluster, ".refused", line,
	    strlen(line), d);
}

static int
write_answer(mr_app *app, const char *media, const char *cluster, const mr_issued *is,
    mr_diag *d)
{
	static char proof[MR_AUDIT_PROOF_MAX];
	char buf[16384], path[4096];
	size_t a = 0, b = 0, proof_len = 0;
	int r;

	if (mr_pem_write("CERTIFICATE", is->der, is->der_len, buf, sizeof(buf), &a) != MR_OK ||
	    mr_pem_write("CERTIFICATE", app->root_der, app->root_len, buf + a,
		sizeof(buf) - a, &b) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "answer does not fit");
	/* The proof that the issue record is in the log goes out first, under
	 * a checkpoint signed now: no certificate leaves without it. */
	if ((r = mr_app_issue_proof(app, is->serial, proof, sizeof(proof), &proof_len, d)) != MR_OK ||
	    (r = mr_media_write(media, MR_MEDIA_ANSWERS, cluster, ".audit", proof, proof_len,
		 d)) != MR_OK)
		return r;
	/* A stale .refused from an earlier run would contradict the answer. */
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, cluster, ".refused") == MR_OK)
		remove(path);
	return mr_media_write(media, MR_MEDIA_ANSWERS, cluster, ".pem", buf, a + b, d);
}

static int
audit_decision(mr_app *app, const char *event, const mr_request *rq, const char *by,
    const char *reason, mr_diag *d)
{
	mr_record rec;

	mr_record_init(&rec);
	mr_record_add(&rec, "cluster", rq->cluster);
	mr_record_add(&rec, "request", rq->csr_hash_hex);
	mr_record_add(&rec, "key_type", mr_key_type_name(rq->csr.spki.type));
	mr_record_add(&rec, "by", by);
	if (reason != NULL)
		mr_record_add(&rec, "reason", reason);
	if (rq->ignored[0])
		mr_record_add(&rec, "ignored", rq->ignored);
	return mr_app_audit(app, event, &rec, d);
}

/* One request, start to finish. Returns MR_OK when an answer (certificate)
 * was written; any other value was reported and recorded already, except
 * audit or state failures, which stop the batch (fail closed). */
static int
process(mr_app *app, const char *media, const mr_ps_item *it, batch_counts *bc)
{
	char text[1536];
	mr_request rq;
	mr_issued is;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if (it->kind == MR_PS_REFUSE)
		r = mr_diag_set(&d, it->err, "%s", it->why);
	else
		/* The parser checked it already; checked again here with the
		 * policy, on this side of the boundary. */
		r = mr_request_parse(app, it->cluster, it->der, it->der_len, &rq, &d);
	if (r != MR_OK) {
		mr_diag ad;
		mr_record rec;
		mr_diag_clear(&ad);
		say("request %s: refused: %s\n", it->name, mr_diag_text(&d, r));
		bc->refused++;
		mr_record_init(&rec);
		mr_record_add(&rec, "cluster", it->cluster);
		mr_record_add(&rec, "file", it->name);
		mr_record_add(&rec, "reason", mr_diag_text(&d, r));
		if (mr_app_audit(app, "refuse", &rec, &ad) != MR_OK) {
			fprintf(stderr, "error: %s\n", mr_diag_text(&ad, MR_E_AUDIT));
			return MR_E_AUDIT;
		}
		if (write_refusal(app, media, it->cluster, mr_diag_text(&d, r), &ad) != MR_OK)
			say("request %s: could not write the refusal: %s\n", it->name,
			    mr_diag_text(&ad, MR_E_IO));
		return r;
	}

	if (mr_db_issued_for_request(&app->db, rq.csr_hash_hex) != NULL) {
		if ((r = mr_issue(app, &rq, &is, &d)) != MR_OK ||
		    (r = write_answer(app, media, rq.cluster, &is, &d)) != MR_OK) {
			fprintf(stderr, "error: request %s: %s\n", it->name, mr_diag_text(&d, r));
			return r;
		}
		say("request %s: already issued as serial %s; answer rewritten, nothing signed\n",
		    it->name, is.serial);
		bc->signed_before++;
		return MR_OK;
	}

	mr_request_describe(app, &rq, text, sizeof(text));
	say("\nrequest %s:\n%s", it->name, text);
	if (mr_app_confirm(app, "Approve this intermediate CA?", "yes") != MR_OK) {
		say("request %s: declined by the operator\n", it->name);
		bc->refused++;
		if (audit_decision(app, "refuse", &rq, "operator", "declined", &d) != MR_OK) {
			fprintf(stderr, "error: %s\n", mr_diag_text(&d, MR_E_AUDIT));
			return MR_E_AUDIT;
		}
		(void)!write_refusal(app, media, rq.cluster, "declined by the operator", &d);
		return MR_E_CANCELLED;
	}
	if (audit_decision(app, "approve", &rq, app->yes ? "--yes" : "operator", NULL, &d) != MR_OK) {
		fprintf(stderr, "error: %s\n", mr_diag_text(&d, MR_E_AUDIT));
		return MR_E_AUDIT;
	}
	if ((r = mr_issue(app, &rq, &is, &d)) != MR_OK) {
		/* Policy and lint refusals were audited by mr_issue; token,
		 * state and audit failures stop the batch. */
		if (r == MR_E_POLICY || r == MR_E_LINT) {
			say("request %s: refused: %s\n", it->name, mr_diag_text(&d, r));
			bc->refused++;
			(void)!write_refusal(app, media, rq.cluster, mr_diag_text(&d, r), &d);
			return r;
		}
		fprintf(stderr, "error: request %s: %s\n", it->name, mr_diag_text(&d, r));
		return MR_E_STATE;
	}
	if ((r = write_answer(app, media, rq.cluster, &is, &d)) != MR_OK) {
		/* Issued and recorded; the next run rewrites the answer. */
		fprintf(stderr, "error: request %s: %s\n", it->name, mr_diag_text(&d, r));
		return MR_E_STATE;
	}
	mr_crashpoint("after-answer");
	say("request %s: issued serial %s\n", it->name, is.serial);
	bc->signed_new++;
	return MR_OK;
}

static int
sign_media(mr_app *app, const char *media, mr_ps *ps)
{
	static mr_ps_item item;
	size_t n = 0;
	mr_diag d;
	batch_counts bc = { 0, 0, 0, 0 };
	char path[4096], pem[8192];
	size_t pem_len;
	int r, stop = 0, parser_failed = 0;

	mr_diag_clear(&d);
	/* The parser first: it must never share an address space or a
	 * descriptor with the state dir or the token session. */
	if ((r = mr_ps_start(ps, media, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((r = mr_app_load(app, &d)) != MR_OK ||
	    (r = mr_media_sweep_temps(media, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((r = mr_app_open_token(app, &d)) != MR_OK ||
	    (r = mr_app_check_root_key(app, &d)) != MR_OK)
		return mr_fail(r, &d);
	if ((r = mr_ps_list(ps, &n, &d)) != MR_OK)
		return mr_fail(r, &d);
	/* The root travels with every batch so the host can pin and check it,
	 * and the audit key with it. */
	if (mr_path_join(path, sizeof(path), media, MR_MEDIA_ROOT) != MR_OK ||
	    mr_pem_write("CERTIFICATE", app->root_der, app->root_len, pem, sizeof(pem),
		&pem_len) != MR_OK ||
	    mr_file_write_atomic(path, pem, pem_len, 0644, &d) != MR_OK ||
	    mr_note_vkey_format(&app->audit_key, pem, sizeof(pem)) != MR_OK ||
	    mr_path_join(path, sizeof(path), media, MR_MEDIA_TOP "/audit-key.pub") != MR_OK ||
	    mr_file_write_atomic(path, pem, strlen(pem), 0644, &d) != MR_OK)
		return mr_fail(MR_E_IO, &d);
	say("media %s: %zu request file(s)\n", media, n);
	while (!stop) {
		mr_diag_clear(&d);
		if ((r = mr_ps_next(ps, &item, &d)) != MR_OK) {
			fprintf(stderr, "error: %s\n", mr_diag_text(&d, r));
			parser_failed = 1;
			break;
		}
		if (item.kind == MR_PS_END)
			break;
		if (item.kind == MR_PS_SKIP) {
			say("request %s: skipped: %s\n", item.name, item.why);
			bc.skipped++;
			mr_record rec;
			mr_record_init(&rec);
			mr_record_add(&rec, "file", item.name);
			mr_record_add(&rec, "reason", item.why);
			if (mr_app_audit(app, "skip", &rec, &d) != MR_OK)
				stop = 1;
			continue;
		}
		r = process(app, media, &item, &bc);
		if (r == MR_E_AUDIT || r == MR_E_STATE || r == MR_E_RANGE)
			stop = 1;
	}
	if (!stop && !parser_failed && (r = mr_ps_finish(ps, &d)) != MR_OK) {
		fprintf(stderr, "error: %s\n", mr_diag_text(&d, r));
		parser_failed = 1;
	}
	/* The batch's refusals and skips are signed too. */
	if (!stop && mr_app_checkpoint(app, NULL, 0, NULL, &d) != MR_OK) {
		fprintf(stderr, "error: %s\n", mr_diag_text(&d, MR_E_AUDIT));
		stop = 1;
	}
	say("summary: %u signed, %u answered from earlier runs, %u refused, %u skipped\n",
	    bc.signed_new, bc.signed_before, bc.refused, bc.skipped);
	if (stop) {
		fprintf(stderr, "error: batch stopped: state or audit failure (see above)\n");
		return 1;
	}
	if (parser_failed) {
		fprintf(stderr, "error: batch stopped: the request parser failed (see above); "
				"nothing it sent afterwards was used\n");
		return 1;
	}
	if (bc.refused + bc.skipped > 0) {
		fprintf(stderr, "error: %u of %zu request file(s) not signed\n",
		    bc.refused + bc.skipped, n);
		return 1;
	}
	return 0;
}

int
cmd_sign(mr_app *app, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "media", required_argument, NULL, 'm' },
		{ "yes", no_argument, NULL, 'y' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *media = NULL;
	int c;

	optind = 0; /* 0: glibc fully re-initialises its scanner */
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'm': media = optarg; break;
		case 'y': app->yes = 1; break;
		case 'h':
			board_console_write("usage: meshroot-appliance [global options] sign --media DIR [--yes]\n");
			return 0;
		default: return 2;
		}
	}
	if (media == NULL) {
		fprintf(stderr, "error: sign needs --media DIR\n");
		return 2;
	}
	mr_ps ps;
	int rc;

	rc = sign_media(app, media, &ps);
	/* Whatever happened, the parser does not outlive the batch. */
	mr_ps_stop(&ps);
	return rc;
}

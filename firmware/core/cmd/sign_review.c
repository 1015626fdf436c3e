#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include "board_api.h"
#include "mr_fingerprint.h"
#include "mr_issue.h"
#include "mr_sign_review.h"

#define DAY 86400
#define WORDS_SHOWN 4

static void
say(const char *text)
{
	board_console_write(text);
}

static int
add_row(mr_review *rv, const mr_request *rq)
{
	if (rv->n == rv->cap) {
		size_t cap = rv->cap ? rv->cap * 2 : 64;
		mr_review_row *rows = realloc(rv->rows, cap * sizeof(*rows));
		if (rows == NULL)
			return MR_E_NOMEM;
		rv->rows = rows;
		rv->cap = cap;
	}
	snprintf(rv->rows[rv->n].cluster, sizeof(rv->rows[0].cluster), "%s", rq->cluster);
	memcpy(rv->rows[rv->n].hash, rq->csr_hash, 32);
	rv->n++;
	return MR_OK;
}

/* The first words of the request's fingerprint, as the host shows them. */
static void
short_words(const uint8_t hash[32], char *out, size_t cap)
{
	char words[MR_FP_WORDS_LEN];
	char *p = words;

	mr_fp_words(hash, words, sizeof(words));
	for (int i = 0; i < WORDS_SHOWN && p != NULL; i++)
		p = strchr(p + 1, ' ');
	if (p != NULL)
		*p = '\0';
	snprintf(out, cap, "%s", words);
}

static void
row(const mr_app *app, size_t i, const mr_request *rq, time_t until)
{
	char line[512], words[MR_FP_WORDS_LEN], date[16] = "?";
	const char *note = "";
	struct tm tm;

	short_words(rq->csr_hash, words, sizeof(words));
	if (gmtime_r(&until, &tm) != NULL)
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
	if (mr_db_last_issued_for_cluster(&app->db, rq->cluster) != NULL)
		note = "renewal";
	snprintf(line, sizeof(line), "%5zu  %-24s %-9s %-36s %s  %s\n", i, rq->cluster,
	    mr_key_type_name(rq->csr.spki.type), words, date, note);
	say(line);
}

int
mr_review_batch(mr_app *app, mr_ps *ps, size_t n, mr_review *rv, mr_diag *d)
{
	static mr_ps_item item;
	mr_request rq;
	mr_record rec;
	wc_Sha256 sha;
	uint8_t batch[32];
	char line[600];
	size_t skipped = 0, refused = 0, earlier = 0;
	time_t now = time(NULL), until;
	int r;

	memset(rv, 0, sizeof(*rv));
	/* The validity every certificate of this batch gets (mr_issue). */
	until = now + (time_t)app->cfg.max_validity_days * DAY;
	if (until > app->root.not_after)
		until = app->root.not_after;
	if (wc_InitSha256(&sha) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "SHA-256");
	snprintf(line, sizeof(line), "\nbatch review: %zu request file(s)\n"
	    "%5s  %-24s %-9s %-36s %-10s  %s\n", n, "#", "cluster", "key", "fingerprint (words)",
	    "valid to", "");
	say(line);
	for (;;) {
		mr_diag pd;
		if ((r = mr_ps_next(ps, &item, d)) != MR_OK)
			goto out;
		if (item.kind == MR_PS_END)
			break;
		if (item.kind == MR_PS_SKIP) {
			skipped++;
			continue;
		}
		mr_diag_clear(&pd);
		r = item.kind == MR_PS_REFUSE
		    ? MR_E_CSR
		    : mr_request_parse(app, item.cluster, item.der, item.der_len, &rq, &pd);
		/* Each request's key is seen once: wolfSSL's room for its
		 * point tables (1.6 MiB) goes at once, not at the cache's 15. */
		mr_sig_release_cache();
		if (r != MR_OK) {
			r = MR_OK;
			refused++;
			continue;
		}
		if (mr_db_issued_for_request(&app->db, rq.csr_hash_hex) != NULL) {
			earlier++;
			continue;
		}
		if ((r = add_row(rv, &rq)) != MR_OK) {
			r = mr_diag_set(d, r, "out of memory");
			goto out;
		}
		row(app, rv->n, &rq, until);
		snprintf(line, sizeof(line), "%s %s\n", rq.cluster, rq.csr_hash_hex);
		wc_Sha256Update(&sha, (const byte *)line, (word32)strlen(line));
	}
	wc_Sha256Final(&sha, batch);
	mr_hex_encode(batch, 32, rv->batch_hex);
	snprintf(line, sizeof(line),
	    "%zu new intermediate CA(s); %zu answered from earlier runs, %zu refused, %zu skipped "
	    "(each named when the batch runs)\nbatch SHA-256: %s\n", rv->n, earlier, refused, skipped,
	    rv->batch_hex);
	say(line);
	mr_record_init(&rec);
	mr_record_addf(&rec, "count", "%zu", rv->n);
	mr_record_add(&rec, "batch", rv->batch_hex);
	if (rv->n == 0) {
		r = MR_OK;
		goto out;
	}
	snprintf(line, sizeof(line), "Approve all %zu intermediate CA(s) in this table?", rv->n);
	if (mr_app_confirm(app, line, "yes") != MR_OK) {
		mr_record_add(&rec, "by", "operator");
		mr_record_add(&rec, "reason", "declined");
		r = mr_app_audit(app, "refuse-batch", &rec, d);
		r = r == MR_OK ? MR_E_CANCELLED : r;
		goto out;
	}
	mr_record_add(&rec, "by", app->yes ? "--yes" : "operator");
	r = mr_app_audit(app, "approve-batch", &rec, d);
out:
	wc_Sha256Free(&sha);
	return r;
}

/* Listing order is the order of the file names, "<cluster>.csr". */
static int
name_cmp(const char *a, const char *b)
{
	char na[80], nb[80];

	snprintf(na, sizeof(na), "%s.csr", a);
	snprintf(nb, sizeof(nb), "%s.csr", b);
	return strcmp(na, nb);
}

int
mr_review_approved(mr_review *rv, const char *cluster, const uint8_t hash[32])
{
	while (rv->next < rv->n && name_cmp(rv->rows[rv->next].cluster, cluster) < 0)
		rv->next++;
	if (rv->next == rv->n || strcmp(rv->rows[rv->next].cluster, cluster) != 0 ||
	    memcmp(rv->rows[rv->next].hash, hash, 32) != 0)
		return 0;
	rv->next++;
	return 1;
}

void
mr_review_free(mr_review *rv)
{
	free(rv->rows);
	memset(rv, 0, sizeof(*rv));
}

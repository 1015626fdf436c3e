/*
 * Benchmark tool (not a test): the appliance's side of the link at full
 * load, with the host's work taken off the machine's cores. It speaks
 * the link protocol as `meshroot submit` does (INFO, then at most the
 * appliance's queue in flight: SUBMIT while the queue has room, RESULT
 * for the oldest requests in flight), but takes each answer without
 * checking or storing it. On a machine where the host shares the
 * appliance's cores, `submit` and `serve` compete for them; this stands
 * in for a host on a machine of its own, which is how the link is used.
 * Never a substitute for `submit`'s checks: scripts/bench reports both.
 *
 *   link_load unix:PATH DIR     # requests made by csr_batch in DIR
 *
 * Prints "N issued in S s" and exits 0 when every request was issued
 * with a certificate; 1 with a one-line error otherwise.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "link.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_link.h"
#include "mr_pem.h"

#define MAX_REQUESTS 100000
#define MAX_CSR 4096
#define IDLE_NAP_MS 1 /* the wait when a RESULT brought nothing new */

typedef struct {
	char name[64];
	uint8_t der[MAX_CSR];
	size_t der_len;
	uint8_t hash[32];
	int done;
} request;

static request *reqs;
static size_t n_reqs;

static double
clock_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int
die(const char *what, const mr_diag *d, int r)
{
	fprintf(stderr, "error: %s: %s\n", what, mr_diag_text(d, r));
	return 1;
}

/* Every request (.csr) in DIR/meshroot/requests, its DER and hash. */
static int
load(const char *media)
{
	char dir[4096], path[4400];
	static char text[3 * MAX_CSR];
	struct dirent *e;
	DIR *dp;

	snprintf(dir, sizeof(dir), "%s/meshroot/requests", media);
	if ((dp = opendir(dir)) == NULL) {
		fprintf(stderr, "error: %s: cannot open\n", dir);
		return -1;
	}
	while ((e = readdir(dp)) != NULL) {
		size_t len = strlen(e->d_name), tl, pos = 0;
		request *q;
		FILE *f;

		if (len < 5 || strcmp(e->d_name + len - 4, ".csr") != 0 || len - 4 >= sizeof(q->name))
			continue;
		if (n_reqs == MAX_REQUESTS) {
			fprintf(stderr, "error: more than %d requests\n", MAX_REQUESTS);
			closedir(dp);
			return -1;
		}
		q = &reqs[n_reqs];
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((f = fopen(path, "rb")) == NULL) {
			fprintf(stderr, "error: %s: cannot open\n", path);
			closedir(dp);
			return -1;
		}
		tl = fread(text, 1, sizeof(text), f);
		fclose(f);
		if (mr_pem_next(text, tl, &pos, "CERTIFICATE REQUEST", q->der, sizeof(q->der),
			&q->der_len) != MR_OK) {
			fprintf(stderr, "error: %s: not a PEM request\n", path);
			closedir(dp);
			return -1;
		}
		memcpy(q->name, e->d_name, len - 4);
		q->name[len - 4] = '\0';
		mr_fp_sha256(q->der, q->der_len, q->hash);
		n_reqs++;
	}
	closedir(dp);
	return 0;
}

/* Requests [from, to) are the ones in flight or done: a result's request
 * is among them. */
static request *
by_hash(const uint8_t hash[32], size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		if (!reqs[i].done && memcmp(reqs[i].hash, hash, 32) == 0)
			return &reqs[i];
	return NULL;
}

/* Marks what a reply says is issued; a refusal ends the run. */
static int
take(const mr_link_result *res, size_t got, size_t from, size_t to, size_t *done)
{
	for (size_t j = 0; j < got; j++) {
		request *q = by_hash(res[j].hash, from, to);
		if (q == NULL) {
			fprintf(stderr, "error: a result for a request not in flight\n");
			return -1;
		}
		if (res[j].state == MR_RS_REFUSED) {
			fprintf(stderr, "error: %s refused: %s\n", q->name, res[j].reason);
			return -1;
		}
		if (res[j].state == MR_RS_ISSUED && res[j].cert.n > 0) {
			q->done = 1;
			(*done)++;
		}
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static uint8_t pl[MR_LINK_MAX_PAYLOAD];
	static mr_link_result res[MR_LINK_MAX_RESULTS];
	static mr_hostlink l;
	mr_link_info info;
	mr_der reply;
	mr_diag d;
	size_t next_send = 0, oldest = 0, done = 0;
	uint32_t free_slots;
	double t0;
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: link_load unix:PATH DIR\n");
		return 2;
	}
	mr_diag_clear(&d);
	if ((reqs = calloc(MAX_REQUESTS, sizeof(*reqs))) == NULL || load(argv[2]) != 0)
		return 1;
	if (n_reqs == 0) {
		fprintf(stderr, "error: no requests in %s/meshroot/requests\n", argv[2]);
		return 1;
	}
	t0 = clock_s();
	if ((r = mr_hostlink_open(&l, argv[1], 0, NULL, &d)) != MR_OK)
		return die(argv[1], &d, r);
	if ((r = mr_hostlink_call(&l, MR_OP_INFO, NULL, 0, &reply, &d)) != MR_OK)
		return die("INFO", &d, r);
	if (mr_link_info_decode(reply, &info) != MR_OK || info.queue == 0) {
		fprintf(stderr, "error: malformed INFO reply\n");
		return 1;
	}
	free_slots = info.queue;
	while (done < n_reqs) {
		size_t k = 0, got = 0, before = done;
		mr_link_w w;

		/* SUBMIT while the queue has room and the window allows (the
		 * requests sent and not done are in flight). */
		while (next_send < n_reqs && free_slots > 0 && next_send - done < info.queue) {
			mr_link_w_init(&w, pl, sizeof(pl));
			for (k = 0; next_send + k < n_reqs && k < MR_LINK_MAX_BATCH && k < free_slots &&
			     next_send - done + k < info.queue; k++) {
				request *q = &reqs[next_send + k];
				size_t len = w.len;
				mr_link_submit_put(&w, q->name, q->der, q->der_len);
				if (w.err != MR_OK) {
					w.err = MR_OK;
					w.len = len;
					break;
				}
			}
			r = mr_hostlink_call(&l, MR_OP_SUBMIT, pl, w.len, &reply, &d);
			if (r == MR_E_BUSY) {
				free_slots = 0;
				break;
			}
			if (r != MR_OK)
				return die("SUBMIT", &d, r);
			if (mr_link_results_decode(reply, res, MR_LINK_MAX_BATCH, &got, &free_slots) !=
				MR_OK ||
			    got != k) {
				fprintf(stderr, "error: malformed SUBMIT reply\n");
				return 1;
			}
			next_send += k;
			if (take(res, got, oldest, next_send, &done) != 0)
				return 1;
		}
		/* RESULT for the oldest requests in flight. */
		while (oldest < next_send && reqs[oldest].done)
			oldest++;
		mr_link_w_init(&w, pl, sizeof(pl));
		k = 0;
		for (size_t i = oldest; i < next_send && k < MR_LINK_MAX_RESULTS; i++)
			if (!reqs[i].done) {
				mr_link_put(&w, MR_T_HASH, reqs[i].hash, 32);
				k++;
			}
		if (k > 0) {
			if ((r = mr_hostlink_call(&l, MR_OP_RESULT, pl, w.len, &reply, &d)) != MR_OK)
				return die("RESULT", &d, r);
			if (mr_link_results_decode(reply, res, MR_LINK_MAX_RESULTS, &got, &free_slots) !=
				MR_OK ||
			    got > k) {
				fprintf(stderr, "error: malformed RESULT reply\n");
				return 1;
			}
			if (take(res, got, oldest, next_send, &done) != 0)
				return 1;
		}
		if (done == before) {
			struct timespec ts = { 0, IDLE_NAP_MS * 1000000L };
			nanosleep(&ts, NULL);
		}
	}
	mr_hostlink_close(&l);
	printf("%zu issued in %.3f s\n", done, clock_s() - t0);
	return 0;
}

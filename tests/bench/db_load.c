/*
 * How long the issuance database takes to load and answer, on a fixture of
 * N issued certificates (not a timed test: run it by hand, before and after
 * a change to firmware/core/state/db.c).
 *
 *   db_load FILE N
 *       writes FILE: N reserve+issue pairs over N/4 clusters (so most are
 *       renewals), every 10th serial reserved and then abandoned, every
 *       7th issued one revoked, and FILE.log: the audit records of the
 *       same (issue, abandon, revoke; no hash chain). Then times what every
 *       start of the appliance does with them (mr_app_load): mr_db_open,
 *       and mr_statecheck_agree of the database with the log; and N
 *       lookups of each kind (by serial, issued for request, newest for
 *       cluster), as a batch's duplicate checks and reviews make.
 *
 * Files are written plainly (no fsync): a fixture, not a store.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mr_db.h"
#include "mr_statecheck.h"
#include "../unit/test_rng.h"

static void
serial_of(size_t i, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", test_mix64(2 * i) & 0x7fffffffffffffffull, test_mix64(2 * i + 1));
}

static void
hash_of(const char *what, size_t i, char out[65])
{
	unsigned long long s = test_mix64(i) ^ (unsigned long long)what[0];

	snprintf(out, 65, "%016llx%016llx%016llx%016llx", test_mix64(s), test_mix64(s + 1), test_mix64(s + 2),
	    test_mix64(s + 3));
}

static double
ms_since(const struct timespec *t0)
{
	struct timespec t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (double)(t1.tv_sec - t0->tv_sec) * 1e3 + (double)(t1.tv_nsec - t0->tv_nsec) / 1e6;
}

int
main(int argc, char **argv)
{
	char serial[33], req[65], cert[65], cluster[32], logpath[4096];
	size_t n, found = 0, seq = 0, loglen = 0;
	uint8_t *log = NULL;
	struct timespec t0;
	mr_sc_report rep;
	mr_diag d;
	mr_db db;
	FILE *f, *lf;

	if (argc != 3 || (n = strtoul(argv[2], NULL, 10)) == 0) {
		fprintf(stderr, "usage: db_load FILE N\n");
		return 2;
	}
	snprintf(logpath, sizeof(logpath), "%s.log", argv[1]);
	if ((f = fopen(argv[1], "w")) == NULL || (lf = fopen(logpath, "w")) == NULL) {
		perror(argv[1]);
		return 1;
	}
	for (size_t i = 0, k = 0; k < n; i++) {
		serial_of(i, serial);
		hash_of("r", i, req);
		snprintf(cluster, sizeof(cluster), "c%05zu", i % (n / 4 + 1));
		fprintf(f, "op=reserve serial=%s request=%s cluster=%s\n", serial, req, cluster);
		if (i % 10 == 9) {
			fprintf(f, "op=abandon serial=%s reason=token-error\n", serial);
			fprintf(lf, "seq=%zu event=abandon serial=%s\n", ++seq, serial);
			continue;
		}
		hash_of("c", i, cert);
		fprintf(f, "op=issue serial=%s request=%s cluster=%s subject=CN=%s cert=%s "
		    "not_after=%zu\n", serial, req, cluster, cluster, cert, 1900000000 + i);
		fprintf(lf, "seq=%zu event=issue serial=%s cert=%s\n", ++seq, serial, cert);
		if (k % 7 == 6) {
			fprintf(f, "op=revoke serial=%s reason=superseded time=%zu\n", serial,
			    1800000000 + i);
			fprintf(lf, "seq=%zu event=revoke serial=%s\n", ++seq, serial);
		}
		k++;
	}
	if (fclose(f) != 0 || fclose(lf) != 0) {
		perror(argv[1]);
		return 1;
	}

	mr_diag_clear(&d);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mr_db_open(&db, argv[1], &d) != MR_OK) {
		fprintf(stderr, "error: %s\n", d.msg);
		return 1;
	}
	printf("open:    %8.1f ms (%zu entries)\n", ms_since(&t0), db.n);

	if (mr_file_read(logpath, SIZE_MAX / 2, &log, &loglen, &d) != MR_OK) {
		fprintf(stderr, "error: %s\n", d.msg);
		return 1;
	}
	mr_sc_init(&rep);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (mr_statecheck_agree(&db, log, loglen, "/nonexistent", &rep, &d) != MR_OK) {
		fprintf(stderr, "error: %s\n", d.msg);
		return 1;
	}
	printf("agree:   %8.1f ms (%zu audit records, %zu findings)\n", ms_since(&t0), seq, rep.n);
	mr_sc_free(&rep);
	free(log);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		serial_of(i, serial);
		found += mr_db_by_serial(&db, serial) != NULL;
	}
	printf("serial:  %8.1f ms for %zu lookups\n", ms_since(&t0), n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		hash_of("r", i, req);
		found += mr_db_issued_for_request(&db, req) != NULL;
	}
	printf("request: %8.1f ms for %zu lookups\n", ms_since(&t0), n);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t i = 0; i < n; i++) {
		snprintf(cluster, sizeof(cluster), "c%05zu", i % (n / 4 + 1));
		found += mr_db_last_issued_for_cluster(&db, cluster) != NULL;
	}
	printf("cluster: %8.1f ms for %zu lookups (%zu found in all)\n", ms_since(&t0), n, found);
	mr_db_close(&db);
	return 0;
}

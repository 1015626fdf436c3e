/*
 * The issuance database's lookups (mr_db.h) on a file of about 21,000
 * lines: 10,000 serials reserved in batches of 8 and resolved in reverse
 * order, every 10th abandoned, every 50th a request issued a second time
 * for the same cluster, 1 in 7 issued ones revoked, the last 3 left
 * reserved. Every answer is checked against what a scan of the entries in
 * reserve order gives, worked out here from how the file was made.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr_crl.h"
#include "mr_db.h"
#include "test_rng.h"

#define N 10000u
#define BATCH 8u
#define CLUSTERS 997u
#define UNRESOLVED 3u

static char dir[] = "/tmp/mr-db-XXXXXX";
static char path[64];

static void
serial_of(unsigned i, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", test_mix64(2ull * i) & 0x7fffffffffffffffull,
	    test_mix64(2ull * i + 1));
}

static void
hash_of(unsigned long long seed, unsigned i, char out[65])
{
	unsigned long long s = test_mix64(seed * 1000003ull + i);

	snprintf(out, 65, "%016llx%016llx%016llx%016llx", test_mix64(s), test_mix64(s + 1), test_mix64(s + 2),
	    test_mix64(s + 3));
}

/* Every 50th request is the one before it again, for the same cluster. */
static unsigned
req_of(unsigned i)
{
	return i % 50 == 25 ? i - 1 : i;
}

static unsigned
cluster_of(unsigned i)
{
	return req_of(i) % CLUSTERS;
}

static mr_db_state
state_of(unsigned i)
{
	if (i >= N - UNRESOLVED)
		return MR_DB_RESERVED;
	return i % 10 == 9 ? MR_DB_ABANDONED : MR_DB_ISSUED;
}

static int
revoked(unsigned i)
{
	return state_of(i) == MR_DB_ISSUED && i % 7 == 3;
}

static void
write_db(void)
{
	char serial[33], req[65], cert[65];
	size_t lines = 0;
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	for (unsigned b = 0; b < N; b += BATCH) {
		unsigned end = b + BATCH < N ? b + BATCH : N;
		for (unsigned i = b; i < end; i++) {
			serial_of(i, serial);
			hash_of(1, req_of(i), req);
			fprintf(f, "op=reserve serial=%s request=%s cluster=c%03u\n", serial, req,
			    cluster_of(i));
			lines++;
		}
		/* Resolved in reverse: the file's issue order is not the
		 * reserve order, and the answers follow the reserve order. */
		for (unsigned i = end; i-- > b;) {
			serial_of(i, serial);
			hash_of(1, req_of(i), req);
			hash_of(2, i, cert);
			if (state_of(i) == MR_DB_ABANDONED)
				fprintf(f, "op=abandon serial=%s reason=token-error\n", serial);
			else if (state_of(i) == MR_DB_ISSUED)
				fprintf(f, "op=issue serial=%s request=%s cluster=c%03u cert=%s "
				    "not_after=%u\n", serial, req, cluster_of(i), cert, 2000000000u + i);
			else
				continue;
			lines++;
		}
		for (unsigned i = b; i < end; i++) {
			if (!revoked(i))
				continue;
			serial_of(i, serial);
			fprintf(f, "op=revoke serial=%s reason=%s time=%u\n", serial,
			    i % 2 ? "superseded" : "keyCompromise", 1900000000u + i);
			lines++;
		}
	}
	assert_int_equal(fclose(f), 0);
	assert_true(lines > 20000);
}

static int
setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/issued.db", dir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	rmdir(dir);
	return 0;
}

static void
open_db(mr_db *db)
{
	mr_diag d;

	mr_diag_clear(&d);
	if (mr_db_open(db, path, &d) != MR_OK)
		fail_msg("%s", d.msg);
}

static void
test_lookups(void **state)
{
	static unsigned req_first[N], cluster_last[CLUSTERS];
	char serial[33], req[65], cert[65], name[16];
	mr_db db;

	(void)state;
	write_db();
	open_db(&db);
	assert_int_equal(db.n, N);

	/* What a scan in reserve order answers: a request's first issued
	 * entry, a cluster's last. N means none. */
	for (unsigned i = 0; i < N; i++)
		req_first[i] = N;
	for (unsigned c = 0; c < CLUSTERS; c++)
		cluster_last[c] = N;
	for (unsigned i = 0; i < N; i++) {
		if (state_of(i) != MR_DB_ISSUED)
			continue;
		if (req_first[req_of(i)] == N)
			req_first[req_of(i)] = i;
		cluster_last[cluster_of(i)] = i;
	}

	for (unsigned i = 0; i < N; i++) {
		const mr_db_entry *e;
		uint8_t want[32];

		serial_of(i, serial);
		e = mr_db_by_serial(&db, serial);
		assert_ptr_equal(e, &db.e[i]);
		assert_string_equal(e->serial, serial);
		snprintf(name, sizeof(name), "c%03u", cluster_of(i));
		assert_string_equal(e->cluster, name);
		hash_of(1, req_of(i), req);
		assert_int_equal(mr_hex_decode(req, want, 32), MR_OK);
		assert_memory_equal(e->request, want, 32);
		assert_int_equal(e->state, state_of(i));
		assert_int_equal(e->revoked, revoked(i));
		if (state_of(i) == MR_DB_ISSUED) {
			hash_of(2, i, cert);
			assert_int_equal(mr_hex_decode(cert, want, 32), MR_OK);
			assert_memory_equal(e->cert, want, 32);
			assert_int_equal(e->not_after, 2000000000ll + i);
		}
		if (revoked(i)) {
			assert_int_equal(e->reason, i % 2 ? MR_CRL_REASON_SUPERSEDED :
			    MR_CRL_REASON_KEY_COMPROMISE);
			assert_int_equal(e->revoked_at, 1900000000ll + i);
		}

		hash_of(1, i, req);
		e = mr_db_issued_for_request(&db, req);
		if (req_of(i) != i || req_first[i] == N)
			assert_null(e); /* abandoned, still reserved, or never asked */
		else
			assert_ptr_equal(e, &db.e[req_first[i]]);
	}
	for (unsigned c = 0; c < CLUSTERS; c++) {
		snprintf(name, sizeof(name), "c%03u", c);
		if (cluster_last[c] == N)
			assert_null(mr_db_last_issued_for_cluster(&db, name));
		else
			assert_ptr_equal(mr_db_last_issued_for_cluster(&db, name),
			    &db.e[cluster_last[c]]);
	}

	/* The cases by name. Serial 9 was reserved and then abandoned: it
	 * stays used, and its request was never issued. */
	serial_of(9, serial);
	assert_int_equal(mr_db_by_serial(&db, serial)->state, MR_DB_ABANDONED);
	hash_of(1, 9, req);
	assert_null(mr_db_issued_for_request(&db, req));
	/* Request 24 was issued twice (serials 24 and 25, cluster c024;
	 * 25's issue line comes first in the file): the request answers
	 * with the first reserved, the cluster with its newest. */
	hash_of(1, 24, req);
	assert_ptr_equal(mr_db_issued_for_request(&db, req), &db.e[24]);
	assert_int_equal(cluster_last[24] >= 25, 1);
	assert_ptr_equal(mr_db_last_issued_for_cluster(&db, "c024"), &db.e[cluster_last[24]]);
	/* Serial 3 was issued and then revoked: still the issued answer. */
	hash_of(1, 3, req);
	assert_ptr_equal(mr_db_issued_for_request(&db, req), &db.e[3]);
	assert_int_equal(db.e[3].revoked, 1);
	/* The last ones are reserved, not issued. */
	serial_of(N - 1, serial);
	assert_int_equal(mr_db_by_serial(&db, serial)->state, MR_DB_RESERVED);
	hash_of(1, N - 1, req);
	assert_null(mr_db_issued_for_request(&db, req));

	/* What is not there. */
	serial_of(N, serial);
	assert_null(mr_db_by_serial(&db, serial));
	assert_null(mr_db_by_serial(&db, ""));
	serial[31] = '\0'; /* a prefix of no serial is a serial */
	assert_null(mr_db_by_serial(&db, serial));
	hash_of(1, N, req);
	assert_null(mr_db_issued_for_request(&db, req));
	assert_null(mr_db_issued_for_request(&db, "zz"));
	req[63] = 'g';
	assert_null(mr_db_issued_for_request(&db, req));
	assert_null(mr_db_last_issued_for_cluster(&db, "c99"));
	assert_null(mr_db_last_issued_for_cluster(&db, "c9999"));
	mr_db_close(&db);
}

/* Appends through the API keep the indexes right, and a reopened file
 * answers the same. Runs on the file test_lookups wrote. */
static void
test_append(void **state)
{
	char serial[33], req[65], msg[80];
	struct stat before, after;
	mr_record f;
	mr_diag d;
	mr_db db;

	(void)state;
	open_db(&db);
	hash_of(3, 0, req);
	serial_of(N, serial);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_reserve(&db, serial, req, "c024", &d), MR_OK);
	mr_record_init(&f);
	mr_record_add(&f, "cert", req);
	mr_record_add(&f, "not_after", "7");
	assert_int_equal(mr_db_issue(&db, serial, &f, &d), MR_OK);
	/* A renewal of c024: now its newest. */
	for (int pass = 0; pass < 2; pass++) {
		assert_ptr_equal(mr_db_last_issued_for_cluster(&db, "c024"), &db.e[N]);
		assert_ptr_equal(mr_db_issued_for_request(&db, req), &db.e[N]);
		assert_ptr_equal(mr_db_by_serial(&db, serial), &db.e[N]);
		assert_int_equal(db.e[N].not_after, 7);
		mr_db_close(&db);
		open_db(&db);
	}

	/* A serial used before, and a request hash that is not one: refused,
	 * nothing written. */
	assert_int_equal(stat(path, &before), 0);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_reserve(&db, serial, req, "c024", &d), MR_E_DUPLICATE);
	snprintf(msg, sizeof(msg), "serial %s already used", serial);
	assert_string_equal(d.msg, msg);
	serial_of(N + 1, serial);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_reserve(&db, serial, "abc", "c024", &d), MR_E_ARG);
	assert_string_equal(d.msg, "request hash abc is not a SHA-256 in hex");
	assert_null(mr_db_by_serial(&db, serial));
	assert_int_equal(stat(path, &after), 0);
	assert_int_equal(after.st_size, before.st_size);
	mr_db_close(&db);
}

/* A request or certificate hash that is not 64 hex digits is a damaged
 * line, named by its number. */
static void
test_bad_hash(void **state)
{
	char text[512];
	size_t good = 0;
	mr_diag d;
	mr_db db;

	(void)state;
	snprintf(text, sizeof(text), "op=reserve serial=01 request=%064d cluster=a\n"
	    "op=reserve serial=02 request=0g%062d cluster=a\n", 0, 0);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_parse(&db, "issued.db", (const uint8_t *)text, strlen(text), &good,
	    &d), MR_E_DB);
	assert_string_equal(d.msg, "issued.db: line 2 unreadable");
	snprintf(text, sizeof(text), "op=reserve serial=01 request=%064d cluster=a\n"
	    "op=issue serial=01 cert=%063d not_after=1\n", 0, 0);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_parse(&db, "issued.db", (const uint8_t *)text, strlen(text), &good,
	    &d), MR_E_DB);
	assert_string_equal(d.msg, "issued.db: line 2 unreadable");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lookups),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_bad_hash),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

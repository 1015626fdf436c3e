#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#include <cmocka.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include "mr_pointpool.h"

/* Small enough that the overflow test reaches its end; large enough for
 * one verification's two tables (2 x 257 points) and its temporaries. */
#define CAP 600

static size_t
in_use(void)
{
	size_t n, high;

	mr_pointpool_stats(&n, &high);
	return n;
}

static int
setup(void **state)
{
	(void)state;
	return mr_pointpool_install(CAP);
}

static long
minor_faults(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_minflt;
}

/* Whether this kernel populates on request (Linux 5.14 and later). */
static int
can_populate(void)
{
	size_t len = 4 * 4096;
	void *m = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	int ok;

	assert_true(m != MAP_FAILED);
	ok = madvise(m, len, MADV_POPULATE_WRITE) == 0;
	munmap(m, len);
	return ok;
}

/* First in the file: the region is untouched. Once prefaulted, taking
 * its first points costs no page fault; the points past them still fault
 * in as they are first used. */
static void
test_prefault(void **state)
{
	static ecc_point *p[300];
	long before;

	(void)state;
	if (!can_populate())
		skip();
	mr_pointpool_prefault(200);
	before = minor_faults();
	for (size_t i = 0; i < 200; i++)
		assert_non_null(p[i] = wc_ecc_new_point());
	/* 200 points are about 160 pages; a few faults may come from
	 * elsewhere (the test's own stack). */
	assert_true(minor_faults() - before < 10);
	before = minor_faults();
	for (size_t i = 200; i < 300; i++)
		assert_non_null(p[i] = wc_ecc_new_point());
	assert_true(minor_faults() - before > 50);
	for (size_t i = 0; i < 300; i++)
		wc_ecc_del_point(p[i]);
	assert_int_equal(in_use(), 0);
}

/* The block freed last is the one handed out next: its page is resident. */
static void
test_reuses_last_freed(void **state)
{
	ecc_point *p, *q;

	(void)state;
	p = wc_ecc_new_point();
	assert_non_null(p);
	assert_int_equal(in_use(), 1);
	wc_ecc_del_point(p);
	assert_int_equal(in_use(), 0);
	q = wc_ecc_new_point();
	assert_ptr_equal(p, q);
	wc_ecc_del_point(q);
}

/* A verification with a new key sets aside two tables of points in the
 * pool; wc_ecc_fp_free gives every one back. The signature still checks,
 * and a corrupted one still fails. */
static void
test_verification_tables_come_and_go(void **state)
{
	WC_RNG rng;
	ecc_key key;
	uint8_t hash[32], sig[80];
	word32 sig_len = sizeof(sig);
	int ok = 0;
	size_t n, high;

	(void)state;
	memset(hash, 0x5a, sizeof(hash));
	assert_int_equal(wc_InitRng(&rng), 0);
	assert_int_equal(wc_ecc_init(&key), 0);
	assert_int_equal(wc_ecc_make_key(&rng, 32, &key), 0);
	assert_int_equal(wc_ecc_sign_hash(hash, sizeof(hash), sig, &sig_len, &rng, &key), 0);
	wc_ecc_fp_free();
	assert_int_equal(in_use(), 0);
	assert_int_equal(wc_ecc_verify_hash(sig, sig_len, hash, sizeof(hash), &ok, &key), 0);
	assert_int_equal(ok, 1);
	mr_pointpool_stats(&n, &high);
#ifdef FP_ECC
	/* FP_LUT is 8 in wolfSSL's ecc.c (not in its public headers): a
	 * table is 2^8 points and its base. */
	assert_true(n >= 2 * 257);
#endif
	assert_true(high <= CAP);
	hash[0] ^= 1;
	assert_int_equal(wc_ecc_verify_hash(sig, sig_len, hash, sizeof(hash), &ok, &key), 0);
	assert_int_equal(ok, 0);
	wc_ecc_fp_free();
	assert_int_equal(in_use(), 0);
	wc_ecc_free(&key);
	wc_FreeRng(&rng);
}

/* Beyond the region, points come from malloc and are freed there. */
static void
test_overflow_goes_to_malloc(void **state)
{
	static ecc_point *p[CAP + 100];

	(void)state;
	for (size_t i = 0; i < CAP + 100; i++) {
		p[i] = wc_ecc_new_point();
		assert_non_null(p[i]);
		/* Every one usable: a point's coordinates are set and read. */
		assert_int_equal(mp_set(p[i]->x, (mp_digit)i), 0);
	}
	assert_int_equal(in_use(), CAP);
	for (size_t i = 0; i < CAP + 100; i++) {
		assert_true(mp_cmp_d(p[i]->x, (mp_digit)i) == MP_EQ);
		wc_ecc_del_point(p[i]);
	}
	assert_int_equal(in_use(), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefault),
		cmocka_unit_test(test_reuses_last_freed),
		cmocka_unit_test(test_verification_tables_come_and_go),
		cmocka_unit_test(test_overflow_goes_to_malloc),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}

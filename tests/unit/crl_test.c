#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mr_crl.h"
#include "mr_fingerprint.h"
#include "mr_tbs.h"

typedef struct {
	WC_RNG rng;
	ecc_key key;
	uint8_t spki[256];
	size_t spki_len;
	mr_spki parsed;
	uint8_t ski[20];
	uint8_t name_buf[256];
	mr_der name;
} signer;

static signer S;

static int
setup(void **state)
{
	mr_name_fields nf = { "DE", "Example", NULL, NULL, "Test Root" };
	int n;

	(void)state;
	if (wc_InitRng(&S.rng) != 0 || wc_ecc_init(&S.key) != 0 ||
	    wc_ecc_make_key_ex(&S.rng, 32, &S.key, ECC_SECP256R1) != 0)
		return -1;
	n = wc_EccPublicKeyToDer(&S.key, S.spki, sizeof(S.spki), 1);
	if (n <= 0)
		return -1;
	S.spki_len = (size_t)n;
	if (mr_spki_parse(mr_der_view(S.spki, S.spki_len), &S.parsed, NULL) != MR_OK)
		return -1;
	mr_spki_key_id(&S.parsed, S.ski);
	if (mr_name_build(&nf, S.name_buf, sizeof(S.name_buf), &S.name) != MR_OK)
		return -1;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	wc_ecc_free(&S.key);
	wc_FreeRng(&S.rng);
	return 0;
}

/* Builds and signs a CRL into out; returns its length. */
static size_t
make_crl(const mr_crl_entry *e, size_t n, unsigned long number, uint8_t *out, size_t cap)
{
	uint8_t tbs_buf[4096], digest[32], sig[128];
	word32 sig_len = sizeof(sig);
	mr_crl_params p;
	mr_der tbs, crl;

	memset(&p, 0, sizeof(p));
	p.sig_alg = MR_SIG_ECDSA_SHA256;
	p.issuer = S.name;
	p.this_update = 1767225600;               /* 2026-01-01 */
	p.next_update = 1767225600 + 30 * 86400;
	p.entries = e;
	p.n_entries = n;
	p.crl_number = number;
	p.aki = S.ski;
	assert_int_equal(mr_crl_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs), MR_OK);
	mr_fp_sha256(tbs.p, tbs.n, digest);
	assert_int_equal(wc_ecc_sign_hash(digest, 32, sig, &sig_len, &S.rng, &S.key), 0);
	assert_int_equal(mr_cert_assemble(tbs, p.sig_alg, sig, sig_len, out, cap, &crl), MR_OK);
	memmove(out, crl.p, crl.n);
	return crl.n;
}

/* memmem is a GNU extension: a plain search keeps the build portable. */
static const void *
find(const void *hay, size_t n, const void *needle, size_t m)
{
	const uint8_t *h = hay;

	for (size_t i = 0; m <= n && i <= n - m; i++)
		if (memcmp(h + i, needle, m) == 0)
			return h + i;
	return NULL;
}

static const uint8_t serial1[] = { 0x01, 0x02, 0x03 };
static const uint8_t serial2[] = { 0x7f, 0xff, 0x00, 0x10 };
static const uint8_t serial3[] = { 0x42 };

static void
test_roundtrip(void **state)
{
	mr_crl_entry e[3] = {
		{ serial1, sizeof(serial1), 1767000000, MR_CRL_REASON_KEY_COMPROMISE },
		{ serial2, sizeof(serial2), 1767100000, MR_CRL_REASON_UNSPECIFIED },
		{ serial3, sizeof(serial3), 1767200000, MR_CRL_REASON_SUPERSEDED },
	};
	uint8_t der[8192];
	size_t n = make_crl(e, 3, 7, der, sizeof(der));
	mr_crl c;
	mr_crl_revoked rv;
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_int_equal(mr_crl_parse(der, n, &c, &d), MR_OK);
	assert_int_equal(mr_crl_verify_signature(&c, &S.parsed, &d), MR_OK);
	assert_true(mr_der_equal(c.issuer, S.name));
	assert_int_equal(c.this_update, 1767225600);
	assert_true(c.has_next_update);
	assert_int_equal(c.next_update, 1767225600 + 30 * 86400);
	assert_int_equal(c.n_revoked, 3);
	assert_true(c.has_crl_number);
	assert_int_equal(c.crl_number, 7);
	assert_true(c.has_aki);
	assert_memory_equal(c.aki_key_id.p, S.ski, 20);
	assert_true(mr_crl_find(&c, mr_der_view(serial1, sizeof(serial1)), &rv));
	assert_int_equal(rv.reason, MR_CRL_REASON_KEY_COMPROMISE);
	assert_int_equal(rv.revoked_at, 1767000000);
	/* unspecified is written as no reasonCode at all (5.3.1). */
	assert_true(mr_crl_find(&c, mr_der_view(serial2, sizeof(serial2)), &rv));
	assert_int_equal(rv.reason, -1);
	assert_true(mr_crl_find(&c, mr_der_view(serial3, sizeof(serial3)), &rv));
	assert_int_equal(rv.reason, MR_CRL_REASON_SUPERSEDED);
	{
		static const uint8_t other[] = { 0x01, 0x02 };
		assert_false(mr_crl_find(&c, mr_der_view(other, sizeof(other)), NULL));
	}
}

static void
test_empty_list_absent(void **state)
{
	uint8_t der[4096];
	size_t n = make_crl(NULL, 0, 1, der, sizeof(der));
	mr_crl c;
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_int_equal(mr_crl_parse(der, n, &c, &d), MR_OK);
	assert_int_equal(c.n_revoked, 0);
	assert_int_equal(c.revoked.n, 0);
	assert_int_equal(mr_crl_verify_signature(&c, &S.parsed, &d), MR_OK);
}

static void
test_known_encoding(void **state)
{
	/* The tbs prefix: SEQUENCE, INTEGER 1 (v2), then the ecdsa-with-SHA256
	 * AlgorithmIdentifier without parameters. */
	static const uint8_t v2_alg[] = { 0x02, 0x01, 0x01, 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86,
		0x48, 0xce, 0x3d, 0x04, 0x03, 0x02 };
	/* Entry extension reasonCode keyCompromise:
	 * 30 0c 30 0a 06 03 55 1d 15 04 03 0a 01 01 */
	static const uint8_t reason[] = { 0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15,
		0x04, 0x03, 0x0a, 0x01, 0x01 };
	/* cRLNumber 7: 30 0a 06 03 55 1d 14 04 03 02 01 07 */
	static const uint8_t number[] = { 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x14, 0x04, 0x03,
		0x02, 0x01, 0x07 };
	mr_crl_entry e = { serial1, sizeof(serial1), 1767000000, MR_CRL_REASON_KEY_COMPROMISE };
	uint8_t der[4096];
	size_t n = make_crl(&e, 1, 7, der, sizeof(der));
	mr_crl c;

	(void)state;
	assert_int_equal(mr_crl_parse(der, n, &c, NULL), MR_OK);
	assert_true(c.tbs.n > 4 + sizeof(v2_alg));
	/* tbs header is 30 81 xx or 30 82 xx xx: find the version after it. */
	assert_non_null(find(c.tbs.p, 8 + sizeof(v2_alg), v2_alg, sizeof(v2_alg)));
	assert_non_null(find(c.tbs.p, c.tbs.n, reason, sizeof(reason)));
	assert_non_null(find(c.tbs.p, c.tbs.n, number, sizeof(number)));
}

static void
test_bad_params(void **state)
{
	uint8_t buf[4096];
	mr_der out;
	mr_crl_params p;
	static const uint8_t neg[] = { 0x80 };
	mr_crl_entry e = { serial1, sizeof(serial1), 1, MR_CRL_REASON_CERTIFICATE_HOLD };

	(void)state;
	memset(&p, 0, sizeof(p));
	p.sig_alg = MR_SIG_ECDSA_SHA256;
	p.issuer = S.name;
	p.this_update = 100;
	p.next_update = 100;
	p.aki = S.ski;
	assert_int_equal(mr_crl_tbs_build(&p, buf, sizeof(buf), &out), MR_E_ARG);
	p.next_update = 200;
	assert_int_equal(mr_crl_tbs_build(&p, buf, sizeof(buf), &out), MR_OK);
	p.entries = &e;
	p.n_entries = 1;
	assert_int_equal(mr_crl_tbs_build(&p, buf, sizeof(buf), &out), MR_E_ARG);
	e.reason = MR_CRL_REASON_KEY_COMPROMISE;
	e.serial = neg;
	e.serial_len = 1;
	assert_int_equal(mr_crl_tbs_build(&p, buf, sizeof(buf), &out), MR_E_ARG);
	e.serial = serial1;
	e.serial_len = sizeof(serial1);
	assert_int_equal(mr_crl_tbs_build(&p, buf, 40, &out), MR_E_RANGE);
	p.aki = NULL;
	assert_int_equal(mr_crl_tbs_build(&p, buf, sizeof(buf), &out), MR_E_ARG);
}

static void
test_reasons(void **state)
{
	int r = -1;

	(void)state;
	assert_int_equal(mr_crl_reason_parse("keyCompromise", &r), MR_OK);
	assert_int_equal(r, 1);
	assert_int_equal(mr_crl_reason_parse("SUPERSEDED", &r), MR_OK);
	assert_int_equal(r, 4);
	assert_int_equal(mr_crl_reason_parse("cessationOfOperation", &r), MR_OK);
	assert_int_equal(r, 5);
	assert_int_equal(mr_crl_reason_parse("certificateHold", &r), MR_E_ARG);
	assert_int_equal(mr_crl_reason_parse("removeFromCRL", &r), MR_E_ARG);
	assert_int_equal(mr_crl_reason_parse("stolen", &r), MR_E_ARG);
	assert_string_equal(mr_crl_reason_name(10), "aACompromise");
	assert_null(mr_crl_reason_name(7));
}

static void
test_flips_and_truncations(void **state)
{
	mr_crl_entry e[2] = {
		{ serial1, sizeof(serial1), 1767000000, MR_CRL_REASON_KEY_COMPROMISE },
		{ serial3, sizeof(serial3), 1767200000, MR_CRL_REASON_UNSPECIFIED },
	};
	uint8_t der[4096], bad[4096];
	size_t n = make_crl(e, 2, 3, der, sizeof(der));
	mr_crl c;

	(void)state;
	for (size_t cut = 0; cut < n; cut++)
		assert_int_not_equal(mr_crl_parse(der, cut, &c, NULL), MR_OK);
	/* Every single-bit flip either fails to parse or fails to verify,
	 * except in the ECDSA signature's INTEGER encodings where a flip
	 * still fails verification. */
	for (size_t bit = 0; bit < n * 8; bit++) {
		memcpy(bad, der, n);
		bad[bit / 8] = (uint8_t)(bad[bit / 8] ^ (1u << (bit % 8)));
		if (mr_crl_parse(bad, n, &c, NULL) == MR_OK)
			assert_int_not_equal(mr_crl_verify_signature(&c, &S.parsed, NULL), MR_OK);
	}
}

static void
test_trailing(void **state)
{
	/* Trailing bytes after the CertificateList are refused. */
	uint8_t der[4096];
	size_t n = make_crl(NULL, 0, 1, der, sizeof(der));
	mr_crl c;
	mr_diag d;

	(void)state;
	der[n] = 0;
	mr_diag_clear(&d);
	assert_int_equal(mr_crl_parse(der, n + 1, &c, &d), MR_E_DER);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_empty_list_absent),
		cmocka_unit_test(test_known_encoding),
		cmocka_unit_test(test_bad_params),
		cmocka_unit_test(test_reasons),
		cmocka_unit_test(test_flips_and_truncations),
		cmocka_unit_test(test_trailing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}

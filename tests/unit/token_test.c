/*
 * The token layer against a real SoftHSM2 token made for this run in a
 * fresh directory. Signatures are checked twice, independently of the code
 * under test: with wolfCrypt in software from the SPKI, and with openssl.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "mr_token.h"
#include "token_spki.h"

#define SOFTHSM "/usr/lib/softhsm/libsofthsm2.so"
/* MESHROOT_TEST_PKCS11_MODULE may name another module, e.g. OpenSC's
 * pkcs11-spy.so with PKCS11SPY=SOFTHSM to log every call. */
#define MODULE module()
#define TOKEN "meshroot-test"
#define PIN "1234"

static struct {
	char dir[64];
	mr_token *t; /* TOKEN, logged in by the tests that need it */
} g;

static const char *
module(void)
{
	const char *m = getenv("MESHROOT_TEST_PKCS11_MODULE");

	return m != NULL && m[0] != '\0' ? m : SOFTHSM;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int
run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int st;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	st = system(cmd);
	if (st == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
write_file(const char *path, const void *buf, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, n, f), n);
	assert_int_equal(fclose(f), 0);
}

static int
file_contains(const char *path, const char *needle)
{
	char buf[4096];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (f == NULL)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	return strstr(buf, needle) != NULL;
}

static int
init_token(const char *label)
{
	return run("softhsm2-util --init-token --free --label %s --pin " PIN
	    " --so-pin 5678 >%s/init.log 2>&1", label, g.dir);
}

static int
group_setup(void **state)
{
	char path[128];
	FILE *f;

	(void)state;
	snprintf(g.dir, sizeof(g.dir), "/tmp/mr-token-test.XXXXXX");
	if (mkdtemp(g.dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/tokens", g.dir);
	if (mkdir(path, 0700) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/softhsm2.conf", g.dir);
	if ((f = fopen(path, "w")) == NULL)
		return -1;
	fprintf(f, "directories.tokendir = %s/tokens\nobjectstore.backend = file\n"
	    "log.level = ERROR\n", g.dir);
	fclose(f);
	setenv("SOFTHSM2_CONF", path, 1);
	/* meshroot-pin has its own login state, so the PIN tests do not
	 * depend on whether TOKEN is logged in yet; meshroot-dup exists twice. */
	if (init_token(TOKEN) != 0 || init_token("meshroot-pin") != 0 ||
	    init_token("meshroot-dup") != 0 || init_token("meshroot-dup") != 0)
		return -1;
	if (wolfCrypt_Init() != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	mr_token_close(g.t);
	g.t = NULL;
	wolfCrypt_Cleanup();
	if (g.dir[0] != '\0')
		(void)run("rm -rf %s", g.dir);
	return 0;
}

static mr_token *
token(void)
{
	mr_diag d = { "" };

	if (g.t == NULL)
		assert_int_equal(mr_token_open(&g.t, MODULE, TOKEN, &d), MR_OK);
	return g.t;
}

static mr_token *
logged_in(void)
{
	mr_diag d = { "" };

	assert_int_equal(mr_token_login(token(), PIN, strlen(PIN), &d), MR_OK);
	return g.t;
}

static void
ensure_key(const char *label, mr_key_type type)
{
	mr_diag d = { "" };
	mr_token *t = logged_in();

	if (mr_token_find(t, label, &d) == MR_OK)
		return;
	mr_diag_clear(&d);
	assert_int_equal(mr_token_generate(t, label, type, &d), MR_OK);
}

static void
test_open_by_label(void **state)
{
	char label[33], serial[17];
	mr_diag d = { "" };

	(void)state;
	assert_int_equal(mr_token_info(token(), label, serial, &d), MR_OK);
	assert_string_equal(label, TOKEN);
	assert_true(strlen(serial) > 0);
	assert_null(strchr(serial, ' '));
}

static void
test_open_by_uri(void **state)
{
	char label[33], serial[17], label2[33], serial2[17], uri[160];
	mr_token *t = NULL;
	mr_diag d = { "" };

	(void)state;
	assert_int_equal(mr_token_info(token(), label, serial, &d), MR_OK);

	assert_int_equal(mr_token_open(&t, MODULE, "pkcs11:token=" TOKEN, &d), MR_OK);
	assert_int_equal(mr_token_info(t, label2, serial2, &d), MR_OK);
	assert_string_equal(label2, TOKEN);
	assert_string_equal(serial2, serial);
	mr_token_close(t);

	/* meshroot-dup exists twice: the serial picks one */
	snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN ";serial=%s", serial);
	assert_int_equal(mr_token_open(&t, MODULE, uri, &d), MR_OK);
	mr_token_close(t);

	t = NULL;
	assert_int_equal(mr_token_open(&t, MODULE, "pkcs11:token=" TOKEN ";serial=0000", &d),
	    MR_E_TOKEN);
	assert_null(t);
	assert_non_null(strstr(d.msg, "serial=0000"));

	/* a URI naming an object does not select a token */
	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, MODULE, "pkcs11:token=" TOKEN ";object=k", &d),
	    MR_E_ARG);

	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, MODULE, "pkcs11:token=" TOKEN
	    "?module-path=/nonexistent/libx.so", &d), MR_E_ARG);
	assert_non_null(strstr(d.msg, "module-path"));

	mr_diag_clear(&d);
	snprintf(uri, sizeof(uri), "pkcs11:token=" TOKEN "?module-path=%s", MODULE);
	assert_int_equal(mr_token_open(&t, MODULE, uri, &d), MR_OK);
	mr_token_close(t);
	t = NULL;

	/* a PIN in the selector is refused and never echoed */
	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, MODULE, "pkcs11:token=" TOKEN "?pin-value=98765", &d),
	    MR_E_ARG);
	assert_null(strstr(d.msg, "98765"));
	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, MODULE, "pkcs11:token=%ZZ?pin-value=98765", &d),
	    MR_E_ARG);
	assert_null(strstr(d.msg, "98765"));
}

static void
test_open_errors(void **state)
{
	mr_token *t = NULL;
	mr_diag d = { "" };

	(void)state;
	assert_int_equal(mr_token_open(&t, MODULE, "no-such-token", &d), MR_E_TOKEN);
	assert_null(t);
	/* The labels present are listed: a typo shows at once. */
	assert_non_null(strstr(d.msg, "no token labelled \"no-such-token\" (found: "));
	assert_non_null(strstr(d.msg, TOKEN));

	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, MODULE, "meshroot-dup", &d), MR_E_DUPLICATE);
	assert_non_null(strstr(d.msg, "2 tokens match 'meshroot-dup'"));

	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, "/nonexistent/libpkcs11.so", TOKEN, &d), MR_E_TOKEN);
	assert_non_null(strstr(d.msg, "dlopen"));

	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, MODULE, "", &d), MR_E_ARG);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_open(&t, MODULE, "a-label-that-is-longer-than-32-bytes", &d),
	    MR_E_ARG);
}

static void
test_pin(void **state)
{
	char longpin[200];
	mr_token *t = NULL;
	mr_diag d = { "" };

	(void)state;
	assert_int_equal(mr_token_open(&t, MODULE, "meshroot-pin", &d), MR_OK);

	/* not logged in: generation is refused before the token is asked */
	assert_int_equal(mr_token_generate(t, "k", MR_KEY_EC_P256, &d), MR_E_PIN);
	assert_non_null(strstr(d.msg, "not logged in"));

	mr_diag_clear(&d);
	assert_int_equal(mr_token_login(t, "0000", 4, &d), MR_E_PIN);
	assert_string_equal(d.msg, "C_Login: CKR_PIN_INCORRECT");

	mr_diag_clear(&d);
	assert_int_equal(mr_token_login(t, "", 0, &d), MR_E_PIN);
	mr_diag_clear(&d);
	memset(longpin, '1', sizeof(longpin));
	assert_int_equal(mr_token_login(t, longpin, sizeof(longpin), &d), MR_E_PIN);

	mr_diag_clear(&d);
	assert_int_equal(mr_token_login(t, PIN, strlen(PIN), &d), MR_OK);
	assert_int_equal(mr_token_login(t, PIN, strlen(PIN), &d), MR_OK); /* no-op */
	mr_token_close(t);
}

static void
test_random(void **state)
{
	uint8_t a[32], b[32], zero[32] = { 0 };
	mr_diag d = { "" };

	(void)state;
	assert_int_equal(mr_token_random(token(), a, sizeof(a), &d), MR_OK);
	assert_int_equal(mr_token_random(token(), b, sizeof(b), &d), MR_OK);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_memory_not_equal(a, zero, sizeof(a));
	assert_int_equal(mr_token_random(token(), a, 0, &d), MR_OK);
}

static void
gen_timed(const char *label, mr_key_type type, double *ms)
{
	mr_diag d = { "" };
	double t0 = now_ms();
	int r = mr_token_generate(logged_in(), label, type, &d);

	*ms = now_ms() - t0;
	if (r != MR_OK)
		print_error("generate %s: %s\n", label, mr_diag_text(&d, r));
	assert_int_equal(r, MR_OK);
	print_message("  keygen %-8s %8.1f ms\n", mr_key_type_name(type), *ms);
}

static void
test_generate(void **state)
{
	char label65[66];
	mr_diag d = { "" };
	double ms;

	(void)state;
	gen_timed("k-p256", MR_KEY_EC_P256, &ms);
	gen_timed("k-p384", MR_KEY_EC_P384, &ms);
	gen_timed("k-rsa3072", MR_KEY_RSA_3072, &ms);
	/* 0.3 to 2 s on SoftHSM (prime search): worth it for the largest type */
	gen_timed("k-rsa4096", MR_KEY_RSA_4096, &ms);

	assert_int_equal(mr_token_find(g.t, "k-p256", &d), MR_OK);
	assert_int_equal(mr_token_find(g.t, "k-rsa3072", &d), MR_OK);
	assert_int_equal(mr_token_find(g.t, "k-nope", &d), MR_E_NOTFOUND);
	assert_non_null(strstr(d.msg, "k-nope"));

	/* the label is taken whatever the key type */
	mr_diag_clear(&d);
	assert_int_equal(mr_token_generate(g.t, "k-p256", MR_KEY_RSA_3072, &d), MR_E_EXISTS);
	assert_non_null(strstr(d.msg, "k-p256"));
	mr_diag_clear(&d);
	assert_int_equal(mr_token_generate(g.t, "k-p384", MR_KEY_EC_P384, &d), MR_E_EXISTS);

	/* a fresh handle finds what another one generated */
	{
		mr_token *t2 = NULL;

		assert_int_equal(mr_token_open(&t2, MODULE, TOKEN, &d), MR_OK);
		assert_int_equal(mr_token_login(t2, PIN, strlen(PIN), &d), MR_OK);
		assert_int_equal(mr_token_find(t2, "k-p384", &d), MR_OK);
		mr_diag_clear(&d);
		assert_int_equal(mr_token_generate(t2, "k-p384", MR_KEY_EC_P384, &d), MR_E_EXISTS);
		mr_token_close(t2);
	}
	/* closing t2 did not log g.t out (t2's login was not its own) */
	mr_diag_clear(&d);
	assert_int_equal(mr_token_find(g.t, "k-nope2", &d), MR_E_NOTFOUND);
	assert_null(strstr(d.msg, "not logged in"));

	mr_diag_clear(&d);
	assert_int_equal(mr_token_generate(g.t, "k", MR_KEY_UNKNOWN, &d), MR_E_ARG);
	memset(label65, 'x', sizeof(label65) - 1);
	label65[sizeof(label65) - 1] = '\0';
	mr_diag_clear(&d);
	assert_int_equal(mr_token_generate(g.t, label65, MR_KEY_EC_P256, &d), MR_E_ARG);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_generate(g.t, "", MR_KEY_EC_P256, &d), MR_E_ARG);
}

static void
check_attrs(const char *label)
{
	mr_token_key_attrs a;
	mr_diag d = { "" };

	assert_int_equal(mr_token_key_attributes(logged_in(), label, &a, &d), MR_OK);
	assert_int_equal(a.token, 1);
	assert_int_equal(a.private_, 1);
	assert_int_equal(a.sensitive, 1);
	assert_int_equal(a.extractable, 0);
	assert_int_equal(a.always_sensitive, 1);
	assert_int_equal(a.never_extractable, 1);
	assert_int_equal(a.sign, 1);
	assert_int_equal(a.decrypt, 0);
	assert_int_equal(a.unwrap, 0);
	assert_int_equal(a.derive, 0);
}

static void
test_attributes(void **state)
{
	(void)state;
	ensure_key("k-p256", MR_KEY_EC_P256);
	ensure_key("k-rsa3072", MR_KEY_RSA_3072);
	check_attrs("k-p256");
	check_attrs("k-p384");
	check_attrs("k-rsa3072");
}

/* Software verification that shares nothing with token_device.c. */
static int
sw_verify(const uint8_t *spki, size_t spki_len, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t sig_len)
{
	word32 idx = 0;
	int ok = 0;
	ecc_key ec;
	RsaKey rsa;

	wc_ecc_init_ex(&ec, NULL, INVALID_DEVID);
	if (wc_EccPublicKeyDecode(spki, &idx, &ec, (word32)spki_len) == 0) {
		int res = 0;

		ok = wc_ecc_verify_hash(sig, (word32)sig_len, digest, (word32)dlen, &res, &ec) == 0 &&
		    res == 1;
		wc_ecc_free(&ec);
		return ok;
	}
	wc_ecc_free(&ec);
	idx = 0;
	wc_InitRsaKey_ex(&rsa, NULL, INVALID_DEVID);
	if (wc_RsaPublicKeyDecode(spki, &idx, &rsa, (word32)spki_len) == 0) {
		uint8_t di[128], out[512];
		word32 di_len = wc_EncodeSignature(di, digest, (word32)dlen,
		    wc_HashGetOID(dlen == 32 ? WC_HASH_TYPE_SHA256 : WC_HASH_TYPE_SHA384));
		int n = wc_RsaSSL_Verify(sig, (word32)sig_len, out, sizeof(out), &rsa);

		ok = n > 0 && (word32)n == di_len && memcmp(out, di, di_len) == 0;
	}
	wc_FreeRsaKey(&rsa);
	return ok;
}

/* 0 when `openssl pkeyutl -verify` accepts the signature. */
static int
openssl_verify(const uint8_t *spki, size_t spki_len, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t sig_len)
{
	uint8_t pem[2048];
	char p_pem[128], p_dgst[128], p_sig[128], p_out[128];
	int n = wc_DerToPem(spki, (word32)spki_len, pem, sizeof(pem), PUBLICKEY_TYPE);
	int st;

	assert_true(n > 0);
	snprintf(p_pem, sizeof(p_pem), "%s/pub.pem", g.dir);
	snprintf(p_dgst, sizeof(p_dgst), "%s/dgst.bin", g.dir);
	snprintf(p_sig, sizeof(p_sig), "%s/sig.bin", g.dir);
	snprintf(p_out, sizeof(p_out), "%s/openssl.out", g.dir);
	write_file(p_pem, pem, (size_t)n);
	write_file(p_dgst, digest, dlen);
	write_file(p_sig, sig, sig_len);
	st = run("openssl pkeyutl -verify -pubin -inkey %s -in %s -sigfile %s "
	    "-pkeyopt digest:%s >%s 2>&1", p_pem, p_dgst, p_sig, dlen == 32 ? "sha256" : "sha384",
	    p_out);
	if (st == 0 && !file_contains(p_out, "Signature Verified Successfully"))
		st = 99;
	return st;
}

static void
sign_case(const char *label, mr_key_type type, int dev_id)
{
	uint8_t spki[1024], sig[1024], msg[100], digest[WC_SHA384_DIGEST_SIZE];
	size_t spki_len, sig_len, dlen;
	mr_key_type got;
	mr_diag d = { "" };
	double t0, ms = 0;
	int r, i, n = 0;

	ensure_key(label, type);
	assert_int_equal(mr_token_public_key(g.t, label, spki, sizeof(spki), &spki_len, &got, &d),
	    MR_OK);
	assert_int_equal(got, type);
	r = mr_token_device_register(g.t, dev_id, label, &d);
	assert_int_equal(r, MR_OK);
	assert_int_equal(mr_token_device_register(g.t, dev_id, label, &d), MR_E_EXISTS);

	for (i = 0; i < 2; i++) {
		dlen = i == 0 ? WC_SHA256_DIGEST_SIZE : WC_SHA384_DIGEST_SIZE;
		mr_diag_clear(&d);
		assert_int_equal(mr_token_random(g.t, msg, sizeof(msg), &d), MR_OK);
		if (dlen == WC_SHA256_DIGEST_SIZE)
			assert_int_equal(wc_Sha256Hash(msg, sizeof(msg), digest), 0);
		else
			assert_int_equal(wc_Sha384Hash(msg, sizeof(msg), digest), 0);

		t0 = now_ms();
		r = mr_token_device_sign_digest(dev_id, spki, spki_len, digest, dlen, sig,
		    sizeof(sig), &sig_len, &d);
		ms += now_ms() - t0;
		n++;
		if (r != MR_OK)
			print_error("sign %s: %s\n", label, mr_diag_text(&d, r));
		assert_int_equal(r, MR_OK);
		if (!mr_key_type_is_ec(type))
			assert_int_equal(sig_len, mr_key_type_bits(type) / 8);
		assert_true(sw_verify(spki, spki_len, digest, dlen, sig, sig_len));
		assert_int_equal(openssl_verify(spki, spki_len, digest, dlen, sig, sig_len), 0);

		/* both checks can fail */
		digest[0] ^= 1;
		assert_false(sw_verify(spki, spki_len, digest, dlen, sig, sig_len));
		if (i == 0)
			assert_int_not_equal(openssl_verify(spki, spki_len, digest, dlen, sig,
			    sig_len), 0);
		digest[0] ^= 1;
		sig[sig_len - 1] ^= 1;
		assert_false(sw_verify(spki, spki_len, digest, dlen, sig, sig_len));
	}
	for (i = 0; i < 8; i++) {
		t0 = now_ms();
		r = mr_token_device_sign_digest(dev_id, spki, spki_len, digest, dlen, sig,
		    sizeof(sig), &sig_len, &d);
		ms += now_ms() - t0;
		n++;
		assert_int_equal(r, MR_OK);
	}
	print_message("  sign+verify %-8s %6.2f ms (mean of %d)\n", mr_key_type_name(type),
	    ms / n, n);

	/* wrong digest size, small buffer */
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_sign_digest(dev_id, spki, spki_len, digest, 20, sig,
	    sizeof(sig), &sig_len, &d), MR_E_ARG);
	mr_diag_clear(&d);
	r = mr_token_device_sign_digest(dev_id, spki, spki_len, digest, dlen, sig, 16, &sig_len,
	    &d);
	assert_true(r != MR_OK);
	mr_token_device_unregister(dev_id);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_sign_digest(dev_id, spki, spki_len, digest, dlen, sig,
	    sizeof(sig), &sig_len, &d), MR_E_ARG);
}

static void
test_sign_p256(void **state)
{
	(void)state;
	sign_case("k-p256", MR_KEY_EC_P256, 0x4d5201);
}

static void
test_sign_p384(void **state)
{
	(void)state;
	sign_case("k-p384", MR_KEY_EC_P384, 0x4d5202);
}

static void
test_sign_rsa3072(void **state)
{
	(void)state;
	sign_case("k-rsa3072", MR_KEY_RSA_3072, 0x4d5203);
}

static void
test_sign_rsa4096(void **state)
{
	(void)state;
	sign_case("k-rsa4096", MR_KEY_RSA_4096, 0x4d5204);
}

static void
test_token_sign_raw(void **state)
{
	uint8_t digest[48] = { 1, 2, 3 }, sig[512];
	size_t sig_len = 0;
	mr_diag d = { "" };

	(void)state;
	ensure_key("k-p384", MR_KEY_EC_P384);
	ensure_key("k-rsa3072", MR_KEY_RSA_3072);
	assert_int_equal(mr_token_sign(g.t, "k-p384", digest, 48, sig, sizeof(sig), &sig_len, &d),
	    MR_OK);
	assert_int_equal(sig_len, 96); /* r||s */
	assert_int_equal(mr_token_sign(g.t, "k-p384", digest, 48, sig, 95, &sig_len, &d),
	    MR_E_RANGE);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_sign(g.t, "k-rsa3072", digest, 48, sig, sizeof(sig), &sig_len,
	    &d), MR_OK);
	assert_int_equal(sig_len, 384);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_sign(g.t, "k-rsa3072", sig, 380, sig, sizeof(sig), &sig_len,
	    &d), MR_E_ARG);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_sign(g.t, "k-none", digest, 48, sig, sizeof(sig), &sig_len, &d),
	    MR_E_NOTFOUND);
}

/* An ECDSA signature from mr_token_sign (r || s) checked in software. */
static int
raw_ecdsa_ok(const uint8_t *spki, size_t spki_len, const uint8_t *digest, size_t dlen,
    const uint8_t *sig, size_t sig_len)
{
	uint8_t der[160];
	word32 der_len = sizeof(der);

	if (wc_ecc_rs_raw_to_sig(sig, (word32)sig_len / 2, sig + sig_len / 2, (word32)sig_len / 2,
		der, &der_len) != 0)
		return 0;
	return sw_verify(spki, spki_len, digest, dlen, der, der_len);
}

#define SHARED_MAX 20000 /* the signer's signatures at most: ~15 s */

typedef struct {
	const uint8_t *spki;
	size_t spki_len;
	atomic_int stop, signed_n, bad;
} shared_signer;

/* As a batch's token thread: P-384 signatures back to back until told,
 * every 16th checked in software (more would leave the token idle). */
static void *
shared_sign_loop(void *arg)
{
	shared_signer *s = arg;
	uint8_t digest[48], sig[128];
	size_t sig_len;
	mr_diag d = { "" };
	int n;

	while (!atomic_load(&s->stop) && (n = atomic_load(&s->signed_n)) < SHARED_MAX) {
		memset(digest, 0, sizeof(digest));
		memcpy(digest, &n, sizeof(n));
		if (mr_token_sign(g.t, "k-p384", digest, sizeof(digest), sig, sizeof(sig), &sig_len,
			&d) != MR_OK ||
		    (n % 16 == 0 && !raw_ecdsa_ok(s->spki, s->spki_len, digest, sizeof(digest), sig,
			sig_len)))
			atomic_fetch_add(&s->bad, 1);
		atomic_fetch_add(&s->signed_n, 1);
	}
	wc_ecc_fp_free(); /* this thread's point tables (FP_ECC) */
	return NULL;
}

/*
 * One session shared by two threads, as a batch shares it: while one
 * thread signs back to back, the other draws random bytes and signs with
 * another key. Each call gets its own result (the other's key, digest or
 * buffer never), and the second thread is served while the first goes on
 * signing, not only once it stops.
 */
static void
test_shared_calls(void **state)
{
	uint8_t spki384[1024], spki256[1024], digest[32], sig[128], a[16], b[16];
	size_t l384 = 0, l256 = 0, sig_len = 0;
	mr_key_type type;
	mr_diag d = { "" };
	shared_signer s;
	pthread_t th;
	int before, during;

	(void)state;
	ensure_key("k-p384", MR_KEY_EC_P384);
	ensure_key("k-p256", MR_KEY_EC_P256);
	assert_int_equal(mr_token_public_key(g.t, "k-p384", spki384, sizeof(spki384), &l384, &type,
	    &d), MR_OK);
	assert_int_equal(mr_token_public_key(g.t, "k-p256", spki256, sizeof(spki256), &l256, &type,
	    &d), MR_OK);
	memset(&s, 0, sizeof(s));
	atomic_init(&s.stop, 0);
	atomic_init(&s.signed_n, 0);
	atomic_init(&s.bad, 0);
	s.spki = spki384;
	s.spki_len = l384;
	assert_int_equal(pthread_create(&th, NULL, shared_sign_loop, &s), 0);
	/* The signer under way first, with its first check's tables built. */
	while (atomic_load(&s.signed_n) < 20)
		usleep(1000);
	before = atomic_load(&s.signed_n);
	memset(b, 0, sizeof(b));
	for (int i = 0; i < 40; i++) {
		assert_int_equal(mr_token_random(g.t, a, sizeof(a), &d), MR_OK);
		assert_memory_not_equal(a, b, sizeof(a));
		memcpy(b, a, sizeof(a));
		memset(digest, 0xa5, sizeof(digest));
		digest[0] = (uint8_t)i;
		assert_int_equal(mr_token_sign(g.t, "k-p256", digest, sizeof(digest), sig, sizeof(sig),
		    &sig_len, &d), MR_OK);
		assert_int_equal(sig_len, 64);
		assert_true(raw_ecdsa_ok(spki256, l256, digest, sizeof(digest), sig, sig_len));
	}
	during = atomic_load(&s.signed_n) - before;
	atomic_store(&s.stop, 1);
	pthread_join(th, NULL);
	print_message("  shared session: 40 draws and signatures beside %d P-384 signatures\n",
	    during);
	assert_int_equal(atomic_load(&s.bad), 0);
	/* Served while the signer went on, not once it stopped at its cap. */
	assert_true(during > 0);
	assert_true(atomic_load(&s.signed_n) < SHARED_MAX);
}

static void
test_device_failures(void **state)
{
	uint8_t spki_a[256], spki_rsa[1024], digest[32] = { 7 }, sig[1024], out[512];
	uint8_t hello[] = "hello";
	size_t spki_a_len, spki_rsa_len, sig_len;
	mr_key_type type;
	mr_diag d = { "" };
	RsaKey rsa;
	WC_RNG rng;
	word32 idx = 0;
	int ret;

	(void)state;
	ensure_key("k-p256", MR_KEY_EC_P256);
	ensure_key("k-p256-other", MR_KEY_EC_P256);
	ensure_key("k-rsa3072", MR_KEY_RSA_3072);
	assert_int_equal(mr_token_public_key(g.t, "k-p256-other", spki_a, sizeof(spki_a),
	    &spki_a_len, &type, &d), MR_OK);
	assert_int_equal(mr_token_public_key(g.t, "k-rsa3072", spki_rsa, sizeof(spki_rsa),
	    &spki_rsa_len, &type, &d), MR_OK);

	/* the token key is not the one of the SPKI: caught by the verify */
	assert_int_equal(mr_token_device_register(g.t, 0x4d5210, "k-p256", &d), MR_OK);
	assert_int_equal(mr_token_device_sign_digest(0x4d5210, spki_a, spki_a_len, digest, 32,
	    sig, sizeof(sig), &sig_len, &d), MR_E_SIG);
	/* an EC token key behind an RSA SPKI */
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_sign_digest(0x4d5210, spki_rsa, spki_rsa_len, digest, 32,
	    sig, sizeof(sig), &sig_len, &d), MR_E_KEY_MISMATCH);
	mr_token_device_unregister(0x4d5210);

	/* a missing key keeps its token diag through wolfSSL */
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_register(g.t, 0x4d5211, "no-such-key", &d), MR_OK);
	assert_int_equal(mr_token_device_sign_digest(0x4d5211, spki_a, spki_a_len, digest, 32,
	    sig, sizeof(sig), &sig_len, &d), MR_E_NOTFOUND);
	assert_non_null(strstr(d.msg, "no-such-key"));
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_diag(0x4d5211, &d), MR_E_NOTFOUND);
	mr_token_device_unregister(0x4d5211);

	/* the RSA device signs DigestInfos only, and never decrypts */
	assert_int_equal(mr_token_device_register(g.t, 0x4d5212, "k-rsa3072", &d), MR_OK);
	assert_int_equal(wc_InitRng(&rng), 0);
	assert_int_equal(wc_InitRsaKey_ex(&rsa, NULL, 0x4d5212), 0);
	assert_int_equal(wc_RsaPublicKeyDecode(spki_rsa, &idx, &rsa, (word32)spki_rsa_len), 0);
	ret = wc_RsaSSL_Sign(hello, sizeof(hello), sig, sizeof(sig), &rsa, &rng);
	assert_true(ret < 0);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_diag(0x4d5212, &d), MR_E_ARG);
	assert_non_null(strstr(d.msg, "DigestInfo"));
	memset(sig, 0x42, 384);
	ret = wc_RsaPrivateDecrypt(sig, 384, out, sizeof(out), &rsa);
	assert_true(ret < 0);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_diag(0x4d5212, &d), MR_E_POLICY);
	wc_FreeRsaKey(&rsa);
	wc_FreeRng(&rng);
	mr_token_device_unregister(0x4d5212);

	/* the SPKI must be one whole EC or RSA SubjectPublicKeyInfo */
	assert_int_equal(mr_token_device_register(g.t, 0x4d5213, "k-p256-other", &d), MR_OK);
	assert_int_equal(mr_token_device_sign_digest(0x4d5213, spki_a, spki_a_len, digest, 32,
	    sig, sizeof(sig), &sig_len, &d), MR_OK);
	assert_int_equal(mr_token_device_sign_digest(0x4d5213, spki_a, spki_a_len - 1, digest, 32,
	    sig, sizeof(sig), &sig_len, &d), MR_E_DER);
	spki_a[spki_a_len] = 0;
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_sign_digest(0x4d5213, spki_a, spki_a_len + 1, digest, 32,
	    sig, sizeof(sig), &sig_len, &d), MR_E_DER);
	memset(spki_a, 0x30, 64);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_sign_digest(0x4d5213, spki_a, 64, digest, 32,
	    sig, sizeof(sig), &sig_len, &d), MR_E_DER);
	mr_token_device_unregister(0x4d5213);

	mr_diag_clear(&d);
	assert_int_equal(mr_token_device_register(g.t, INVALID_DEVID, "k-p256", &d), MR_E_ARG);
}

static void
test_spki_ec_point_forms(void **state)
{
	uint8_t spki[256], out[256], pt[2 + 65];
	size_t spki_len, out_len;
	mr_key_type type;
	mr_diag d = { "" };

	(void)state;
	ensure_key("k-p256", MR_KEY_EC_P256);
	assert_int_equal(mr_token_public_key(g.t, "k-p256", spki, sizeof(spki), &spki_len, &type,
	    &d), MR_OK);
	/* 91 bytes: the BIT STRING of a named-curve P-256 SPKI ends in 04||X||Y */
	assert_int_equal(spki_len, 91);
	assert_int_equal(spki[spki_len - 65], 0x04);

	/* bare (as some HSMs return it) */
	assert_int_equal(mr_token_spki_ec(MR_KEY_EC_P256, spki + spki_len - 65, 65, out,
	    sizeof(out), &out_len, &d), MR_OK);
	assert_int_equal(out_len, spki_len);
	assert_memory_equal(out, spki, spki_len);
	/* DER OCTET STRING (as PKCS#11 and SoftHSM have it) */
	pt[0] = 0x04;
	pt[1] = 65;
	memcpy(pt + 2, spki + spki_len - 65, 65);
	assert_int_equal(mr_token_spki_ec(MR_KEY_EC_P256, pt, sizeof(pt), out, sizeof(out),
	    &out_len, &d), MR_OK);
	assert_memory_equal(out, spki, spki_len);
	/* wrong curve for the length, compressed, off the curve, short buffer */
	assert_int_equal(mr_token_spki_ec(MR_KEY_EC_P384, pt, sizeof(pt), out, sizeof(out),
	    &out_len, &d), MR_E_TOKEN);
	pt[2] = 0x02;
	assert_int_equal(mr_token_spki_ec(MR_KEY_EC_P256, pt + 2, 33, out, sizeof(out), &out_len,
	    &d), MR_E_TOKEN);
	pt[2] = 0x04;
	pt[sizeof(pt) - 1] ^= 1;
	assert_int_equal(mr_token_spki_ec(MR_KEY_EC_P256, pt, sizeof(pt), out, sizeof(out),
	    &out_len, &d), MR_E_TOKEN);
	pt[sizeof(pt) - 1] ^= 1;
	assert_int_equal(mr_token_spki_ec(MR_KEY_EC_P256, pt, sizeof(pt), out, 50, &out_len, &d),
	    MR_E_RANGE);
}

static void
test_spki_parses(void **state)
{
	static const struct {
		const char *label;
		mr_key_type type;
	} keys[] = {
		{ "k-p256", MR_KEY_EC_P256 },
		{ "k-p384", MR_KEY_EC_P384 },
		{ "k-rsa3072", MR_KEY_RSA_3072 },
	};
	uint8_t spki[1024];
	size_t spki_len;
	mr_key_type type;
	mr_diag d = { "" };

	(void)state;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		word32 idx = 0;

		ensure_key(keys[i].label, keys[i].type);
		assert_int_equal(mr_token_public_key(g.t, keys[i].label, spki, sizeof(spki),
		    &spki_len, &type, &d), MR_OK);
		assert_int_equal(type, keys[i].type);
		if (mr_key_type_is_ec(type)) {
			ecc_key k;

			wc_ecc_init_ex(&k, NULL, INVALID_DEVID);
			assert_int_equal(wc_EccPublicKeyDecode(spki, &idx, &k, (word32)spki_len), 0);
			assert_int_equal(wc_ecc_get_curve_id(k.idx),
			    type == MR_KEY_EC_P256 ? ECC_SECP256R1 : ECC_SECP384R1);
			assert_int_equal(wc_ecc_check_key(&k), 0);
			wc_ecc_free(&k);
		} else {
			RsaKey k;

			wc_InitRsaKey_ex(&k, NULL, INVALID_DEVID);
			assert_int_equal(wc_RsaPublicKeyDecode(spki, &idx, &k, (word32)spki_len), 0);
			assert_int_equal(wc_RsaEncryptSize(&k), (int)mr_key_type_bits(type) / 8);
			wc_FreeRsaKey(&k);
		}
		assert_int_equal(idx, spki_len);
		/* too small a buffer is an error, not a truncation */
		assert_true(mr_token_public_key(g.t, keys[i].label, spki, 40, &spki_len, &type,
		    &d) != MR_OK);
		mr_diag_clear(&d);
	}
	assert_int_equal(mr_token_public_key(g.t, "k-none", spki, sizeof(spki), &spki_len, &type,
	    &d), MR_E_NOTFOUND);
}

/* The audit key: Ed25519 with the same strict template, found again by a
 * fresh session (SoftHSM2 names the curve by PrintableString), signing the
 * message itself (CKM_EDDSA), checked with wolfCrypt. */
static void
test_ed25519(void **state)
{
	static const uint8_t prefix[] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70,
		0x03, 0x21, 0x00 };
	uint8_t spki[128], msg[300], sig[64], big[4097];
	size_t spki_len = 0, sig_len = 0;
	mr_key_type type = MR_KEY_UNKNOWN;
	mr_diag d = { "" };
	mr_token *t2 = NULL;
	ed25519_key key;
	int ok = 0;

	(void)state;
	ensure_key("k-ed25519", MR_KEY_ED25519);
	check_attrs("k-ed25519");
	assert_int_equal(mr_token_open(&t2, MODULE, TOKEN, &d), MR_OK);
	assert_int_equal(mr_token_login(t2, PIN, strlen(PIN), &d), MR_OK);
	assert_int_equal(mr_token_public_key(t2, "k-ed25519", spki, sizeof(spki), &spki_len, &type,
	    &d), MR_OK);
	assert_int_equal(type, MR_KEY_ED25519);
	assert_int_equal(spki_len, 44);
	assert_memory_equal(spki, prefix, sizeof(prefix));
	memset(msg, 'm', sizeof(msg));
	assert_int_equal(mr_token_sign(t2, "k-ed25519", msg, sizeof(msg), sig, sizeof(sig), &sig_len,
	    &d), MR_OK);
	assert_int_equal(sig_len, 64);
	assert_int_equal(wc_ed25519_init(&key), 0);
	assert_int_equal(wc_ed25519_import_public(spki + 12, 32, &key), 0);
	assert_int_equal(wc_ed25519_verify_msg(sig, 64, msg, sizeof(msg), &ok, &key), 0);
	assert_int_equal(ok, 1);
	msg[0] ^= 1;
	ok = 0;
	(void)wc_ed25519_verify_msg(sig, 64, msg, sizeof(msg), &ok, &key);
	assert_int_equal(ok, 0);
	wc_ed25519_free(&key);
	memset(big, 0, sizeof(big));
	mr_diag_clear(&d);
	assert_int_equal(mr_token_sign(t2, "k-ed25519", big, sizeof(big), sig, sizeof(sig), &sig_len,
	    &d), MR_E_ARG);
	mr_diag_clear(&d);
	assert_int_equal(mr_token_sign(t2, "k-ed25519", msg, 10, sig, 63, &sig_len, &d), MR_E_RANGE);
	mr_token_close(t2);
}

/* SoftHSM2 can make every type; a bogus type is an argument error. */
static void
test_capabilities(void **state)
{
	static const mr_key_type types[] = { MR_KEY_EC_P256, MR_KEY_EC_P384, MR_KEY_RSA_3072,
		MR_KEY_RSA_4096, MR_KEY_ED25519 };
	mr_diag d = { "" };

	(void)state;
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		int r = mr_token_can_make(token(), types[i], &d);

		if (r != MR_OK)
			print_error("%s: %s\n", mr_key_type_name(types[i]), mr_diag_text(&d, r));
		assert_int_equal(r, MR_OK);
	}
	assert_int_equal(mr_token_can_make(token(), MR_KEY_UNKNOWN, &d), MR_E_ARG);
}

/* SoftHSM2 has CKM_SHA384_RSA_PKCS (used: the whole data is signed) and
 * no CKM_ECDSA_SHA384 (not used: the caller hashes). */
static void
test_sign_hashing(void **state)
{
	static const uint8_t data[] = "a TBS of some length, signed whole by the token";
	uint8_t sig[512], spki[1024], di[512], digest[WC_SHA384_DIGEST_SIZE];
	size_t sig_len = 0, spki_len = 0;
	mr_key_type type;
	mr_diag d = { "" };
	RsaKey rsa;
	word32 idx = 0;
	int done = -1, n;

	(void)state;
	ensure_key("k-rsa3072", MR_KEY_RSA_3072);
	ensure_key("k-p384", MR_KEY_EC_P384);
	assert_int_equal(mr_token_sign_hashing(g.t, "k-p384", 48, data, sizeof(data), sig,
	    sizeof(sig), &sig_len, &done, &d), MR_OK);
	assert_int_equal(done, 0);
	assert_int_equal(mr_token_sign_hashing(g.t, "k-rsa3072", 48, data, sizeof(data), sig,
	    sizeof(sig), &sig_len, &done, &d), MR_OK);
	assert_int_equal(done, 1);
	assert_int_equal(sig_len, 384);
	assert_int_equal(mr_token_public_key(g.t, "k-rsa3072", spki, sizeof(spki), &spki_len,
	    &type, &d), MR_OK);
	assert_int_equal(wc_InitRsaKey(&rsa, NULL), 0);
	assert_int_equal(wc_RsaPublicKeyDecode(spki, &idx, &rsa, (word32)spki_len), 0);
	n = wc_RsaSSL_Verify(sig, (word32)sig_len, di, sizeof(di), &rsa);
	wc_FreeRsaKey(&rsa);
	/* DigestInfo: 19 bytes of SHA-384 prefix, then the digest of data */
	assert_int_equal(n, 19 + WC_SHA384_DIGEST_SIZE);
	assert_int_equal(wc_Sha384Hash(data, sizeof(data), digest), 0);
	assert_memory_equal(di + 19, digest, sizeof(digest));
	assert_int_equal(mr_token_sign_hashing(g.t, "k-rsa3072", 20, data, sizeof(data), sig,
	    sizeof(sig), &sig_len, &done, &d), MR_E_ARG);
}

static void
test_destroy(void **state)
{
	mr_diag d = { "" };

	(void)state;
	ensure_key("k-destroy", MR_KEY_EC_P256);
	assert_int_equal(mr_token_destroy(g.t, "k-destroy", &d), MR_OK);
	assert_int_equal(mr_token_find(g.t, "k-destroy", &d), MR_E_NOTFOUND);
	assert_string_equal(mr_token_leftover(g.t), "");
	/* the label is free again */
	ensure_key("k-destroy", MR_KEY_EC_P256);
	assert_int_equal(mr_token_destroy(g.t, "k-destroy", &d), MR_OK);
	assert_int_equal(mr_token_destroy(g.t, "k-destroy", &d), MR_E_NOTFOUND);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_open_by_label),
		cmocka_unit_test(test_open_by_uri),
		cmocka_unit_test(test_open_errors),
		cmocka_unit_test(test_pin),
		cmocka_unit_test(test_random),
		cmocka_unit_test(test_generate),
		cmocka_unit_test(test_attributes),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_spki_parses),
		cmocka_unit_test(test_spki_ec_point_forms),
		cmocka_unit_test(test_token_sign_raw),
		cmocka_unit_test(test_sign_p256),
		cmocka_unit_test(test_sign_p384),
		cmocka_unit_test(test_sign_rsa3072),
		cmocka_unit_test(test_sign_rsa4096),
		cmocka_unit_test(test_device_failures),
		cmocka_unit_test(test_capabilities),
		cmocka_unit_test(test_sign_hashing),
		cmocka_unit_test(test_shared_calls),
		cmocka_unit_test(test_destroy),
	};

	return cmocka_run_group_tests_name("token", tests, group_setup, group_teardown);
}

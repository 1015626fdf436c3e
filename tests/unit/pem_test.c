/*
 * mr_pem: strict RFC 7468 reading and writing.
 *
 * The encoder is checked against RFC 4648 section 10, `openssl base64` and
 * wolfSSL's Base64_Encode; the decoder against hand-made malformed bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/coding.h>

#include "mr_pem.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static const char BEGIN_CERT[] = "-----BEGIN CERTIFICATE-----\n";
static const char END_CERT[] = "-----END CERTIFICATE-----\n";

/* A small deterministic generator, so failures reproduce. */
static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* The base64 body between the BEGIN and END lines of a PEM text. */
static void
body_of(const char *pem, const char *label, char *out, size_t cap)
{
	char begin[96], end[96];
	const char *b, *e;

	snprintf(begin, sizeof(begin), "-----BEGIN %s-----\n", label);
	snprintf(end, sizeof(end), "-----END %s-----\n", label);
	b = strstr(pem, begin);
	assert_non_null(b);
	b += strlen(begin);
	e = strstr(b, end);
	assert_non_null(e);
	assert_true((size_t)(e - b) < cap);
	memcpy(out, b, (size_t)(e - b));
	out[e - b] = '\0';
}

/* Decodes `text` looking for one CERTIFICATE; returns the error. */
static int
decode(const char *text, uint8_t *der, size_t cap, size_t *len)
{
	size_t pos = 0;

	return mr_pem_next(text, strlen(text), &pos, "CERTIFICATE", der, cap, len);
}

/* "-----BEGIN CERTIFICATE-----\n" body "-----END CERTIFICATE-----\n". */
static char *
wrap_body(const char *body)
{
	size_t n = strlen(BEGIN_CERT) + strlen(body) + strlen(END_CERT) + 1;
	char *s = malloc(n);

	assert_non_null(s);
	snprintf(s, n, "%s%s%s", BEGIN_CERT, body, END_CERT);
	return s;
}

static void
test_roundtrip_all_sizes(void **state)
{
	uint32_t seed = 0x2545f491;

	(void)state;
	for (size_t n = 1; n <= 300; n++) {
		uint8_t der[300], back[300];
		size_t cap = mr_pem_size("CERTIFICATE", n), len = 0, got = 0, pos = 0;
		char *pem = malloc(cap);
		const char *line;

		assert_non_null(pem);
		for (size_t i = 0; i < n; i++)
			der[i] = (uint8_t)next_rand(&seed);
		assert_int_equal(mr_pem_write("CERTIFICATE", der, n, pem, cap, &len), MR_OK);
		assert_true(len < cap);
		assert_int_equal(strlen(pem), len);
		assert_int_equal(strncmp(pem, BEGIN_CERT, strlen(BEGIN_CERT)), 0);
		assert_true(len >= strlen(END_CERT));
		assert_string_equal(pem + len - strlen(END_CERT), END_CERT);
		/* RFC 7468 section 2: 64 characters per line, the last shorter. */
		line = pem + strlen(BEGIN_CERT);
		while (strncmp(line, "-----END", 8) != 0) {
			const char *nl = strchr(line, '\n');
			size_t ll;

			assert_non_null(nl);
			ll = (size_t)(nl - line);
			assert_true(ll > 0 && ll <= 64 && ll % 4 == 0);
			if (ll < 64)
				assert_int_equal(strncmp(nl + 1, "-----END", 8), 0);
			line = nl + 1;
		}
		/* Padding: one '=' for n % 3 == 2, two for n % 3 == 1. */
		{
			const char *endp = pem + len - strlen(END_CERT) - 1; /* the '\n' */
			size_t pads = n % 3 == 0 ? 0 : 3 - n % 3;

			for (size_t k = 1; k <= pads; k++)
				assert_int_equal(endp[-(ptrdiff_t)k], '=');
			assert_int_not_equal(endp[-(ptrdiff_t)pads - 1], '=');
		}
		assert_int_equal(mr_pem_next(pem, len, &pos, "CERTIFICATE", back, sizeof(back),
		    &got), MR_OK);
		assert_int_equal(got, n);
		assert_memory_equal(back, der, n);
		assert_int_equal(pos, len - 1); /* just past "-----END ...-----" */
		free(pem);
	}
}

/* RFC 4648 section 10. */
static void
test_rfc4648_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
		{ "f", "Zg==" }, { "fo", "Zm8=" }, { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		char pem[256], body[128], want[128];
		uint8_t der[16];
		size_t len, got;

		assert_int_equal(mr_pem_write("CERTIFICATE", (const uint8_t *)v[i].in,
		    strlen(v[i].in), pem, sizeof(pem), &len), MR_OK);
		body_of(pem, "CERTIFICATE", body, sizeof(body));
		snprintf(want, sizeof(want), "%s\n", v[i].out);
		assert_string_equal(body, want);
		assert_int_equal(decode(pem, der, sizeof(der), &got), MR_OK);
		assert_int_equal(got, strlen(v[i].in));
		assert_memory_equal(der, v[i].in, got);
	}
}

/* The body must match what `openssl base64` prints (64-column lines). */
static void
test_matches_openssl_base64(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 47, 48, 49, 95, 96, 97, 200 };
	char dir[] = "/tmp/mr-pem-XXXXXX";
	uint32_t seed = 77;

	(void)state;
	if (system("openssl version >/dev/null 2>&1") != 0)
		skip();
	assert_non_null(mkdtemp(dir));
	for (size_t i = 0; i < NELEM(sizes); i++) {
		uint8_t der[256];
		char path[64], cmd[256], pem[1024], body[1024], want[1024];
		size_t len, got = 0;
		FILE *f;

		for (size_t k = 0; k < sizes[i]; k++)
			der[k] = (uint8_t)next_rand(&seed);
		snprintf(path, sizeof(path), "%s/in.bin", dir);
		f = fopen(path, "wb");
		assert_non_null(f);
		assert_int_equal(fwrite(der, 1, sizes[i], f), sizes[i]);
		assert_int_equal(fclose(f), 0);
		snprintf(cmd, sizeof(cmd), "openssl base64 -in %s", path);
		f = popen(cmd, "r");
		assert_non_null(f);
		got = fread(want, 1, sizeof(want) - 1, f);
		want[got] = '\0';
		assert_int_equal(pclose(f), 0);

		assert_int_equal(mr_pem_write("CERTIFICATE", der, sizes[i], pem, sizeof(pem),
		    &len), MR_OK);
		body_of(pem, "CERTIFICATE", body, sizeof(body));
		assert_string_equal(body, want);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(rmdir(dir), 0);
}

/* wolfSSL's encoder also writes 64-character lines ending in '\n'. */
static void
test_matches_wolfssl_base64(void **state)
{
	static const size_t sizes[] = { 1, 2, 3, 4, 5, 48, 100, 255 };
	uint32_t seed = 99;

	(void)state;
	for (size_t i = 0; i < NELEM(sizes); i++) {
		uint8_t der[256];
		byte want[512];
		word32 want_len = sizeof(want);
		char pem[1024], body[1024];
		size_t len;

		for (size_t k = 0; k < sizes[i]; k++)
			der[k] = (uint8_t)next_rand(&seed);
		assert_int_equal(Base64_Encode(der, (word32)sizes[i], want, &want_len), 0);
		assert_int_equal(mr_pem_write("CERTIFICATE", der, sizes[i], pem, sizeof(pem),
		    &len), MR_OK);
		body_of(pem, "CERTIFICATE", body, sizeof(body));
		assert_int_equal(strlen(body), want_len);
		assert_memory_equal(body, want, want_len);
	}
}

static void
test_wrong_label(void **state)
{
	static const uint8_t der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };
	char pem[256];
	uint8_t out[16];
	size_t len, got, pos = 0;

	(void)state;
	assert_int_equal(mr_pem_write("CERTIFICATE REQUEST", der, sizeof(der), pem,
	    sizeof(pem), &len), MR_OK);
	/* "CERTIFICATE" is a prefix of "CERTIFICATE REQUEST": still no match. */
	assert_int_equal(mr_pem_next(pem, len, &pos, "CERTIFICATE", out, sizeof(out), &got),
	    MR_E_NOTFOUND);
	assert_int_equal(pos, 0);
	assert_int_equal(mr_pem_next(pem, len, &pos, "REQUEST", out, sizeof(out), &got),
	    MR_E_NOTFOUND);
	assert_int_equal(mr_pem_next(pem, len, &pos, "certificate request", out,
	    sizeof(out), &got), MR_E_NOTFOUND);
	assert_int_equal(mr_pem_next(pem, len, &pos, "NEW CERTIFICATE REQUEST", out,
	    sizeof(out), &got), MR_E_NOTFOUND);
	assert_int_equal(mr_pem_next(pem, len, &pos, "CERTIFICATE REQUEST", out,
	    sizeof(out), &got), MR_OK);
	assert_int_equal(got, sizeof(der));
	assert_memory_equal(out, der, sizeof(der));
	assert_int_equal(mr_pem_next("", 0, &pos, "CERTIFICATE", out, sizeof(out), &got),
	    MR_E_ARG); /* pos beyond the text */
	pos = 0;
	assert_int_equal(mr_pem_next("", 0, &pos, "CERTIFICATE", out, sizeof(out), &got),
	    MR_E_NOTFOUND);
}

/* RFC 1421 encapsulated headers are not part of RFC 7468's strict form. */
static void
test_headers_rejected(void **state)
{
	static const char *const bodies[] = {
		"Proc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00112233445566778899AABBCCDDEEFF\n\nMAMCAQE=\n",
		"Comment: hello\n\nMAMCAQE=\n",
		"MAMCAQE=\nComment: trailing\n",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(bodies); i++) {
		char *pem = wrap_body(bodies[i]);
		uint8_t der[64];
		size_t len;

		assert_int_equal(decode(pem, der, sizeof(der), &len), MR_E_PEM);
		free(pem);
	}
	/* The same body without headers is fine. */
	{
		char *pem = wrap_body("MAMCAQE=\n");
		uint8_t der[64];
		size_t len;

		assert_int_equal(decode(pem, der, sizeof(der), &len), MR_OK);
		assert_int_equal(len, 5);
		free(pem);
	}
}

static void
test_garbage_rejected(void **state)
{
	static const char *const bodies[] = {
		"MAMC!QE=\n", "MAMC*QE=\n", "MAMC-QE=\n", "MAMC.QE=\n", "MAMC_QE=\n",
		"MAMC\xc3\xa9QE=\n", "MAMC\x7fQE=\n", "MAMC\x01QE=\n", "MAMC\"QE=\n",
		"MAMC\\QE=\n", "MAMC~QE=\n",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(bodies); i++) {
		char *pem = wrap_body(bodies[i]);
		uint8_t der[64];
		size_t len;

		if (decode(pem, der, sizeof(der), &len) != MR_E_PEM)
			fail_msg("accepted body %zu", i);
		free(pem);
	}
	/* An embedded NUL is garbage too, not the end of the text. */
	{
		char *pem = wrap_body("MAMCxQE=\n");
		uint8_t der[64];
		size_t len, pos = 0, n = strlen(pem);

		*strchr(pem, 'x') = '\0';
		assert_int_equal(mr_pem_next(pem, n, &pos, "CERTIFICATE", der, sizeof(der), &len),
		    MR_E_PEM);
		free(pem);
	}
	/* Whitespace inside the body (CRLF, spaces, tabs) is not garbage. */
	{
		char *pem = wrap_body("MA MC\r\n\tAQ E=\r\n");
		uint8_t der[64];
		size_t len;

		assert_int_equal(decode(pem, der, sizeof(der), &len), MR_OK);
		assert_int_equal(len, 5);
		assert_memory_equal(der, ((const uint8_t[]){ 0x30, 0x03, 0x02, 0x01, 0x01 }), 5);
		free(pem);
	}
}

static void
test_padding(void **state)
{
	static const struct {
		const char *body;
		int rc;
		const char *want;
	} v[] = {
		{ "QQ==\n", MR_OK, "A" },
		{ "QUI=\n", MR_OK, "AB" },
		{ "QUJD\n", MR_OK, "ABC" },
		{ "QUJDRA==\n", MR_OK, "ABCD" },
		{ "QQ=\n", MR_E_PEM, NULL },       /* one '=' short */
		{ "QQ\n", MR_E_PEM, NULL },        /* unpadded */
		{ "QUI\n", MR_E_PEM, NULL },
		{ "QQ===\n", MR_E_PEM, NULL },     /* one '=' too many */
		{ "QUI==\n", MR_E_PEM, NULL },
		{ "QUJD=\n", MR_E_PEM, NULL },
		{ "QUJD==\n", MR_E_PEM, NULL },
		{ "Q===\n", MR_E_PEM, NULL },      /* a lone character */
		{ "Q\n", MR_E_PEM, NULL },
		{ "====\n", MR_E_PEM, NULL },
		{ "=QQ=\n", MR_E_PEM, NULL },
		{ "Q=Q=\n", MR_E_PEM, NULL },
		{ "QQ==QUJD\n", MR_E_PEM, NULL },  /* data after the padding */
		{ "QQ==\nQUJD\n", MR_E_PEM, NULL },
		{ "QR==\n", MR_E_PEM, NULL },      /* non-zero trailing bits */
		{ "QX==\n", MR_E_PEM, NULL },
		{ "QUJ=\n", MR_E_PEM, NULL },
		{ "QUL=\n", MR_E_PEM, NULL },
		{ "\n", MR_E_PEM, NULL },          /* empty body */
		{ "", MR_E_PEM, NULL },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		char *pem = wrap_body(v[i].body);
		uint8_t der[64];
		size_t len = 0;
		int rc = decode(pem, der, sizeof(der), &len);

		if (rc != v[i].rc)
			fail_msg("body \"%s\": rc %d, want %d", v[i].body, rc, v[i].rc);
		if (v[i].want != NULL) {
			assert_int_equal(len, strlen(v[i].want));
			assert_memory_equal(der, v[i].want, len);
		}
		free(pem);
	}
}

/* Every prefix of a valid block: no BEGIN yet is "not found"; a BEGIN
 * without its complete END is malformed. */
static void
test_truncated(void **state)
{
	uint8_t der[100], out[100];
	char pem[512];
	size_t len, got;
	const size_t begin_len = strlen(BEGIN_CERT) - 1; /* without '\n' */

	(void)state;
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(i * 13);
	assert_int_equal(mr_pem_write("CERTIFICATE", der, sizeof(der), pem, sizeof(pem),
	    &len), MR_OK);
	for (size_t n = 0; n < len; n++) {
		size_t pos = 0;
		int rc = mr_pem_next(pem, n, &pos, "CERTIFICATE", out, sizeof(out), &got);
		int want = n < begin_len ? MR_E_NOTFOUND : n < len - 1 ? MR_E_PEM : MR_OK;

		if (rc != want)
			fail_msg("prefix %zu of %zu: rc %d, want %d", n, len, rc, want);
		if (rc == MR_OK) {
			assert_int_equal(got, sizeof(der));
			assert_memory_equal(out, der, sizeof(der));
		}
	}
	/* A damaged END line, and an END with another label. */
	{
		char *p = wrap_body("MAMCAQE=\n");
		uint8_t o[16];

		p[strlen(p) - 2] = '\0'; /* "-----END CERTIFICATE----" */
		assert_int_equal(decode(p, o, sizeof(o), &got), MR_E_PEM);
		free(p);
		assert_int_equal(decode("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n"
		    "-----END CERTIFICATE REQUEST-----\n", o, sizeof(o), &got), MR_E_PEM);
		assert_int_equal(decode("-----BEGIN CERTIFICATE-----\nMAMCAQE=\n"
		    "-----END X509 CRL-----\n", o, sizeof(o), &got), MR_E_PEM);
	}
}

static void
test_multiple_blocks(void **state)
{
	static const uint8_t a[] = { 0x30, 0x01, 0xaa }, b[] = { 0x30, 0x02, 0xbb, 0xbb },
	    c[] = { 0x30, 0x03, 0xcc, 0xcc, 0xcc }, r[] = { 0x30, 0x00 };
	const uint8_t *certs[] = { a, b, c };
	const size_t sizes[] = { sizeof(a), sizeof(b), sizeof(c) };
	char text[2048], blk[256];
	size_t n = 0, len, pos = 0, got;
	uint8_t out[16];

	(void)state;
	n += (size_t)snprintf(text + n, sizeof(text) - n, "Bag Attributes\n  subject=/CN=a\n");
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(mr_pem_write("CERTIFICATE", certs[i], sizes[i], blk,
		    sizeof(blk), &len), MR_OK);
		n += (size_t)snprintf(text + n, sizeof(text) - n, "%s", blk);
		if (i == 1) {
			/* A block with another label in between is skipped. */
			assert_int_equal(mr_pem_write("CERTIFICATE REQUEST", r, sizeof(r), blk,
			    sizeof(blk), &len), MR_OK);
			n += (size_t)snprintf(text + n, sizeof(text) - n, "text\n%s\n", blk);
		}
	}
	n += (size_t)snprintf(text + n, sizeof(text) - n, "trailer\n");
	assert_true(n < sizeof(text));

	for (size_t i = 0; i < 3; i++) {
		size_t before = pos;

		assert_int_equal(mr_pem_next(text, n, &pos, "CERTIFICATE", out, sizeof(out),
		    &got), MR_OK);
		assert_true(pos > before);
		assert_int_equal(got, sizes[i]);
		assert_memory_equal(out, certs[i], sizes[i]);
	}
	{
		size_t before = pos;

		assert_int_equal(mr_pem_next(text, n, &pos, "CERTIFICATE", out, sizeof(out),
		    &got), MR_E_NOTFOUND);
		assert_int_equal(pos, before);
	}
	pos = 0;
	assert_int_equal(mr_pem_next(text, n, &pos, "CERTIFICATE REQUEST", out, sizeof(out),
	    &got), MR_OK);
	assert_int_equal(got, sizeof(r));
	assert_int_equal(mr_pem_next(text, n, &pos, "CERTIFICATE REQUEST", out, sizeof(out),
	    &got), MR_E_NOTFOUND);
}

/* The decoder's output cap: the header says a block that does not fit is
 * MR_E_PEM. */
static void
test_decode_cap(void **state)
{
	uint8_t der[200], out[200];
	char pem[512];
	size_t len, got;

	(void)state;
	for (size_t i = 0; i < sizeof(der); i++)
		der[i] = (uint8_t)(255 - i);
	assert_int_equal(mr_pem_write("CERTIFICATE", der, sizeof(der), pem, sizeof(pem),
	    &len), MR_OK);
	for (size_t cap = 0; cap < sizeof(der); cap++) {
		size_t pos = 0;

		assert_int_equal(mr_pem_next(pem, len, &pos, "CERTIFICATE", out, cap, &got),
		    MR_E_PEM);
		assert_int_equal(pos, 0);
	}
	{
		size_t pos = 0;

		assert_int_equal(mr_pem_next(pem, len, &pos, "CERTIFICATE", out, sizeof(der),
		    &got), MR_OK);
		assert_int_equal(got, sizeof(der));
	}
}

/* The encoder's output cap: anything below mr_pem_size is MR_E_RANGE, and
 * nothing is written past the cap. */
static void
test_write_cap(void **state)
{
	static const size_t sizes[] = { 0, 1, 2, 3, 47, 48, 49, 96, 97 };

	(void)state;
	for (size_t i = 0; i < NELEM(sizes); i++) {
		uint8_t der[100];
		size_t need = mr_pem_size("CERTIFICATE", sizes[i]);
		char *out = malloc(need + 16);

		assert_non_null(out);
		memset(der, 0x5a, sizeof(der));
		for (size_t cap = 0; cap <= need; cap++) {
			size_t len = 0;
			int rc;

			memset(out, '#', need + 16);
			rc = mr_pem_write("CERTIFICATE", der, sizes[i], out, cap, &len);
			for (size_t k = cap; k < need + 16; k++)
				assert_int_equal(out[k], '#');
			if (cap < need) {
				assert_int_equal(rc, MR_E_RANGE);
			} else {
				assert_int_equal(rc, MR_OK);
				assert_int_equal(strlen(out), len);
			}
		}
		free(out);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip_all_sizes),
		cmocka_unit_test(test_rfc4648_vectors),
		cmocka_unit_test(test_matches_openssl_base64),
		cmocka_unit_test(test_matches_wolfssl_base64),
		cmocka_unit_test(test_wrong_label),
		cmocka_unit_test(test_headers_rejected),
		cmocka_unit_test(test_garbage_rejected),
		cmocka_unit_test(test_padding),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_multiple_blocks),
		cmocka_unit_test(test_decode_cap),
		cmocka_unit_test(test_write_cap),
	};

	return cmocka_run_group_tests_name("pem", tests, NULL, NULL);
}

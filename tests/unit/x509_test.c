/*
 * CSRs, certificates, the TBS builder and the CA lints, against fixtures
 * made at test time with the openssl CLI (an independent implementation):
 * a P-384 root with CA extensions and CSRs of every interesting key type.
 *
 * An intermediate is built with mr_tbs_build, signed with the root key by
 * `openssl dgst -sign`, and then checked by `openssl verify` and
 * `openssl x509 -text`. Valid CSRs and certificates are also run through
 * every single-bit flip and every truncation (OpenSSH test_fuzz.c style).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "mr_cert.h"
#include "mr_config.h"
#include "mr_csr.h"
#include "mr_der.h"
#include "mr_lint.h"
#include "mr_pem.h"
#include "mr_pubkey.h"
#include "mr_tbs.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))
#define DAY 86400

typedef struct {
	uint8_t *p;
	size_t n;
} blob;

/* An intermediate built from a subject key and signed by the root. */
typedef struct {
	uint8_t name_buf[256];
	mr_der subject;
	uint8_t serial[16];
	uint8_t ski[20];
	time_t not_before, not_after;
	uint8_t der[4096];
	size_t n;
	mr_cert c;
} issued;

static struct {
	char dir[64];
	time_t now;
	blob root_der, root_pub, p256, p256_pub, rsa3072, rsa3072_pub, rsa2048, ext,
	    ed25519, p521;
	mr_cert root;     /* views into root_der */
	int have_inter;
	issued inter;     /* P-256 subject, pathlen 0 */
} fx;

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Offset of the first occurrence of needle in hay; fails the test if none. */
static size_t
find(const uint8_t *hay, size_t n, const void *needle, size_t k)
{
	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return i;
	fail_msg("pattern of %zu bytes not found", k);
	return 0;
}

/* Runs a shell command in the fixture directory, output to its log. */
static int
run(const char *fmt, ...)
{
	char cmd[2048], full[2300];
	va_list ap;
	int k, rc;

	va_start(ap, fmt);
	k = vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(cmd))
		return -1;
	k = snprintf(full, sizeof(full), "cd %s && (%s) >>log 2>&1", fx.dir, cmd);
	if (k < 0 || (size_t)k >= sizeof(full))
		return -1;
	rc = system(full);
	if (rc != 0)
		print_error("command failed (%d): %s\n", rc, cmd);
	return rc;
}

static int
read_file(const char *name, blob *b)
{
	char path[128];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	if ((f = fopen(path, "rb")) == NULL)
		return -1;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return -1;
	}
	b->n = (size_t)n;
	b->p = malloc(b->n + 1);
	if (b->p == NULL || fread(b->p, 1, b->n, f) != b->n) {
		fclose(f);
		return -1;
	}
	b->p[b->n] = '\0'; /* for text output */
	return fclose(f);
}

static int
write_file(const char *name, const void *p, size_t n)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx.dir, name);
	if ((f = fopen(path, "wb")) == NULL)
		return -1;
	if (fwrite(p, 1, n, f) != n) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

static int
make_csr(const char *name, const char *genpkey_args, const char *extra)
{
	return run("openssl genpkey %s -out %s.key && "
	    "openssl req -new -key %s.key -subj '/O=Example Org/CN=prod-east' %s "
	    "-outform DER -out %s.csr && "
	    "openssl pkey -in %s.key -pubout -outform DER -out %s.pub",
	    genpkey_args, name, name, extra, name, name, name);
}

static int
group_setup(void **state)
{
	mr_spki pub;
	uint8_t id[20];
	char hex[41];
	mr_diag d;

	(void)state;
	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/mr-x509-XXXXXX");
	if (mkdtemp(fx.dir) == NULL)
		return -1;
	fx.now = time(NULL);

	/* The root: P-384, CA extensions, and an SKI computed the way
	 * meshroot computes it (RFC 7093 method 1) so that the root lint
	 * applies to it unchanged. */
	if (run("openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 -out root.key && "
		"openssl pkey -in root.key -pubout -outform DER -out root.pub") != 0 ||
	    read_file("root.pub", &fx.root_pub) != 0 ||
	    mr_spki_parse(mr_der_view(fx.root_pub.p, fx.root_pub.n), &pub, &d) != MR_OK)
		return -1;
	mr_spki_key_id(&pub, id);
	for (size_t i = 0; i < sizeof(id); i++)
		snprintf(hex + 2 * i, 3, "%02x", id[i]);
	{
		char cnf[512];
		int k = snprintf(cnf, sizeof(cnf),
		    "[req]\ndistinguished_name = dn\nprompt = no\nx509_extensions = v3\n"
		    "[dn]\nC = US\nO = meshroot test\nCN = meshroot Test Root\n"
		    "[v3]\nbasicConstraints = critical, CA:TRUE\n"
		    "keyUsage = critical, keyCertSign, cRLSign\n"
		    "subjectKeyIdentifier = %s\n", hex);
		if (k < 0 || (size_t)k >= sizeof(cnf) || write_file("root.cnf", cnf, (size_t)k) != 0)
			return -1;
	}
	if (run("openssl req -new -x509 -key root.key -config root.cnf -days 3650 -sha384 "
		"-out root.pem && openssl x509 -in root.pem -outform DER -out root.der") != 0 ||
	    read_file("root.der", &fx.root_der) != 0 ||
	    mr_cert_parse(fx.root_der.p, fx.root_der.n, &fx.root, &d) != MR_OK)
		return -1;

	if (make_csr("p256", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256", "") != 0 ||
	    make_csr("rsa3072", "-algorithm RSA -pkeyopt rsa_keygen_bits:3072", "") != 0 ||
	    make_csr("rsa2048", "-algorithm RSA -pkeyopt rsa_keygen_bits:2048", "") != 0 ||
	    make_csr("ext", "-algorithm EC -pkeyopt ec_paramgen_curve:P-256",
		"-addext 'basicConstraints=critical,CA:TRUE,pathlen:5' "
		"-addext 'subjectAltName=DNS:evil.example'") != 0 ||
	    make_csr("ed25519", "-algorithm ed25519", "") != 0 ||
	    make_csr("p521", "-algorithm EC -pkeyopt ec_paramgen_curve:P-521", "") != 0)
		return -1;
	if (read_file("p256.csr", &fx.p256) != 0 || read_file("p256.pub", &fx.p256_pub) != 0 ||
	    read_file("rsa3072.csr", &fx.rsa3072) != 0 ||
	    read_file("rsa3072.pub", &fx.rsa3072_pub) != 0 ||
	    read_file("rsa2048.csr", &fx.rsa2048) != 0 || read_file("ext.csr", &fx.ext) != 0 ||
	    read_file("ed25519.csr", &fx.ed25519) != 0 || read_file("p521.csr", &fx.p521) != 0)
		return -1;
	return 0;
}

static int
group_teardown(void **state)
{
	blob *all[] = { &fx.root_der, &fx.root_pub, &fx.p256, &fx.p256_pub, &fx.rsa3072,
		&fx.rsa3072_pub, &fx.rsa2048, &fx.ext, &fx.ed25519, &fx.p521 };
	char cmd[128];

	(void)state;
	for (size_t i = 0; i < NELEM(all); i++)
		free(all[i]->p);
	if (fx.dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
		if (system(cmd) != 0)
			return -1;
	}
	return 0;
}

static void
parse_csr(const blob *b, mr_csr *c)
{
	mr_diag d;
	int rc;

	mr_diag_clear(&d);
	rc = mr_csr_parse(b->p, b->n, c, &d);
	if (rc != MR_OK)
		fail_msg("CSR rejected (%d): %s", rc, d.msg);
}

/* Signs tbs with the root key through openssl. */
static void
root_sign(mr_der tbs, uint8_t *sig, size_t cap, size_t *sig_len)
{
	blob s;

	assert_int_equal(write_file("tbs.der", tbs.p, tbs.n), 0);
	assert_int_equal(run("openssl dgst -sha384 -sign root.key -out tbs.sig tbs.der"), 0);
	assert_int_equal(read_file("tbs.sig", &s), 0);
	assert_true(s.n <= cap);
	memcpy(sig, s.p, s.n);
	*sig_len = s.n;
	free(s.p);
}

/* Builds, signs and parses an intermediate for `key`. */
static void
issue(const mr_spki *key, long path_len, unsigned ku, issued *out)
{
	const mr_name_fields name = { NULL, "Example Org", NULL, "prod-east", "prod-east" };
	mr_tbs_params p;
	uint8_t tbs_buf[4096], sig[256];
	size_t sig_len;
	mr_der tbs, cert;
	mr_diag d;

	memset(out, 0, sizeof(*out));
	assert_int_equal(mr_name_build(&name, out->name_buf, sizeof(out->name_buf),
	    &out->subject), MR_OK);
	for (size_t i = 0; i < sizeof(out->serial); i++)
		out->serial[i] = (uint8_t)(0x3a + 17 * i);
	mr_spki_key_id(key, out->ski);
	out->not_before = fx.root.not_before;
	out->not_after = fx.now + 365 * DAY;
	assert_true(fx.root.ext.has_ski);
	assert_int_equal(fx.root.ext.ski.n, 20);

	memset(&p, 0, sizeof(p));
	p.serial = out->serial;
	p.serial_len = sizeof(out->serial);
	p.sig_alg = mr_sig_alg_for_key(fx.root.spki.type);
	p.issuer = fx.root.subject;
	p.subject = out->subject;
	p.not_before = out->not_before;
	p.not_after = out->not_after;
	p.spki = key->whole;
	p.ski = out->ski;
	p.aki = fx.root.ext.ski.p;
	p.path_len = path_len;
	p.key_usage = ku;
	assert_int_equal(p.sig_alg, MR_SIG_ECDSA_SHA384);
	assert_int_equal(mr_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs), MR_OK);

	root_sign(tbs, sig, sizeof(sig), &sig_len);
	assert_int_equal(mr_cert_assemble(tbs, p.sig_alg, sig, sig_len, out->der,
	    sizeof(out->der), &cert), MR_OK);
	/* Move the result to the front so that the views stay valid in out. */
	memmove(out->der, cert.p, cert.n);
	out->n = cert.n;
	mr_diag_clear(&d);
	if (mr_cert_parse(out->der, out->n, &out->c, &d) != MR_OK)
		fail_msg("built certificate does not parse: %s", d.msg);
}

#define INTER_KU (MR_KU_DIGITAL_SIGNATURE | MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN)

static const issued *
inter(void)
{
	if (!fx.have_inter) {
		mr_csr csr;

		parse_csr(&fx.p256, &csr);
		issue(&csr.spki, 0, INTER_KU, &fx.inter);
		fx.have_inter = 1;
	}
	return &fx.inter;
}

/* ---------------------------------------------------------------- CSRs */

static void
test_csr_good(void **state)
{
	mr_csr c;
	char ignored[128];
	static const char cn[] = "prod-east";

	(void)state;
	parse_csr(&fx.p256, &c);
	assert_int_equal(c.spki.type, MR_KEY_EC_P256);
	assert_int_equal(c.sig_alg, MR_SIG_ECDSA_SHA256);
	/* The SPKI found is the key openssl put in (not some other element). */
	assert_int_equal(c.spki.whole.n, fx.p256_pub.n);
	assert_memory_equal(c.spki.whole.p, fx.p256_pub.p, fx.p256_pub.n);
	assert_int_equal(c.spki.key.n, 65);
	assert_int_equal(c.spki.key.p[0], 0x04);
	assert_ptr_equal(c.whole.p, fx.p256.p);
	assert_int_equal(c.whole.n, fx.p256.n);
	assert_true(c.info.p > fx.p256.p && c.info.p + c.info.n < fx.p256.p + fx.p256.n);
	(void)find(c.subject.p, c.subject.n, cn, strlen(cn));
	assert_false(c.has_ext_request);
	assert_int_equal(c.other_attributes, 0);
	mr_csr_ignored(&c, ignored, sizeof(ignored));
	assert_string_equal(ignored, "");

	parse_csr(&fx.rsa3072, &c);
	assert_int_equal(c.spki.type, MR_KEY_RSA_3072);
	assert_int_equal(c.sig_alg, MR_SIG_RSA_SHA256);
	assert_int_equal(c.spki.whole.n, fx.rsa3072_pub.n);
	assert_memory_equal(c.spki.whole.p, fx.rsa3072_pub.p, fx.rsa3072_pub.n);
	assert_false(c.has_ext_request);
}

/* mr_spki_parse names RSA-2048 so that it can be refused by name; the
 * refusal is the policy's and the lint's, never the parser's silence. */
static void
test_csr_rsa2048_parsed_then_refused(void **state)
{
	mr_csr c;
	mr_config cfg;
	mr_diag d;
	issued *i = malloc(sizeof(*i));
	int rc;

	(void)state;
	assert_non_null(i);
	parse_csr(&fx.rsa2048, &c);
	assert_int_equal(c.spki.type, MR_KEY_RSA_2048);
	assert_string_equal(mr_key_type_name(c.spki.type), "rsa-2048");

	mr_diag_clear(&d);
	assert_int_equal(mr_config_parse("", 0, &cfg, &d), MR_OK);
	assert_false(mr_config_allows(&cfg, c.spki.type));
	cfg.allowed_key_types = ~0u;
	assert_false(mr_config_allows(&cfg, c.spki.type));

	/* Even if policy were bypassed, the lint refuses to have it signed. */
	issue(&c.spki, 0, INTER_KU, i);
	mr_diag_clear(&d);
	rc = mr_lint_ca(&i->c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, &d);
	assert_int_equal(rc, MR_E_LINT);
	assert_non_null(strstr(d.msg, "rsa-2048"));
	free(i);
}

static void
test_csr_unsupported_keys(void **state)
{
	static const struct {
		const blob *b;
		const char *why;
	} v[] = {
		{ &fx.ed25519, "algorithm not allowed" },
		{ &fx.p521, "curve not allowed" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		mr_csr c;
		mr_diag d;

		mr_diag_clear(&d);
		assert_int_equal(mr_csr_parse(v[i].b->p, v[i].b->n, &c, &d), MR_E_CSR);
		if (strstr(d.msg, "CSR public key") == NULL || strstr(d.msg, v[i].why) == NULL)
			fail_msg("diag \"%s\" lacks \"%s\"", d.msg, v[i].why);
	}
}

static void
test_csr_tampered(void **state)
{
	static const char cn[] = "prod-east";
	mr_csr c;
	mr_diag d;
	uint8_t *copy = malloc(fx.p256.n);
	size_t off;

	(void)state;
	assert_non_null(copy);
	parse_csr(&fx.p256, &c);
	memcpy(copy, fx.p256.p, fx.p256.n);
	/* One letter of the requested CN: inside the signed
	 * CertificationRequestInfo, and still valid DER. */
	off = find(copy, fx.p256.n, cn, strlen(cn));
	assert_true(off > (size_t)(c.subject.p - fx.p256.p) &&
	    off < (size_t)(c.subject.p - fx.p256.p) + c.subject.n);
	copy[off] ^= 0x01; /* 'p' -> 'q' */
	mr_diag_clear(&d);
	assert_int_equal(mr_csr_parse(copy, fx.p256.n, &c, &d), MR_E_SIG);
	assert_non_null(strstr(d.msg, "self-signature"));

	/* The last byte of the signature. */
	memcpy(copy, fx.p256.p, fx.p256.n);
	copy[fx.p256.n - 1] ^= 0x01;
	mr_diag_clear(&d);
	assert_int_equal(mr_csr_parse(copy, fx.p256.n, &c, &d), MR_E_SIG);

	/* Size limit, trailing bytes, and nothing at all. */
	{
		uint8_t *huge = calloc(1, MR_CSR_MAX_DER + 1);

		assert_non_null(huge);
		memcpy(huge, fx.p256.p, fx.p256.n);
		mr_diag_clear(&d);
		assert_int_equal(mr_csr_parse(huge, MR_CSR_MAX_DER + 1, &c, &d), MR_E_CSR);
		assert_non_null(strstr(d.msg, "larger"));
		free(huge);
	}
	{
		uint8_t *longer = malloc(fx.p256.n + 1);

		assert_non_null(longer);
		memcpy(longer, fx.p256.p, fx.p256.n);
		longer[fx.p256.n] = 0;
		assert_int_equal(mr_csr_parse(longer, fx.p256.n + 1, &c, NULL), MR_E_CSR);
		free(longer);
	}
	assert_int_equal(mr_csr_parse(fx.p256.p, 0, &c, NULL), MR_E_CSR);
	/* A certificate is not a CSR. */
	assert_int_not_equal(mr_csr_parse(fx.root_der.p, fx.root_der.n, &c, NULL), MR_OK);
	free(copy);
}

static void
test_csr_ignored(void **state)
{
	static const char want[] = "basicConstraints pathlen 5, subjectAltName";
	mr_csr c;
	char out[128];

	(void)state;
	parse_csr(&fx.ext, &c);
	assert_int_equal(c.spki.type, MR_KEY_EC_P256);
	assert_true(c.has_ext_request);
	assert_true(c.requested.has_bc);
	assert_true(c.requested.bc_critical);
	assert_true(c.requested.bc_ca);
	assert_int_equal(c.requested.bc_pathlen, 5);
	assert_true(c.requested.has_san);
	assert_false(c.requested.has_ku);
	assert_false(c.requested.has_eku);
	assert_int_equal(c.requested.unknown, 0);
	mr_csr_ignored(&c, out, sizeof(out));
	assert_string_equal(out, want);

	/* A short buffer: a terminated prefix, nothing past cap. */
	for (size_t cap = 1; cap < sizeof(want); cap++) {
		memset(out, '#', sizeof(out));
		mr_csr_ignored(&c, out, cap);
		assert_true(strlen(out) < cap);
		assert_int_equal(strncmp(out, want, strlen(out)), 0);
		for (size_t k = cap; k < sizeof(out); k++)
			assert_int_equal(out[k], '#');
	}
	memset(out, '#', sizeof(out));
	mr_csr_ignored(&c, out, 0);
	assert_int_equal(out[0], '#');
}

/* ------------------------------------------------------------- the root */

static void
test_cert_root(void **state)
{
	const mr_cert *r = &fx.root;
	mr_spki pub;
	uint8_t id[20];
	char serial[64], *nl;
	blob txt;
	mr_diag d;

	(void)state;
	assert_int_equal(r->version, 2);
	assert_int_equal(r->sig_alg, MR_SIG_ECDSA_SHA384);
	assert_int_equal(r->tbs_sig_alg, MR_SIG_ECDSA_SHA384);
	assert_int_equal(r->spki.type, MR_KEY_EC_P384);
	assert_int_equal(r->spki.whole.n, fx.root_pub.n);
	assert_memory_equal(r->spki.whole.p, fx.root_pub.p, fx.root_pub.n);
	assert_true(mr_der_equal(r->issuer, r->subject));
	assert_int_equal(r->not_after - r->not_before, 3650 * DAY);
	assert_true(r->not_before <= fx.now + 60 && r->not_before >= fx.now - 3600);
	assert_true(r->ext.has_bc && r->ext.bc_critical && r->ext.bc_ca);
	assert_int_equal(r->ext.bc_pathlen, -1);
	assert_true(r->ext.has_ku && r->ext.ku_critical);
	assert_int_equal(r->ext.ku, MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN);
	assert_true(r->ext.has_ski);
	assert_int_equal(mr_spki_parse(mr_der_view(fx.root_pub.p, fx.root_pub.n), &pub, NULL),
	    MR_OK);
	mr_spki_key_id(&pub, id);
	assert_int_equal(r->ext.ski.n, 20);
	assert_memory_equal(r->ext.ski.p, id, 20);

	/* The serial as openssl prints it. */
	assert_int_equal(run("openssl x509 -in root.pem -noout -serial > serial.txt"), 0);
	assert_int_equal(read_file("serial.txt", &txt), 0);
	assert_int_equal(strncmp((char *)txt.p, "serial=", 7), 0);
	if ((nl = strchr((char *)txt.p, '\n')) != NULL)
		*nl = '\0';
	for (char *s = (char *)txt.p; *s; s++)
		if (*s >= 'A' && *s <= 'F')
			*s = (char)(*s - 'A' + 'a');
	mr_cert_serial_hex(r, serial, sizeof(serial));
	assert_string_equal(serial, (char *)txt.p + 7);
	free(txt.p);

	mr_diag_clear(&d);
	assert_int_equal(mr_cert_verify_signature(r, &r->spki, &d), MR_OK);
	mr_diag_clear(&d);
	if (mr_lint_ca(r, MR_LINT_ROOT, NULL, fx.now, &d) != MR_OK)
		fail_msg("root lint: %s", d.msg);
}

static void
test_cert_bad_signature(void **state)
{
	uint8_t *copy = malloc(fx.root_der.n);
	static const char cn[] = "meshroot Test Root";
	mr_cert c;
	mr_csr csr;
	mr_diag d;

	(void)state;
	assert_non_null(copy);
	/* The last byte of s. */
	memcpy(copy, fx.root_der.p, fx.root_der.n);
	copy[fx.root_der.n - 1] ^= 0x80;
	assert_int_equal(mr_cert_parse(copy, fx.root_der.n, &c, NULL), MR_OK);
	mr_diag_clear(&d);
	assert_int_equal(mr_cert_verify_signature(&c, &fx.root.spki, &d), MR_E_SIG);
	assert_non_null(strstr(d.msg, "does not verify"));

	/* A letter of the subject CN in the TBS. */
	memcpy(copy, fx.root_der.p, fx.root_der.n);
	copy[find(copy, fx.root_der.n, cn, strlen(cn))] ^= 0x20;
	assert_int_equal(mr_cert_parse(copy, fx.root_der.n, &c, NULL), MR_OK);
	assert_int_equal(mr_cert_verify_signature(&c, &fx.root.spki, NULL), MR_E_SIG);

	/* The right signature under the wrong key. */
	parse_csr(&fx.p256, &csr);
	assert_int_equal(mr_cert_verify_signature(&fx.root, &csr.spki, NULL), MR_E_SIG);
	parse_csr(&fx.rsa3072, &csr);
	mr_diag_clear(&d);
	assert_int_equal(mr_cert_verify_signature(&fx.root, &csr.spki, &d), MR_E_SIG);
	assert_non_null(strstr(d.msg, "does not fit"));
	free(copy);
}

/* RFC 5280 4.1.1.2: the outer signatureAlgorithm equals the TBS one. A
 * single bit turns ecdsa-with-SHA384 (...04 03 03) into SHA256 (...04 03 02). */
static void
test_cert_sig_alg_mismatch(void **state)
{
	static const uint8_t alg384[] = { 0x30, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce,
		0x3d, 0x04, 0x03, 0x03 };
	uint8_t *copy = malloc(fx.root_der.n);
	size_t tbs_end = (size_t)(fx.root.tbs.p - fx.root_der.p) + fx.root.tbs.n;
	mr_cert c;
	mr_diag d;

	(void)state;
	assert_non_null(copy);
	memcpy(copy, fx.root_der.p, fx.root_der.n);
	assert_true(tbs_end + sizeof(alg384) < fx.root_der.n);
	assert_memory_equal(copy + tbs_end, alg384, sizeof(alg384));
	copy[tbs_end + sizeof(alg384) - 1] ^= 0x01;
	mr_diag_clear(&d);
	assert_int_equal(mr_cert_parse(copy, fx.root_der.n, &c, &d), MR_E_CERT);
	assert_non_null(strstr(d.msg, "differs"));
	free(copy);
}

/* Extensions as hex, with the expected outcome next to each. */
static void
test_exts_parse(void **state)
{
	static const struct {
		const char *hex;
		int rc;
		const char *why;
	} v[] = {
		/* basicConstraints critical CA:TRUE */
		{ "300f0603551d130101ff040530030101ff", MR_OK, NULL },
		/* ... twice */
		{ "300f0603551d130101ff040530030101ff300f0603551d130101ff040530030101ff",
		  MR_E_DER, "duplicate" },
		/* critical FALSE written out */
		{ "300f0603551d130101000405300301 01ff", MR_E_DER, "critical FALSE" },
		/* cA FALSE written out */
		{ "300f0603551d130101ff0405300301 0100", MR_E_DER, "malformed" },
		/* pathLenConstraint 256 */
		{ "30130603551d130101ff0409300701 01ff02020100", MR_E_DER, "malformed" },
		/* keyUsage with a set bit among the unused ones */
		{ "300e0603551d0f0101ff0404030201 07", MR_E_DER, "malformed" },
		/* unknown extension 1.2.3, critical */
		{ "300906022a030101ff0400", MR_OK, NULL },
		/* SKI with a NULL after the value */
		{ "300b0603551d0e040204000500", MR_E_DER, "malformed" },
		/* truncated */
		{ "300f0603551d130101ff0405300301", MR_E_DER, "malformed" },
		/* EKU clientAuth only */
		{ "30130603551d25040c300a06082b06010505070302", MR_OK, NULL },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		uint8_t der[128];
		size_t n = 0;
		mr_exts e;
		mr_diag d;
		int rc;

		for (const char *h = v[i].hex; *h; h++) {
			unsigned x;

			if (*h == ' ')
				continue;
			assert_int_equal(sscanf(h, "%2x", &x), 1);
			assert_true(n < sizeof(der));
			der[n++] = (uint8_t)x;
			h++;
		}
		mr_diag_clear(&d);
		rc = mr_exts_parse(mr_der_view(der, n), &e, &d);
		if (rc != v[i].rc || (v[i].why != NULL && strstr(d.msg, v[i].why) == NULL))
			fail_msg("vector %zu: rc %d \"%s\"", i, rc, d.msg);
		if (i == 0) {
			assert_true(e.has_bc && e.bc_critical && e.bc_ca);
			assert_int_equal(e.bc_pathlen, -1);
			assert_int_equal(e.count, 1);
		}
		if (i == 6) {
			assert_int_equal(e.unknown, 1);
			assert_int_equal(e.unknown_critical, 1);
		}
		if (i == 9) {
			assert_true(e.has_eku);
			assert_false(e.eku_server_auth);
		}
	}
}

/* ---------------------------------------------------------- TBS builder */

static void
test_tbs_build_intermediate(void **state)
{
	const issued *i = inter();
	const mr_cert *c = &i->c;
	mr_csr csr;
	mr_cert again;
	mr_diag d;
	char pem[4096];
	size_t pem_len;
	blob txt;
	static const char *const want_text[] = {
		"Version: 3 (0x2)",
		"Signature Algorithm: ecdsa-with-SHA384",
		"Issuer: C = US, O = meshroot test, CN = meshroot Test Root",
		"Subject: O = Example Org, L = prod-east, CN = prod-east",
		"X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0\n",
		"X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign, CRL Sign\n",
		"X509v3 Subject Key Identifier",
		"X509v3 Authority Key Identifier",
		"NIST CURVE: P-256",
	};

	(void)state;
	parse_csr(&fx.p256, &csr);
	/* What went in comes out. */
	assert_int_equal(c->version, 2);
	assert_int_equal(c->serial.n, sizeof(i->serial));
	assert_memory_equal(c->serial.p, i->serial, sizeof(i->serial));
	assert_int_equal(c->sig_alg, MR_SIG_ECDSA_SHA384);
	assert_true(mr_der_equal(c->issuer, fx.root.subject));
	assert_true(mr_der_equal(c->subject, i->subject));
	assert_int_equal(c->not_before, i->not_before);
	assert_int_equal(c->not_after, i->not_after);
	assert_true(mr_der_equal(c->spki.whole, csr.spki.whole));
	assert_int_equal(c->spki.type, MR_KEY_EC_P256);
	assert_int_equal(c->ext.count, 4);
	assert_true(c->ext.has_bc && c->ext.bc_critical && c->ext.bc_ca);
	assert_int_equal(c->ext.bc_pathlen, 0);
	assert_true(c->ext.has_ku && c->ext.ku_critical);
	assert_int_equal(c->ext.ku, INTER_KU);
	assert_true(c->ext.has_ski && !c->ext.ski_critical);
	assert_memory_equal(c->ext.ski.p, i->ski, 20);
	assert_true(c->ext.has_aki && !c->ext.aki_critical);
	assert_true(mr_der_equal(c->ext.aki_key_id, fx.root.ext.ski));
	assert_false(c->ext.has_eku || c->ext.has_san || c->ext.unknown);

	/* mr_tbs_parse on the TBS alone agrees with the full parse. */
	memset(&again, 0, sizeof(again));
	assert_int_equal(mr_tbs_parse(c->tbs, &again, NULL), MR_OK);
	assert_true(mr_der_equal(again.serial, c->serial));
	assert_true(mr_der_equal(again.subject, c->subject));
	assert_int_equal(again.tbs_sig_alg, c->tbs_sig_alg);
	assert_int_equal(again.ext.ku, c->ext.ku);

	mr_diag_clear(&d);
	assert_int_equal(mr_cert_verify_signature(c, &fx.root.spki, &d), MR_OK);
	mr_diag_clear(&d);
	if (mr_lint_ca(&again, MR_LINT_INTERMEDIATE, &fx.root, fx.now, &d) != MR_OK)
		fail_msg("TBS lint: %s", d.msg);
	mr_diag_clear(&d);
	if (mr_lint_ca(c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, &d) != MR_OK)
		fail_msg("certificate lint: %s", d.msg);

	/* An independent verifier agrees. */
	assert_int_equal(write_file("inter.der", i->der, i->n), 0);
	assert_int_equal(mr_pem_write("CERTIFICATE", i->der, i->n, pem, sizeof(pem), &pem_len),
	    MR_OK);
	assert_int_equal(write_file("inter.pem", pem, pem_len), 0);
	assert_int_equal(run("openssl verify -x509_strict -CAfile root.pem inter.pem > verify.txt"), 0);
	assert_int_equal(read_file("verify.txt", &txt), 0);
	assert_string_equal((char *)txt.p, "inter.pem: OK\n");
	free(txt.p);
	/* openssl reads the DER form identically. */
	assert_int_equal(run("openssl x509 -inform DER -in inter.der -outform DER -out inter2.der"
	    " && cmp -s inter.der inter2.der"), 0);
	assert_int_equal(run("openssl x509 -inform DER -in inter.der -noout -text > text.txt"), 0);
	assert_int_equal(read_file("text.txt", &txt), 0);
	for (size_t k = 0; k < NELEM(want_text); k++)
		if (strstr((char *)txt.p, want_text[k]) == NULL)
			fail_msg("openssl -text lacks \"%s\":\n%s", want_text[k], (char *)txt.p);
	assert_null(strstr((char *)txt.p, "Extended Key Usage"));
	assert_null(strstr((char *)txt.p, "Alternative Name"));
	free(txt.p);
}

/* An RSA-3072 subject key, no pathLenConstraint, and a chain openssl accepts. */
static void
test_tbs_build_rsa_subject(void **state)
{
	issued *i = malloc(sizeof(*i));
	mr_csr csr;
	mr_diag d;
	char pem[4096];
	size_t pem_len;

	(void)state;
	assert_non_null(i);
	parse_csr(&fx.rsa3072, &csr);
	issue(&csr.spki, -1, INTER_KU, i);
	assert_int_equal(i->c.spki.type, MR_KEY_RSA_3072);
	assert_int_equal(i->c.ext.bc_pathlen, -1);
	assert_int_equal(mr_cert_verify_signature(&i->c, &fx.root.spki, NULL), MR_OK);
	/* Our policy wants pathlen 0 on intermediates. */
	mr_diag_clear(&d);
	assert_int_equal(mr_lint_ca(&i->c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, &d),
	    MR_E_LINT);
	assert_non_null(strstr(d.msg, "pathLenConstraint"));
	assert_int_equal(mr_pem_write("CERTIFICATE", i->der, i->n, pem, sizeof(pem), &pem_len),
	    MR_OK);
	assert_int_equal(write_file("rsa-inter.pem", pem, pem_len), 0);
	assert_int_equal(run("openssl verify -x509_strict -CAfile root.pem rsa-inter.pem"), 0);
	free(i);
}

static void
test_tbs_build_args(void **state)
{
	const issued *i = inter();
	uint8_t serial_neg[16], serial21[21], buf[4096], ski[20] = { 1 };
	mr_tbs_params p, bad;
	mr_der tbs, first;
	const uint8_t *ref;
	size_t needed;

	(void)state;
	memset(&p, 0, sizeof(p));
	p.serial = i->serial;
	p.serial_len = sizeof(i->serial);
	p.sig_alg = MR_SIG_ECDSA_SHA384;
	p.issuer = fx.root.subject;
	p.subject = i->subject;
	p.not_before = i->not_before;
	p.not_after = i->not_after;
	p.spki = i->c.spki.whole;
	p.ski = ski;
	p.aki = ski;
	p.path_len = 0;
	p.key_usage = INTER_KU;
	assert_int_equal(mr_tbs_build(&p, buf, sizeof(buf), &first), MR_OK);
	needed = first.n;
	ref = first.p;

	/* Every buffer size below the TBS is MR_E_RANGE. */
	for (size_t cap = 0; cap < needed; cap++) {
		uint8_t *small = malloc(cap + 1);

		assert_non_null(small);
		if (mr_tbs_build(&p, small, cap, &tbs) != MR_E_RANGE)
			fail_msg("cap %zu of %zu not refused", cap, needed);
		free(small);
	}
	{
		uint8_t *exact = malloc(needed);

		assert_non_null(exact);
		assert_int_equal(mr_tbs_build(&p, exact, needed, &tbs), MR_OK);
		assert_int_equal(tbs.n, needed);
		assert_memory_equal(tbs.p, ref, needed);
		free(exact);
	}

	memset(serial_neg, 0x11, sizeof(serial_neg));
	serial_neg[0] = 0x80;
	memset(serial21, 0x11, sizeof(serial21));
	bad = p, bad.serial_len = 0;
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_ARG);
	bad = p, bad.serial = serial21, bad.serial_len = sizeof(serial21);
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_ARG);
	bad = p, bad.serial = serial_neg;
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_ARG);
	bad = p, bad.ski = NULL;
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_ARG);
	bad = p, bad.aki = NULL;
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_ARG);
	bad = p, bad.key_usage = 0;
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_ARG);
	bad = p, bad.key_usage = 0x200;
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_ARG);
	bad = p, bad.sig_alg = MR_SIG_UNKNOWN;
	assert_int_not_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_OK);
	bad = p, bad.not_after = 253402300800; /* year 10000 */
	assert_int_equal(mr_tbs_build(&bad, buf, sizeof(buf), &tbs), MR_E_RANGE);
}

/* keyUsage is a DER named bit list: the trailing zero bits are dropped. */
static void
test_tbs_key_usage_encoding(void **state)
{
	static const struct {
		unsigned ku;
	} v[] = {
		{ MR_KU_DIGITAL_SIGNATURE },
		{ MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN },
		{ INTER_KU },
		{ MR_KU_DECIPHER_ONLY },
		{ MR_KU_DIGITAL_SIGNATURE | MR_KU_DECIPHER_ONLY },
		{ 0x1ff },
	};
	const issued *in = inter();
	uint8_t ski[20] = { 7 }, buf[2048];

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		mr_tbs_params p;
		mr_der tbs;
		mr_cert c;
		unsigned highest = 0;
		const uint8_t ku_oid[] = { 0x06, 0x03, 0x55, 0x1d, 0x0f };
		size_t at;

		memset(&p, 0, sizeof(p));
		p.serial = in->serial;
		p.serial_len = sizeof(in->serial);
		p.sig_alg = MR_SIG_ECDSA_SHA384;
		p.issuer = fx.root.subject;
		p.subject = in->subject;
		p.not_before = in->not_before;
		p.not_after = in->not_after;
		p.spki = in->c.spki.whole;
		p.ski = ski;
		p.aki = ski;
		p.path_len = 0;
		p.key_usage = v[i].ku;
		assert_int_equal(mr_tbs_build(&p, buf, sizeof(buf), &tbs), MR_OK);
		memset(&c, 0, sizeof(c));
		assert_int_equal(mr_tbs_parse(tbs, &c, NULL), MR_OK);
		assert_int_equal(c.ext.ku, v[i].ku);
		/* The BIT STRING's unused-bit count stops right after the
		 * highest bit set. */
		for (unsigned b = 0; b < 9; b++)
			if (v[i].ku & (1u << b))
				highest = b;
		/* OID, BOOLEAN TRUE, OCTET STRING { BIT STRING } */
		at = find(tbs.p, tbs.n, ku_oid, sizeof(ku_oid)) + sizeof(ku_oid) + 3 + 2;
		assert_true(at + 3 <= tbs.n);
		assert_int_equal(tbs.p[at], MR_DER_BIT_STRING);
		assert_int_equal(tbs.p[at + 1], highest / 8 + 2);
		assert_int_equal(tbs.p[at + 2], 7 - highest % 8);
	}
}

static void
test_name_build(void **state)
{
	uint8_t buf[512];
	mr_der out;
	char long_cn[66];
	mr_name_fields f;
	static const uint8_t cn_only[] = {
		0x30, 0x0e, 0x31, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x04, 0x03,
		0x0c, 0x03, 'a', 'b', 'c',
	};

	(void)state;
	memset(&f, 0, sizeof(f));
	f.cn = "abc";
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_OK);
	assert_int_equal(out.n, sizeof(cn_only));
	assert_memory_equal(out.p, cn_only, sizeof(cn_only));

	memset(&f, 0, sizeof(f));
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_E_ARG);
	f.cn = "";
	f.o = "";
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_E_ARG);
	f.cn = "x";
	f.c = "USA";
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_E_ARG);
	f.c = "U";
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_E_ARG);
	f.c = "U\x01";
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_E_ARG);
	f.c = "US";
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_OK);
	memset(long_cn, 'a', sizeof(long_cn));
	long_cn[64] = '\0';
	f.cn = long_cn;
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_OK);
	long_cn[64] = 'a';
	long_cn[65] = '\0';
	assert_int_equal(mr_name_build(&f, buf, sizeof(buf), &out), MR_E_RANGE);
	f.cn = "x";
	assert_int_equal(mr_name_build(&f, buf, 10, &out), MR_E_RANGE);

	/* openssl reads the order C, O, OU, L, CN back. */
	{
		const mr_name_fields all = { "DE", "Org", "Unit", "Town", "Name" };
		blob txt;

		assert_int_equal(mr_name_build(&all, buf, sizeof(buf), &out), MR_OK);
		assert_int_equal(write_file("name.der", out.p, out.n), 0);
		assert_int_equal(run("openssl asn1parse -inform DER -in name.der > name.txt"), 0);
		assert_int_equal(read_file("name.txt", &txt), 0);
		{
			const char *s = (const char *)txt.p, *order[] = { "countryName",
				":DE", "organizationName", ":Org", "organizationalUnitName",
				":Unit", "localityName", ":Town", "commonName", ":Name" };

			for (size_t k = 0; k < NELEM(order); k++) {
				s = strstr(s, order[k]);
				if (s == NULL)
					fail_msg("\"%s\" missing or out of order:\n%s", order[k],
					    (char *)txt.p);
			}
			assert_non_null(strstr((char *)txt.p, "PRINTABLESTRING   :DE"));
			assert_non_null(strstr((char *)txt.p, "UTF8STRING        :Name"));
		}
		free(txt.p);
	}
}

/* ---------------------------------------------------------------- lints */

static const uint8_t other20[20] = { 0xde, 0xad, 0xbe, 0xef };
static const uint8_t serial21[21] = { 0x01, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11 };
static const uint8_t serial_neg[16] = { 0x80, 1, 2, 3, 4, 5, 6, 7, 8, 9 };
static const uint8_t empty_name[] = { 0x30, 0x00 };

enum {
	L_VERSION, L_SERIAL_LONG, L_SERIAL_NEG, L_SERIAL_SHORT, L_EMPTY_SUBJECT,
	L_EMPTY_ISSUER, L_VALIDITY_ORDER, L_KEY_RSA2048, L_KEY_UNKNOWN, L_NO_BC, L_BC_NOT_CA,
	L_BC_NOT_CRITICAL, L_NO_KU, L_KU_NOT_CRITICAL, L_KU_NO_CERTSIGN, L_KU_NO_CRLSIGN,
	L_KU_KEY_ENC, L_KU_DATA_ENC, L_KU_KEY_AGREE, L_KU_ENC_ONLY, L_KU_DEC_ONLY,
	L_NO_SKI, L_SKI_CRITICAL, L_SKI_EMPTY, L_AKI_CRITICAL, L_AKI_NO_KEYID,
	L_EKU_NO_SERVER_AUTH, L_UNKNOWN_CRITICAL, L_SAN, L_SKI_MISMATCH, L_NO_ISSUER,
	L_ISSUER_MISMATCH, L_SUBJECT_IS_ROOT, L_SIG_ALG_RSA, L_NO_AKI, L_AKI_MISMATCH,
	L_ROOT_NO_SKI, L_PATHLEN_1, L_PATHLEN_NONE, L_KU_NO_DIGSIG, L_OUTLIVES_ROOT,
	L_BEFORE_ROOT, L_EXPIRED,
};

static const struct {
	int id;
	const char *word; /* distinctive part of the rule's message */
} lint_rules[] = {
	{ L_VERSION, "not v3" },
	{ L_SERIAL_LONG, "longer than 20" },
	{ L_SERIAL_NEG, "negative" },
	{ L_SERIAL_SHORT, "64 random bits" },
	{ L_EMPTY_SUBJECT, "empty issuer or subject" },
	{ L_EMPTY_ISSUER, "empty issuer or subject" },
	{ L_VALIDITY_ORDER, "notAfter is not after notBefore" },
	{ L_KEY_RSA2048, "rsa-2048 is not allowed" },
	{ L_KEY_UNKNOWN, "unknown is not allowed" },
	{ L_NO_BC, "cA is not TRUE" },
	{ L_BC_NOT_CA, "cA is not TRUE" },
	{ L_BC_NOT_CRITICAL, "basicConstraints is not critical" },
	{ L_NO_KU, "keyUsage missing or not critical" },
	{ L_KU_NOT_CRITICAL, "keyUsage missing or not critical" },
	{ L_KU_NO_CERTSIGN, "keyCertSign" },
	{ L_KU_NO_CRLSIGN, "cRLSign" },
	{ L_KU_KEY_ENC, "encryption" },
	{ L_KU_DATA_ENC, "encryption" },
	{ L_KU_KEY_AGREE, "key agreement" },
	{ L_KU_ENC_ONLY, "encryption" },
	{ L_KU_DEC_ONLY, "encryption" },
	{ L_NO_SKI, "subjectKeyIdentifier missing" },
	{ L_SKI_CRITICAL, "subjectKeyIdentifier missing or critical" },
	{ L_SKI_EMPTY, "subjectKeyIdentifier missing" },
	{ L_AKI_CRITICAL, "authorityKeyIdentifier critical" },
	{ L_AKI_NO_KEYID, "without keyIdentifier" },
	{ L_EKU_NO_SERVER_AUTH, "serverAuth" },
	{ L_UNKNOWN_CRITICAL, "unknown critical extension" },
	{ L_SAN, "subjectAltName" },
	{ L_SKI_MISMATCH, "does not match the subject public key" },
	{ L_NO_ISSUER, "without its issuer" },
	{ L_ISSUER_MISMATCH, "issuer is not the root's subject" },
	{ L_SUBJECT_IS_ROOT, "subject equals the root subject" },
	{ L_SIG_ALG_RSA, "does not fit the root key" },
	{ L_NO_AKI, "authorityKeyIdentifier does not match" },
	{ L_AKI_MISMATCH, "authorityKeyIdentifier does not match" },
	{ L_ROOT_NO_SKI, "authorityKeyIdentifier does not match" },
	{ L_PATHLEN_1, "pathLenConstraint" },
	{ L_PATHLEN_NONE, "pathLenConstraint" },
	{ L_KU_NO_DIGSIG, "digitalSignature" },
	{ L_OUTLIVES_ROOT, "after the root's notAfter" },
	{ L_BEFORE_ROOT, "before the root's notBefore" },
	{ L_EXPIRED, "already be expired" },
};

/* Breaks exactly one rule of an otherwise good intermediate. */
static void
break_rule(int id, mr_cert *c, mr_cert *root, const mr_cert **issuer, time_t *now)
{
	mr_exts *e = &c->ext;

	switch (id) {
	case L_VERSION: c->version = 0; break;
	case L_SERIAL_LONG: c->serial = mr_der_view(serial21, sizeof(serial21)); break;
	case L_SERIAL_NEG: c->serial = mr_der_view(serial_neg, sizeof(serial_neg)); break;
	case L_SERIAL_SHORT: c->serial.n = 8; break;
	case L_EMPTY_SUBJECT: c->subject = mr_der_view(empty_name, sizeof(empty_name)); break;
	case L_EMPTY_ISSUER: c->issuer = mr_der_view(empty_name, sizeof(empty_name)); break;
	case L_VALIDITY_ORDER: c->not_after = c->not_before; break;
	case L_KEY_RSA2048: c->spki.type = MR_KEY_RSA_2048; break;
	case L_KEY_UNKNOWN: c->spki.type = MR_KEY_UNKNOWN; break;
	case L_NO_BC: e->has_bc = 0; break;
	case L_BC_NOT_CA: e->bc_ca = 0; break;
	case L_BC_NOT_CRITICAL: e->bc_critical = 0; break;
	case L_NO_KU: e->has_ku = 0; break;
	case L_KU_NOT_CRITICAL: e->ku_critical = 0; break;
	case L_KU_NO_CERTSIGN: e->ku &= ~(unsigned)MR_KU_KEY_CERT_SIGN; break;
	case L_KU_NO_CRLSIGN: e->ku &= ~(unsigned)MR_KU_CRL_SIGN; break;
	case L_KU_KEY_ENC: e->ku |= MR_KU_KEY_ENCIPHERMENT; break;
	case L_KU_DATA_ENC: e->ku |= MR_KU_DATA_ENCIPHERMENT; break;
	case L_KU_KEY_AGREE: e->ku |= MR_KU_KEY_AGREEMENT; break;
	case L_KU_ENC_ONLY: e->ku |= MR_KU_ENCIPHER_ONLY; break;
	case L_KU_DEC_ONLY: e->ku |= MR_KU_DECIPHER_ONLY; break;
	case L_NO_SKI: e->has_ski = 0; break;
	case L_SKI_CRITICAL: e->ski_critical = 1; break;
	case L_SKI_EMPTY: e->ski.n = 0; break;
	case L_AKI_CRITICAL: e->aki_critical = 1; break;
	case L_AKI_NO_KEYID: e->aki_key_id = mr_der_view(NULL, 0); break;
	case L_EKU_NO_SERVER_AUTH: e->has_eku = 1, e->eku_server_auth = 0; break;
	case L_UNKNOWN_CRITICAL: e->unknown = 1, e->unknown_critical = 1; break;
	case L_SAN: e->has_san = 1; break;
	case L_SKI_MISMATCH: e->ski = mr_der_view(other20, sizeof(other20)); break;
	case L_NO_ISSUER: *issuer = NULL; break;
	case L_ISSUER_MISMATCH: c->issuer = c->subject; break;
	case L_SUBJECT_IS_ROOT: c->subject = root->subject; break;
	case L_SIG_ALG_RSA: c->tbs_sig_alg = MR_SIG_RSA_SHA256; break;
	case L_NO_AKI: e->has_aki = 0; break;
	case L_AKI_MISMATCH: e->aki_key_id = mr_der_view(other20, sizeof(other20)); break;
	case L_ROOT_NO_SKI: root->ext.has_ski = 0; break;
	case L_PATHLEN_1: e->bc_pathlen = 1; break;
	case L_PATHLEN_NONE: e->bc_pathlen = -1; break;
	case L_KU_NO_DIGSIG: e->ku &= ~(unsigned)MR_KU_DIGITAL_SIGNATURE; break;
	case L_OUTLIVES_ROOT: c->not_after = root->not_after + 1; break;
	case L_BEFORE_ROOT: c->not_before = root->not_before - 1; break;
	case L_EXPIRED: *now = c->not_after; break;
	default: fail_msg("no mutation for rule %d", id);
	}
}

static void
test_lint_intermediate_rules(void **state)
{
	const issued *good = inter();
	mr_diag d;

	(void)state;
	/* The baseline passes, so each failure below is the mutation's. */
	mr_diag_clear(&d);
	assert_int_equal(mr_lint_ca(&good->c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, &d),
	    MR_OK);
	for (size_t i = 0; i < NELEM(lint_rules); i++) {
		mr_cert c = good->c, root = fx.root;
		const mr_cert *issuer = &root;
		time_t now = fx.now;
		int rc;

		break_rule(lint_rules[i].id, &c, &root, &issuer, &now);
		mr_diag_clear(&d);
		rc = mr_lint_ca(&c, MR_LINT_INTERMEDIATE, issuer, now, &d);
		if (rc != MR_E_LINT || strstr(d.msg, lint_rules[i].word) == NULL)
			fail_msg("rule %d: rc %d, diag \"%s\", want \"%s\"", lint_rules[i].id, rc,
			    d.msg, lint_rules[i].word);
	}
}

/* Mutations that must NOT trip a rule: the lint is not over-eager. */
static void
test_lint_intermediate_allowed(void **state)
{
	const issued *good = inter();
	mr_diag d;

	(void)state;
	{
		mr_cert c = good->c;

		c.ext.has_eku = 1, c.ext.eku_server_auth = 1; /* EKU with serverAuth */
		mr_diag_clear(&d);
		assert_int_equal(mr_lint_ca(&c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, &d), MR_OK);
	}
	{
		mr_cert c = good->c;

		c.ext.unknown = 3; /* unknown, non-critical */
		assert_int_equal(mr_lint_ca(&c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, NULL),
		    MR_OK);
	}
	{
		mr_cert c = good->c;

		c.not_after = fx.root.not_after; /* ends with the root */
		c.serial.n = 9;                  /* 9 octets is enough */
		assert_int_equal(mr_lint_ca(&c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, NULL),
		    MR_OK);
	}
	{
		mr_cert c = good->c;

		c.serial = mr_der_view(serial21, 20);
		assert_int_equal(mr_lint_ca(&c, MR_LINT_INTERMEDIATE, &fx.root, fx.now, NULL),
		    MR_OK);
	}
}

static void
test_lint_root_rules(void **state)
{
	mr_diag d;

	(void)state;
	{
		mr_cert c = fx.root;

		c.issuer = inter()->c.subject;
		mr_diag_clear(&d);
		assert_int_equal(mr_lint_ca(&c, MR_LINT_ROOT, NULL, fx.now, &d), MR_E_LINT);
		assert_non_null(strstr(d.msg, "issuer differs from subject"));
	}
	{
		mr_cert c = fx.root;

		c.tbs_sig_alg = MR_SIG_RSA_SHA384;
		mr_diag_clear(&d);
		assert_int_equal(mr_lint_ca(&c, MR_LINT_ROOT, NULL, fx.now, &d), MR_E_LINT);
		assert_non_null(strstr(d.msg, "does not fit its own key"));
	}
	{
		mr_cert c = fx.root;

		c.ext.bc_critical = 0;
		mr_diag_clear(&d);
		assert_int_equal(mr_lint_ca(&c, MR_LINT_ROOT, NULL, fx.now, &d), MR_E_LINT);
		assert_non_null(strstr(d.msg, "basicConstraints is not critical"));
	}
	{
		mr_cert c = fx.root;

		c.ext.ski = mr_der_view(other20, sizeof(other20));
		mr_diag_clear(&d);
		assert_int_equal(mr_lint_ca(&c, MR_LINT_ROOT, NULL, fx.now, &d), MR_E_LINT);
		assert_non_null(strstr(d.msg, "does not match the subject public key"));
	}
	/* The intermediate is not a root. */
	mr_diag_clear(&d);
	assert_int_equal(mr_lint_ca(&inter()->c, MR_LINT_ROOT, NULL, fx.now, &d), MR_E_LINT);
}

/* ---------------------------------------------------------- bit flips */

/* Every single-bit flip and every truncation of a valid CSR is refused:
 * the signed part by the self-signature, the rest by the parser or the
 * signature check. */
static void
fuzz_csr(const blob *b)
{
	uint8_t *m = malloc(b->n + 1);
	mr_csr c;
	size_t flips = 0;

	assert_non_null(m);
	parse_csr(b, &c);
	for (size_t i = 0; i < b->n; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			int rc;

			memcpy(m, b->p, b->n);
			m[i] ^= (uint8_t)(1u << bit);
			rc = mr_csr_parse(m, b->n, &c, NULL);
			if (rc != MR_E_CSR && rc != MR_E_SIG)
				fail_msg("byte %zu bit %u: rc %d", i, bit, rc);
			flips++;
		}
	}
	assert_int_equal(flips, 8 * b->n);
	for (size_t n = 0; n < b->n; n++) {
		uint8_t *t = malloc(n + 1); /* exact size, so ASan sees overreads */

		assert_non_null(t);
		memcpy(t, b->p, n);
		if (mr_csr_parse(t, n, &c, NULL) == MR_OK)
			fail_msg("truncation to %zu of %zu accepted", n, b->n);
		free(t);
	}
	free(m);
}

static void
test_fuzz_csr_p256(void **state)
{
	(void)state;
	fuzz_csr(&fx.p256);
}

static void
test_fuzz_csr_rsa3072(void **state)
{
	(void)state;
	fuzz_csr(&fx.rsa3072);
}

static void
test_fuzz_csr_with_extensions(void **state)
{
	(void)state;
	fuzz_csr(&fx.ext);
}

/* The same for certificates: a flipped certificate never both parses and
 * verifies under the (unflipped) issuer key. */
static void
fuzz_cert(const uint8_t *der, size_t n, const mr_spki *issuer_key)
{
	uint8_t *m = malloc(n);
	mr_cert c;
	size_t parsed = 0;

	assert_non_null(m);
	assert_int_equal(mr_cert_parse(der, n, &c, NULL), MR_OK);
	assert_int_equal(mr_cert_verify_signature(&c, issuer_key, NULL), MR_OK);
	for (size_t i = 0; i < n; i++) {
		for (unsigned bit = 0; bit < 8; bit++) {
			int rc;

			memcpy(m, der, n);
			m[i] ^= (uint8_t)(1u << bit);
			rc = mr_cert_parse(m, n, &c, NULL);
			if (rc == MR_OK) {
				parsed++;
				rc = mr_cert_verify_signature(&c, issuer_key, NULL);
				if (rc != MR_E_SIG)
					fail_msg("byte %zu bit %u verifies (rc %d)", i, bit, rc);
			} else if (rc != MR_E_DER && rc != MR_E_CERT) {
				fail_msg("byte %zu bit %u: rc %d", i, bit, rc);
			}
		}
	}
	/* Most flips land in names, keys and signatures and still parse:
	 * the signature check did the work there. */
	assert_true(parsed > 0);
	for (size_t k = 0; k < n; k++) {
		uint8_t *t = malloc(k + 1);

		assert_non_null(t);
		memcpy(t, der, k);
		if (mr_cert_parse(t, k, &c, NULL) == MR_OK)
			fail_msg("truncation to %zu of %zu accepted", k, n);
		free(t);
	}
	free(m);
}

static void
test_fuzz_cert_intermediate(void **state)
{
	const issued *i = inter();

	(void)state;
	fuzz_cert(i->der, i->n, &fx.root.spki);
}

static void
test_fuzz_cert_root(void **state)
{
	(void)state;
	fuzz_cert(fx.root_der.p, fx.root_der.n, &fx.root.spki);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_csr_good),
		cmocka_unit_test(test_csr_rsa2048_parsed_then_refused),
		cmocka_unit_test(test_csr_unsupported_keys),
		cmocka_unit_test(test_csr_tampered),
		cmocka_unit_test(test_csr_ignored),
		cmocka_unit_test(test_cert_root),
		cmocka_unit_test(test_cert_bad_signature),
		cmocka_unit_test(test_cert_sig_alg_mismatch),
		cmocka_unit_test(test_exts_parse),
		cmocka_unit_test(test_tbs_build_intermediate),
		cmocka_unit_test(test_tbs_build_rsa_subject),
		cmocka_unit_test(test_tbs_build_args),
		cmocka_unit_test(test_tbs_key_usage_encoding),
		cmocka_unit_test(test_name_build),
		cmocka_unit_test(test_lint_intermediate_rules),
		cmocka_unit_test(test_lint_intermediate_allowed),
		cmocka_unit_test(test_lint_root_rules),
		cmocka_unit_test(test_fuzz_csr_p256),
		cmocka_unit_test(test_fuzz_csr_rsa3072),
		cmocka_unit_test(test_fuzz_csr_with_extensions),
		cmocka_unit_test(test_fuzz_cert_intermediate),
		cmocka_unit_test(test_fuzz_cert_root),
	};

	return cmocka_run_group_tests_name("x509", tests, group_setup, group_teardown);
}

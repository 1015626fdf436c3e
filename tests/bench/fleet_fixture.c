/*
 * A fleet for tests and benchmarks, fast: `cluster new` makes a fresh key
 * a cluster, which is right and slow; this makes N clusters in seconds.
 *
 *   fleet_fixture requests WS N [PREFIX]
 *       WS/clusters/<PREFIX><i> for i in 0..N-1 (PREFIX default "c", i as
 *       five digits): ca-key.pem and csr.pem (CN=<name>, signed by it).
 *       TEST SHORTCUT: every cluster shares ONE EC P-256 key. Never a
 *       workspace for real use.
 *   fleet_fixture answers MEDIA CADIR
 *       Answers every MEDIA/meshroot/requests/<c>.csr as the appliance
 *       would (answers/<c>.pem: the intermediate, then the root; the
 *       extensions the appliance writes, via mr_tbs_build), signed by a
 *       TEST ROOT kept in CADIR (made on first use, P-256), and writes
 *       MEDIA/meshroot/root-cert.pem. The host pins that root on its first
 *       media import. No audit proofs: pin no audit key in such a workspace.
 *
 * Files are written plainly (no fsync): a fixture, not a store.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/random.h>

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "mr_cert.h"
#include "mr_cluster.h"
#include "mr_csr.h"
#include "mr_media.h"
#include "mr_pem.h"
#include "mr_pubkey.h"
#include "mr_tbs.h"

#define DAY 86400

static WC_RNG rng;

static void
die(const char *what)
{
	fprintf(stderr, "error: fleet_fixture: %s\n", what);
	exit(1);
}

static void
put_file(const char *path, const void *data, size_t len, mode_t mode)
{
	FILE *f = fopen(path, "wb");

	if (f == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		fprintf(stderr, "error: fleet_fixture: %s: %s\n", path, strerror(errno));
		exit(1);
	}
	if (chmod(path, mode) != 0)
		die("chmod");
}

/* PEM of der appended to out at *len. */
static void
pem_add(const char *label, const uint8_t *der, size_t n, char *out, size_t cap, size_t *len)
{
	size_t k = 0;

	if (mr_pem_write(label, der, n, out + *len, cap - *len, &k) != MR_OK)
		die("PEM encoding");
	*len += k;
}

static void
mkdir_p(const char *path)
{
	char tmp[4096];

	snprintf(tmp, sizeof(tmp), "%s", path);
	for (char *s = tmp + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
			die(tmp);
		*s = '/';
	}
	if (mkdir(tmp, 0700) != 0 && errno != EEXIST)
		die(tmp);
}

static int
requests(const char *ws, unsigned long n, const char *prefix)
{
	ecc_key key;
	uint8_t der[4096], csr[4096];
	char pem[8192], path[4096], name[64];
	size_t key_pem_len = 0;
	int k;

	if (wc_ecc_init(&key) != 0 || wc_ecc_make_key_ex(&rng, 32, &key, ECC_SECP256R1) != 0)
		die("EC key generation");
	if ((k = wc_EccKeyToDer(&key, der, sizeof(der))) <= 0)
		die("EC key encoding");
	pem_add("EC PRIVATE KEY", der, (size_t)k, pem, sizeof(pem), &key_pem_len);
	for (unsigned long i = 0; i < n; i++) {
		Cert req;
		size_t csr_pem_len = 0;
		char csr_pem[8192];

		snprintf(name, sizeof(name), "%s%05lu", prefix, i);
		if (!mr_cluster_name_ok(name))
			die("PREFIX makes an invalid cluster name");
		snprintf(path, sizeof(path), "%s/clusters/%s", ws, name);
		mkdir_p(path);
		if (wc_InitCert(&req) != 0)
			die("wc_InitCert");
		req.version = 0;
		req.sigType = CTC_SHA256wECDSA;
		snprintf(req.subject.commonName, sizeof(req.subject.commonName), "%s", name);
		if (wc_MakeCertReq_ex(&req, csr, sizeof(csr), ECC_TYPE, &key) <= 0 ||
		    (k = wc_SignCert_ex(req.bodySz, req.sigType, csr, sizeof(csr), ECC_TYPE, &key,
			 &rng)) <= 0)
			die("CSR");
		pem_add("CERTIFICATE REQUEST", csr, (size_t)k, csr_pem, sizeof(csr_pem), &csr_pem_len);
		snprintf(path, sizeof(path), "%s/clusters/%s/ca-key.pem", ws, name);
		put_file(path, pem, key_pem_len, 0600);
		snprintf(path, sizeof(path), "%s/clusters/%s/csr.pem", ws, name);
		put_file(path, csr_pem, csr_pem_len, 0644);
	}
	wc_ecc_free(&key);
	printf("%lu cluster(s) in %s/clusters (one shared test key)\n", n, ws);
	return 0;
}

/* Signs tbs with the root key into a certificate (DER in out). */
static size_t
sign(ecc_key *key, mr_der tbs, uint8_t *out, size_t cap)
{
	uint8_t h[32], sig[160];
	size_t hl = 0;
	word32 sl = sizeof(sig);
	mr_der cert;

	if (mr_sig_alg_digest(MR_SIG_ECDSA_SHA256, tbs.p, tbs.n, h, sizeof(h), &hl) != MR_OK ||
	    wc_ecc_sign_hash(h, (word32)hl, sig, &sl, &rng, key) != 0 ||
	    mr_cert_assemble(tbs, MR_SIG_ECDSA_SHA256, sig, sl, out, cap, &cert) != MR_OK)
		die("signing");
	memmove(out, cert.p, cert.n);
	return cert.n;
}

static void
serial(uint8_t s[16])
{
	if (wc_RNG_GenerateBlock(&rng, s, 16) != 0)
		die("RNG");
	s[0] = (uint8_t)((s[0] & 0x7f) | 0x01);
}

typedef struct {
	ecc_key key;
	uint8_t der[2048];
	size_t len;
	mr_cert cert;
} root_ca;

/* The test root of cadir: loaded, or made on first use. */
static void
load_root(const char *cadir, root_ca *ca)
{
	char kpath[4096], cpath[4096];
	uint8_t kder[512], spki[256], name_buf[256], tbs_buf[2048], ser[16], ski[20];
	FILE *f;
	word32 idx = 0;
	size_t kl;
	int k;

	snprintf(kpath, sizeof(kpath), "%s/root-key.der", cadir);
	snprintf(cpath, sizeof(cpath), "%s/root-cert.der", cadir);
	if (wc_ecc_init(&ca->key) != 0)
		die("ecc init");
	if ((f = fopen(kpath, "rb")) != NULL) {
		kl = fread(kder, 1, sizeof(kder), f);
		fclose(f);
		if (wc_EccPrivateKeyDecode(kder, &idx, &ca->key, (word32)kl) != 0)
			die("root-key.der unreadable");
		if ((f = fopen(cpath, "rb")) == NULL)
			die("root-cert.der missing");
		ca->len = fread(ca->der, 1, sizeof(ca->der), f);
		fclose(f);
	} else {
		mr_name_fields nf = { NULL, "meshroot fleet test", NULL, NULL, "meshroot TEST root" };
		mr_tbs_params p;
		mr_spki sk;
		mr_der name, tbs;
		time_t now = time(NULL);

		mkdir_p(cadir);
		if (wc_ecc_make_key_ex(&rng, 32, &ca->key, ECC_SECP256R1) != 0 ||
		    (k = wc_EccKeyToDer(&ca->key, kder, sizeof(kder))) <= 0)
			die("root key");
		put_file(kpath, kder, (size_t)k, 0600);
		if ((k = wc_EccPublicKeyToDer(&ca->key, spki, sizeof(spki), 1)) <= 0 ||
		    mr_spki_parse(mr_der_view(spki, (size_t)k), &sk, NULL) != MR_OK ||
		    mr_name_build(&nf, name_buf, sizeof(name_buf), &name) != MR_OK)
			die("root key encoding");
		mr_spki_key_id(&sk, ski);
		serial(ser);
		memset(&p, 0, sizeof(p));
		p.serial = ser;
		p.serial_len = sizeof(ser);
		p.sig_alg = MR_SIG_ECDSA_SHA256;
		p.issuer = name;
		p.subject = name;
		p.not_before = now - 300;
		p.not_after = now + 3650 * (time_t)DAY;
		p.spki = sk.whole;
		p.ski = ski;
		p.aki = ski;
		p.path_len = -1;
		p.key_usage = MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN;
		if (mr_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs) != MR_OK)
			die("root TBS");
		ca->len = sign(&ca->key, tbs, ca->der, sizeof(ca->der));
		put_file(cpath, ca->der, ca->len, 0644);
	}
	if (mr_cert_parse(ca->der, ca->len, &ca->cert, NULL) != MR_OK || ca->cert.ext.ski.n != 20)
		die("root certificate unreadable");
}

static int
answers(const char *media, const char *cadir)
{
	static root_ca ca;
	char dir[4096], path[4096], out[16384], cluster[64];
	uint8_t csr_der[MR_CSR_MAX_DER], name_buf[256], tbs_buf[4096], cert[4096], ser[16];
	uint8_t ski[20];
	size_t root_pem_len = 0, n = 0;
	time_t now = time(NULL);
	DIR *dp;
	struct dirent *de;

	load_root(cadir, &ca);
	snprintf(dir, sizeof(dir), "%s/%s", media, MR_MEDIA_ANSWERS);
	mkdir_p(dir);
	pem_add("CERTIFICATE", ca.der, ca.len, out, sizeof(out), &root_pem_len);
	snprintf(path, sizeof(path), "%s/%s", media, MR_MEDIA_ROOT);
	put_file(path, out, root_pem_len, 0644);
	snprintf(dir, sizeof(dir), "%s/%s", media, MR_MEDIA_REQUESTS);
	if ((dp = opendir(dir)) == NULL)
		die("no requests on the media");
	while ((de = readdir(dp)) != NULL) {
		mr_name_fields nf = { NULL, "meshroot fleet test", NULL, NULL, NULL };
		size_t text_len = 0, csr_len = 0, pos = 0, len = 0;
		char text[8192];
		mr_tbs_params p;
		mr_der subject, tbs;
		mr_csr csr;
		FILE *f;

		if (!mr_media_name_cluster(de->d_name, ".csr", cluster, sizeof(cluster)))
			continue;
		if (mr_media_path(path, sizeof(path), media, MR_MEDIA_REQUESTS, cluster, ".csr") !=
		    MR_OK || (f = fopen(path, "rb")) == NULL)
			die(path);
		text_len = fread(text, 1, sizeof(text), f);
		fclose(f);
		if (mr_pem_next(text, text_len, &pos, "CERTIFICATE REQUEST", csr_der, sizeof(csr_der),
			&csr_len) != MR_OK ||
		    mr_csr_parse(csr_der, csr_len, &csr, NULL) != MR_OK)
			die(path);
		nf.l = cluster;
		nf.cn = cluster;
		if (mr_name_build(&nf, name_buf, sizeof(name_buf), &subject) != MR_OK)
			die("subject");
		mr_spki_key_id(&csr.spki, ski);
		serial(ser);
		memset(&p, 0, sizeof(p));
		p.serial = ser;
		p.serial_len = sizeof(ser);
		p.sig_alg = MR_SIG_ECDSA_SHA256;
		p.issuer = ca.cert.subject;
		p.subject = subject;
		p.not_before = now - 300;
		p.not_after = now + 365 * (time_t)DAY;
		p.spki = csr.spki.whole;
		p.ski = ski;
		p.aki = ca.cert.ext.ski.p;
		p.path_len = 0;
		p.key_usage = MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN | MR_KU_DIGITAL_SIGNATURE;
		if (mr_tbs_build(&p, tbs_buf, sizeof(tbs_buf), &tbs) != MR_OK)
			die("intermediate TBS");
		len = sign(&ca.key, tbs, cert, sizeof(cert));
		root_pem_len = 0;
		pem_add("CERTIFICATE", cert, len, out, sizeof(out), &root_pem_len);
		pem_add("CERTIFICATE", ca.der, ca.len, out, sizeof(out), &root_pem_len);
		if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, cluster, ".pem") !=
		    MR_OK)
			die("path");
		put_file(path, out, root_pem_len, 0644);
		n++;
	}
	closedir(dp);
	wc_ecc_free(&ca.key);
	printf("%zu answer(s) signed by the test root in %s\n", n, cadir);
	return 0;
}

int
main(int argc, char **argv)
{
	int r = 2;

	if (wc_InitRng(&rng) != 0)
		die("RNG");
	if (argc >= 4 && argc <= 5 && strcmp(argv[1], "requests") == 0) {
		char *end;
		unsigned long n = strtoul(argv[3], &end, 10);
		if (*argv[3] == '\0' || *end != '\0' || n > 1000000)
			die("N must be 0..1000000");
		r = requests(argv[2], n, argc == 5 ? argv[4] : "c");
	} else if (argc == 4 && strcmp(argv[1], "answers") == 0) {
		r = answers(argv[2], argv[3]);
	} else {
		fprintf(stderr, "usage: fleet_fixture requests WS N [PREFIX]\n"
				"       fleet_fixture answers MEDIA CADIR\n");
	}
	wc_FreeRng(&rng);
	return r;
}

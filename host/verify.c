/*
 * verify: an Istio cacerts directory, checked the way istiod loads a plug-in
 * CA (istio/istio security/pkg/pki/util keycertbundle.go verify() and
 * security/pkg/pki/ca NewPluggedCertIstioCAOptions), plus PKI hygiene.
 *
 * What istiod does on load, and where it is mirrored here:
 *   - reads all four files; a partial set is an error            load_files
 *   - ca-cert.pem: the FIRST PEM block, parsed as a certificate   load_certs
 *   - ca-key.pem: the FIRST PEM block, by label: EC PRIVATE KEY
 *     (SEC1), RSA PRIVATE KEY (PKCS#1), PRIVATE KEY (PKCS#8)      load_key
 *   - tls.X509KeyPair: the key's public half equals the cert's    check_key_match
 *   - x509.Verify(ca-cert, Roots = root-cert.pem, Intermediates =
 *     cert-chain.pem, CurrentTime = now, KeyUsages = serverAuth)  find_root,
 *                                                                 check_cert
 *   - cert.IsCA must be set                                       check_cert
 *   - workload TTLs are clamped to the first cert of
 *     cert-chain.pem, which must therefore be ca-cert.pem         check_chain
 * Each property is reported once, by the check that owns it: the path
 * search does not repeat per-certificate faults (expiry, CA flag, EKU), so
 * one broken thing gives one line.
 *
 * wolfSSL parses and checks signatures (wc_ParseCert with NO_VERIFY, then
 * wc_CheckCertSigPubKey per link); validity is judged here against `now`,
 * not wolfSSL's wall clock.
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "crl.h"
#include "pemfile.h"
#include "verify.h"

/*
 * The names of the form being checked. istiod takes the kubernetes.io/tls
 * names when tls.crt exists (signing cert tls.crt, key tls.key, root
 * ca.crt, chain tls.crt then ca.crt), else the cacerts names.
 */
static struct {
	const char *ca_cert, *ca_key, *root_cert, *cert_chain;
	int tls;
} names;
#define CA_CERT (names.ca_cert)
#define CA_KEY (names.ca_key)
#define ROOT_CERT (names.root_cert)
#define CERT_CHAIN (names.cert_chain)

#define MAX_PATH_DEPTH 8u     /* ca-cert plus issuers; real meshes use 2 or 3 */
#define MIN_RSA_BITS 2048u
#define RSA_N_MAX 512u        /* wolfSSL here: RSA_MAX_SIZE 4096 */

typedef enum { KEY_OTHER = 0, KEY_EC, KEY_RSA } key_kind;

typedef struct {
	const uint8_t *der;    /* borrowed from a mr_pemfile */
	size_t len;
	DecodedCert dc;        /* valid only when parsed */
	int parsed;
	size_t block;          /* 1-based PEM block number in its file */
	char label[256];       /* "intermediate", "root-cert.pem certificate 1 (...)" */
	char name[192];        /* subject, for messages */
	time_t not_before;
	time_t not_after;
	key_kind kind;
	unsigned bits;         /* modulus or curve bits */
	int curve;             /* ecc_curve_id when KEY_EC */
} vcert;

typedef struct {
	char dir[1024];        /* as given, made printable */
	const char *dir_path;  /* as given */
	FILE *out;
	mr_host_verify_summary *sum; /* may be NULL */
	time_t now;
	int problems;

	mr_pemfile f_ca, f_key, f_root, f_chain;
	int have_ca, have_key, have_root, have_chain;

	vcert *ca_certs;       /* ca-cert.pem */
	size_t n_ca;
	vcert *ca;             /* its first block, when that is a certificate */
	vcert *chain;          /* cert-chain.pem, in file order */
	size_t n_chain;
	int chain_complete;    /* every block of cert-chain.pem parsed */
	vcert *roots;
	size_t n_roots;

	key_kind key;          /* ca-key.pem, when it parsed */
	ecc_key ec;
	RsaKey rsa;
	int ec_init, rsa_init;

	/* Go's x509.Verify: ca-cert (path[0]) and its issuers up to root. */
	const vcert *path[MAX_PATH_DEPTH];
	size_t n_path;
	const vcert *root;     /* NULL when no path was found */
	mr_diag path_why;      /* why not */
	int path_why_told;     /* check_chain already reported that reason */
	int ca_is_root;        /* ca-cert is self-signed or in root-cert.pem */
} vctx;

/* ------------------------------------------------------------------ */
/* reporting */

static void
printable(char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

static void problem(vctx *v, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* One problem, one line: anything taken from a certificate is made printable. */
static void
problem(vctx *v, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	printable(line);
	fprintf(v->out, "%s: problem: %s\n", v->dir, line);
	v->problems++;
}

static const char *
fmt_time(time_t t, char buf[32])
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(buf, 32, "%Y-%m-%d %H:%M:%S UTC", &tm) == 0)
		snprintf(buf, 32, "(time %lld)", (long long)t);
	return buf;
}

/* ------------------------------------------------------------------ */
/* certificates */

static int
same_der(const vcert *a, const vcert *b)
{
	return a->len == b->len && memcmp(a->der, b->der, a->len) == 0;
}

/* ASN.1 UTCTime/GeneralizedTime (tag and length included) to time_t. */
static int
asn_time(const byte *p, int len, time_t *t)
{
	const byte *date;
	byte format;
	int date_len;
	struct tm tm;

	if (p == NULL || len <= 0 ||
	    wc_GetDateInfo(p, len, &date, &format, &date_len) != 0)
		return -1;
	memset(&tm, 0, sizeof(tm));
	if (wc_GetDateAsCalendarTime(date, date_len, format, &tm) != 0)
		return -1;
	*t = timegm(&tm);
	return *t == (time_t)-1 ? -1 : 0;
}

static unsigned
bit_length(const byte *n, word32 len)
{
	word32 i = 0;
	unsigned bits;

	while (i < len && n[i] == 0)
		i++;
	if (i == len)
		return 0;
	bits = (unsigned)(len - i - 1) * 8u;
	for (byte top = n[i]; top != 0; top >>= 1)
		bits++;
	return bits;
}

/* The certificate's SubjectPublicKeyInfo as an ecc_key; caller frees. */
static int
cert_ec_key(const vcert *c, ecc_key *k)
{
	word32 idx = 0;

	if (wc_ecc_init(k) != 0)
		return -1;
	if (wc_EccPublicKeyDecode(c->dc.publicKey, &idx, k, c->dc.pubKeySize) != 0) {
		wc_ecc_free(k);
		return -1;
	}
	return 0;
}

/* The certificate's RSA public key; caller frees. */
static int
cert_rsa_key(const vcert *c, RsaKey *k)
{
	word32 idx = 0;

	if (wc_InitRsaKey(k, NULL) != 0)
		return -1;
	if (wc_RsaPublicKeyDecode(c->dc.publicKey, &idx, k, c->dc.pubKeySize) != 0) {
		wc_FreeRsaKey(k);
		return -1;
	}
	return 0;
}

static void
cert_key_info(vcert *c)
{
	c->kind = KEY_OTHER;
	if (c->dc.keyOID == ECDSAk) {
		ecc_key k;
		if (cert_ec_key(c, &k) == 0) {
			if (k.dp != NULL) {
				c->kind = KEY_EC;
				c->curve = k.dp->id;
				c->bits = (unsigned)k.dp->size * 8u;
			}
			wc_ecc_free(&k);
		}
	} else if (c->dc.keyOID == RSAk) {
		RsaKey k;
		byte n[RSA_N_MAX + 1], e[16];
		word32 n_len = sizeof(n), e_len = sizeof(e);
		if (cert_rsa_key(c, &k) == 0) {
			if (wc_RsaFlattenPublicKey(&k, e, &e_len, n, &n_len) == 0) {
				c->kind = KEY_RSA;
				c->bits = bit_length(n, n_len);
			}
			wc_FreeRsaKey(&k);
		}
	}
}

/* Parses der into c; returns 0 or a wolfSSL error. */
static int
cert_parse(vcert *c, const uint8_t *der, size_t len)
{
	int r;

	if (len > UINT32_MAX)
		return BUFFER_E;
	c->der = der;
	c->len = len;
	wc_InitDecodedCert(&c->dc, der, (word32)len, NULL);
	/* NO_VERIFY: no CA store here; signatures are checked link by link
	 * and dates against `now`, both below. */
	r = wc_ParseCert(&c->dc, CERT_TYPE, NO_VERIFY, NULL);
	if (r == 0 && (asn_time(c->dc.beforeDate, c->dc.beforeDateLen,
	    &c->not_before) != 0 || asn_time(c->dc.afterDate,
	    c->dc.afterDateLen, &c->not_after) != 0))
		r = ASN_TIME_E;
	if (r != 0) {
		wc_FreeDecodedCert(&c->dc);
		return r;
	}
	c->parsed = 1;
	if (c->dc.subject[0] == '\0')
		snprintf(c->name, sizeof(c->name), "(empty subject)");
	else
		snprintf(c->name, sizeof(c->name), "%.*s",
		    (int)strnlen(c->dc.subject, sizeof(c->dc.subject)),
		    c->dc.subject);
	cert_key_info(c);
	return 0;
}

static void
cert_free(vcert *c)
{
	if (c != NULL && c->parsed) {
		wc_FreeDecodedCert(&c->dc);
		c->parsed = 0;
	}
}

static int
name_eq(const byte *a, int a_len, const byte *b, int b_len)
{
	return a != NULL && b != NULL && a_len > 0 && a_len == b_len &&
	    memcmp(a, b, (size_t)a_len) == 0;
}

/*
 * Whether `issuer` issued c: c's issuer name is issuer's subject (byte for
 * byte, as Go's CertPool finds parents) and c's signature verifies with
 * issuer's key. On failure why says which, unless it already holds a reason.
 */
/*
 * Signatures already found good in this process, by SHA-256 of the signed
 * certificate and the key that verified it. A fleet's file sets all end in
 * the same root, which each set carries twice (root-cert.pem and
 * cert-chain.pem): its self-signature is checked once per process instead
 * of several times per directory. Only successes are kept; the result is a
 * function of exactly the hashed bytes.
 */
#define SIG_CACHE 8
static struct {
	byte h[WC_SHA256_DIGEST_SIZE];
	int used;
} sig_cache[SIG_CACHE];
static unsigned sig_cache_next;

static int
sig_key(const vcert *c, const vcert *issuer, byte h[WC_SHA256_DIGEST_SIZE])
{
	wc_Sha256 sha;
	int r;

	if (wc_InitSha256(&sha) != 0)
		return -1;
	r = wc_Sha256Update(&sha, c->der, (word32)c->len) != 0 ||
	    wc_Sha256Update(&sha, issuer->dc.publicKey, issuer->dc.pubKeySize) != 0 ||
	    wc_Sha256Final(&sha, h) != 0 ? -1 : 0;
	wc_Sha256Free(&sha);
	return r;
}

static int
issued_by(const vcert *c, const vcert *issuer, mr_diag *why)
{
	byte h[WC_SHA256_DIGEST_SIZE];
	int r, keyed;

	if (!name_eq(c->dc.issuerRaw, c->dc.issuerRawLen,
	    issuer->dc.subjectRaw, issuer->dc.subjectRawLen))
		return 0;
	keyed = c->len <= UINT32_MAX && sig_key(c, issuer, h) == 0;
	for (size_t i = 0; keyed && i < SIG_CACHE; i++)
		if (sig_cache[i].used && memcmp(sig_cache[i].h, h, sizeof(h)) == 0)
			return 1;
	r = wc_CheckCertSigPubKey(c->der, (word32)c->len, NULL,
	    issuer->dc.publicKey, issuer->dc.pubKeySize, (int)issuer->dc.keyOID);
	if (r != 0) {
		mr_diag_set(why, MR_E_SIG,
		    "the signature on \"%s\" does not verify with the key of \"%s\" (%s)",
		    c->name, issuer->name, wc_GetErrorString(r));
		return 0;
	}
	if (keyed) {
		memcpy(sig_cache[sig_cache_next].h, h, sizeof(h));
		sig_cache[sig_cache_next].used = 1;
		sig_cache_next = (sig_cache_next + 1) % SIG_CACHE;
	}
	return 1;
}

static int
self_signed(const vcert *c)
{
	return issued_by(c, c, NULL);
}

static int
valid_at(const vcert *c, time_t now)
{
	return c->not_before <= now && now <= c->not_after;
}

/* ------------------------------------------------------------------ */
/* files */

static int
file_path(const vctx *v, const char *name, char out[PATH_MAX])
{
	int n = snprintf(out, PATH_MAX, "%s/%s", v->dir_path, name);

	return n > 0 && n < PATH_MAX ? 0 : -1;
}

/* Reads one of the four files; 1 when it holds at least one PEM block. */
static int
load_file(vctx *v, const char *name, mr_pemfile *f)
{
	char path[PATH_MAX];
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if (file_path(v, name, path) != 0) {
		problem(v, "%s: path too long", name);
		return 0;
	}
	r = mr_pemfile_read(path, f, &d);
	switch (r) {
	case MR_OK:
		break;
	case MR_E_NOTFOUND:
		/* istiod: "all four files are required" for a plug-in CA. */
		problem(v, "%s missing", name);
		return 0;
	case MR_E_PEM:
		problem(v, "%s is not valid PEM: %s", name, mr_diag_text(&d, r));
		return 0;
	default:
		problem(v, "%s unreadable: %s", name, mr_diag_text(&d, r));
		return 0;
	}
	if (f->n == 0) {
		problem(v, "%s holds no PEM block", name);
		return 0;
	}
	return 1;
}

/*
 * The CERTIFICATE blocks of f, parsed into out[] (capacity f->n). Returns
 * how many parsed; *complete is 0 when any block was skipped. Go's
 * AppendCertsFromPEM silently drops any block that is not a header-less
 * CERTIFICATE: here each such block is a problem.
 */
static size_t
load_certs(vctx *v, const char *name, const mr_pemfile *f, vcert *out,
    int *complete)
{
	size_t n = 0;

	*complete = 1;
	for (size_t i = 0; i < f->n; i++) {
		const mr_pemfile_block *b = &f->blocks[i];
		int r;

		if (strcmp(b->label, "CERTIFICATE") != 0) {
			*complete = 0;
			if (strstr(b->label, "PRIVATE KEY") != NULL)
				problem(v, "%s block %zu is a private key (%s); "
				    "only certificates belong in this file", name,
				    i + 1, b->label);
			else
				problem(v, "%s block %zu is \"%s\", not a CERTIFICATE "
				    "(istiod ignores it)", name, i + 1, b->label);
			continue;
		}
		if (b->has_headers)
			problem(v, "%s block %zu has PEM headers "
			    "(Go's AppendCertsFromPEM skips such a block)", name, i + 1);
		if ((r = cert_parse(&out[n], b->der, b->der_len)) != 0) {
			*complete = 0;
			problem(v, "%s block %zu: certificate does not parse (%s)",
			    name, i + 1, wc_GetErrorString(r));
			continue;
		}
		out[n++].block = i + 1;
	}
	return n;
}

/* The tls form: istiod's chain is tls.crt followed by ca.crt. The copies
 * are the chain's own, so each pemfile still frees what it holds. */
static int
append_root_to_chain(vctx *v)
{
	size_t n = v->f_chain.n + v->f_root.n;
	mr_pemfile_block *b = calloc(n, sizeof(*b));

	if (b == NULL)
		return -1;
	memcpy(b, v->f_chain.blocks, v->f_chain.n * sizeof(*b));
	for (size_t i = 0; i < v->f_root.n; i++) {
		b[v->f_chain.n + i] = v->f_root.blocks[i];
		if ((b[v->f_chain.n + i].der = malloc(v->f_root.blocks[i].der_len)) == NULL) {
			for (size_t k = 0; k < i; k++)
				free(b[v->f_chain.n + k].der);
			free(b);
			return -1;
		}
		memcpy(b[v->f_chain.n + i].der, v->f_root.blocks[i].der, v->f_root.blocks[i].der_len);
	}
	free(v->f_chain.blocks);
	v->f_chain.blocks = b;
	v->f_chain.n = n;
	return 0;
}

static void
load_files(vctx *v)
{
	int complete;

	/* In the order istio's docs list them. */
	v->have_ca = load_file(v, CA_CERT, &v->f_ca);
	v->have_key = load_file(v, CA_KEY, &v->f_key);
	v->have_root = load_file(v, ROOT_CERT, &v->f_root);
	v->have_chain = load_file(v, CERT_CHAIN, &v->f_chain);
	if (names.tls && v->have_chain && v->have_root && append_root_to_chain(v) != 0)
		problem(v, "%s: out of memory", CERT_CHAIN);

	if (v->have_ca) {
		if ((v->ca_certs = calloc(v->f_ca.n, sizeof(*v->ca_certs))) == NULL) {
			problem(v, "%s: out of memory", CA_CERT);
		} else {
			v->n_ca = load_certs(v, CA_CERT, &v->f_ca, v->ca_certs,
			    &complete);
			/* istiod's ParsePemEncodedCertificate reads the first
			 * block only; anything after it is ignored. */
			if (complete && v->n_ca > 1)
				problem(v, "%s holds %zu certificates; istiod reads only "
				    "the first, the issuers belong in %s", CA_CERT,
				    v->n_ca, CERT_CHAIN);
			if (v->n_ca >= 1 &&
			    v->ca_certs[0].der == v->f_ca.blocks[0].der) {
				v->ca = &v->ca_certs[0];
				snprintf(v->ca->label, sizeof(v->ca->label),
				    "intermediate");
			}
		}
	}
	if (v->have_root) {
		if ((v->roots = calloc(v->f_root.n, sizeof(*v->roots))) == NULL) {
			problem(v, "%s: out of memory", ROOT_CERT);
		} else {
			v->n_roots = load_certs(v, ROOT_CERT, &v->f_root, v->roots,
			    &complete);
			if (v->n_roots == 0 && complete)
				problem(v, "%s holds no certificate", ROOT_CERT);
			for (size_t i = 0; i < v->n_roots; i++)
				snprintf(v->roots[i].label, sizeof(v->roots[i].label),
				    "%s certificate %zu (\"%s\")", ROOT_CERT,
				    v->roots[i].block, v->roots[i].name);
		}
	}
	if (v->have_chain) {
		if ((v->chain = calloc(v->f_chain.n, sizeof(*v->chain))) == NULL) {
			problem(v, "%s: out of memory", CERT_CHAIN);
		} else {
			v->n_chain = load_certs(v, CERT_CHAIN, &v->f_chain, v->chain,
			    &v->chain_complete);
			for (size_t i = 0; i < v->n_chain; i++)
				snprintf(v->chain[i].label, sizeof(v->chain[i].label),
				    "%s certificate %zu (\"%s\")", CERT_CHAIN,
				    v->chain[i].block, v->chain[i].name);
		}
	}
}

/* ------------------------------------------------------------------ */
/* the private key */

static void
check_key_mode(vctx *v)
{
	char path[PATH_MAX];
	struct stat st;

	if (file_path(v, CA_KEY, path) != 0 || stat(path, &st) != 0)
		return; /* reported by load_file */
	/* The key of a CA that signs every workload of the mesh: owner only. */
	if ((st.st_mode & 077) != 0)
		problem(v, "%s is accessible by group or others (mode %04o, want 0600)",
		    CA_KEY, (unsigned)(st.st_mode & 07777));
}

/*
 * The first block, by label, as Go's ParsePemEncodedKey in istio:
 * "EC PRIVATE KEY" is SEC1, "RSA PRIVATE KEY" PKCS#1, "PRIVATE KEY" PKCS#8
 * (EC or RSA inside); the body must be the form its label names.
 */
static void
load_key(vctx *v)
{
	const mr_pemfile_block *b;
	word32 idx = 0, p8_off = 0;
	int is_p8;

	if (!v->have_key)
		return;
	b = &v->f_key.blocks[0];
	if (strcmp(b->label, "ENCRYPTED PRIVATE KEY") == 0 ||
	    (strstr(b->label, "PRIVATE KEY") != NULL && b->has_headers)) {
		problem(v, "%s is encrypted; istiod needs an unencrypted key", CA_KEY);
		return;
	}
	if (strcmp(b->label, "EC PRIVATE KEY") != 0 &&
	    strcmp(b->label, "RSA PRIVATE KEY") != 0 &&
	    strcmp(b->label, "PRIVATE KEY") != 0) {
		/* openssl ecparam -genkey writes "EC PARAMETERS" first. */
		problem(v, "%s: first PEM block is \"%s\"; istiod reads only the first "
		    "block and needs EC PRIVATE KEY, RSA PRIVATE KEY or PRIVATE KEY",
		    CA_KEY, b->label);
		return;
	}
	if (v->f_key.n > 1)
		problem(v, "%s holds %zu PEM blocks; it must hold only the "
		    "intermediate's key", CA_KEY, v->f_key.n);
	if (b->der_len > UINT32_MAX)
		return;

	is_p8 = wc_GetPkcs8TraditionalOffset(b->der, &p8_off,
	    (word32)b->der_len) >= 0;
	if (strcmp(b->label, "PRIVATE KEY") == 0 && !is_p8) {
		problem(v, "%s: PRIVATE KEY block is not PKCS#8", CA_KEY);
		return;
	}
	if (strcmp(b->label, "PRIVATE KEY") != 0 && is_p8) {
		problem(v, "%s: %s block holds PKCS#8; Go needs the label "
		    "PRIVATE KEY for it", CA_KEY, b->label);
		return;
	}
	if (strcmp(b->label, "RSA PRIVATE KEY") != 0) {
		/* SEC1, or PKCS#8 whose algorithm parameters name the curve. */
		if (wc_ecc_init(&v->ec) == 0) {
			v->ec_init = 1;
			idx = 0;
			if (wc_EccPrivateKeyDecode(b->der, &idx, &v->ec,
			    (word32)b->der_len) == 0 &&
			    /* Derive the public point from the scalar: the one
			     * stored beside it is optional and not to be
			     * trusted (Go derives it too). */
			    wc_ecc_make_pub(&v->ec, NULL) == 0) {
				v->key = KEY_EC;
				return;
			}
		}
	}
	if (strcmp(b->label, "EC PRIVATE KEY") != 0) {
		if (wc_InitRsaKey(&v->rsa, NULL) == 0) {
			v->rsa_init = 1;
			idx = is_p8 ? p8_off : 0;
			if (wc_RsaPrivateKeyDecode(b->der, &idx, &v->rsa,
			    (word32)b->der_len) == 0) {
				v->key = KEY_RSA;
				return;
			}
		}
	}
	problem(v, "%s: the %s block does not parse as an %s key", CA_KEY, b->label,
	    strcmp(b->label, "EC PRIVATE KEY") == 0 ? "EC" :
	    strcmp(b->label, "RSA PRIVATE KEY") == 0 ? "RSA" : "EC or RSA");
}

/* The named curves Go's crypto/x509 parses, less P-224 (112-bit strength). */
static int
curve_ok(int curve)
{
	return curve == ECC_SECP256R1 || curve == ECC_SECP384R1 ||
	    curve == ECC_SECP521R1;
}

/* tls.X509KeyPair: the key's public half must be the certificate's. */
static void
check_key_match(vctx *v)
{
	const char *why = NULL;

	if (v->ca == NULL || v->key == KEY_OTHER)
		return;
	if (v->key == KEY_EC) {
		ecc_key pub;
		byte a[1 + 2 * MAX_ECC_BYTES], c[1 + 2 * MAX_ECC_BYTES];
		word32 a_len = sizeof(a), c_len = sizeof(c);

		if (v->ca->kind != KEY_EC) {
			why = "the key is EC, the certificate's is not";
		} else if (!curve_ok(v->ca->curve)) {
			/* Reported by check_cert. wolfSSL guesses the curve of a
			 * PKCS#8 key from its size, which holds only among the
			 * curves accepted. */
			return;
		} else if (cert_ec_key(v->ca, &pub) != 0) {
			why = "the certificate's EC key does not decode";
		} else {
			if (pub.dp == NULL || v->ec.dp == NULL ||
			    pub.dp->id != v->ec.dp->id)
				why = "different curves";
			else if (wc_ecc_export_x963(&v->ec, a, &a_len) != 0 ||
			    wc_ecc_export_x963(&pub, c, &c_len) != 0 ||
			    a_len != c_len || memcmp(a, c, a_len) != 0)
				why = "different EC public points";
			wc_ecc_free(&pub);
		}
	} else {
		RsaKey pub;
		byte an[RSA_N_MAX + 1], ae[16], cn[RSA_N_MAX + 1], ce[16];
		word32 an_len = sizeof(an), ae_len = sizeof(ae);
		word32 cn_len = sizeof(cn), ce_len = sizeof(ce);

		if (v->ca->kind != KEY_RSA) {
			why = "the key is RSA, the certificate's is not";
		} else if (cert_rsa_key(v->ca, &pub) != 0) {
			why = "the certificate's RSA key does not decode";
		} else {
			if (wc_RsaFlattenPublicKey(&v->rsa, ae, &ae_len, an,
			    &an_len) != 0 ||
			    wc_RsaFlattenPublicKey(&pub, ce, &ce_len, cn,
			    &cn_len) != 0 ||
			    an_len != cn_len || memcmp(an, cn, an_len) != 0 ||
			    ae_len != ce_len || memcmp(ae, ce, ae_len) != 0)
				why = "different RSA moduli or exponents";
			wc_FreeRsaKey(&pub);
		}
	}
	if (why != NULL)
		problem(v, "%s does not match the public key in %s (%s)", CA_KEY,
		    CA_CERT, why);
}

/* ------------------------------------------------------------------ */
/* per certificate */

static const char *
sig_name(word32 oid)
{
	switch (oid) {
	case CTC_SHAwRSA: return "SHA-1 with RSA";
	case CTC_SHAwECDSA: return "ECDSA with SHA-1";
	case CTC_MD5wRSA: return "MD5 with RSA";
	case CTC_MD2wRSA: return "MD2 with RSA";
	case CTC_SHA224wRSA: return "SHA-224 with RSA";
	case CTC_SHA224wECDSA: return "ECDSA with SHA-224";
	default: return "an unsupported algorithm";
	}
}

/* The signature algorithms Go's crypto/x509 verifies (it refuses SHA-1
 * since Go 1.18, and MD5/MD2/SHA-224 always). */
static int
sig_ok(word32 oid)
{
	switch (oid) {
	case CTC_SHA256wRSA: case CTC_SHA384wRSA: case CTC_SHA512wRSA:
	case CTC_SHA256wECDSA: case CTC_SHA384wECDSA: case CTC_SHA512wECDSA:
	case CTC_RSASSAPSS: case CTC_ED25519:
		return 1;
	default:
		return 0;
	}
}

static void
check_cert(vctx *v, const vcert *c)
{
	char t[32];

	/* Keys: istio signs with EC or RSA only; RFC 8603 / CA/B Forum floor
	 * for RSA is 2048 bits (istiod itself does not check sizes). */
	if (c->kind == KEY_OTHER)
		problem(v, "%s has a key that is neither EC nor RSA (or does not "
		    "decode)", c->label);
	else if (c->kind == KEY_RSA && c->bits < MIN_RSA_BITS)
		problem(v, "%s has an RSA-%u key, below %u bits", c->label, c->bits,
		    MIN_RSA_BITS);
	else if (c->kind == KEY_EC && !curve_ok(c->curve))
		problem(v, "%s uses EC curve %s; Go's crypto/x509 accepts P-256, "
		    "P-384 and P-521", c->label, wc_ecc_get_name(c->curve));

	/* A root's self-signature is never verified by Go; every other
	 * signature is, and must use an algorithm it accepts. */
	if (!self_signed(c) && !sig_ok(c->dc.signatureOID))
		problem(v, "%s is signed with %s, which Go's crypto/x509 refuses",
		    c->label, sig_name(c->dc.signatureOID));

	/* istio ca.go: "certificate is not authorized to sign other
	 * certificates" unless IsCA; Go's x509.Verify wants basicConstraints
	 * CA:TRUE on every issuer in the path (RFC 5280 4.2.1.9). */
	if (!c->dc.isCA)
		problem(v, "%s is not a CA (no basicConstraints CA:TRUE)", c->label);

	/* RFC 5280 4.1.2.5, and x509.Verify at CurrentTime: every certificate
	 * of the path must be within its validity period. */
	if (v->now > c->not_after)
		problem(v, "%s expired on %s", c->label, fmt_time(c->not_after, t));
	else if (v->now < c->not_before)
		problem(v, "%s is not yet valid (notBefore %s)", c->label,
		    fmt_time(c->not_before, t));

	/* Go's x509.Verify with the default KeyUsages {ServerAuth}: a
	 * certificate that carries an EKU must list serverAuth or any. */
	if (c->dc.extExtKeyUsageSet &&
	    (c->dc.extExtKeyUsage & (EXTKEYUSE_SERVER_AUTH | EXTKEYUSE_ANY)) == 0)
		problem(v, "%s has an extendedKeyUsage without serverAuth "
		    "(Go's x509.Verify rejects the chain)", c->label);

	/* RFC 5280 4.2.1.3: a CA certificate MUST carry keyUsage with
	 * keyCertSign (istiod does not check it; relying parties do). */
	if (!c->dc.extKeyUsageSet)
		problem(v, "%s has no keyUsage extension (RFC 5280 4.2.1.3: a CA "
		    "certificate needs keyCertSign)", c->label);
	else if ((c->dc.extKeyUsage & KEYUSE_KEY_CERT_SIGN) == 0)
		problem(v, "%s keyUsage lacks keyCertSign (RFC 5280 4.2.1.3)",
		    c->label);
}

/* Every distinct certificate once: ca-cert, then roots, then the chain. */
static void
check_all_certs(vctx *v)
{
	const vcert *seen[3 * MR_PEMFILE_MAX_BLOCKS];
	size_t n_seen = 0;
	const vcert *todo[3 * MR_PEMFILE_MAX_BLOCKS];
	size_t n_todo = 0;

	if (v->ca != NULL)
		todo[n_todo++] = v->ca;
	for (size_t i = 0; i < v->n_roots; i++)
		todo[n_todo++] = &v->roots[i];
	for (size_t i = 0; i < v->n_chain; i++)
		todo[n_todo++] = &v->chain[i];

	for (size_t i = 0; i < n_todo; i++) {
		int dup = 0;
		for (size_t j = 0; j < n_seen && !dup; j++)
			dup = same_der(todo[i], seen[j]);
		if (dup)
			continue;
		seen[n_seen++] = todo[i];
		check_cert(v, todo[i]);
	}

	/* A root is a trust anchor: self-issued and self-signed (RFC 5280
	 * 3.2). Anything else in root-cert.pem is trusted blindly by Go. */
	for (size_t i = 0; i < v->n_roots; i++)
		if (!self_signed(&v->roots[i]))
			problem(v, "%s is not self-signed", v->roots[i].label);
}

/* ------------------------------------------------------------------ */
/* the path istiod verifies */

static int
in_roots(const vctx *v, const vcert *c)
{
	for (size_t i = 0; i < v->n_roots; i++)
		if (same_der(c, &v->roots[i]))
			return 1;
	return 0;
}

/*
 * RFC 5280 4.2.1.9: pathLenConstraint counts the non-self-issued
 * intermediates below a CA. In a workload chain ca-cert.pem is one of
 * them, so the certificate `below` places above it needs pathLen >= below.
 */
static int
pathlen_ok(const vcert *issuer, size_t below, mr_diag *why)
{
	if (!issuer->dc.pathLengthSet || below <= issuer->dc.pathLength)
		return 1;
	mr_diag_set(why, MR_E_CERT,
	    "pathLenConstraint %u of \"%s\" allows fewer than the %zu "
	    "intermediate(s) below it in a workload chain",
	    (unsigned)issuer->dc.pathLength, issuer->name, below);
	return 0;
}

static int
in_path(const vcert *const *path, size_t n, const vcert *c)
{
	for (size_t i = 0; i < n; i++)
		if (same_der(path[i], c))
			return 1;
	return 0;
}

/*
 * Depth-first, as Go's buildChains: from path[depth] to a root of
 * root-cert.pem, through certificates of cert-chain.pem. Roots valid at
 * `now` are preferred, so that during a rotation an expired old root does
 * not hide a good new one (expiry itself is check_cert's to report).
 * Returns the root reached with *len set to the certificates in path[]
 * (root excluded), or NULL with why.
 */
static const vcert *
find_path(vctx *v, const vcert **path, size_t depth, size_t *len, mr_diag *why)
{
	const vcert *c = path[depth];

	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < v->n_roots; i++) {
			const vcert *r = &v->roots[i];
			if (valid_at(r, v->now) != (pass == 0))
				continue;
			if (issued_by(c, r, why) && pathlen_ok(r, depth + 1, why)) {
				*len = depth + 1;
				return r;
			}
		}
	}
	if (depth + 1 >= MAX_PATH_DEPTH) {
		mr_diag_set(why, MR_E_RANGE, "no root within %u certificates",
		    MAX_PATH_DEPTH);
		return NULL;
	}
	for (size_t i = 0; i < v->n_chain; i++) {
		const vcert *p = &v->chain[i], *root;
		if (in_path(path, depth + 1, p))
			continue;
		if (!issued_by(c, p, why) || !pathlen_ok(p, depth + 1, why))
			continue;
		path[depth + 1] = p;
		if ((root = find_path(v, path, depth + 1, len, why)) != NULL)
			return root;
	}
	mr_diag_set(why, MR_E_NOTFOUND,
	    "\"%s\" was issued by \"%s\", which is in neither %s nor %s",
	    c->name, c->dc.issuer, CERT_CHAIN, ROOT_CERT);
	return NULL;
}

/* Go's x509.Verify as istiod calls it; the verdict is reported by
 * report_path, after check_chain, which may already have named the cause. */
static void
find_root(vctx *v)
{
	mr_diag_clear(&v->path_why);
	if (v->ca == NULL || v->n_roots == 0)
		return;
	if (in_roots(v, v->ca) || self_signed(v->ca)) {
		v->ca_is_root = 1;
		return;
	}
	v->path[0] = v->ca;
	v->root = find_path(v, v->path, 0, &v->n_path, &v->path_why);
}

/* Whether cert-chain.pem holds exactly the path found, root included. */
static int
chain_is_path(const vctx *v)
{
	if (v->root == NULL || v->n_chain != v->n_path + 1)
		return 0;
	for (size_t i = 0; i < v->n_chain; i++) {
		const vcert *c = &v->chain[i];
		if (!same_der(c, v->root) && !in_path(v->path, v->n_path, c))
			return 0;
		for (size_t j = 0; j < i; j++)
			if (same_der(c, &v->chain[j]))
				return 0;
	}
	return 1;
}

/*
 * istiod serves cert-chain.pem as the chain of every workload certificate
 * and clamps workload lifetimes to the expiry of its FIRST certificate: it
 * must be ca-cert.pem, each certificate signed by the next, ending with a
 * root from root-cert.pem.
 */
static void
check_chain(vctx *v)
{
	size_t pos, bad_links = 0;
	const vcert *last;

	if (v->ca == NULL || !v->chain_complete || v->n_chain == 0)
		return;
	for (pos = 0; pos < v->n_chain; pos++)
		if (same_der(&v->chain[pos], v->ca))
			break;
	for (size_t i = 0; i + 1 < v->n_chain; i++)
		if (!issued_by(&v->chain[i], &v->chain[i + 1], NULL))
			bad_links++;
	if (pos == v->n_chain) {
		problem(v, "%s does not contain %s; it must start with it",
		    CERT_CHAIN, CA_CERT);
	} else if (pos != 0 || (bad_links > 0 && chain_is_path(v))) {
		/* The right certificates in the wrong order: one line, rather
		 * than every broken link it causes. */
		problem(v, "chain in wrong order: %s must list %s first, then each "
		    "issuer in turn, the root last (istiod clamps workload "
		    "lifetimes to the first certificate)", CERT_CHAIN, CA_CERT);
		return;
	}
	for (size_t i = 0; bad_links > 0 && i + 1 < v->n_chain; i++) {
		mr_diag why;

		mr_diag_clear(&why);
		if (issued_by(&v->chain[i], &v->chain[i + 1], &why))
			continue;
		problem(v, "%s certificate %zu (\"%s\") is not signed by "
		    "certificate %zu (\"%s\")%s%s", CERT_CHAIN, v->chain[i].block,
		    v->chain[i].name, v->chain[i + 1].block, v->chain[i + 1].name,
		    why.msg[0] != '\0' ? ": " : " (issuer name differs)", why.msg);
		/* The same bad signature fails the path: say it once. */
		if (why.msg[0] != '\0' && strcmp(why.msg, v->path_why.msg) == 0)
			v->path_why_told = 1;
	}
	last = &v->chain[v->n_chain - 1];
	if (v->n_roots > 0 && !in_roots(v, last)) /* else root-cert.pem is reported */
		problem(v, "root missing from the chain: %s ends with \"%s\", which "
		    "is not a root in %s", CERT_CHAIN, last->name, ROOT_CERT);
}

static void
report_path(vctx *v)
{
	char a[32], b[32];

	if (v->ca == NULL || v->n_roots == 0)
		return;
	if (v->ca_is_root) {
		/* The self-signed mode of istiod, not a plug-in CA: the root's
		 * key would sit on the cluster. */
		problem(v, "intermediate is self-signed: the root key would live on "
		    "the cluster");
		return;
	}
	if (v->root == NULL) {
		if (!v->path_why_told)
			problem(v, "%s does not verify to a root in %s through %s: %s",
			    CA_CERT, ROOT_CERT, CERT_CHAIN, v->path_why.msg);
		return;
	}
	/* RFC 5280 6.1 does not forbid it, but a CA that outlives its root
	 * issues certificates that stop verifying when the root expires. */
	if (v->ca->not_after > v->root->not_after)
		problem(v, "intermediate outlives the root: notAfter %s is after the "
		    "root's %s", fmt_time(v->ca->not_after, a),
		    fmt_time(v->root->not_after, b));
}

/* ------------------------------------------------------------------ */

static void
summary(vctx *v)
{
	byte fp[WC_SHA256_DIGEST_SIZE];
	char hex[3 * WC_SHA256_DIGEST_SIZE + 1];
	char t[32], line[1024];

	if (v->ca == NULL || v->root == NULL ||
	    wc_Sha256Hash(v->root->der, (word32)v->root->len, fp) != 0)
		return;
	for (size_t i = 0; i < sizeof(fp); i++)
		snprintf(hex + 3 * i, 4, "%02X%s", fp[i],
		    i + 1 < sizeof(fp) ? ":" : "");
	snprintf(line, sizeof(line),
	    "intermediate \"%s\" valid until %s; root \"%s\" SHA-256 %s",
	    v->ca->name, fmt_time(v->ca->not_after, t), v->root->name, hex);
	printable(line);
	fprintf(v->out, "%s: ok (%s)\n", v->dir, line);
	if (v->sum != NULL) {
		v->sum->ok = 1;
		snprintf(v->sum->intermediate, sizeof(v->sum->intermediate), "%s", v->ca->name);
		printable(v->sum->intermediate);
		v->sum->not_after = v->ca->not_after;
		snprintf(v->sum->root, sizeof(v->sum->root), "%s", v->root->name);
		printable(v->sum->root);
		snprintf(v->sum->root_sha256, sizeof(v->sum->root_sha256), "%s", hex);
	}
}

static void
vctx_free(vctx *v)
{
	for (size_t i = 0; i < v->n_ca; i++)
		cert_free(&v->ca_certs[i]);
	free(v->ca_certs);
	for (size_t i = 0; i < v->n_roots; i++)
		cert_free(&v->roots[i]);
	free(v->roots);
	for (size_t i = 0; i < v->n_chain; i++)
		cert_free(&v->chain[i]);
	free(v->chain);
	if (v->ec_init)
		wc_ecc_free(&v->ec);
	if (v->rsa_init)
		wc_FreeRsaKey(&v->rsa);
	mr_pemfile_free(&v->f_ca);
	mr_pemfile_free(&v->f_key);
	mr_pemfile_free(&v->f_root);
	mr_pemfile_free(&v->f_chain);
}

int
mr_host_verify_dir_diag(const char *dir, FILE *report, time_t now, mr_diag *d)
{
	return mr_host_verify_dir_sum(dir, report, now, NULL, d);
}

int
mr_host_verify_dir_sum(const char *dir, FILE *report, time_t now, mr_host_verify_summary *sum,
    mr_diag *d)
{
	vctx *v = NULL;
	struct stat st;
	DIR *dp;
	int r = MR_E_INTERNAL;

	if (sum != NULL)
		memset(sum, 0, sizeof(*sum));
	if (dir == NULL || report == NULL)
		return mr_diag_set(d, MR_E_ARG, "no directory or report");
	if (stat(dir, &st) != 0)
		return mr_diag_set(d, errno == ENOENT ? MR_E_NOTFOUND : MR_E_IO,
		    "%s", strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return mr_diag_set(d, MR_E_ARG, "not a directory");
	if ((dp = opendir(dir)) == NULL)
		return mr_diag_set(d, MR_E_IO, "%s", strerror(errno));
	closedir(dp);

	if ((v = calloc(1, sizeof(*v))) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	snprintf(v->dir, sizeof(v->dir), "%s", dir);
	printable(v->dir);
	v->dir_path = dir;
	v->out = report;
	v->sum = sum;
	v->now = now;
	if (wolfCrypt_Init() != 0) {
		free(v);
		return mr_diag_set(d, MR_E_INTERNAL, "wolfCrypt_Init failed");
	}

	{
		char p[PATH_MAX];
		int n = snprintf(p, sizeof(p), "%s/tls.crt", dir);
		names.tls = n > 0 && (size_t)n < sizeof(p) && stat(p, &st) == 0;
		names.ca_cert = names.tls ? "tls.crt" : "ca-cert.pem";
		names.ca_key = names.tls ? "tls.key" : "ca-key.pem";
		names.root_cert = names.tls ? "ca.crt" : "root-cert.pem";
		names.cert_chain = names.tls ? "tls.crt" : "cert-chain.pem";
		n = snprintf(p, sizeof(p), "%s/ca-cert.pem", dir);
		if (names.tls && n > 0 && (size_t)n < sizeof(p) && stat(p, &st) == 0)
			problem(v, "both tls.crt and ca-cert.pem present: istiod uses the "
			    "kubernetes.io/tls names and ignores ca-cert.pem");
	}
	load_files(v);
	check_key_mode(v);
	load_key(v);
	check_all_certs(v);
	check_key_match(v);
	find_root(v);
	check_chain(v);
	report_path(v);
	if (v->have_chain && !names.tls) {
		char chain_path[PATH_MAX];
		if (file_path(v, CERT_CHAIN, chain_path) == 0)
			v->problems += mr_host_verify_crl(v->dir_path, v->dir, chain_path, v->out,
			    v->now);
	}
	if (v->problems == 0)
		summary(v);
	r = v->problems;

	vctx_free(v);
	free(v);
	wolfCrypt_Cleanup();
	return r;
}

int
mr_host_verify_dir(const char *dir, FILE *report, time_t now)
{
	return mr_host_verify_dir_diag(dir, report, now, NULL);
}

/*
 * Benchmark tool (not a test): the raw C_Sign rate of the root key, the
 * limit of any issuance rate. Opens the token of a state dir made by
 * `meshroot-appliance ceremony init` through the token layer, finds the
 * root key label as the appliance does (ceremony.conf [root] key_label, or
 * root-key-label after a rotation), and signs N inputs shaped as the
 * appliance's: a SHA-384 digest with CKM_ECDSA for a P-384 root, a SHA-256
 * DigestInfo with CKM_RSA_PKCS for an RSA root (sha256WithRSAEncryption).
 *
 *   csign_rate --state DIR --module SO [--module-args S] --token SEL --pin-file F
 *              [-n N] [--device]
 *
 * Prints one line per measurement, `key=... path=... n=... seconds=... rate=...`:
 * path=c_sign is mr_token_sign alone; with --device also path=device, the
 * wolfSSL crypto-callback path the appliance takes (C_Sign, then the
 * signature verified in software with the public key), path=tbs_old (a
 * 1 KB TBS hashed here, the digest signed, unverified: the issuance path
 * before hash-and-sign) and path=tbs (mr_token_device_sign_data_unverified,
 * the issuance path now: the token's hash-and-sign mechanism where it has
 * one, else the same as tbs_old).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/hash.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mr_config.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_record.h"
#include "mr_token.h"

#define DEV_ID 0x6d62 /* any id the appliance does not use in this process */
#define PIN_MAX 256

/* DER DigestInfo prefix of SHA-256 (RFC 8017 9.2 note 1). */
static const uint8_t sha256_prefix[19] = {
	0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02,
	0x01, 0x05, 0x00, 0x04, 0x20,
};

typedef struct {
	const char *state, *module, *module_args, *token, *pin_file;
	long n;
	int device;
} opts;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The root key label as mr_app_load finds it: the config's, unless
 * root-key-label names the current root-cert.pem. */
static int
root_label(const char *state, char *label, size_t cap, mr_diag *d)
{
	char path[4096], rlabel[65], rroot[65], hex[65];
	uint8_t *text = NULL, root[16384], fp[32];
	size_t len = 0, root_len = 0;
	mr_config cfg;
	int r;

	snprintf(path, sizeof(path), "%s/ceremony.conf", state);
	if ((r = mr_file_read(path, MR_CONFIG_MAX, &text, &len, d)) != MR_OK)
		goto out;
	r = mr_config_parse((const char *)text, len, &cfg, d);
	free(text);
	text = NULL;
	if (r != MR_OK)
		goto out;
	snprintf(label, cap, "%s", cfg.root_key_label);
	snprintf(path, sizeof(path), "%s/root-cert.pem", state);
	if ((r = mr_file_read_pem(path, 65536, "CERTIFICATE", root, sizeof(root), &root_len,
		 d)) != MR_OK)
		goto out;
	snprintf(path, sizeof(path), "%s/root-key-label", state);
	r = mr_file_read(path, 1024, &text, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		r = MR_OK;
		goto out;
	}
	if (r != MR_OK)
		goto out;
	if (mr_record_get((const char *)text, len, "label", rlabel, sizeof(rlabel)) != MR_OK ||
	    mr_record_get((const char *)text, len, "root", rroot, sizeof(rroot)) != MR_OK) {
		r = mr_diag_set(d, MR_E_STATE, "%s is malformed", path);
		goto out;
	}
	mr_fp_sha256(root, root_len, fp);
	mr_hex_encode(fp, 32, hex);
	if (strcmp(hex, rroot) == 0)
		snprintf(label, cap, "%s", rlabel);
out:
	free(text);
	return r;
}

static int
read_pin(const char *file, char *pin, size_t cap, size_t *len, mr_diag *d)
{
	uint8_t *data = NULL;
	size_t n = 0;
	int r;

	if ((r = mr_file_read(file, cap - 1, &data, &n, d)) != MR_OK)
		return r;
	while (n > 0 && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	memcpy(pin, data, n);
	pin[n] = '\0';
	*len = n;
	free(data);
	return MR_OK;
}

/* The i-th input: what the appliance hands the token for a certificate. */
static size_t
make_input(mr_key_type type, long i, uint8_t *digest, uint8_t *in)
{
	uint8_t msg[32];
	size_t n;

	memset(msg, 0, sizeof(msg));
	memcpy(msg, &i, sizeof(i));
	if (mr_key_type_is_ec(type)) {
		n = type == MR_KEY_EC_P384 ? 48 : 32;
		if (n == 48)
			wc_Sha384Hash(msg, sizeof(msg), digest);
		else
			wc_Sha256Hash(msg, sizeof(msg), digest);
		memcpy(in, digest, n);
		return n;
	}
	wc_Sha256Hash(msg, sizeof(msg), digest);
	memcpy(in, sha256_prefix, sizeof(sha256_prefix));
	memcpy(in + sizeof(sha256_prefix), digest, 32);
	return sizeof(sha256_prefix) + 32;
}

/* A TBS-sized input signed the old way (hash here, sign the digest) and
 * the current way (mr_token_device_sign_data_unverified). */
static int
tbs_paths(const opts *o, const char *label, mr_key_type type, const uint8_t *spki,
    size_t spki_len, mr_diag *d)
{
	static uint8_t tbs[1024];
	uint8_t digest[64], sig[1024];
	size_t sig_len, dlen = type == MR_KEY_EC_P384 ? 48 : 32;
	double t0, t1;
	int r = MR_OK, pass, k;
	/* CSIGN_SWAP: the new path first, to see an order effect. */
	int swap = getenv("CSIGN_SWAP") != NULL;

	for (k = 0; k < 2 && r == MR_OK; k++) {
		pass = swap ? 1 - k : k;
		t0 = now();
		for (long i = 0; i < o->n && r == MR_OK; i++) {
			memcpy(tbs, &i, sizeof(i));
			if (pass == 0) {
				if (wc_Hash(dlen == 48 ? WC_HASH_TYPE_SHA384 : WC_HASH_TYPE_SHA256, tbs,
				    sizeof(tbs), digest, (word32)dlen) != 0)
					return mr_diag_set(d, MR_E_INTERNAL, "hash failed");
				r = mr_token_device_sign_digest_unverified(DEV_ID, spki, spki_len, digest,
				    dlen, sig, sizeof(sig), &sig_len, d);
			} else
				r = mr_token_device_sign_data_unverified(DEV_ID, spki, spki_len, dlen, tbs,
				    sizeof(tbs), sig, sizeof(sig), &sig_len, d);
		}
		t1 = now();
		if (r == MR_OK)
			printf("key=%s label=%s path=%s n=%ld seconds=%.6f rate=%.1f\n",
			    mr_key_type_name(type), label, pass == 0 ? "tbs_old" : "tbs", o->n, t1 - t0,
			    (double)o->n / (t1 - t0));
	}
	return r;
}

static int
run(const opts *o, mr_diag *d)
{
	mr_token *t = NULL;
	char label[MR_TOKEN_LABEL_MAX + 1], pin[PIN_MAX];
	uint8_t spki[2048], in[128], digest[64], sig[1024];
	size_t spki_len = 0, pin_len = 0, in_len, sig_len, dlen;
	mr_key_type type = MR_KEY_UNKNOWN;
	double t0, t1;
	int r, registered = 0;

	if ((r = root_label(o->state, label, sizeof(label), d)) != MR_OK)
		goto out;
	if ((r = read_pin(o->pin_file, pin, sizeof(pin), &pin_len, d)) != MR_OK)
		goto out;
	if ((r = mr_token_open_args(&t, o->module, o->module_args, o->token, d)) != MR_OK)
		goto out;
	r = mr_token_login(t, pin, pin_len, d);
	memset(pin, 0, sizeof(pin));
	if (r != MR_OK)
		goto out;
	if ((r = mr_token_public_key(t, label, spki, sizeof(spki), &spki_len, &type, d)) != MR_OK)
		goto out;
	/* One signature first: the key handle lookup is cached after it. */
	in_len = make_input(type, -1, digest, in);
	if ((r = mr_token_sign(t, label, in, in_len, sig, sizeof(sig), &sig_len, d)) != MR_OK)
		goto out;
	t0 = now();
	for (long i = 0; i < o->n && r == MR_OK; i++) {
		in_len = make_input(type, i, digest, in);
		r = mr_token_sign(t, label, in, in_len, sig, sizeof(sig), &sig_len, d);
	}
	t1 = now();
	if (r != MR_OK)
		goto out;
	printf("key=%s label=%s path=c_sign n=%ld seconds=%.6f rate=%.1f\n", mr_key_type_name(type),
	    label, o->n, t1 - t0, (double)o->n / (t1 - t0));
	if (!o->device)
		goto out;
	if ((r = mr_token_device_register(t, DEV_ID, label, d)) != MR_OK)
		goto out;
	registered = 1;
	dlen = type == MR_KEY_EC_P384 ? 48 : 32;
	t0 = now();
	for (long i = 0; i < o->n && r == MR_OK; i++) {
		(void)make_input(type, i, digest, in);
		r = mr_token_device_sign_digest(DEV_ID, spki, spki_len, digest, dlen, sig,
		    sizeof(sig), &sig_len, d);
	}
	t1 = now();
	if (r == MR_OK)
		printf("key=%s label=%s path=device n=%ld seconds=%.6f rate=%.1f\n",
		    mr_key_type_name(type), label, o->n, t1 - t0, (double)o->n / (t1 - t0));
	if (r == MR_OK)
		r = tbs_paths(o, label, type, spki, spki_len, d);
out:
	if (registered)
		mr_token_device_unregister(DEV_ID);
	mr_token_close(t);
	return r;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "state", required_argument, NULL, 's' },
		{ "module", required_argument, NULL, 'm' },
		{ "module-args", required_argument, NULL, 'A' },
		{ "token", required_argument, NULL, 't' },
		{ "pin-file", required_argument, NULL, 'p' },
		{ "device", no_argument, NULL, 'D' },
		{ NULL, 0, NULL, 0 },
	};
	opts o = { NULL, "/usr/lib/softhsm/libsofthsm2.so", NULL, NULL, NULL, 1000, 0 };
	mr_diag d;
	int c, r;

	while ((c = getopt_long(argc, argv, "n:", lopts, NULL)) != -1) {
		switch (c) {
		case 's': o.state = optarg; break;
		case 'm': o.module = optarg; break;
		case 'A': o.module_args = optarg; break;
		case 't': o.token = optarg; break;
		case 'p': o.pin_file = optarg; break;
		case 'D': o.device = 1; break;
		case 'n': o.n = strtol(optarg, NULL, 10); break;
		default: return 2;
		}
	}
	if (o.state == NULL || o.token == NULL || o.pin_file == NULL || o.n <= 0) {
		fprintf(stderr, "usage: csign_rate --state DIR [--module SO] --token SEL "
				"--pin-file FILE [-n N] [--device]\n");
		return 2;
	}
	mr_diag_clear(&d);
	if ((r = run(&o, &d)) != MR_OK) {
		fprintf(stderr, "error: %s\n", mr_diag_text(&d, r));
		return 1;
	}
	return 0;
}

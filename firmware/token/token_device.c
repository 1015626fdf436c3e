/*
 * wolfSSL crypto-callback device that signs through the token (see
 * mr_token.h). wolfSSL side only: no PKCS#11 header here (they clash).
 *
 * The device table is a plain static array: registration happens before
 * any signing. Each signing thread has its own RNG (rng_get).
 */
#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/settings.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/cryptocb.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/error-crypt.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/rsa.h>
#include <wolfssl/wolfcrypt/sha256.h>
#include <wolfssl/wolfcrypt/sha512.h>
#include <wolfssl/wolfcrypt/wc_port.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_token.h"

#define DEVICES_MAX 8
/* RSA-4096 */
#define SIG_MAX 512
/* r||s of P-384 is 96 bytes; P-521 would be 132 but is not a key type. */
#define EC_RS_MAX 132
/* DigestInfo prefix (19 bytes) and a SHA-512 digest */
#define DI_MAX 96

typedef struct {
	int used;
	int dev_id;
	mr_token *t;
	char label[MR_TOKEN_LABEL_MAX + 1];
	int last_err;
	mr_diag last;
} device;

static device devices[DEVICES_MAX];

/*
 * One wolfSSL RNG per signing thread, made at its first signature and
 * kept, instead of one per signature (each wc_InitRng reads a fresh seed
 * from the OS). A WC_RNG is not safe to share between threads, so each
 * thread has its own (a pthread key: freed when the thread exits). A
 * forked child never uses its parent's copy: the DRBG state would repeat
 * the parent's output, so a child makes its own. An RNG that fails a
 * signature is dropped and made afresh at the next one.
 */
typedef struct {
	WC_RNG rng;
	unsigned long generation; /* forks seen when it was made */
} thread_rng;

static pthread_key_t rng_key;
static pthread_once_t rng_once = PTHREAD_ONCE_INIT;
static int rng_key_ok;
static volatile unsigned long fork_generation;

static void
rng_free(void *p)
{
	thread_rng *t = p;

	if (t != NULL) {
		wc_FreeRng(&t->rng);
		free(t);
	}
}

static void
rng_after_fork(void)
{
	fork_generation++;
}

static void
rng_key_init(void)
{
	rng_key_ok = pthread_key_create(&rng_key, rng_free) == 0 &&
	    pthread_atfork(NULL, NULL, rng_after_fork) == 0;
}

/* The calling thread's RNG, or NULL (wolfSSL could not seed one). */
static WC_RNG *
rng_get(void)
{
	thread_rng *t;

	if (pthread_once(&rng_once, rng_key_init) != 0 || !rng_key_ok)
		return NULL;
	t = pthread_getspecific(rng_key);
	if (t != NULL && t->generation == fork_generation)
		return &t->rng;
	/* A parent's RNG in a forked child: its state is the parent's. */
	rng_free(t);
	(void)pthread_setspecific(rng_key, NULL);
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (wc_InitRng(&t->rng) != 0) {
		free(t);
		return NULL;
	}
	t->generation = fork_generation;
	if (pthread_setspecific(rng_key, t) != 0) {
		rng_free(t);
		return NULL;
	}
	return &t->rng;
}

/* After a failed signature: the next one starts from a fresh RNG. */
static void
rng_drop(void)
{
	thread_rng *t;

	if (!rng_key_ok || (t = pthread_getspecific(rng_key)) == NULL)
		return;
	(void)pthread_setspecific(rng_key, NULL);
	rng_free(t);
}

/*
 * The only DigestInfos the RSA device signs (RFC 8017 9.2 note 1: SHA-256,
 * SHA-384, SHA-512, with NULL parameters as wc_EncodeSignature writes
 * them). Anything else in a type-1 block is refused, so the device is no
 * raw-RSA oracle for whatever bytes reach it.
 */
static const struct {
	uint8_t prefix[19];
	size_t digest_len;
} digest_infos[] = {
	{ { 0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	    0x02, 0x01, 0x05, 0x00, 0x04, 0x20 }, 32 },
	{ { 0x30, 0x41, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	    0x02, 0x02, 0x05, 0x00, 0x04, 0x30 }, 48 },
	{ { 0x30, 0x51, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04,
	    0x02, 0x03, 0x05, 0x00, 0x04, 0x40 }, 64 },
};

static device *
find_device(int dev_id)
{
	for (size_t i = 0; i < DEVICES_MAX; i++)
		if (devices[i].used && devices[i].dev_id == dev_id)
			return &devices[i];
	return NULL;
}

static int
dev_fail(device *dev, int err)
{
	dev->last_err = err;
	return WC_HW_E;
}

static int
allowed_digest_info(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < sizeof(digest_infos) / sizeof(digest_infos[0]); i++) {
		size_t plen = sizeof(digest_infos[i].prefix);

		if (n == plen + digest_infos[i].digest_len &&
		    memcmp(p, digest_infos[i].prefix, plen) == 0)
			return 1;
	}
	return 0;
}

static int
ecdsa_sign(device *dev, wc_CryptoInfo *info)
{
	uint8_t rs[EC_RS_MAX];
	size_t rs_len = 0, half;
	int ret, r, field;

	if (info->pk.eccsign.inlen != 32 && info->pk.eccsign.inlen != 48 &&
	    info->pk.eccsign.inlen != 64) {
		mr_diag_set(&dev->last, MR_E_ARG, "ECDSA device: %u-byte digest refused",
		    info->pk.eccsign.inlen);
		ret = dev_fail(dev, MR_E_ARG);
		goto out;
	}
	r = mr_token_sign(dev->t, dev->label, info->pk.eccsign.in, info->pk.eccsign.inlen, rs,
	    sizeof(rs), &rs_len, &dev->last);
	if (r != MR_OK) {
		ret = dev_fail(dev, r);
		goto out;
	}
	half = rs_len / 2;
	field = wc_ecc_size(info->pk.eccsign.key);
	/* The wolfSSL key object is built from the SPKI the caller holds; a
	 * token key on another curve means the two do not belong together. */
	if (rs_len % 2 != 0 || field <= 0 || half != (size_t)field) {
		mr_diag_set(&dev->last, MR_E_KEY_MISMATCH,
		    "key '%s': token signature of %zu bytes for a %d-byte curve", dev->label,
		    rs_len, field);
		ret = dev_fail(dev, MR_E_KEY_MISMATCH);
		goto out;
	}
	ret = wc_ecc_rs_raw_to_sig(rs, (word32)half, rs + half, (word32)half, info->pk.eccsign.out,
	    info->pk.eccsign.outlen);
	if (ret != 0) {
		mr_diag_set(&dev->last, MR_E_RANGE, "wc_ecc_rs_raw_to_sig: %s",
		    wc_GetErrorString(ret));
		dev->last_err = MR_E_RANGE;
	}
out:
	return ret;
}

/*
 * wolfSSL hands over the whole PKCS#1 v1.5 block (RFC 8017 9.2 step 5:
 * 00 01 FF..FF 00 DigestInfo, at least 8 FF); CKM_RSA_PKCS pads again on
 * the token, so the block is unpadded here, strictly.
 */
static int
rsa_sign(device *dev, wc_CryptoInfo *info)
{
	const uint8_t *in = info->pk.rsa.in;
	size_t n = info->pk.rsa.inLen, i = 2;
	/* `in` and `out` are the same buffer when wolfSSL pads in place: the
	 * DigestInfo is copied out before anything is written. */
	uint8_t di[SIG_MAX], sig[SIG_MAX];
	size_t di_len, sig_len = 0;
	int ret, r;

	if (n < 11 || n > SIG_MAX || in[0] != 0x00 || in[1] != 0x01) {
		mr_diag_set(&dev->last, MR_E_ARG, "RSA device: not a PKCS#1 v1.5 signature block");
		ret = dev_fail(dev, MR_E_ARG);
		goto out;
	}
	while (i < n && in[i] == 0xff)
		i++;
	if (i == n || in[i] != 0x00 || i - 2 < 8) {
		mr_diag_set(&dev->last, MR_E_ARG, "RSA device: bad PKCS#1 v1.5 padding");
		ret = dev_fail(dev, MR_E_ARG);
		goto out;
	}
	i++;
	di_len = n - i;
	if (!allowed_digest_info(in + i, di_len)) {
		mr_diag_set(&dev->last, MR_E_ARG,
		    "RSA device: only SHA-256/384/512 DigestInfos are signed");
		ret = dev_fail(dev, MR_E_ARG);
		goto out;
	}
	memcpy(di, in + i, di_len);
	r = mr_token_sign(dev->t, dev->label, di, di_len, sig, sizeof(sig), &sig_len, &dev->last);
	if (r != MR_OK) {
		ret = dev_fail(dev, r);
		goto out;
	}
	if (sig_len != n) {
		mr_diag_set(&dev->last, MR_E_KEY_MISMATCH,
		    "key '%s': %zu-byte token signature for a %zu-byte modulus", dev->label,
		    sig_len, n);
		ret = dev_fail(dev, MR_E_KEY_MISMATCH);
		goto out;
	}
	if (*info->pk.rsa.outLen < sig_len) {
		mr_diag_set(&dev->last, MR_E_RANGE, "RSA device: output buffer too small");
		ret = dev_fail(dev, MR_E_RANGE);
		goto out;
	}
	memcpy(info->pk.rsa.out, sig, sig_len);
	*info->pk.rsa.outLen = (word32)sig_len;
	ret = 0;
out:
	return ret;
}

static int
device_cb(int dev_id, wc_CryptoInfo *info, void *ctx)
{
	device *dev = ctx;
	int ret = CRYPTOCB_UNAVAILABLE;

	if (dev == NULL || info == NULL || !dev->used || dev->dev_id != dev_id) {
		ret = BAD_FUNC_ARG;
		goto out;
	}
	/* Everything public (verify, encrypt) falls back to software. */
	if (info->algo_type != WC_ALGO_TYPE_PK)
		goto out;
	if (info->pk.type == WC_PK_TYPE_ECDSA_SIGN) {
		mr_diag_clear(&dev->last);
		dev->last_err = MR_OK;
		ret = ecdsa_sign(dev, info);
	} else if (info->pk.type == WC_PK_TYPE_RSA && info->pk.rsa.type == RSA_PRIVATE_ENCRYPT) {
		mr_diag_clear(&dev->last);
		dev->last_err = MR_OK;
		ret = rsa_sign(dev, info);
	} else if (info->pk.type == WC_PK_TYPE_RSA && info->pk.rsa.type == RSA_PRIVATE_DECRYPT) {
		/* The key is CKA_SIGN only; say so instead of letting wolfSSL
		 * try a software private key it does not have. */
		mr_diag_clear(&dev->last);
		mr_diag_set(&dev->last, MR_E_POLICY, "RSA device: decryption refused");
		ret = dev_fail(dev, MR_E_POLICY);
	}
out:
	return ret;
}

int
mr_token_device_register(mr_token *t, int dev_id, const char *label, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	device *dev = NULL;
	size_t n;
	int ret, wc_init = 0;

	if (t == NULL || label == NULL || dev_id == INVALID_DEVID) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_device_register: bad argument");
		goto out;
	}
	n = strlen(label);
	if (n == 0 || n > MR_TOKEN_LABEL_MAX) {
		r = mr_diag_set(d, MR_E_ARG, "key label must be 1 to %d bytes", MR_TOKEN_LABEL_MAX);
		goto out;
	}
	if (find_device(dev_id) != NULL) {
		r = mr_diag_set(d, MR_E_EXISTS, "crypto device %d is already registered", dev_id);
		goto out;
	}
	for (size_t i = 0; i < DEVICES_MAX && dev == NULL; i++)
		if (!devices[i].used)
			dev = &devices[i];
	if (dev == NULL) {
		r = mr_diag_set(d, MR_E_RANGE, "more than %d crypto devices", DEVICES_MAX);
		goto out;
	}
	/* The device table is set up by wolfCrypt_Init (reference counted;
	 * balanced in unregister). */
	if ((ret = wolfCrypt_Init()) != 0) {
		r = mr_diag_set(d, MR_E_INTERNAL, "wolfCrypt_Init: %s", wc_GetErrorString(ret));
		goto out;
	}
	wc_init = 1;
	memset(dev, 0, sizeof(*dev));
	dev->dev_id = dev_id;
	dev->t = t;
	memcpy(dev->label, label, n + 1);
	if ((ret = wc_CryptoCb_RegisterDevice(dev_id, device_cb, dev)) != 0) {
		r = mr_diag_set(d, MR_E_INTERNAL, "wc_CryptoCb_RegisterDevice: %s",
		    wc_GetErrorString(ret));
		goto out;
	}
	dev->used = 1;
	wc_init = 0;
	r = MR_OK;
out:
	if (wc_init)
		(void)wolfCrypt_Cleanup();
	return r;
}

void
mr_token_device_unregister(int dev_id)
{
	device *dev = find_device(dev_id);

	if (dev == NULL)
		return;
	wc_CryptoCb_UnRegisterDevice(dev_id);
	memset(dev, 0, sizeof(*dev));
	(void)wolfCrypt_Cleanup();
}

int
mr_token_device_diag(int dev_id, mr_diag *d)
{
	device *dev = find_device(dev_id);

	if (dev == NULL || dev->last_err == MR_OK)
		return MR_OK;
	return mr_diag_set(d, dev->last_err, "%s", mr_diag_text(&dev->last, dev->last_err));
}

/* After a failed wolfSSL call: the token's own error if the device had
 * one, else wolfSSL's. */
static int
wc_fail(device *dev, int ret, const char *fn, mr_diag *d)
{
	if (dev->last_err != MR_OK)
		return mr_diag_set(d, dev->last_err, "%s",
		    mr_diag_text(&dev->last, dev->last_err));
	return mr_diag_set(d, ret == BUFFER_E || ret == RSA_BUFFER_E ? MR_E_RANGE : MR_E_TOKEN,
	    "%s: %s", fn, wc_GetErrorString(ret));
}

static word32
cap32(size_t cap)
{
	return cap > UINT32_MAX ? UINT32_MAX : (word32)cap;
}

static int
sign_ecc(device *dev, const uint8_t *spki, size_t spki_len, const uint8_t *digest,
    size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len, WC_RNG *rng, int verify,
    mr_diag *d)
{
	int r = MR_E_INTERNAL;
	ecc_key hw, sw;
	int hw_init = 0, sw_init = 0, ret, ok = 0;
	word32 idx = 0, len = cap32(cap);

	if (wc_ecc_init_ex(&hw, NULL, dev->dev_id) != 0)
		goto out;
	hw_init = 1;
	if (wc_ecc_init_ex(&sw, NULL, INVALID_DEVID) != 0)
		goto out;
	sw_init = 1;
	if (wc_EccPublicKeyDecode(spki, &idx, &hw, (word32)spki_len) != 0 || idx != spki_len) {
		r = mr_diag_set(d, MR_E_DER, "bad EC SubjectPublicKeyInfo");
		goto out;
	}
	idx = 0;
	if (wc_EccPublicKeyDecode(spki, &idx, &sw, (word32)spki_len) != 0)
		goto out;
	if ((ret = wc_ecc_sign_hash(digest, (word32)digest_len, sig, &len, rng, &hw)) != 0) {
		r = wc_fail(dev, ret, "wc_ecc_sign_hash", d);
		goto out;
	}
	/* Verified in software with a key object that never touches the
	 * device: a token key that does not match the SPKI fails here. */
	if (verify)
		ret = wc_ecc_verify_hash(sig, len, digest, (word32)digest_len, &ok, &sw);
	if (verify && (ret != 0 || ok != 1)) {
		r = mr_diag_set(d, MR_E_SIG, "key '%s': the token's ECDSA signature does not "
		    "verify with the public key", dev->label);
		goto out;
	}
	*sig_len = len;
	r = MR_OK;
out:
	if (hw_init)
		wc_ecc_free(&hw);
	if (sw_init)
		wc_ecc_free(&sw);
	return r;
}

static int
sign_rsa(device *dev, const uint8_t *spki, size_t spki_len, const uint8_t *digest,
    size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len, WC_RNG *rng, int verify,
    mr_diag *d)
{
	int r = MR_E_INTERNAL;
	RsaKey hw, sw;
	int hw_init = 0, sw_init = 0, ret, oid;
	word32 idx = 0, di_len;
	uint8_t di[DI_MAX], check[SIG_MAX];
	size_t len;

	if (wc_InitRsaKey_ex(&hw, NULL, dev->dev_id) != 0)
		goto out;
	hw_init = 1;
	if (wc_InitRsaKey_ex(&sw, NULL, INVALID_DEVID) != 0)
		goto out;
	sw_init = 1;
	if (wc_RsaPublicKeyDecode(spki, &idx, &hw, (word32)spki_len) != 0 || idx != spki_len) {
		r = mr_diag_set(d, MR_E_DER, "not an EC or RSA SubjectPublicKeyInfo");
		goto out;
	}
	idx = 0;
	if (wc_RsaPublicKeyDecode(spki, &idx, &sw, (word32)spki_len) != 0)
		goto out;
	oid = wc_HashGetOID(digest_len == WC_SHA256_DIGEST_SIZE ? WC_HASH_TYPE_SHA256 :
	    WC_HASH_TYPE_SHA384);
	if (oid <= 0)
		goto out;
	di_len = wc_EncodeSignature(di, digest, (word32)digest_len, oid);
	if (di_len == 0)
		goto out;
	if ((ret = wc_RsaSSL_Sign(di, di_len, sig, cap32(cap), &hw, rng)) < 0) {
		r = wc_fail(dev, ret, "wc_RsaSSL_Sign", d);
		goto out;
	}
	len = (size_t)ret;
	ret = verify ? wc_RsaSSL_Verify(sig, (word32)len, check, sizeof(check), &sw) : (int)di_len;
	if (verify && (ret < 0 || (word32)ret != di_len || memcmp(check, di, di_len) != 0)) {
		r = mr_diag_set(d, MR_E_SIG, "key '%s': the token's RSA signature does not "
		    "verify with the public key", dev->label);
		goto out;
	}
	*sig_len = len;
	r = MR_OK;
out:
	if (hw_init)
		wc_FreeRsaKey(&hw);
	if (sw_init)
		wc_FreeRsaKey(&sw);
	return r;
}

static int
spki_is_ec(const uint8_t *spki, size_t spki_len)
{
	ecc_key probe;
	word32 idx = 0;
	int is_ec;

	if (spki == NULL || spki_len == 0 || spki_len > UINT32_MAX ||
	    wc_ecc_init_ex(&probe, NULL, INVALID_DEVID) != 0)
		return 0;
	is_ec = wc_EccPublicKeyDecode(spki, &idx, &probe, (word32)spki_len) == 0;
	wc_ecc_free(&probe);
	return is_ec;
}

static int
sign_digest(int dev_id, const uint8_t *spki, size_t spki_len, const uint8_t *digest,
    size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len, int verify, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	device *dev = find_device(dev_id);
	WC_RNG *rng;
	int is_ec;
	ecc_key probe;
	word32 idx = 0;

	if (spki == NULL || digest == NULL || sig == NULL || sig_len == NULL ||
	    spki_len == 0 || spki_len > UINT32_MAX) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_device_sign_digest: bad argument");
		goto out;
	}
	if (dev == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "crypto device %d is not registered", dev_id);
		goto out;
	}
	if (digest_len != WC_SHA256_DIGEST_SIZE && digest_len != WC_SHA384_DIGEST_SIZE) {
		r = mr_diag_set(d, MR_E_ARG, "%zu-byte digest: only SHA-256 and SHA-384", digest_len);
		goto out;
	}
	if ((rng = rng_get()) == NULL) {
		r = mr_diag_set(d, MR_E_INTERNAL, "wc_InitRng failed");
		goto out;
	}
	if (wc_ecc_init_ex(&probe, NULL, INVALID_DEVID) != 0)
		goto out;
	is_ec = wc_EccPublicKeyDecode(spki, &idx, &probe, (word32)spki_len) == 0;
	wc_ecc_free(&probe);
	dev->last_err = MR_OK;
	mr_diag_clear(&dev->last);
	if (is_ec)
		r = sign_ecc(dev, spki, spki_len, digest, digest_len, sig, cap, sig_len, rng, verify,
		    d);
	else
		r = sign_rsa(dev, spki, spki_len, digest, digest_len, sig, cap, sig_len, rng, verify,
		    d);
out:
	if (r != MR_OK)
		rng_drop();
	return r;
}

int
mr_token_device_sign_digest(int dev_id, const uint8_t *spki, size_t spki_len,
    const uint8_t *digest, size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len,
    mr_diag *d)
{
	return sign_digest(dev_id, spki, spki_len, digest, digest_len, sig, cap, sig_len, 1, d);
}

int
mr_token_device_sign_digest_unverified(int dev_id, const uint8_t *spki, size_t spki_len,
    const uint8_t *digest, size_t digest_len, uint8_t *sig, size_t cap, size_t *sig_len,
    mr_diag *d)
{
	return sign_digest(dev_id, spki, spki_len, digest, digest_len, sig, cap, sig_len, 0, d);
}

int
mr_token_device_sign_data_unverified(int dev_id, const uint8_t *spki, size_t spki_len,
    size_t digest_len, const uint8_t *data, size_t data_len, uint8_t *sig, size_t cap,
    size_t *sig_len, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	device *dev = find_device(dev_id);
	uint8_t raw[SIG_MAX], digest[WC_SHA384_DIGEST_SIZE];
	size_t raw_len = 0, half;
	int done = 0, ret;
	word32 len = cap32(cap);

	if (dev == NULL || data == NULL || sig == NULL || sig_len == NULL ||
	    data_len > UINT32_MAX ||
	    (digest_len != WC_SHA256_DIGEST_SIZE && digest_len != WC_SHA384_DIGEST_SIZE)) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_device_sign_data: bad argument");
		goto out;
	}
	if ((r = mr_token_sign_hashing(dev->t, dev->label, digest_len, data, data_len, raw,
		 sizeof(raw), &raw_len, &done, d)) != MR_OK)
		goto out;
	if (!done) {
		ret = digest_len == WC_SHA256_DIGEST_SIZE ?
		    wc_Sha256Hash(data, (word32)data_len, digest) :
		    wc_Sha384Hash(data, (word32)data_len, digest);
		if (ret != 0) {
			r = mr_diag_set(d, MR_E_INTERNAL, "cannot hash the data to sign");
			goto out;
		}
		r = sign_digest(dev_id, spki, spki_len, digest, digest_len, sig, cap, sig_len, 0, d);
		goto out;
	}
	/* RSA: the token's signature is the signatureValue. ECDSA: r||s
	 * becomes the DER Ecdsa-Sig-Value X.509 carries (RFC 5480 2.2). */
	if (!spki_is_ec(spki, spki_len)) {
		if (raw_len > cap) {
			r = mr_diag_set(d, MR_E_RANGE, "signature buffer too small");
			goto out;
		}
		memcpy(sig, raw, raw_len);
		*sig_len = raw_len;
		r = MR_OK;
		goto out;
	}
	half = raw_len / 2;
	if ((ret = wc_ecc_rs_raw_to_sig(raw, (word32)half, raw + half, (word32)half, sig,
		 &len)) != 0) {
		r = mr_diag_set(d, MR_E_RANGE, "wc_ecc_rs_raw_to_sig: %s", wc_GetErrorString(ret));
		goto out;
	}
	*sig_len = len;
	r = MR_OK;
out:
	return r;
}

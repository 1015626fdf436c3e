/* Checkpoint signatures by key type: Ed25519 (signed-note type 0x01) and
 * ECDSA P-256 (type 0x02, the transparency-dev/witness convention). Sign and
 * verify, key IDs, verifier keys, and tampered or foreign signatures. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/asn_public.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdio.h>
#include <string.h>

#include "mr_base64.h"
#include "mr_checkpoint.h"

/* A software stand-in for the token: signs what mr_note_sign_input says,
 * and returns what the token returns (Ed25519 signature or raw r||s). */
typedef struct {
	int ecdsa;
	ed25519_key ed;
	ecc_key ec;
	WC_RNG rng;
	mr_note_key pub;
} signer;

static void
signer_init(signer *s, int ecdsa, const char *name)
{
	uint8_t pub[128];
	word32 pl = sizeof(pub);
	int n;

	memset(s, 0, sizeof(*s));
	s->ecdsa = ecdsa;
	assert_int_equal(wc_InitRng(&s->rng), 0);
	if (!ecdsa) {
		wc_ed25519_init(&s->ed);
		assert_int_equal(wc_ed25519_make_key(&s->rng, 32, &s->ed), 0);
		assert_int_equal(wc_ed25519_export_public(&s->ed, pub, &pl), 0);
		assert_int_equal(mr_note_key_init(&s->pub, name, pub), MR_OK);
		return;
	}
	wc_ecc_init(&s->ec);
	assert_int_equal(wc_ecc_make_key_ex(&s->rng, 32, &s->ec, ECC_SECP256R1), 0);
	n = wc_EccPublicKeyToDer(&s->ec, pub, sizeof(pub), 1);
	assert_true(n > 0);
	assert_int_equal(mr_note_key_init_ecdsa(&s->pub, name, pub, (size_t)n), MR_OK);
}

static void
signer_free(signer *s)
{
	if (s->ecdsa)
		wc_ecc_free(&s->ec);
	else
		wc_ed25519_free(&s->ed);
	wc_FreeRng(&s->rng);
}

static void
token_sign(signer *s, const uint8_t *in, size_t in_len, uint8_t out[64])
{
	uint8_t der[80], r[80], ss[80];
	word32 dl = sizeof(der), rl = sizeof(r), sl = sizeof(ss), ol = 64;

	if (!s->ecdsa) {
		assert_int_equal(wc_ed25519_sign_msg(in, (word32)in_len, out, &ol, &s->ed), 0);
		return;
	}
	assert_int_equal(in_len, 32);
	assert_int_equal(wc_ecc_sign_hash(in, 32, der, &dl, &s->rng, &s->ec), 0);
	assert_int_equal(wc_ecc_sig_to_rs(der, dl, r, &rl, ss, &sl), 0);
	assert_true(rl <= 32 && sl <= 32);
	/* CKM_ECDSA gives r and s left-padded to the field size. */
	memset(out, 0, 64);
	memcpy(out + 32 - rl, r, rl);
	memcpy(out + 64 - sl, ss, sl);
}

static size_t
make_checkpoint(signer *s, uint64_t size, char *out, size_t cap)
{
	mr_merkle_hash root;
	uint8_t digest[32], sig[64];
	const uint8_t *in;
	size_t len, in_len;

	memset(root, 0xab, 32);
	assert_int_equal(mr_checkpoint_body(s->pub.name, size, root, "2026-12-05T10:00:00Z", out,
	    cap, &len), MR_OK);
	assert_int_equal(mr_note_sign_input(&s->pub, out, len, digest, &in, &in_len), MR_OK);
	token_sign(s, in, in_len, sig);
	assert_int_equal(mr_checkpoint_sign_line(&s->pub, sig, out, cap, &len), MR_OK);
	return len;
}

/* Both types: a good note opens, another key's or a tampered one does not. */
static void
check_type(int ecdsa)
{
	const char *name = ecdsa ? "meshroot/audit/ecdsa-p256/0011223344556677" :
	    "meshroot/audit/ed25519/0011223344556677";
	signer s, other;
	mr_checkpoint cp;
	char text[1024], why[200];
	size_t len;

	signer_init(&s, ecdsa, name);
	signer_init(&other, ecdsa, name);
	len = make_checkpoint(&s, 42, text, sizeof(text));
	assert_int_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why, sizeof(why)), MR_OK);
	assert_int_equal(cp.size, 42);
	assert_string_equal(cp.origin, name);
	assert_int_equal(mr_checkpoint_open(text, len, &other.pub, &cp, why, sizeof(why)), MR_E_SIG);
	assert_non_null(strstr(why, "no signature by the audit key"));
	/* Every flipped bit is caught: in the text, the key ID or the signature. */
	for (size_t i = 0; i < len; i++)
		for (int b = 0; b < 8; b++) {
			text[i] = (char)(text[i] ^ (1 << b));
			assert_int_not_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why,
			    sizeof(why)), MR_OK);
			text[i] = (char)(text[i] ^ (1 << b));
		}
	/* A note by the same name and a different key is not ours. */
	len = make_checkpoint(&other, 43, text, sizeof(text));
	assert_int_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why, sizeof(why)), MR_E_SIG);
	signer_free(&s);
	signer_free(&other);
}

static void
test_ed25519(void **state)
{
	(void)state;
	check_type(0);
}

static void
test_ecdsa(void **state)
{
	(void)state;
	check_type(1);
}

/* The key ID rules: Ed25519 hashes name, newline, 0x01 and the key; ECDSA
 * hashes the SPKI alone. The verifier key round-trips and names its type. */
static void
test_key_ids(void **state)
{
	signer e, c;
	uint8_t buf[256], h[32];
	char vkey[256], why[200];
	mr_note_key back;
	size_t n;

	(void)state;
	signer_init(&e, 0, "meshroot/audit/ed25519/x");
	signer_init(&c, 1, "meshroot/audit/ecdsa-p256/x");
	n = strlen(e.pub.name);
	memcpy(buf, e.pub.name, n);
	buf[n] = 0x0a;
	buf[n + 1] = 0x01;
	memcpy(buf + n + 2, e.pub.pub, 32);
	wc_Sha256Hash(buf, (word32)(n + 34), h);
	assert_memory_equal(e.pub.id, h, 4);
	assert_int_equal(c.pub.pub_len, 91);
	wc_Sha256Hash(c.pub.pub, (word32)c.pub.pub_len, h);
	assert_memory_equal(c.pub.id, h, 4);
	assert_string_equal(mr_note_key_type_name(&e.pub), "ed25519");
	assert_string_equal(mr_note_key_type_name(&c.pub), "ecdsa-p256");

	assert_int_equal(mr_note_vkey_format(&c.pub, vkey, sizeof(vkey)), MR_OK);
	/* base64(0x02 || SPKI) starts "AjBZ" for every P-256 key. */
	assert_non_null(strstr(vkey, "+AjBZMBMGByqGSM49AgEGCCqGSM49AwEH"));
	assert_int_equal(mr_note_vkey_parse(vkey, strlen(vkey), &back, why, sizeof(why)), MR_OK);
	assert_int_equal(back.type, MR_NOTE_ECDSA);
	assert_memory_equal(back.id, c.pub.id, 4);
	/* A wrong key ID, and an ECDSA type byte on an Ed25519 key, are refused. */
	vkey[strlen("meshroot/audit/ecdsa-p256/x+")] ^= 1;
	assert_int_equal(mr_note_vkey_parse(vkey, strlen(vkey), &back, why, sizeof(why)), MR_E_DER);
	assert_non_null(strstr(why, "key ID"));
	assert_int_equal(mr_note_vkey_format(&e.pub, vkey, sizeof(vkey)), MR_OK);
	{
		/* The key field follows the second '+' (base64 has '+' too). */
		static const char alphabet[] =
		    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
		char *b64 = strchr(strchr(vkey, '+') + 1, '+') + 1;
		size_t six = (size_t)(strchr(alphabet, b64[1]) - alphabet);

		assert_int_equal(b64[0], 'A');
		/* The type byte's low two bits are the top of the second
		 * character: 0x01 becomes 0x02. */
		assert_int_equal(six >> 4, 1);
		b64[1] = alphabet[six ^ 0x30];
		assert_int_equal(mr_note_vkey_parse(vkey, strlen(vkey), &back, why, sizeof(why)),
		    MR_E_DER);
		assert_non_null(strstr(why, "P-256"));
	}
	signer_free(&e);
	signer_free(&c);
}

/* An ECDSA signature whose DER is not the canonical spelling of (r, s) is
 * refused even though the numbers would verify. */
static void
test_ecdsa_noncanonical(void **state)
{
	signer s;
	mr_checkpoint cp;
	char text[1024], why[200], *line, enc[200];
	uint8_t raw[100], fat[100];
	size_t len, raw_len, body;

	(void)state;
	signer_init(&s, 1, "meshroot/audit/ecdsa-p256/y");
	len = make_checkpoint(&s, 7, text, sizeof(text));
	assert_int_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why, sizeof(why)), MR_OK);
	body = cp.body_len;
	line = strrchr(text, ' ') + 1;
	assert_int_equal(mr_base64_decode(line, strlen(line) - 1, raw, sizeof(raw), &raw_len), MR_OK);
	/* SEQUENCE with a long-form length (0x81 nn): same numbers, other bytes. */
	fat[0] = raw[0], fat[1] = raw[1], fat[2] = raw[2], fat[3] = raw[3];
	fat[4] = 0x30;
	fat[5] = 0x81;
	memcpy(fat + 6, raw + 5, raw_len - 5);
	assert_int_equal(mr_base64_encode(fat, raw_len + 1, enc, sizeof(enc)), MR_OK);
	snprintf(line, sizeof(text) - (size_t)(line - text), "%s\n", enc);
	len = strlen(text);
	assert_true(len > body);
	assert_int_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why, sizeof(why)), MR_E_SIG);
	assert_non_null(strstr(why, "does not verify"));
	signer_free(&s);
}

/* A log made before the key type was part of the name (origin
 * "meshroot/audit/<16 hex>"), signed here with openssl's Ed25519: its
 * verifier key and checkpoint still open, unchanged. */
static const char old_vkey[] =
    "meshroot/audit/48db75f6f2260290+99f5c25f+AXH8yXYITcmVTjFYHdIFVo1TkQ7TDMg40SnYZb0JnmKh\n";
static const char old_note[] =
    "meshroot/audit/48db75f6f2260290\n7\nLXEWQrcmsEQBYnyp+6wy9chTD7GQPMTbAiWHF5IaSIE=\n"
    "time 2026-11-27T02:50:16Z\n\n\xe2\x80\x94 meshroot/audit/48db75f6f2260290 "
    "mfXCX2V0fX4uqguwSCGlIqUovuHPRFTEqyZeF7km9meegzM+hgp7pH3984ajofHlDd4EAGUyYTH6KszPPKv+6yioPAU=\n";

static void
test_old_ed25519_log(void **state)
{
	mr_note_key k;
	mr_checkpoint cp;
	char why[200], again[256], note[sizeof(old_note)];

	(void)state;
	assert_int_equal(mr_note_vkey_parse(old_vkey, strlen(old_vkey), &k, why, sizeof(why)), MR_OK);
	assert_int_equal(k.type, MR_NOTE_ED25519);
	assert_int_equal(mr_note_vkey_format(&k, again, sizeof(again)), MR_OK);
	assert_string_equal(again, old_vkey);
	assert_int_equal(mr_checkpoint_open(old_note, strlen(old_note), &k, &cp, why, sizeof(why)),
	    MR_OK);
	assert_int_equal(cp.size, 7);
	memcpy(note, old_note, sizeof(note));
	note[strlen("meshroot/audit/48db75f6f2260290\n")] = '8';
	assert_int_equal(mr_checkpoint_open(note, strlen(note), &k, &cp, why, sizeof(why)), MR_E_SIG);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_ecdsa),
		cmocka_unit_test(test_key_ids),
		cmocka_unit_test(test_ecdsa_noncanonical),
		cmocka_unit_test(test_old_ed25519_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

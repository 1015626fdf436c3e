/* The audit log's pure parts: RFC 9162 Merkle trees and proofs, C2SP
 * signed-note checkpoints, the record scanner and the answer proof file. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/random.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_auditlog.h"
#include "mr_checkpoint.h"
#include "mr_fingerprint.h"
#include "mr_merkle.h"
#include "mr_record.h"

static void
unhex(const char *h, uint8_t *out)
{
	assert_int_equal(mr_hex_decode(h, out, strlen(h) / 2), MR_OK);
}

/* The RFC 6962 / certificate-transparency test tree of 8 leaves. */
static const char *const roots[] = {
	"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
	"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
	"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
	"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
	"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
	"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
	"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
	"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
};

static void
ct_leaves(mr_merkle_hash *l)
{
	static const uint8_t d[] = { 0x00, 0x10, 0x20, 0x21, 0x30, 0x31, 0x40, 0x41, 0x42,
		0x43, 0x50, 0x51, 0x52, 0x53, 0x54, 0x55, 0x56, 0x57, 0x60, 0x61, 0x62, 0x63,
		0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d, 0x6e, 0x6f };
	static const size_t off[] = { 0, 0, 1, 2, 4, 6, 10, 18, 34 };

	for (size_t i = 0; i < 8; i++)
		mr_merkle_leaf(d + off[i], off[i + 1] - off[i], l[i]);
}

static void
test_roots(void **state)
{
	mr_merkle_hash l[8], r, want;

	(void)state;
	ct_leaves(l);
	for (size_t n = 1; n <= 8; n++) {
		mr_merkle_root(l, n, r);
		unhex(roots[n - 1], want);
		assert_memory_equal(r, want, 32);
	}
	mr_merkle_root(l, 0, r);
	unhex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", want);
	assert_memory_equal(r, want, 32);
}

#define N 70

static void
many_leaves(mr_merkle_hash *l, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t b[8];
		memcpy(b, &i, sizeof(b));
		mr_merkle_leaf(b, sizeof(b), l[i]);
	}
}

static void
test_inclusion(void **state)
{
	static mr_merkle_hash l[N];
	mr_merkle_hash root, path[MR_MERKLE_MAX_PROOF], bad;
	size_t len;

	(void)state;
	many_leaves(l, N);
	for (size_t n = 1; n <= N; n++) {
		mr_merkle_root(l, n, root);
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(mr_merkle_inclusion_proof(l, n, i, path, MR_MERKLE_MAX_PROOF,
			    &len), MR_OK);
			assert_int_equal(mr_merkle_inclusion_verify(i, n, l[i], path, len, root), MR_OK);
			/* Wrong leaf, index, hash or length: refused. (The size is bound by
			 * the signed checkpoint, not by the proof.) */
			assert_int_not_equal(mr_merkle_inclusion_verify(i, n, l[(i + 1) % N], path,
			    len, root), MR_OK);
			if (n > 1)
				assert_int_not_equal(mr_merkle_inclusion_verify((i + 1) % n, n, l[i],
				    path, len, root), MR_OK);
			if (len > 0) {
				memcpy(bad, path[len - 1], 32);
				path[len - 1][7] ^= 1;
				assert_int_not_equal(mr_merkle_inclusion_verify(i, n, l[i], path, len,
				    root), MR_OK);
				memcpy(path[len - 1], bad, 32);
				assert_int_not_equal(mr_merkle_inclusion_verify(i, n, l[i], path,
				    len - 1, root), MR_OK);
			}
		}
	}
	assert_int_equal(mr_merkle_inclusion_proof(l, 5, 5, path, MR_MERKLE_MAX_PROOF, &len),
	    MR_E_ARG);
}

/* The leaves a test tree gives back for a complete block (fetch): the
 * right ones, or, once asked to, one altered, or an error. */
typedef struct {
	const mr_merkle_hash *l;
	size_t fetches;
	int alter, fail;
} fetch_src;

static int
fetch_from(void *ctx, size_t block, mr_merkle_hash *leaves)
{
	fetch_src *f = ctx;

	f->fetches++;
	if (f->fail)
		return MR_E_IO;
	memcpy(leaves, f->l + block * MR_MERKLE_BLOCK, MR_MERKLE_BLOCK * sizeof(*leaves));
	if (f->alter)
		leaves[3][0] ^= 1;
	return MR_OK;
}

/* An empty tree of at most m leaves: its kept levels in lv (9 levels of
 * m nodes each, row k for level k), its blocks given back by src. */
static void
levels_init(mr_merkle_levels *t, mr_merkle_hash *lv, size_t m, fetch_src *src)
{
	memset(t, 0, sizeof(*t));
	for (size_t k = MR_MERKLE_LOW; k < 9; k++)
		t->lv[k] = lv + k * m;
	t->fetch = fetch_from;
	t->ctx = src;
}

/* Leaf i's inclusion proof at size n from the kept levels is the one the
 * definition gives from all the leaves l. */
static void
assert_same_proof(mr_merkle_levels *t, const mr_merkle_hash *l, size_t n, size_t i)
{
	mr_merkle_hash p1[MR_MERKLE_MAX_PROOF], p2[MR_MERKLE_MAX_PROOF];
	size_t n1, n2;

	assert_int_equal(mr_merkle_inclusion_proof(l, n, i, p1, MR_MERKLE_MAX_PROOF, &n1), MR_OK);
	assert_int_equal(mr_merkle_levels_inclusion(t, n, i, p2, MR_MERKLE_MAX_PROOF, &n2), MR_OK);
	assert_int_equal(n1, n2);
	assert_memory_equal(p1, p2, n1 * 32);
}

/* The kept levels, with the inside of complete blocks fetched again, give
 * the same roots and proofs as the definition, for every tree size up to
 * 140 (blocks of 16: full, partial, open) and every leaf, while leaves are
 * pushed. */
static void
test_levels(void **state)
{
	enum { M = 140 };
	static mr_merkle_hash l[M], lv[9][M];
	mr_merkle_hash want, got, p2[MR_MERKLE_MAX_PROOF];
	fetch_src src = { l, 0, 0, 0 };
	mr_merkle_levels t;
	size_t n2;

	(void)state;
	levels_init(&t, lv[0], M, &src);
	many_leaves(l, M);
	assert_int_equal(mr_merkle_levels_root(&t, 0, got), MR_OK);
	mr_merkle_root(l, 0, want);
	assert_memory_equal(got, want, 32);
	for (size_t n = 1; n <= M; n++) {
		mr_merkle_levels_push(&t, l[n - 1]);
		assert_int_equal(t.n, n);
		/* Every earlier size stays answerable: checkpoints of old sizes. */
		for (size_t m = n > 40 ? n - 40 : 1; m <= n; m++) {
			mr_merkle_root(l, m, want);
			assert_int_equal(mr_merkle_levels_root(&t, m, got), MR_OK);
			assert_memory_equal(got, want, 32);
		}
		for (size_t i = 0; i < n; i++)
			assert_same_proof(&t, l, n, i);
	}
	assert_true(src.fetches > 0);
	/* The root of the current size never reads a block back. */
	src.fetches = 0;
	t.cached[0] = t.cached[1] = 0;
	assert_int_equal(mr_merkle_levels_root(&t, M, got), MR_OK);
	assert_int_equal(src.fetches, 0);
	assert_int_equal(mr_merkle_levels_inclusion(&t, M, M, p2, MR_MERKLE_MAX_PROOF, &n2),
	    MR_E_ARG);
	assert_int_equal(mr_merkle_levels_inclusion(&t, M + 1, 0, p2, MR_MERKLE_MAX_PROOF, &n2),
	    MR_E_ARG);
	assert_int_equal(mr_merkle_levels_root(&t, M + 1, got), MR_E_ARG);
	/* A block read back that is not what was pushed is refused, and so is
	 * a block that cannot be read; neither is kept. */
	src.alter = 1;
	assert_int_equal(mr_merkle_levels_inclusion(&t, M, 5, p2, MR_MERKLE_MAX_PROOF, &n2),
	    MR_E_AUDIT);
	assert_int_equal(mr_merkle_levels_root(&t, 21, got), MR_E_AUDIT);
	src.alter = 0;
	src.fail = 1;
	assert_int_equal(mr_merkle_levels_root(&t, 21, got), MR_E_IO);
	src.fail = 0;
	assert_int_equal(mr_merkle_levels_root(&t, 21, got), MR_OK);
	mr_merkle_root(l, 21, want);
	assert_memory_equal(got, want, 32);
}

/* The proofs of a window's answers: each reaches inside its leaf's block
 * and inside the block its checkpoint's size ends in, which has closed
 * since. Each of the two blocks is read back once for the whole window,
 * not once a proof; a third block then takes the place of the one used
 * less recently. */
static void
test_levels_window_proofs(void **state)
{
	enum { M = 100, CHECKPOINT = 40 };
	static mr_merkle_hash l[M], lv[9][M];
	fetch_src src = { l, 0, 0, 0 };
	mr_merkle_levels t;

	(void)state;
	levels_init(&t, lv[0], M, &src);
	many_leaves(l, M);
	for (size_t n = 0; n < M; n++)
		mr_merkle_levels_push(&t, l[n]);
	/* Leaves 0-15 (block 0) at size 40: the range 32-39 is inside block 2. */
	for (size_t i = 0; i < 16; i++)
		assert_same_proof(&t, l, CHECKPOINT, i);
	assert_int_equal(src.fetches, 2);
	/* Block 1 (leaves 16-31) replaces block 0, the one used less
	 * recently: block 2 is not read again. */
	for (size_t i = 16; i < 32; i++)
		assert_same_proof(&t, l, CHECKPOINT, i);
	assert_int_equal(src.fetches, 3);
}

static void
test_consistency(void **state)
{
	static mr_merkle_hash l[N];
	mr_merkle_hash r1, r2, path[MR_MERKLE_MAX_PROOF];
	size_t len;

	(void)state;
	many_leaves(l, N);
	for (size_t n = 1; n <= N; n++) {
		mr_merkle_root(l, n, r2);
		for (size_t m = 1; m <= n; m++) {
			mr_merkle_root(l, m, r1);
			assert_int_equal(mr_merkle_consistency_proof(l, n, m, path,
			    MR_MERKLE_MAX_PROOF, &len), MR_OK);
			assert_int_equal(mr_merkle_consistency_verify(m, n, r1, r2, path, len), MR_OK);
			/* Swapped roots, a flipped node, another size: refused. */
			if (m < n) {
				assert_int_not_equal(mr_merkle_consistency_verify(m, n, r2, r1, path,
				    len), MR_OK);
				path[0][0] ^= 0x80;
				assert_int_not_equal(mr_merkle_consistency_verify(m, n, r1, r2, path,
				    len), MR_OK);
				path[0][0] ^= 0x80;
				if (m > 1)
					assert_int_not_equal(mr_merkle_consistency_verify(m - 1, n, r1,
					    r2, path, len), MR_OK);
			}
		}
	}
	/* A fork: the same sizes over different leaves. */
	mr_merkle_root(l, 5, r1);
	l[2][0] ^= 1;
	mr_merkle_root(l, 9, r2);
	assert_int_equal(mr_merkle_consistency_proof(l, 9, 5, path, MR_MERKLE_MAX_PROOF, &len),
	    MR_OK);
	assert_int_not_equal(mr_merkle_consistency_verify(5, 9, r1, r2, path, len), MR_OK);
	assert_int_equal(mr_merkle_consistency_verify(0, 9, r1, r2, path, len), MR_E_ARG);
}

static void
test_base64(void **state)
{
	uint8_t out[16];
	char enc[32];
	size_t len;

	(void)state;
	assert_int_equal(mr_base64_encode((const uint8_t *)"foob", 4, enc, sizeof(enc)), MR_OK);
	assert_string_equal(enc, "Zm9vYg==");
	assert_int_equal(mr_base64_decode("Zm9vYg==", 8, out, sizeof(out), &len), MR_OK);
	assert_int_equal(len, 4);
	assert_memory_equal(out, "foob", 4);
	assert_int_not_equal(mr_base64_decode("Zm9vYh==", 8, out, sizeof(out), &len), MR_OK);
	assert_int_not_equal(mr_base64_decode("Zm9vY===", 8, out, sizeof(out), &len), MR_OK);
	assert_int_not_equal(mr_base64_decode("Zm=vYg==", 8, out, sizeof(out), &len), MR_OK);
	assert_int_not_equal(mr_base64_decode("Zm9vYg=", 7, out, sizeof(out), &len), MR_OK);
}

/* golang.org/x/mod/sumdb/note's documented example key and note. */
static const char go_vkey[] = "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW";
static const char go_note[] =
    "If you think cryptography is the answer to your problem,\n"
    "then you don't know what your problem is.\n"
    "\n"
    "\xe2\x80\x94 PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n";

static int
open_note(const char *text, const mr_note_key *k)
{
	/* Not a checkpoint body, so only the signature part can be checked:
	 * verify the Ed25519 signature the way mr_checkpoint_open does. */
	const char *sep = strstr(text, "\n\n");
	const char *b = strstr(text, "\xe2\x80\x94 ");
	uint8_t raw[80];
	size_t raw_len;
	ed25519_key key;
	int ok = 0;

	b = strchr(b + 4, ' ') + 1;
	if (mr_base64_decode(b, strlen(b) - 1, raw, sizeof(raw), &raw_len) != MR_OK ||
	    raw_len != 68 || memcmp(raw, k->id, 4) != 0)
		return -1;
	wc_ed25519_init(&key);
	wc_ed25519_import_public(k->pub, 32, &key);
	wc_ed25519_verify_msg(raw + 4, 64, (const uint8_t *)text, (word32)(sep - text + 1), &ok,
	    &key);
	wc_ed25519_free(&key);
	return ok == 1 ? 0 : -1;
}

static void
test_go_note(void **state)
{
	mr_note_key k;
	char why[128], again[160];

	(void)state;
	assert_int_equal(mr_note_vkey_parse(go_vkey, strlen(go_vkey), &k, why, sizeof(why)), MR_OK);
	assert_string_equal(k.name, "PeterNeumann");
	assert_int_equal(open_note(go_note, &k), 0);
	assert_int_equal(mr_note_vkey_format(&k, again, sizeof(again)), MR_OK);
	assert_int_equal(strncmp(again, go_vkey, strlen(go_vkey)), 0);
	/* A key ID that does not belong to the key. */
	assert_int_not_equal(mr_note_vkey_parse("PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
	    strlen(go_vkey), &k, why, sizeof(why)), MR_OK);
}

typedef struct {
	ed25519_key priv;
	mr_note_key pub;
} signer;

static void
signer_init(signer *s, const char *name)
{
	WC_RNG rng;
	uint8_t pub[32];
	word32 pl = sizeof(pub);

	wc_InitRng(&rng);
	wc_ed25519_init(&s->priv);
	assert_int_equal(wc_ed25519_make_key(&rng, 32, &s->priv), 0);
	assert_int_equal(wc_ed25519_export_public(&s->priv, pub, &pl), 0);
	wc_FreeRng(&rng);
	assert_int_equal(mr_note_key_init(&s->pub, name, pub), MR_OK);
}

static size_t
make_checkpoint(signer *s, uint64_t size, const mr_merkle_hash root, char *out, size_t cap)
{
	size_t len;
	uint8_t sig[64];
	word32 sl = sizeof(sig);

	assert_int_equal(mr_checkpoint_body(s->pub.name, size, root, "2026-11-27T02:00:00Z", out,
	    cap, &len), MR_OK);
	assert_int_equal(wc_ed25519_sign_msg((const uint8_t *)out, (word32)len, sig, &sl,
	    &s->priv), 0);
	assert_int_equal(mr_checkpoint_sign_line(&s->pub, sig, out, cap, &len), MR_OK);
	return len;
}

static void
test_checkpoint(void **state)
{
	signer s, other;
	mr_merkle_hash root;
	mr_checkpoint cp;
	char text[1024], why[200];
	size_t len;

	(void)state;
	signer_init(&s, "meshroot-audit/0011223344556677");
	signer_init(&other, "meshroot-audit/0011223344556677");
	memset(root, 0xab, 32);
	len = make_checkpoint(&s, 42, root, text, sizeof(text));
	assert_int_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why, sizeof(why)), MR_OK);
	assert_int_equal(cp.size, 42);
	assert_memory_equal(cp.root, root, 32);
	assert_string_equal(cp.time, "2026-11-27T02:00:00Z");
	assert_string_equal(cp.origin, "meshroot-audit/0011223344556677");
	/* Another key with the same name: its ID differs, so no signature of ours. */
	assert_int_equal(mr_checkpoint_open(text, len, &other.pub, &cp, why, sizeof(why)), MR_E_SIG);
	/* Every single flipped bit of the note is caught. */
	for (size_t i = 0; i < len; i++) {
		for (int b = 0; b < 8; b++) {
			text[i] = (char)(text[i] ^ (1 << b));
			assert_int_not_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why,
			    sizeof(why)), MR_OK);
			text[i] = (char)(text[i] ^ (1 << b));
		}
	}
	/* Truncations. */
	for (size_t i = 0; i < len; i++)
		assert_int_not_equal(mr_checkpoint_open(text, i, &s.pub, &cp, why, sizeof(why)), MR_OK);
	/* A forged size re-signed by another key is not ours. */
	len = make_checkpoint(&other, 43, root, text, sizeof(text));
	assert_int_equal(mr_checkpoint_open(text, len, &s.pub, &cp, why, sizeof(why)), MR_E_SIG);
	wc_ed25519_free(&s.priv);
	wc_ed25519_free(&other.priv);
}

/* A log as the appliance writes it. */
static size_t
make_log(char *out, size_t cap, size_t n)
{
	uint8_t prev[32] = { 0 };
	size_t o = 0;

	for (size_t i = 1; i <= n; i++) {
		mr_record r;
		mr_record_init(&r);
		mr_record_addf(&r, "seq", "%zu", i);
		mr_record_add(&r, "time", "2026-11-27T02:00:00Z");
		mr_record_add(&r, "event", i % 2 ? "issue" : "approve");
		mr_record_addf(&r, "serial", "%02zx", i);
		mr_record_add(&r, "subject", "O=Mesh, CN=east");
		mr_record_add_hex(&r, "prev", prev, 32);
		assert_int_equal(mr_record_finish(&r), MR_OK);
		assert_true(o + r.len < cap);
		memcpy(out + o, r.buf, r.len);
		o += r.len;
		mr_fp_sha256((const uint8_t *)r.buf, r.len, prev);
	}
	out[o] = '\0';
	return o;
}

static size_t
line_start(const char *log, size_t k /* 1-based */)
{
	size_t o = 0;

	while (--k > 0)
		o = (size_t)(strchr(log + o, '\n') - log) + 1;
	return o;
}

static void
test_scan(void **state)
{
	static char log[8192], bad[8192];
	static mr_merkle_hash leaves[64];
	mr_auditlog_scan s;
	size_t len = make_log(log, sizeof(log), 20), a, b, c;

	(void)state;
	assert_int_equal(mr_auditlog_scan_buf((const uint8_t *)log, len, leaves, 64, &s), MR_OK);
	assert_int_equal(s.n, 20);
	assert_int_equal(s.bad, 0);
	/* A flipped byte in record k is caught at k (its own syntax or seq) or
	 * at k + 1 (whose prev= no longer matches). The last record has no
	 * successor: the signed Merkle root covers it (host verify tests). */
	for (size_t i = 0; i < line_start(log, 20); i++) {
		size_t k = 1;
		for (size_t j = 0; j < i; j++)
			k += log[j] == '\n';
		memcpy(bad, log, len);
		bad[i] = (char)(bad[i] ^ 0x01);
		assert_int_not_equal(mr_auditlog_scan_buf((const uint8_t *)bad, len, NULL, 0, &s),
		    MR_OK);
		assert_true(s.bad == k || s.bad == k + 1);
	}
	/* Record 7 dropped: 8 is out of sequence. */
	a = line_start(log, 7);
	b = line_start(log, 8);
	memcpy(bad, log, a);
	memcpy(bad + a, log + b, len - b);
	assert_int_equal(mr_auditlog_scan_buf((const uint8_t *)bad, len - (b - a), NULL, 0, &s),
	    MR_E_AUDIT);
	assert_int_equal(s.bad, 7);
	assert_non_null(strstr(s.why, "seq=8"));
	/* Records 7 and 8 swapped. */
	c = line_start(log, 9);
	memcpy(bad, log, a);
	memcpy(bad + a, log + b, c - b);
	memcpy(bad + a + (c - b), log + a, b - a);
	memcpy(bad + c, log + c, len - c);
	assert_int_equal(mr_auditlog_scan_buf((const uint8_t *)bad, len, NULL, 0, &s), MR_E_AUDIT);
	assert_int_equal(s.bad, 7);
	/* Truncated inside record 12: a torn tail, 11 good records. */
	a = line_start(log, 12) + 10;
	assert_int_equal(mr_auditlog_scan_buf((const uint8_t *)log, a, NULL, 0, &s), MR_OK);
	assert_int_equal(s.n, 11);
	assert_true(s.torn);
}

static void
test_proof_file(void **state)
{
	static char log[8192], text[16384];
	static mr_merkle_hash leaves[64];
	mr_merkle_hash path[MR_MERKLE_MAX_PROOF], root;
	mr_auditlog_scan s;
	mr_audit_proof p;
	size_t len = make_log(log, sizeof(log), 13), plen, tlen, a, b;
	char why[200];

	(void)state;
	assert_int_equal(mr_auditlog_scan_buf((const uint8_t *)log, len, leaves, 64, &s), MR_OK);
	mr_merkle_root(leaves, 13, root);
	assert_int_equal(mr_merkle_inclusion_proof(leaves, 13, 4, path, MR_MERKLE_MAX_PROOF,
	    &plen), MR_OK);
	a = line_start(log, 5);
	b = line_start(log, 6);
	assert_int_equal(mr_audit_proof_format(4, log + a, b - a, path, plen, "CP\n", 3, text,
	    sizeof(text), &tlen), MR_OK);
	assert_int_equal(mr_audit_proof_parse(text, tlen, &p, why, sizeof(why)), MR_OK);
	assert_int_equal(p.index, 4);
	assert_int_equal(p.path_len, plen);
	assert_int_equal(p.checkpoint_len, 3);
	{
		mr_merkle_hash leaf;
		mr_merkle_leaf((const uint8_t *)p.record, p.record_len, leaf);
		assert_int_equal(mr_merkle_inclusion_verify(p.index, 13, leaf, p.path, p.path_len,
		    root), MR_OK);
	}
	for (size_t i = 0; i < tlen; i++)
		(void)!mr_audit_proof_parse(text, i, &p, why, sizeof(why));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_inclusion),
		cmocka_unit_test(test_levels),
		cmocka_unit_test(test_levels_window_proofs),
		cmocka_unit_test(test_consistency),
		cmocka_unit_test(test_base64),
		cmocka_unit_test(test_go_note),
		cmocka_unit_test(test_checkpoint),
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_proof_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

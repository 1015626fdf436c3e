#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <string.h>

#include "mr_merkle.h"

void
mr_merkle_leaf(const uint8_t *data, size_t n, mr_merkle_hash out)
{
	static const uint8_t zero = 0x00;
	wc_Sha256 s;

	wc_InitSha256(&s);
	wc_Sha256Update(&s, &zero, 1);
	/* Records are bounded far below 4 GiB; feed larger inputs in pieces. */
	while (n > 0) {
		word32 k = n > 0x40000000u ? 0x40000000u : (word32)n;
		wc_Sha256Update(&s, data, k);
		data += k;
		n -= k;
	}
	wc_Sha256Final(&s, out);
	wc_Sha256Free(&s);
}

void
mr_merkle_node(const mr_merkle_hash l, const mr_merkle_hash r, mr_merkle_hash out)
{
	uint8_t buf[1 + 2 * MR_MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, l, MR_MERKLE_HASH_LEN);
	memcpy(buf + 1 + MR_MERKLE_HASH_LEN, r, MR_MERKLE_HASH_LEN);
	wc_Sha256Hash(buf, sizeof(buf), out);
}

void
mr_merkle_acc_init(mr_merkle_acc *a)
{
	memset(a, 0, sizeof(*a));
}

/*
 * stack[i] holds the root of a complete subtree; the subtrees present are
 * the set bits of size, largest (leftmost) lowest in the stack.
 */
void
mr_merkle_acc_push(mr_merkle_acc *a, const mr_merkle_hash leaf)
{
	size_t depth = 0, s = a->size;

	for (size_t t = s; t != 0; t >>= 1)
		depth += t & 1;
	memcpy(a->stack[depth], leaf, MR_MERKLE_HASH_LEN);
	depth++;
	/* Each trailing one bit of the old size is a complete subtree of the
	 * new leaf's height: merge. */
	for (; (s & 1) != 0; s >>= 1) {
		mr_merkle_node(a->stack[depth - 2], a->stack[depth - 1], a->stack[depth - 2]);
		depth--;
	}
	a->size++;
}

void
mr_merkle_acc_root(const mr_merkle_acc *a, mr_merkle_hash out)
{
	size_t depth = 0;
	mr_merkle_hash r;

	for (size_t t = a->size; t != 0; t >>= 1)
		depth += t & 1;
	if (depth == 0) {
		wc_Sha256Hash(NULL, 0, out);
		return;
	}
	/* The right-hand, smaller subtrees fold into the left ones. */
	memcpy(r, a->stack[depth - 1], MR_MERKLE_HASH_LEN);
	for (size_t i = depth - 1; i > 0; i--)
		mr_merkle_node(a->stack[i - 1], r, r);
	memcpy(out, r, MR_MERKLE_HASH_LEN);
}

void
mr_merkle_root(const mr_merkle_hash *leaves, size_t n, mr_merkle_hash out)
{
	mr_merkle_acc a;

	mr_merkle_acc_init(&a);
	for (size_t i = 0; i < n; i++)
		mr_merkle_acc_push(&a, leaves[i]);
	mr_merkle_acc_root(&a, out);
}

/* The largest power of two smaller than n (n > 1). */
static size_t
split(size_t n)
{
	size_t k = 1;

	while (k << 1 < n)
		k <<= 1;
	return k;
}

static void
reverse(mr_merkle_hash *path, size_t len)
{
	mr_merkle_hash t;

	for (size_t i = 0; i < len / 2; i++) {
		memcpy(t, path[i], MR_MERKLE_HASH_LEN);
		memcpy(path[i], path[len - 1 - i], MR_MERKLE_HASH_LEN);
		memcpy(path[len - 1 - i], t, MR_MERKLE_HASH_LEN);
	}
}

/* The recursions of RFC 9162 unrolled top-down: each level appends the
 * sibling it would append last, so the path is reversed at the end. */
int
mr_merkle_inclusion_proof(const mr_merkle_hash *leaves, size_t n, size_t index,
    mr_merkle_hash *path, size_t cap, size_t *len)
{
	size_t lo = 0, hi = n, m = index, k = 0;

	if (index >= n)
		return MR_E_ARG;
	while (hi - lo > 1) {
		size_t s = split(hi - lo);
		if (k == cap)
			return MR_E_RANGE;
		if (m < s) {
			mr_merkle_root(leaves + lo + s, hi - lo - s, path[k++]);
			hi = lo + s;
		} else {
			mr_merkle_root(leaves + lo, s, path[k++]);
			lo += s;
			m -= s;
		}
	}
	reverse(path, k);
	*len = k;
	return MR_OK;
}

int
mr_merkle_inclusion_verify(uint64_t index, uint64_t size, const mr_merkle_hash leaf,
    const mr_merkle_hash *path, size_t len, const mr_merkle_hash root)
{
	uint64_t fn = index, sn;
	mr_merkle_hash r;

	if (index >= size)
		return MR_E_ARG;
	sn = size - 1;
	memcpy(r, leaf, MR_MERKLE_HASH_LEN);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return MR_E_SIG;
		if ((fn & 1) != 0 || fn == sn) {
			mr_merkle_node(path[i], r, r);
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else
			mr_merkle_node(r, path[i], r);
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && memcmp(r, root, MR_MERKLE_HASH_LEN) == 0 ? MR_OK : MR_E_SIG;
}

int
mr_merkle_consistency_proof(const mr_merkle_hash *leaves, size_t n, size_t m,
    mr_merkle_hash *path, size_t cap, size_t *len)
{
	size_t lo = 0, hi = n, mm = m, k = 0;
	int whole = 1; /* the `b` of SUBPROOF: the old tree is a prefix we know */

	if (m == 0 || m > n)
		return MR_E_ARG;
	while (mm != hi - lo) {
		size_t s = split(hi - lo);
		if (k == cap)
			return MR_E_RANGE;
		if (mm <= s) {
			mr_merkle_root(leaves + lo + s, hi - lo - s, path[k++]);
			hi = lo + s;
		} else {
			mr_merkle_root(leaves + lo, s, path[k++]);
			lo += s;
			mm -= s;
			whole = 0;
		}
	}
	if (!whole) {
		if (k == cap)
			return MR_E_RANGE;
		mr_merkle_root(leaves + lo, hi - lo, path[k++]);
	}
	reverse(path, k);
	*len = k;
	return MR_OK;
}

int
mr_merkle_consistency_verify(uint64_t m, uint64_t n, const mr_merkle_hash old_root,
    const mr_merkle_hash new_root, const mr_merkle_hash *path, size_t len)
{
	uint64_t fn, sn;
	mr_merkle_hash fr, sr;
	size_t i = 0;

	if (m == 0 || m > n)
		return MR_E_ARG;
	if (m == n)
		return len == 0 && memcmp(old_root, new_root, MR_MERKLE_HASH_LEN) == 0 ? MR_OK :
		    MR_E_SIG;
	/* 1. */
	if (len == 0)
		return MR_E_SIG;
	/* 2. An exact power of two: the old root is the first proof node. */
	if ((m & (m - 1)) == 0) {
		memcpy(fr, old_root, MR_MERKLE_HASH_LEN);
	} else {
		memcpy(fr, path[0], MR_MERKLE_HASH_LEN);
		i = 1;
	}
	memcpy(sr, fr, MR_MERKLE_HASH_LEN);
	/* 3., 4. */
	fn = m - 1;
	sn = n - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	/* 6. */
	for (; i < len; i++) {
		if (sn == 0)
			return MR_E_SIG;
		if ((fn & 1) != 0 || fn == sn) {
			mr_merkle_node(path[i], fr, fr);
			mr_merkle_node(path[i], sr, sr);
			if ((fn & 1) == 0)
				while ((fn & 1) == 0 && fn != 0) {
					fn >>= 1;
					sn >>= 1;
				}
		} else
			mr_merkle_node(sr, path[i], sr);
		fn >>= 1;
		sn >>= 1;
	}
	/* 7. */
	return sn == 0 && memcmp(fr, old_root, MR_MERKLE_HASH_LEN) == 0 &&
	    memcmp(sr, new_root, MR_MERKLE_HASH_LEN) == 0 ? MR_OK : MR_E_SIG;
}

/* Where level k (< MR_MERKLE_LOW) of a block starts in its mini-tree:
 * BLOCK leaves, then BLOCK / 2 nodes, ... */
static size_t
mini_at(size_t k)
{
	return 2 * MR_MERKLE_BLOCK - (2 * MR_MERKLE_BLOCK >> k);
}

/* Fills the levels above a block's leaves, up to its two top nodes. */
static void
mini_build(mr_merkle_hash *mini)
{
	for (size_t k = 1; k < MR_MERKLE_LOW; k++)
		for (size_t i = 0; i < MR_MERKLE_BLOCK >> k; i++)
			mr_merkle_node(mini[mini_at(k - 1) + 2 * i], mini[mini_at(k - 1) + 2 * i + 1],
			    mini[mini_at(k) + i]);
}

/* The root of a block from its mini-tree. */
static void
mini_root(const mr_merkle_hash *mini, mr_merkle_hash out)
{
	size_t top = mini_at(MR_MERKLE_LOW - 1);

	mr_merkle_node(mini[top], mini[top + 1], out);
}

void
mr_merkle_levels_push(mr_merkle_levels *t, const mr_merkle_hash leaf)
{
	size_t p = t->n % MR_MERKLE_BLOCK, done;

	memcpy(t->open[p], leaf, MR_MERKLE_HASH_LEN);
	for (size_t k = 1; k < MR_MERKLE_LOW && (p + 1) % ((size_t)1 << k) == 0; k++) {
		size_t i = ((p + 1) >> k) - 1;
		mr_merkle_node(t->open[mini_at(k - 1) + 2 * i], t->open[mini_at(k - 1) + 2 * i + 1],
		    t->open[mini_at(k) + i]);
	}
	done = ++t->n;
	if (p + 1 < MR_MERKLE_BLOCK)
		return;
	mini_root(t->open, t->lv[MR_MERKLE_LOW][(done >> MR_MERKLE_LOW) - 1]);
	for (size_t k = MR_MERKLE_LOW + 1; k < MR_MERKLE_LEVELS && done % ((size_t)1 << k) == 0; k++) {
		size_t i = (done >> k) - 1;
		mr_merkle_node(t->lv[k - 1][2 * i], t->lv[k - 1][2 * i + 1], t->lv[k][i]);
	}
}

/* Node (k, i) of a complete range of the first t->n leaves. */
static int
node(mr_merkle_levels *t, size_t k, size_t i, mr_merkle_hash out)
{
	size_t b, j;
	mr_merkle_hash root;
	int r;

	if (k >= MR_MERKLE_LOW) {
		memcpy(out, t->lv[k][i], MR_MERKLE_HASH_LEN);
		return MR_OK;
	}
	b = (i << k) >> MR_MERKLE_LOW;
	j = i - (b << (MR_MERKLE_LOW - k));
	if (b == t->n >> MR_MERKLE_LOW) {
		memcpy(out, t->open[mini_at(k) + j], MR_MERKLE_HASH_LEN);
		return MR_OK;
	}
	if (t->cached[t->recent] != b + 1) {
		/* The other entry, or, when it is not b either, the one used
		 * less recently is replaced. */
		size_t c = 1 - t->recent;

		t->recent = c;
		if (t->cached[c] != b + 1) {
			t->cached[c] = 0;
			if (t->fetch == NULL)
				return MR_E_INTERNAL;
			if ((r = t->fetch(t->ctx, b, t->cache[c])) != MR_OK)
				return r;
			mini_build(t->cache[c]);
			mini_root(t->cache[c], root);
			/* What was read back must be what was pushed. */
			if (memcmp(root, t->lv[MR_MERKLE_LOW][b], MR_MERKLE_HASH_LEN) != 0)
				return MR_E_AUDIT;
			t->cached[c] = b + 1;
		}
	}
	memcpy(out, t->cache[t->recent][mini_at(k) + j], MR_MERKLE_HASH_LEN);
	return MR_OK;
}

static size_t
log2_exact(size_t n)
{
	size_t k = 0;

	while (((size_t)1 << k) < n)
		k++;
	return k;
}

/* MTH(D[a:b]) for a aligned to split(b - a) (as every range RFC 9162's
 * recursions visit from the root is): the range is complete blocks of
 * falling powers of two, each a node, folded from the right. */
static int
range_root(mr_merkle_levels *t, size_t a, size_t b, mr_merkle_hash out)
{
	size_t start[MR_MERKLE_LEVELS], lvl[MR_MERKLE_LEVELS], k = 0;
	mr_merkle_hash h;
	int r;

	if (a == b) {
		mr_merkle_root(NULL, 0, out);
		return MR_OK;
	}
	while (b - a > 0) {
		size_t n = b - a, s = n;
		/* a power of two: the last block; else the largest below n */
		if ((n & (n - 1)) != 0)
			s = split(n);
		start[k] = a;
		lvl[k++] = log2_exact(s);
		a += s;
	}
	if ((r = node(t, lvl[k - 1], start[k - 1] >> lvl[k - 1], out)) != MR_OK)
		return r;
	for (size_t i = k - 1; i > 0; i--) {
		if ((r = node(t, lvl[i - 1], start[i - 1] >> lvl[i - 1], h)) != MR_OK)
			return r;
		mr_merkle_node(h, out, out);
	}
	return MR_OK;
}

int
mr_merkle_levels_root(mr_merkle_levels *t, size_t m, mr_merkle_hash out)
{
	if (m > t->n)
		return MR_E_ARG;
	return range_root(t, 0, m, out);
}

int
mr_merkle_levels_inclusion(mr_merkle_levels *t, size_t m, size_t index,
    mr_merkle_hash *path, size_t cap, size_t *len)
{
	size_t lo = 0, hi = m, k = 0;
	int r;

	if (index >= m || m > t->n)
		return MR_E_ARG;
	while (hi - lo > 1) {
		size_t s = split(hi - lo);
		if (k == cap)
			return MR_E_RANGE;
		if (index - lo < s) {
			r = range_root(t, lo + s, hi, path[k++]);
			hi = lo + s;
		} else {
			r = range_root(t, lo, lo + s, path[k++]);
			lo += s;
		}
		if (r != MR_OK)
			return r;
	}
	reverse(path, k);
	*len = k;
	return MR_OK;
}

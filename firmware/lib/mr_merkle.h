/*
 * RFC 9162 (Certificate Transparency 2.0) section 2.1 Merkle trees over
 * SHA-256: leaf hash SHA-256(0x00 || leaf), node hash SHA-256(0x01 || l || r),
 * the hash of the empty tree SHA-256(""). Callers hold the leaf hashes; a
 * tree is an array of them (uint8_t[n][32]).
 *
 * Proof generation works on trusted leaf hashes; verification takes
 * untrusted proofs, is iterative and bounded, and returns MR_OK only for a
 * proof that verifies, MR_E_SIG otherwise (MR_E_ARG for sizes that cannot
 * have a proof). No allocation, no globals.
 */
#ifndef MR_MERKLE_H
#define MR_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

#define MR_MERKLE_HASH_LEN 32
/* A proof in a tree of at most 2^64 leaves has at most 64 hashes
 * (consistency proofs: 64 plus the prepended old root). */
#define MR_MERKLE_MAX_PROOF 65

typedef uint8_t mr_merkle_hash[MR_MERKLE_HASH_LEN];

void mr_merkle_leaf(const uint8_t *data, size_t n, mr_merkle_hash out);
void mr_merkle_node(const mr_merkle_hash l, const mr_merkle_hash r, mr_merkle_hash out);

/* MTH(D[n]) of the leaf hashes leaves[0..n). */
void mr_merkle_root(const mr_merkle_hash *leaves, size_t n, mr_merkle_hash out);

/*
 * Incremental root: push leaf hashes one by one, read the root of what was
 * pushed so far at any time. 64 levels cover any size_t tree.
 */
typedef struct {
	mr_merkle_hash stack[64];
	size_t size;
} mr_merkle_acc;
void mr_merkle_acc_init(mr_merkle_acc *a);
void mr_merkle_acc_push(mr_merkle_acc *a, const mr_merkle_hash leaf);
void mr_merkle_acc_root(const mr_merkle_acc *a, mr_merkle_hash out);

/*
 * The hashes of complete, aligned subtrees, so that roots and proofs of a
 * large log cost O(log^2 n) hashes instead of O(n): node (k, i) is
 * MTH(D[i * 2^k : (i + 1) * 2^k]).
 *
 * A log that grows for the appliance's whole life must not keep 64 bytes
 * of hashes a record in memory. The leaves come in blocks of
 * MR_MERKLE_BLOCK: from level MR_MERKLE_LOW up (a block's root and above),
 * every node is kept (lv[k], arrays the caller owns, with room for
 * n >> k entries); below it, only the open block's (the last n mod
 * MR_MERKLE_BLOCK leaves). When a proof or the root of an older size
 * needs the inside of a complete block, fetch gives its leaves again (the
 * audit log reads and hashes its lines): checked against the block's
 * root kept in lv, and kept in a two-block cache. About 4.5 bytes a leaf.
 */
#define MR_MERKLE_LEVELS 64
#define MR_MERKLE_LOW 4
#define MR_MERKLE_BLOCK ((size_t)1 << MR_MERKLE_LOW)

/* The leaves of complete block b (leaves b * BLOCK ..): MR_OK or an error
 * the caller's diag names. */
typedef int (*mr_merkle_fetch)(void *ctx, size_t block, mr_merkle_hash *leaves);

typedef struct {
	mr_merkle_hash *lv[MR_MERKLE_LEVELS]; /* lv[k], k >= MR_MERKLE_LOW */
	size_t n;
	/* A block's levels below MR_MERKLE_LOW, leaves first (mini_at): the
	 * open block's, and the last two complete blocks fetched. A proof
	 * reaches inside two blocks at most: its leaf's, and the one its
	 * tree size ends in (an answer's checkpoint is a window old, so that
	 * block has closed since); one cached block alone would be fetched
	 * again for every proof. */
	mr_merkle_hash open[2 * MR_MERKLE_BLOCK];
	mr_merkle_hash cache[2][2 * MR_MERKLE_BLOCK];
	size_t cached[2]; /* the block in cache[i], + 1; 0: none */
	size_t recent;    /* the cache[] used last */
	mr_merkle_fetch fetch;
	void *ctx;
} mr_merkle_levels;

/* Adds leaf n; completes the nodes it closes, t->n++. */
void mr_merkle_levels_push(mr_merkle_levels *t, const mr_merkle_hash leaf);
/* MTH(D[m]) for m <= t->n. MR_E_ARG for m > t->n; MR_E_AUDIT when a
 * fetched block does not hash to its kept root; the fetch's error. */
int mr_merkle_levels_root(mr_merkle_levels *t, size_t m, mr_merkle_hash out) MR_MUST_CHECK;
/* As mr_merkle_inclusion_proof over the first m <= t->n leaves. */
int mr_merkle_levels_inclusion(mr_merkle_levels *t, size_t m, size_t index,
    mr_merkle_hash *path, size_t cap, size_t *len) MR_MUST_CHECK;

/* PATH(index, D[n]) (RFC 9162 2.1.3.1), leaf side first. MR_E_ARG when
 * index >= n. */
int mr_merkle_inclusion_proof(const mr_merkle_hash *leaves, size_t n, size_t index,
    mr_merkle_hash *path, size_t cap, size_t *len) MR_MUST_CHECK;
/* RFC 9162 2.1.3.2. */
int mr_merkle_inclusion_verify(uint64_t index, uint64_t size, const mr_merkle_hash leaf,
    const mr_merkle_hash *path, size_t len, const mr_merkle_hash root) MR_MUST_CHECK;

/* PROOF(m, D[n]) (RFC 9162 2.1.4.1); MR_E_ARG unless 0 < m <= n. Empty
 * when m == n. */
int mr_merkle_consistency_proof(const mr_merkle_hash *leaves, size_t n, size_t m,
    mr_merkle_hash *path, size_t cap, size_t *len) MR_MUST_CHECK;
/* RFC 9162 2.1.4.2, plus the trivial cases it leaves to the caller: m == n
 * (empty proof, equal roots). MR_E_ARG unless 0 < m <= n. */
int mr_merkle_consistency_verify(uint64_t m, uint64_t n, const mr_merkle_hash old_root,
    const mr_merkle_hash new_root, const mr_merkle_hash *path, size_t len) MR_MUST_CHECK;

#endif

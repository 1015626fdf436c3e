/*
 * The books of one submit (ledger.h). Items are found by hash through an
 * mr_hindex over the hashes the ledger keeps. Each state's items are a bit set with a second level
 * (one bit per word of the first) so that the next item in a state is a
 * few word tests away however sparse the state is: SUBMIT_MAX_CLUSTERS
 * items are 157 words and 3 summary words.
 */
#include <stdlib.h>
#include <string.h>

#include "ledger.h"

/* mr_hindex's name for item i's key: its hash. */
static const void *
hash_of(const void *ctx, uint32_t item, size_t *len)
{
	const mr_ledger *lg = ctx;

	*len = 32;
	return lg->hash[item];
}

int
mr_ledger_init(mr_ledger *lg, size_t n)
{
	size_t summary;
	int r = MR_E_NOMEM;

	memset(lg, 0, sizeof(*lg));
	mr_hindex_init(&lg->ix);
	if (n >= UINT32_MAX / 4)
		return r;
	lg->n = n;
	lg->words = (n + 63) / 64;
	summary = (lg->words + 63) / 64;
	lg->hash = calloc(n > 0 ? n : 1, sizeof(*lg->hash));
	lg->state = calloc(n > 0 ? n : 1, sizeof(*lg->state));
	if (lg->hash == NULL || lg->state == NULL ||
	    mr_hindex_reserve(&lg->ix, n, hash_of, lg) != MR_OK)
		return r;
	for (int s = 0; s < MR_LEDGER_STATES; s++) {
		lg->in[s] = calloc(lg->words + 1, sizeof(uint64_t));
		lg->any[s] = calloc(summary + 1, sizeof(uint64_t));
		if (lg->in[s] == NULL || lg->any[s] == NULL)
			return r;
	}
	/* Everything starts in state 0. */
	for (size_t i = 0; i < n; i++) {
		lg->in[0][i / 64] |= UINT64_C(1) << (i % 64);
		lg->any[0][i / 4096] |= UINT64_C(1) << (i / 64 % 64);
	}
	lg->count[0] = n;
	return MR_OK;
}

void
mr_ledger_free(mr_ledger *lg)
{
	free(lg->hash);
	mr_hindex_free(&lg->ix);
	free(lg->state);
	for (int s = 0; s < MR_LEDGER_STATES; s++) {
		free(lg->in[s]);
		free(lg->any[s]);
	}
	memset(lg, 0, sizeof(*lg));
}

int
mr_ledger_put_hash(mr_ledger *lg, size_t i, const uint8_t hash[32])
{
	memcpy(lg->hash[i], hash, 32);
	/* The lowest index keeps a hash that several items have. */
	return mr_hindex_put_ordered(&lg->ix, hash, 32, (uint32_t)i, MR_HINDEX_FIRST, hash_of, lg);
}

size_t
mr_ledger_find(const mr_ledger *lg, const uint8_t hash[32])
{
	uint32_t i = mr_hindex_find(&lg->ix, hash, 32, hash_of, lg);

	return i == MR_HINDEX_NONE ? lg->n : i;
}

void
mr_ledger_set(mr_ledger *lg, size_t i, int state)
{
	int old = lg->state[i];
	uint64_t bit = UINT64_C(1) << (i % 64);
	size_t w = i / 64;

	if (old == state)
		return;
	lg->in[old][w] &= ~bit;
	if (lg->in[old][w] == 0)
		lg->any[old][w / 64] &= ~(UINT64_C(1) << (w % 64));
	lg->count[old]--;
	lg->in[state][w] |= bit;
	lg->any[state][w / 64] |= UINT64_C(1) << (w % 64);
	lg->count[state]++;
	lg->state[i] = (uint8_t)state;
}

int
mr_ledger_state(const mr_ledger *lg, size_t i)
{
	return lg->state[i];
}

size_t
mr_ledger_count(const mr_ledger *lg, int state)
{
	return lg->count[state];
}

size_t
mr_ledger_next(const mr_ledger *lg, int state, size_t from)
{
	const uint64_t *in = lg->in[state], *any = lg->any[state];
	size_t w, a, summary = (lg->words + 63) / 64;
	uint64_t m;

	if (from >= lg->n)
		return lg->n;
	w = from / 64;
	if ((m = in[w] & (~UINT64_C(0) << (from % 64))) != 0)
		return w * 64 + (size_t)__builtin_ctzll(m);
	/* The next word with an item in this state, from the summary. */
	if (++w >= lg->words)
		return lg->n;
	a = w / 64;
	m = any[a] & (~UINT64_C(0) << (w % 64));
	while (m == 0) {
		if (++a >= summary)
			return lg->n;
		m = any[a];
	}
	w = a * 64 + (size_t)__builtin_ctzll(m);
	return w * 64 + (size_t)__builtin_ctzll(in[w]);
}

#include <stdlib.h>
#include <string.h>

#include "mr_hindex.h"

/* FNV-1a: the keys are digests and random serials, or cluster names an
 * operator approved; none is chosen by someone who wants them to collide. */
static uint32_t
hash(const uint8_t *p, size_t len)
{
	uint32_t h = 2166136261u;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 16777619u;
	}
	return h;
}

void
mr_hindex_init(mr_hindex *ix)
{
	memset(ix, 0, sizeof(*ix));
}

void
mr_hindex_free(mr_hindex *ix)
{
	free(ix->slot);
	mr_hindex_init(ix);
}

static int
same(uint32_t item, const void *k, size_t len, mr_hindex_key key, const void *ctx)
{
	size_t n = 0;
	const void *p = key(ctx, item, &n);

	return n == len && memcmp(p, k, len) == 0;
}

/* The slot holding k, or the empty slot where it would go: at most half
 * full, so a probe always ends. */
static size_t
probe(const uint32_t *slot, size_t cap, const void *k, size_t len, mr_hindex_key key,
    const void *ctx)
{
	size_t mask = cap - 1, i = hash(k, len) & mask;

	while (slot[i] != 0 && !same(slot[i] - 1, k, len, key, ctx))
		i = (i + 1) & mask;
	return i;
}

int
mr_hindex_reserve(mr_hindex *ix, size_t keys, mr_hindex_key key, const void *ctx)
{
	uint32_t *slot;
	size_t cap = ix->cap ? ix->cap : 16;

	if (keys >= (size_t)MR_HINDEX_NONE)
		return MR_E_NOMEM;
	while (cap / 2 < keys) {
		if (cap > SIZE_MAX / 2 / sizeof(*slot))
			return MR_E_NOMEM;
		cap *= 2;
	}
	if (cap == ix->cap)
		return MR_OK;
	if ((slot = calloc(cap, sizeof(*slot))) == NULL)
		return MR_E_NOMEM;
	for (size_t i = 0; i < ix->cap; i++) {
		size_t len = 0;
		const void *k;
		if (ix->slot[i] == 0)
			continue;
		k = key(ctx, ix->slot[i] - 1, &len);
		slot[probe(slot, cap, k, len, key, ctx)] = ix->slot[i];
	}
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	return MR_OK;
}

uint32_t
mr_hindex_find(const mr_hindex *ix, const void *k, size_t len, mr_hindex_key key,
    const void *ctx)
{
	size_t i;

	if (ix->cap == 0)
		return MR_HINDEX_NONE;
	i = probe(ix->slot, ix->cap, k, len, key, ctx);
	return ix->slot[i] == 0 ? MR_HINDEX_NONE : ix->slot[i] - 1;
}

/* Puts item in k's slot; an item there already stays when `keeps` says
 * so (NULL: it never does). */
static int
put(mr_hindex *ix, const void *k, size_t len, uint32_t item, int (*keeps)(uint32_t, uint32_t),
    mr_hindex_key key, const void *ctx)
{
	size_t i;

	if (item == MR_HINDEX_NONE || ix->cap == 0)
		return MR_E_INTERNAL;
	i = probe(ix->slot, ix->cap, k, len, key, ctx);
	if (ix->slot[i] == 0) {
		if (ix->used + 1 > ix->cap / 2)
			return MR_E_INTERNAL;
		ix->used++;
	} else if (keeps != NULL && keeps(ix->slot[i] - 1, item)) {
		return MR_OK;
	}
	ix->slot[i] = item + 1;
	return MR_OK;
}

static int
lower_keeps(uint32_t held, uint32_t item)
{
	return held < item;
}

static int
higher_keeps(uint32_t held, uint32_t item)
{
	return held > item;
}

int
mr_hindex_put(mr_hindex *ix, const void *k, size_t len, uint32_t item, mr_hindex_key key,
    const void *ctx)
{
	return put(ix, k, len, item, NULL, key, ctx);
}

int
mr_hindex_put_ordered(mr_hindex *ix, const void *k, size_t len, uint32_t item, int which,
    mr_hindex_key key, const void *ctx)
{
	return put(ix, k, len, item, which == MR_HINDEX_FIRST ? lower_keeps : higher_keeps, key,
	    ctx);
}

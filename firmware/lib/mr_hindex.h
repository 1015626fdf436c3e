/*
 * A hash index from byte-string keys to item numbers, for tables that only
 * grow (the issuance database): open addressing with linear probing in a
 * power-of-two table kept at most half full, so a lookup reads one or two
 * slots on average however large the table is.
 *
 * The index does not own the keys. It stores item numbers only (4 bytes a
 * slot); the owner names an item's key through a mr_hindex_key callback,
 * so each key lives once, in the owner's table. Every call that takes key
 * and ctx gets the owner's callback and table as they are now, so the
 * owner may grow (realloc) or move its table between calls.
 *
 * The owner MUST make room (mr_hindex_reserve) before it puts: a put never
 * allocates, so an owner that reserves whenever its own table grows cannot
 * fail half way through adding an item. There is no removal: a key given
 * to another item is put again, which replaces the item.
 */
#ifndef MR_HINDEX_H
#define MR_HINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

#define MR_HINDEX_NONE UINT32_MAX /* no item: also the one item number not allowed */

/* The key of item, *len bytes owned by ctx's table. */
typedef const void *(*mr_hindex_key)(const void *ctx, uint32_t item, size_t *len);

typedef struct {
	uint32_t *slot;  /* item + 1; 0 is an empty slot */
	size_t cap;      /* 0 or a power of two */
	size_t used;     /* keys held */
} mr_hindex;

void mr_hindex_init(mr_hindex *ix);
void mr_hindex_free(mr_hindex *ix);

/* Makes room for keys (in all, counting those held): MR_OK or MR_E_NOMEM,
 * the index unchanged on failure. Growing rehashes every key held. */
int mr_hindex_reserve(mr_hindex *ix, size_t keys, mr_hindex_key key, const void *ctx)
    MR_MUST_CHECK;

/* The item whose key is k (len bytes), or MR_HINDEX_NONE. */
uint32_t mr_hindex_find(const mr_hindex *ix, const void *k, size_t len, mr_hindex_key key,
    const void *ctx);

/* Gives the key k (item's own key, as the callback names it) to item,
 * replacing the item it had. MR_E_INTERNAL when no room was reserved. */
int mr_hindex_put(mr_hindex *ix, const void *k, size_t len, uint32_t item, mr_hindex_key key,
    const void *ctx) MR_MUST_CHECK;

/* As mr_hindex_put, but of several items with the key k the one with the
 * lowest number keeps it (MR_HINDEX_FIRST), or the highest
 * (MR_HINDEX_LAST), whatever order they are put in: a scan's first or
 * last match. */
enum { MR_HINDEX_FIRST, MR_HINDEX_LAST };
int mr_hindex_put_ordered(mr_hindex *ix, const void *k, size_t len, uint32_t item, int which,
    mr_hindex_key key, const void *ctx) MR_MUST_CHECK;

#endif

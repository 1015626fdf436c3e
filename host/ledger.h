/*
 * The books of one submit (cmd_submit.c): items 0..n-1 (requests), each in
 * one of MR_LEDGER_STATES states, found by request hash, counted per
 * state, and walked per state in index order. Every question costs about
 * the same whatever n is, so that a submit of a fleet (10,000 requests)
 * spends its time on the requests, not on finding them again after each
 * exchange.
 *
 * The ledger owns its memory; the caller owns what the indices mean.
 */
#ifndef MR_HOST_LEDGER_H
#define MR_HOST_LEDGER_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "mr_hindex.h"

#define MR_LEDGER_STATES 4

typedef struct {
	size_t n;
	uint8_t (*hash)[32];                /* item i's request hash */
	mr_hindex ix;                       /* hash -> item */
	uint8_t *state;                     /* item i's state */
	size_t words;                       /* 64-bit words of a state's set */
	uint64_t *in[MR_LEDGER_STATES];     /* the items in each state */
	uint64_t *any[MR_LEDGER_STATES];    /* which words of in[s] are not 0 */
	size_t count[MR_LEDGER_STATES];
} mr_ledger;

/* n items, all in state 0, none with a hash yet. MR_E_NOMEM, or MR_OK
 * (then mr_ledger_free, also after a failure). */
int mr_ledger_init(mr_ledger *lg, size_t n) MR_MUST_CHECK;

void mr_ledger_free(mr_ledger *lg);

/* Gives item i its hash (once per item). MR_OK (room for n hashes was
 * made at init); MR_E_INTERNAL for an item beyond them. */
int mr_ledger_put_hash(mr_ledger *lg, size_t i, const uint8_t hash[32]) MR_MUST_CHECK;

/* The item with this hash (the lowest index when several have it), or n. */
size_t mr_ledger_find(const mr_ledger *lg, const uint8_t hash[32]);

/* The one way an item changes state: the counts and sets follow. */
void mr_ledger_set(mr_ledger *lg, size_t i, int state);

int mr_ledger_state(const mr_ledger *lg, size_t i);

size_t mr_ledger_count(const mr_ledger *lg, int state);

/* The first item at index from or after it in this state, or n. */
size_t mr_ledger_next(const mr_ledger *lg, int state, size_t from);

#endif

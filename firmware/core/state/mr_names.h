/*
 * Interned strings: each distinct string stored once, at an address that
 * never moves while the set lives. The issuance database names a cluster
 * in every entry, and a fleet renews the same few thousand clusters over
 * and over: one copy of each name instead of 64 bytes an entry.
 */
#ifndef MR_NAMES_H
#define MR_NAMES_H

#include <stddef.h>

#include "mr_hindex.h"

typedef struct mr_names_chunk mr_names_chunk;

typedef struct {
	mr_names_chunk *chunks; /* the newest first; never moved or freed before the set */
	const char **s;         /* each distinct string once */
	size_t n, cap;
	mr_hindex by_text;
} mr_names;

void mr_names_init(mr_names *nm);
void mr_names_free(mr_names *nm);

/* The set's copy of text, added when new; NULL when out of memory (the
 * set unchanged). */
const char *mr_names_intern(mr_names *nm, const char *text);

#endif

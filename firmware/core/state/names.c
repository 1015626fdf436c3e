#include <stdlib.h>
#include <string.h>

#include "mr_names.h"

/* Names are short: one allocation holds hundreds of them. */
#define CHUNK 16384u

struct mr_names_chunk {
	mr_names_chunk *next;
	size_t used, cap;
	char text[];
};

static const void *
text_key(const void *ctx, uint32_t item, size_t *len)
{
	const mr_names *nm = ctx;

	*len = strlen(nm->s[item]);
	return nm->s[item];
}

void
mr_names_init(mr_names *nm)
{
	memset(nm, 0, sizeof(*nm));
	mr_hindex_init(&nm->by_text);
}

void
mr_names_free(mr_names *nm)
{
	while (nm->chunks != NULL) {
		mr_names_chunk *next = nm->chunks->next;
		free(nm->chunks);
		nm->chunks = next;
	}
	free(nm->s);
	mr_hindex_free(&nm->by_text);
	mr_names_init(nm);
}

/* Room for n bytes in the newest chunk, or a new chunk. */
static char *
room(mr_names *nm, size_t n)
{
	mr_names_chunk *c = nm->chunks;

	if (c == NULL || c->cap - c->used < n) {
		size_t cap = n > CHUNK ? n : CHUNK;
		if ((c = malloc(sizeof(*c) + cap)) == NULL)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = nm->chunks;
		nm->chunks = c;
	}
	return c->text + c->used;
}

const char *
mr_names_intern(mr_names *nm, const char *text)
{
	size_t len = strlen(text);
	uint32_t found = mr_hindex_find(&nm->by_text, text, len, text_key, nm);
	char *copy;

	if (found != MR_HINDEX_NONE)
		return nm->s[found];
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 64;
		const char **s = realloc(nm->s, cap * sizeof(*s));
		if (s == NULL)
			return NULL;
		nm->s = s;
		nm->cap = cap;
	}
	if (nm->n >= MR_HINDEX_NONE ||
	    mr_hindex_reserve(&nm->by_text, nm->n + 1, text_key, nm) != MR_OK ||
	    (copy = room(nm, len + 1)) == NULL)
		return NULL;
	memcpy(copy, text, len + 1);
	nm->chunks->used += len + 1;
	nm->s[nm->n] = copy;
	if (mr_hindex_put(&nm->by_text, copy, len, (uint32_t)nm->n, text_key, nm) != MR_OK)
		return NULL;
	nm->n++;
	return copy;
}

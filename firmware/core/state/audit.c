#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr_audit.h"
#include "mr_auditlog.h"
#include "mr_fileio.h"
#include "mr_filelines.h"
#include "mr_fingerprint.h"
#include "mr_task.h"

/* Room for `want` records: one kept node a block at level MR_MERKLE_LOW,
 * half as many at each level above, and each block's offset. */
static int
grow(mr_audit *a, size_t want, mr_diag *d)
{
	size_t blocks = want / MR_MERKLE_BLOCK + 1, cap;
	uint64_t *st;

	if (blocks <= a->blocks_cap)
		return MR_OK;
	if (want > MR_AUDIT_MAX_RECORDS)
		return mr_diag_set(d, MR_E_AUDIT, "%s: more than %u records", a->path,
		    MR_AUDIT_MAX_RECORDS);
	cap = a->blocks_cap ? a->blocks_cap : 64;
	while (cap < blocks)
		cap *= 2;
	if ((st = realloc(a->bstart, cap * sizeof(*st))) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
	a->bstart = st;
	for (size_t k = MR_MERKLE_LOW; k < MR_MERKLE_LEVELS && (cap >> (k - MR_MERKLE_LOW)) > 0;
	     k++) {
		mr_merkle_hash *l = realloc(a->tree.lv[k], (cap >> (k - MR_MERKLE_LOW)) * sizeof(*l));
		if (l == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
		a->tree.lv[k] = l;
	}
	a->blocks_cap = cap;
	return MR_OK;
}

/* The bytes of block b's records, read into a fresh buffer. */
static int
read_block(const mr_audit *a, size_t b, char **buf, size_t *len, mr_diag *d)
{
	size_t first = b * MR_MERKLE_BLOCK, size = mr_audit_size(a);
	uint64_t from, to;
	int r;

	*buf = NULL;
	if (first >= size)
		return mr_diag_set(d, MR_E_ARG, "audit log: no record %zu", first + 1);
	from = a->bstart[b];
	to = first + MR_MERKLE_BLOCK < size ? a->bstart[b + 1] : a->bytes;
	*len = (size_t)(to - from);
	if ((*buf = malloc(*len + 1)) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
	if ((r = mr_file_line_at(a->path, from, *len, *buf, *len + 1, d)) != MR_OK) {
		free(*buf);
		*buf = NULL;
	}
	return r;
}

/* The j-th line of a block's bytes: *line and *n, or MR_E_AUDIT. */
static int
block_line(const mr_audit *a, const char *buf, size_t len, size_t j, const char **line,
    size_t *n, mr_diag *d)
{
	size_t pos = 0;

	for (size_t k = 0; pos < len; k++) {
		const char *nl = memchr(buf + pos, '\n', len - pos);
		if (nl == NULL)
			break;
		if (k == j) {
			*line = buf + pos;
			*n = (size_t)(nl - (buf + pos)) + 1;
			return MR_OK;
		}
		pos = (size_t)(nl - buf) + 1;
	}
	return mr_diag_set(d, MR_E_AUDIT, "%s: its records are not where they were written",
	    a->path);
}

/* mr_merkle_fetch: a complete block's leaves, from its lines. */
static int
fetch_block(void *ctx, size_t b, mr_merkle_hash *leaves)
{
	mr_audit *a = ctx;
	char *buf;
	size_t len;
	int r;

	if ((r = read_block(a, b, &buf, &len, &a->fetch_diag)) != MR_OK)
		return r;
	for (size_t j = 0; j < MR_MERKLE_BLOCK && r == MR_OK; j++) {
		const char *line;
		size_t n;
		if ((r = block_line(a, buf, len, j, &line, &n, &a->fetch_diag)) == MR_OK)
			mr_merkle_leaf((const uint8_t *)line, n, leaves[j]);
	}
	free(buf);
	return r;
}

/* Adds record `number` (its line at offset) to the tree. */
static void
push_record(mr_audit *a, const char *line, size_t n, size_t number, uint64_t offset)
{
	mr_merkle_hash leaf;

	if (number % MR_MERKLE_BLOCK == 0)
		a->bstart[number / MR_MERKLE_BLOCK] = offset;
	mr_merkle_leaf((const uint8_t *)line, n, leaf);
	mr_merkle_levels_push(&a->tree, leaf);
}

void
mr_audit_close(mr_audit *a)
{
	mr_file_log_close(&a->file);
	for (size_t k = 0; k < MR_MERKLE_LEVELS; k++)
		free(a->tree.lv[k]);
	memset(&a->tree, 0, sizeof(a->tree));
	free(a->bstart);
	a->bstart = NULL;
	a->blocks_cap = 0;
	free(a->ix);
	a->ix = NULL;
	a->ix_n = a->ix_cap = 0;
	mr_hindex_free(&a->ix_by_value);
}

static const void *
ix_key(const void *ctx, uint32_t item, size_t *len)
{
	const mr_audit *a = ctx;

	*len = sizeof(a->ix[item].value_hash);
	return a->ix[item].value_hash;
}

static void
value_hash(const char *value, uint8_t out[16])
{
	uint8_t h[32];

	mr_fp_sha256((const uint8_t *)value, strlen(value), h);
	memcpy(out, h, 16);
}

/* Notes record `leaf` (line[0..n)) in the index when it is one of the
 * records looked up by value. */
static int
index_record(mr_audit *a, const char *line, size_t n, size_t leaf, mr_diag *d)
{
	char ev[sizeof(MR_AUDIT_INDEX_EVENT) + 1], value[256];
	mr_audit_indexed *e;

	if (mr_record_get(line, n, "event", ev, sizeof(ev)) != MR_OK ||
	    strcmp(ev, MR_AUDIT_INDEX_EVENT) != 0 ||
	    mr_record_get(line, n, MR_AUDIT_INDEX_KEY, value, sizeof(value)) != MR_OK)
		return MR_OK;
	if (a->ix_n == a->ix_cap) {
		size_t cap = a->ix_cap ? a->ix_cap * 2 : 256;
		mr_audit_indexed *m = realloc(a->ix, cap * sizeof(*m));
		if (m == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
		a->ix = m;
		a->ix_cap = cap;
	}
	if (mr_hindex_reserve(&a->ix_by_value, a->ix_n + 1, ix_key, a) != MR_OK)
		return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
	e = &a->ix[a->ix_n];
	value_hash(value, e->value_hash);
	e->leaf = (uint32_t)leaf;
	if (mr_hindex_put_ordered(&a->ix_by_value, e->value_hash, sizeof(e->value_hash),
		(uint32_t)a->ix_n, MR_HINDEX_LAST, ix_key, a) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "audit log index");
	a->ix_n++;
	return MR_OK;
}

typedef struct {
	mr_audit *a;
	mr_auditlog_scan s;
	mr_audit_line_fn fn; /* the caller's observer, or NULL */
	void *ctx;
	mr_diag *d;
} open_scan;

static int
open_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	open_scan *o = ctx;
	mr_audit *a = o->a;
	int r;

	(void)number;
	(void)offset; /* the tree's (tree_line) */
	if ((r = mr_auditlog_scan_line(&o->s, line, n, NULL)) != MR_OK)
		return mr_diag_set(o->d, MR_E_AUDIT,
		    "%s: record %zu breaks the hash chain: %s: refusing to continue", a->path,
		    o->s.bad, o->s.why);
	if ((r = index_record(a, line, n, number, o->d)) != MR_OK)
		return r;
	return o->fn != NULL ? o->fn(o->ctx, line, n) : MR_OK;
}

/*
 * The open reads the log twice at once: the caller's thread checks the
 * hash chain (and indexes and observes each record), a thread of its own
 * builds the Merkle tree (each record's leaf hash and the nodes above,
 * and where each block starts). Each record is hashed once for each, in
 * wolfSSL's C code: on a long history that is most of a start, and the
 * two halves need not wait for each other. The thread touches only the
 * tree, the block offsets and their room (grow); the caller looks at
 * them only once it has joined.
 */
typedef struct {
	mr_audit *a;
	mr_task task;      /* in line at the end without a thread */
	atomic_int stop;   /* the chain check failed: the tree is not wanted */
	size_t n;          /* records in the tree */
	size_t bad;        /* the record it stopped at (1-based), 0: none */
	int r;
	mr_diag d;
} tree_build;

static int
tree_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	tree_build *t = ctx;
	int r;

	if (atomic_load_explicit(&t->stop, memory_order_relaxed))
		return MR_E_CANCELLED;
	if ((r = grow(t->a, number + 1, &t->d)) != MR_OK) {
		t->bad = number + 1;
		return r;
	}
	push_record(t->a, line, n, number, offset);
	t->n = number + 1;
	return MR_OK;
}

static void
tree_main(void *arg)
{
	tree_build *t = arg;

	mr_diag_clear(&t->d);
	t->r = mr_file_lines(t->a->path, MR_RECORD_MAX + 1, tree_line, t, NULL, NULL, &t->d);
	if (t->r == MR_E_NOTFOUND)
		t->r = MR_OK;
}

static void
tree_begin(tree_build *t, mr_audit *a)
{
	memset(t, 0, sizeof(*t));
	t->a = a;
	atomic_init(&t->stop, 0);
	mr_task_begin(&t->task, tree_main, t);
}

/* The tree built (in line when no thread started). chain_r: the chain
 * check's result, over `records` records that passed it (when it failed,
 * at the next one). MR_OK, or the tree's failure when it came first (its
 * message in d). */
static int
tree_end(tree_build *t, int chain_r, size_t records, mr_diag *d)
{
	size_t chain_at = records + 1;

	if (chain_r != MR_OK) {
		atomic_store(&t->stop, 1);
		(void)mr_task_drop(&t->task);
	} else {
		mr_task_end(&t->task);
	}
	if (t->r != MR_OK && t->r != MR_E_CANCELLED && t->bad != 0 &&
	    (chain_r == MR_OK || t->bad <= chain_at)) {
		*d = t->d;
		return t->r;
	}
	if (chain_r == MR_OK && t->r == MR_OK && t->n != records)
		return mr_diag_set(d, MR_E_AUDIT, "%s: the log changed while it was read: "
		    "refusing to continue", t->a->path);
	return MR_OK;
}

int
mr_audit_open(mr_audit *a, const char *path, mr_diag *d)
{
	return mr_audit_open_observed(a, path, NULL, NULL, d);
}

int
mr_audit_open_observed(mr_audit *a, const char *path, mr_audit_line_fn fn, void *ctx,
    mr_diag *d)
{
	open_scan o;
	tree_build t;
	uint64_t complete = 0, total = 0;
	int r, tr;

	mr_audit_close(a);
	memset(a, 0, sizeof(*a));
	mr_hindex_init(&a->ix_by_value);
	a->tree.fetch = fetch_block;
	a->tree.ctx = a;
	if (snprintf(a->path, sizeof(a->path), "%s", path) >= (int)sizeof(a->path))
		return mr_diag_set(d, MR_E_RANGE, "audit log path too long");
	a->next_seq = 1;
	o.a = a;
	o.fn = fn;
	o.ctx = ctx;
	o.d = d;
	mr_auditlog_scan_init(&o.s);
	tree_begin(&t, a);
	r = mr_file_lines(path, MR_RECORD_MAX + 1, open_line, &o, &complete, &total, d);
	/* A failure of the tree's (more records than the log may hold) at or
	 * before the chain's is said instead, as when one pass did both. */
	if ((tr = tree_end(&t, r == MR_E_NOTFOUND ? MR_OK : r, o.s.n, d)) != MR_OK)
		return tr;
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return grow(a, 1, d);
	}
	if (r == MR_E_RANGE) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_AUDIT, "%s: record %zu is longer than any record: "
		    "refusing to continue", path, o.s.n + 1);
	}
	if (r != MR_OK)
		return r;
	if ((r = grow(a, o.s.n + 1, d)) != MR_OK)
		return r;
	a->next_seq = (unsigned long)o.s.n + 1;
	a->bytes = complete;
	memcpy(a->last_hash, o.s.last_hash, 32);
	if (total > complete) {
		mr_record rec;
		/* A torn final append: the record was never acknowledged. */
		if (truncate(path, (off_t)complete) != 0)
			return mr_diag_set(d, MR_E_AUDIT, "%s: cannot cut torn record", path);
		mr_record_init(&rec);
		mr_record_addf(&rec, "cut_bytes", "%llu", (unsigned long long)(total - complete));
		return mr_audit_append(a, "audit-repair", &rec, d);
	}
	return MR_OK;
}

int
mr_audit_append(mr_audit *a, const char *event, mr_record *fields, mr_diag *d)
{
	mr_record rec;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int r;

	if ((r = grow(a, a->next_seq, d)) != MR_OK)
		return r == MR_E_NOMEM ? MR_E_AUDIT : r;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mr_record_init(&rec);
	mr_record_addf(&rec, "seq", "%lu", a->next_seq);
	mr_record_add(&rec, "time", when);
	mr_record_add(&rec, "event", event);
	if (fields != NULL)
		mr_record_append(&rec, fields);
	mr_record_add_hex(&rec, "prev", a->last_hash, 32);
	if (mr_record_finish(&rec) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "audit record too long");
	if (mr_file_log_append(&a->file, a->path, rec.buf, rec.len, !a->defer, d) != MR_OK) {
		mr_diag_prefix(d, "audit log");
		return MR_E_AUDIT;
	}
	a->dirty |= a->defer;
	memcpy(a->last, rec.buf, rec.len);
	a->last[rec.len] = '\0';
	a->last_len = rec.len;
	mr_fp_sha256((const uint8_t *)rec.buf, rec.len, a->last_hash);
	push_record(a, rec.buf, rec.len, a->next_seq - 1, a->bytes);
	a->bytes += rec.len;
	a->next_seq++;
	/* Written: a failure to index it now would only leave the index
	 * short, so it is the batch that stops. */
	if ((r = index_record(a, rec.buf, rec.len, a->next_seq - 2, d)) != MR_OK)
		return MR_E_AUDIT;
	return MR_OK;
}

void
mr_audit_last(const mr_audit *a, char *line, size_t cap, size_t *len)
{
	size_t n = a->last_len < cap ? a->last_len : 0;

	memcpy(line, a->last, n);
	if (cap > 0)
		line[n] = '\0';
	*len = n;
}

void
mr_audit_defer(mr_audit *a, int on)
{
	a->defer = on;
}

int
mr_audit_sync(mr_audit *a, mr_diag *d)
{
	if (!a->dirty)
		return MR_OK;
	if (mr_file_log_sync(&a->file, a->path, d) != MR_OK) {
		mr_diag_prefix(d, "audit log");
		return MR_E_AUDIT;
	}
	a->dirty = 0;
	return MR_OK;
}

int
mr_audit_has(const mr_audit *a, const char *event, const char *key, const char *value)
{
	size_t index, len;
	char line[MR_RECORD_MAX + 1];

	return mr_audit_find(a, event, key, value, &index, line, sizeof(line), &len, NULL) == MR_OK;
}

typedef struct {
	mr_audit_line_fn fn;
	void *ctx;
	size_t records; /* lines past these were appended by no one we know */
	int stopped;    /* the read stopped there */
} scan_job;

static int
scan_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	scan_job *j = ctx;

	(void)offset;
	if (number >= j->records) {
		j->stopped = 1;
		return MR_E_INTERNAL; /* any non-zero ends mr_file_lines; not returned */
	}
	return j->fn(j->ctx, line, n);
}

int
mr_audit_scan(const mr_audit *a, mr_audit_line_fn fn, void *ctx, mr_diag *d)
{
	scan_job j = { fn, ctx, mr_audit_size(a), 0 };
	int r = mr_file_lines(a->path, MR_RECORD_MAX + 1, scan_line, &j, NULL, NULL, d);

	return j.stopped ? MR_OK : r;
}

size_t
mr_audit_size(const mr_audit *a)
{
	return a->next_seq - 1;
}

void
mr_audit_root(mr_audit *a, mr_merkle_hash root)
{
	/* The whole log's root needs no block read back (the open block is in
	 * memory): it cannot fail. */
	if (mr_merkle_levels_root(&a->tree, mr_audit_size(a), root) != MR_OK)
		memset(root, 0, MR_MERKLE_HASH_LEN);
}

/* A tree error in words: the fetch's own diag, or a block that changed. */
static int
tree_failed(mr_audit *a, int r, mr_diag *d)
{
	if (r == MR_E_AUDIT && !a->fetch_diag.msg[0])
		return mr_diag_set(d, MR_E_AUDIT, "%s: records read back differ from those the log "
		    "was opened with: refusing to continue", a->path);
	if (a->fetch_diag.msg[0])
		return mr_diag_set(d, r, "%s", mr_diag_text(&a->fetch_diag, r));
	return mr_diag_set(d, r, "%s: audit tree: error %d", a->path, r);
}

int
mr_audit_root_at(mr_audit *a, size_t size, mr_merkle_hash root, mr_diag *d)
{
	int r;

	mr_diag_clear(&a->fetch_diag);
	if ((r = mr_merkle_levels_root(&a->tree, size, root)) != MR_OK)
		return tree_failed(a, r, d);
	return MR_OK;
}

uint64_t
mr_audit_bytes(const mr_audit *a)
{
	return a->bytes;
}

int
mr_audit_line(const mr_audit *a, size_t index, char *line_out, size_t cap, size_t *line_len,
    mr_diag *d)
{
	const char *line = NULL;
	char *buf;
	size_t len, n = 0;
	int r;

	if (index >= mr_audit_size(a))
		return mr_diag_set(d, MR_E_ARG, "audit log: no record %zu", index + 1);
	if ((r = read_block(a, index / MR_MERKLE_BLOCK, &buf, &len, d)) != MR_OK)
		return r;
	r = block_line(a, buf, len, index % MR_MERKLE_BLOCK, &line, &n, d);
	if (r == MR_OK && n + 1 > cap)
		r = mr_diag_set(d, MR_E_RANGE, "%s: record %zu does not fit", a->path, index + 1);
	if (r == MR_OK) {
		memcpy(line_out, line, n);
		line_out[n] = '\0';
		*line_len = n;
	}
	free(buf);
	return r;
}

int
mr_audit_lines_from(const mr_audit *a, size_t index, char *out, size_t cap, size_t *len,
    size_t *count, mr_diag *d)
{
	size_t size = mr_audit_size(a), b = index / MR_MERKLE_BLOCK, want, got = 0, pos = 0;
	uint64_t from;
	char *buf;
	int r = MR_OK;

	*len = *count = 0;
	if (index >= size)
		return MR_OK;
	/* From the block's start: the lines before index in it, then cap. */
	from = a->bstart[b];
	want = (size_t)(a->bytes - from);
	if (want > cap + MR_MERKLE_BLOCK * (MR_RECORD_MAX + 1))
		want = cap + MR_MERKLE_BLOCK * (MR_RECORD_MAX + 1);
	if ((buf = malloc(want + 1)) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
	if ((r = mr_file_line_at(a->path, from, want, buf, want + 1, d)) != MR_OK) {
		free(buf);
		return r;
	}
	for (size_t k = b * MR_MERKLE_BLOCK; k < size && pos < want; k++) {
		const char *nl = memchr(buf + pos, '\n', want - pos);
		size_t n;
		if (nl == NULL)
			break;
		n = (size_t)(nl - (buf + pos)) + 1;
		if (k >= index) {
			if (got + n > cap)
				break;
			memcpy(out + got, buf + pos, n);
			got += n;
			(*count)++;
		}
		pos += n;
	}
	free(buf);
	*len = got;
	return MR_OK;
}

typedef struct {
	const char *event, *key, *value;
	char *line;
	size_t cap, number, index, len;
	int found, too_long;
} find_job;

/* mr_audit_scan: the lines come in order, so the count is the index. */
static int
find_line(void *ctx, const char *line, size_t n)
{
	find_job *j = ctx;
	size_t number = j->number++;
	char ev[64], v[256];

	if (mr_record_get(line, n, "event", ev, sizeof(ev)) != MR_OK || strcmp(ev, j->event) != 0 ||
	    mr_record_get(line, n, j->key, v, sizeof(v)) != MR_OK || strcmp(v, j->value) != 0)
		return MR_OK;
	if (n + 1 > j->cap) {
		j->too_long = 1;
		return MR_E_RANGE;
	}
	memcpy(j->line, line, n);
	j->line[n] = '\0';
	j->len = n;
	j->index = number;
	j->found = 1;
	return MR_OK;
}

static int
find_indexed(const mr_audit *a, const char *value, size_t *index, char *line_out, size_t cap,
    size_t *line_len, mr_diag *d)
{
	uint8_t h[16];
	char v[256];
	uint32_t item;
	int r;

	value_hash(value, h);
	item = mr_hindex_find(&a->ix_by_value, h, sizeof(h), ix_key, a);
	if (item == MR_HINDEX_NONE)
		return MR_E_NOTFOUND;
	if ((r = mr_audit_line(a, a->ix[item].leaf, line_out, cap, line_len, d)) != MR_OK)
		return r;
	if (mr_record_get(line_out, *line_len, MR_AUDIT_INDEX_KEY, v, sizeof(v)) != MR_OK ||
	    strcmp(v, value) != 0)
		return MR_E_NOTFOUND; /* another value with the same hash */
	*index = a->ix[item].leaf;
	return MR_OK;
}

int
mr_audit_find(const mr_audit *a, const char *event, const char *key, const char *value,
    size_t *index, char *line_out, size_t cap, size_t *line_len, mr_diag *d)
{
	find_job j = { event, key, value, line_out, cap, 0, 0, 0, 0, 0 };
	mr_diag e;
	int r;

	mr_diag_clear(&e);
	if (strcmp(event, MR_AUDIT_INDEX_EVENT) == 0 && strcmp(key, MR_AUDIT_INDEX_KEY) == 0)
		r = find_indexed(a, value, index, line_out, cap, line_len, &e);
	else {
		r = mr_audit_scan(a, find_line, &j, &e);
		if (r == MR_OK && !j.found)
			r = MR_E_NOTFOUND;
		if (r == MR_OK) {
			*index = j.index;
			*line_len = j.len;
		}
		if (j.too_long)
			r = MR_E_RANGE;
	}
	if (r != MR_OK && d != NULL) {
		if (r == MR_E_NOTFOUND || r == MR_E_RANGE)
			mr_diag_set(d, r, "no %s record with %s=%s in the audit log%s", event, key,
			    value, r == MR_E_RANGE ? " (the record is too long)" : "");
		else
			mr_diag_set(d, r, "%s", mr_diag_text(&e, r));
	}
	return r;
}

int
mr_audit_inclusion(mr_audit *a, size_t index, size_t size, mr_merkle_hash *path,
    size_t cap, size_t *len)
{
	if (size > mr_audit_size(a))
		return MR_E_ARG;
	mr_diag_clear(&a->fetch_diag);
	return mr_merkle_levels_inclusion(&a->tree, size, index, path, cap, len);
}

/*
 * The appliance's audit log writer (mr_audit): a log of several hundred
 * KiB written here, closed and read again in pieces, gives the same tree,
 * the same record places and the same answers as the one built while
 * appending, and every answer is checked against the file itself: the
 * last issue record by serial (indexed), the last record by any other
 * field (read), one record by number, a scan of all. A torn final append
 * is cut and the repair logged; an edited record stops the open. An
 * observed open shows each record it reads; a scan or a search stops at
 * the records its mr_audit knows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_tmpdir.h"

#include "mr_audit.h"
#include "mr_fileio.h"
#include "mr_merkle.h"
#include "mr_record.h"

#define DUP_SERIAL "0ddba11c0ffee"

typedef test_dir fixture;

static int
setup(void **state)
{
	return test_dir_setup(state, "audit", "audit.log");
}

static int
teardown(void **state)
{
	return test_dir_teardown(state);
}

/* The log file as it is on disk, cut into its lines. */
typedef struct {
	uint8_t *data;
	size_t len;
	size_t *start; /* start[i]: line i's offset; start[n] == len */
	size_t n;
} logfile;

static void
load(const char *path, logfile *f)
{
	mr_diag d;

	memset(f, 0, sizeof(*f));
	mr_diag_clear(&d);
	assert_int_equal(mr_file_read(path, 64u << 20, &f->data, &f->len, &d), MR_OK);
	f->start = calloc(f->len + 1, sizeof(*f->start));
	assert_non_null(f->start);
	for (size_t i = 0; i < f->len; i++)
		if (f->data[i] == '\n')
			f->start[++f->n] = i + 1;
	/* Only complete lines here. */
	assert_int_equal(f->start[f->n], f->len);
}

static void
unload(logfile *f)
{
	free(f->data);
	free(f->start);
}

/* The first place of needle in hay[0..n), or NULL. */
static char *
find_bytes(uint8_t *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return (char *)hay + i;
	return NULL;
}

static const char *
line_of(const logfile *f, size_t i, size_t *n)
{
	*n = f->start[i + 1] - f->start[i];
	return (const char *)f->data + f->start[i];
}

/* Appends one record of event with the NULL-terminated key, value pairs. */
static void
append(mr_audit *a, const char *event, ...)
{
	mr_record rec;
	const char *key;
	va_list ap;
	mr_diag d;

	mr_record_init(&rec);
	va_start(ap, event);
	while ((key = va_arg(ap, const char *)) != NULL)
		mr_record_add(&rec, key, va_arg(ap, const char *));
	va_end(ap);
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_append(a, event, &rec, &d), MR_OK);
}

/* Appends to the log at path a line longer than any record could be. */
static void
append_overlong(const char *path)
{
	static char big[3001];
	FILE *fp;

	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 2] = '\n';
	fp = fopen(path, "ab");
	assert_non_null(fp);
	assert_int_equal(fwrite(big, 1, sizeof(big) - 1, fp), sizeof(big) - 1);
	assert_int_equal(fclose(fp), 0);
}

/*
 * About 400 records, most some hundred bytes, a few near the record
 * limit, so that records straddle the reader's pieces: issue records with
 * a serial each (DUP_SERIAL twice, far apart), approve records by cluster,
 * and an "issued" record whose serial the index must not take.
 */
#define RECORDS 420
#define DUP_FIRST 31
#define DUP_LAST (RECORDS - 40)

static void
fill(mr_audit *a)
{
	static char pad[1800];
	char serial[32], cluster[16], request[32];
	mr_diag d;

	mr_diag_clear(&d);
	mr_audit_defer(a, 1);
	for (size_t i = 0; i < RECORDS; i++) {
		size_t plen = (i * 37) % 1500 + (i % 50 == 0 ? 250 : 0);

		memset(pad, 'a' + (int)(i % 26), plen);
		pad[plen] = '\0';
		snprintf(serial, sizeof(serial), "5e%014zx", i * 7919);
		snprintf(cluster, sizeof(cluster), "c%zu", i % 7);
		snprintf(request, sizeof(request), "req-%zu", i);
		if (i == DUP_FIRST || i == DUP_LAST)
			append(a, "issue", "serial", DUP_SERIAL, "cluster", cluster, "subject", pad,
			    NULL);
		else if (i == 100)
			append(a, "issued", "serial", "feedface", NULL);
		else if (i % 3 == 0)
			append(a, "issue", "serial", serial, "cluster", cluster, "subject", pad, NULL);
		else if (i % 3 == 1)
			append(a, "approve", "cluster", cluster, "request", request, "note", pad, NULL);
		else
			append(a, "submit", "request", request, "csr", pad, NULL);
	}
	assert_int_equal(mr_audit_sync(a, &d), MR_OK);
	mr_audit_defer(a, 0);
}

/* The log's end is the file's; records read from any place (one block
 * read back, then whole lines up to the room given) are the file's lines;
 * the root at every size (the inside of old blocks read back) is the
 * root over the file's first lines. */
static void
check_offsets(mr_audit *a, const logfile *f)
{
	static char buf[8192];
	mr_merkle_hash *leaves = malloc((f->n + 1) * sizeof(*leaves));
	mr_merkle_hash want, got;
	size_t len, count;
	mr_diag d;

	assert_non_null(leaves);
	assert_int_equal(mr_audit_size(a), f->n);
	assert_int_equal(mr_audit_bytes(a), f->len);
	for (size_t i = 0; i < f->n; i++) {
		mr_merkle_leaf(f->data + f->start[i], f->start[i + 1] - f->start[i], leaves[i]);
		if (i % 7 != 0 && i % 16 != 15 && i + 1 != f->n)
			continue;
		mr_diag_clear(&d);
		assert_int_equal(mr_audit_lines_from(a, i, buf, sizeof(buf), &len, &count, &d), MR_OK);
		assert_true(count >= 1);
		assert_true(i + count <= f->n);
		assert_int_equal(len, f->start[i + count] - f->start[i]);
		assert_memory_equal(buf, f->data + f->start[i], len);
		/* Whole lines, as many as fit. */
		assert_true(i + count == f->n || len + (f->start[i + count + 1] - f->start[i + count]) >
		    sizeof(buf));
	}
	for (size_t m = 0; m <= f->n; m += m < 40 ? 1 : 13) {
		mr_merkle_root(leaves, m, want);
		assert_int_equal(mr_audit_root_at(a, m, got, &d), MR_OK);
		assert_memory_equal(got, want, sizeof(want));
	}
	assert_int_equal(mr_audit_root_at(a, f->n + 1, got, &d), MR_E_ARG);
	assert_int_equal(mr_audit_lines_from(a, f->n, buf, sizeof(buf), &len, &count, &d), MR_OK);
	assert_int_equal(count, 0);
	free(leaves);
}

/* The last line of f with event and key=value, by reading every line. */
static int
brute_find(const logfile *f, const char *event, const char *key, const char *value,
    size_t *index)
{
	int found = 0;

	for (size_t i = 0; i < f->n; i++) {
		char ev[64], v[256];
		size_t n;
		const char *l = line_of(f, i, &n);

		if (mr_record_get(l, n - 1, "event", ev, sizeof(ev)) == MR_OK &&
		    strcmp(ev, event) == 0 && mr_record_get(l, n - 1, key, v, sizeof(v)) == MR_OK &&
		    strcmp(v, value) == 0) {
			*index = i;
			found = 1;
		}
	}
	return found;
}

static void
check_find(const mr_audit *a, const logfile *f, const char *event, const char *key,
    const char *value)
{
	char line[MR_RECORD_MAX + 1], want[512];
	size_t index = 99999, len = 0, expect = 0, n;
	const char *l;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	r = mr_audit_find(a, event, key, value, &index, line, sizeof(line), &len, &d);
	if (!brute_find(f, event, key, value, &expect)) {
		assert_int_equal(r, MR_E_NOTFOUND);
		snprintf(want, sizeof(want), "no %s record with %s=%s in the audit log", event, key,
		    value);
		assert_string_equal(mr_diag_text(&d, r), want);
		assert_false(mr_audit_has(a, event, key, value));
		return;
	}
	assert_int_equal(r, MR_OK);
	assert_int_equal(index, expect);
	l = line_of(f, expect, &n);
	assert_int_equal(len, n);
	assert_memory_equal(line, l, n);
	assert_int_equal(line[n], '\0');
	assert_true(mr_audit_has(a, event, key, value));
}

static void
check_finds(const mr_audit *a, const logfile *f)
{
	char serial[32], cluster[16];
	size_t index = 0;

	check_find(a, f, "issue", "serial", DUP_SERIAL);
	for (size_t i = 0; i < RECORDS; i += 3) {
		snprintf(serial, sizeof(serial), "5e%014zx", i * 7919);
		check_find(a, f, "issue", "serial", serial);
	}
	check_find(a, f, "issue", "serial", "nope");
	/* An "issued" record is not an issue record. */
	assert_true(brute_find(f, "issued", "serial", "feedface", &index));
	check_find(a, f, "issue", "serial", "feedface");
	check_find(a, f, "issued", "serial", "feedface");
	/* Lookups the index does not hold, read from the file. */
	for (size_t c = 0; c < 8; c++) {
		snprintf(cluster, sizeof(cluster), "c%zu", c);
		check_find(a, f, "approve", "cluster", cluster);
		check_find(a, f, "issue", "cluster", cluster);
	}
	check_find(a, f, "approve", "request", "req-1");
	check_find(a, f, "approve", "request", "req-2");
	check_find(a, f, "submit", "request", "req-2");
}

/* DUP_SERIAL's last issue record is the one at `want` (check_find has
 * compared it with the file). */
static void
check_dup(const mr_audit *a, size_t want)
{
	char line[MR_RECORD_MAX + 1];
	size_t index = 0, len = 0;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_audit_find(a, "issue", "serial", DUP_SERIAL, &index, line,
			     sizeof(line), &len, &d),
	    MR_OK);
	assert_int_equal(index, want);
}

static void
check_lines(const mr_audit *a, const logfile *f)
{
	char line[MR_RECORD_MAX + 1], want[128];
	size_t len, n, size = mr_audit_size(a);
	const char *l;
	mr_diag d;

	mr_diag_clear(&d);
	for (size_t i = 0; i < size; i += (i < 3 || i + 3 > size) ? 1 : 13) {
		len = 0;
		assert_int_equal(mr_audit_line(a, i, line, sizeof(line), &len, &d), MR_OK);
		l = line_of(f, i, &n);
		assert_int_equal(len, n);
		assert_memory_equal(line, l, n);
		assert_int_equal(line[n], '\0');
	}
	assert_int_equal(mr_audit_bytes(a), f->len);
	assert_int_equal(mr_audit_line(a, size, line, sizeof(line), &len, &d), MR_E_ARG);
	snprintf(want, sizeof(want), "audit log: no record %zu", size + 1);
	assert_string_equal(mr_diag_text(&d, MR_E_ARG), want);
}

typedef struct {
	const logfile *f;
	size_t count, bytes;
} scan_ctx;

static int
scan_fn(void *ctx, const char *line, size_t n)
{
	scan_ctx *s = ctx;

	/* In order, each exactly once: the concatenation is the file. */
	assert_true(s->bytes + n <= s->f->len);
	assert_memory_equal(line, s->f->data + s->bytes, n);
	assert_int_equal(s->f->start[s->count], s->bytes);
	s->count++;
	s->bytes += n;
	return MR_OK;
}

static void
check_scan(const mr_audit *a, const logfile *f)
{
	scan_ctx s = { f, 0, 0 };
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_audit_scan(a, scan_fn, &s, &d), MR_OK);
	assert_int_equal(s.count, f->n);
	assert_int_equal(s.bytes, f->len);
}

/* finds: the log is fill()'s, whose records check_finds looks up. */
static void
check_all(mr_audit *a, const char *path, int finds)
{
	logfile f;

	load(path, &f);
	check_offsets(a, &f);
	if (finds)
		check_finds(a, &f);
	check_lines(a, &f);
	check_scan(a, &f);
	unload(&f);
}

/* A written log, closed; its size and root. */
static void
write_log(const char *path, size_t *size, mr_merkle_hash root)
{
	mr_audit a;
	mr_diag d;

	memset(&a, 0, sizeof(a));
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, path, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), 0);
	fill(&a);
	*size = mr_audit_size(&a);
	mr_audit_root(&a, root);
	assert_int_equal(*size, RECORDS);
	check_dup(&a, DUP_LAST);
	/* The answers of the writer that built it all while appending. */
	check_all(&a, path, 1);
	mr_audit_close(&a);
}

static void
test_reopen(void **state)
{
	fixture *fx = *state;
	mr_merkle_hash root, again;
	size_t size;
	mr_audit a;
	logfile f;
	mr_diag d;

	write_log(fx->path, &size, root);
	load(fx->path, &f);
	assert_true(f.len > 200u * 1024u);
	unload(&f);

	/* Read back in pieces: the same tree, places and answers. */
	memset(&a, 0, sizeof(a));
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), size);
	mr_audit_root(&a, again);
	assert_memory_equal(again, root, sizeof(root));
	check_all(&a, fx->path, 1);
	check_dup(&a, DUP_LAST);

	/* Appending goes on from there, and the index takes the new last. */
	append(&a, "issue", "serial", DUP_SERIAL, "cluster", "c9", NULL);
	assert_int_equal(mr_audit_size(&a), size + 1);
	check_dup(&a, RECORDS);
	check_all(&a, fx->path, 1);
	mr_audit_close(&a);
	mr_audit_close(&a); /* closing twice is safe */
}

static void
test_torn_tail(void **state)
{
	fixture *fx = *state;
	static const char torn[] = "seq=421 time=2026-12-06T05:00:00Z event=issue serial=abc";
	mr_merkle_hash root, repaired, again;
	char line[MR_RECORD_MAX + 1], v[64], want_seq[16];
	size_t size, len, n, old_len;
	const char *l;
	mr_audit a;
	logfile f, before;
	mr_diag d;
	FILE *fp;

	write_log(fx->path, &size, root);
	load(fx->path, &before);
	old_len = before.len;
	fp = fopen(fx->path, "ab");
	assert_non_null(fp);
	assert_int_equal(fwrite(torn, 1, sizeof(torn) - 1, fp), sizeof(torn) - 1);
	assert_int_equal(fclose(fp), 0);

	memset(&a, 0, sizeof(a));
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), size + 1);
	load(fx->path, &f);
	/* The torn bytes are gone, the records before are untouched, and one
	 * more complete record says what was cut. */
	assert_int_equal(f.n, size + 1);
	assert_true(f.len > old_len);
	assert_memory_equal(f.data, before.data, old_len);
	assert_int_equal(f.start[size], old_len);
	assert_null(find_bytes(f.data, f.len, "serial=abc"));
	l = line_of(&f, size, &n);
	assert_int_equal(mr_record_get(l, n - 1, "event", v, sizeof(v)), MR_OK);
	assert_string_equal(v, "audit-repair");
	assert_int_equal(mr_record_get(l, n - 1, "cut_bytes", v, sizeof(v)), MR_OK);
	snprintf(want_seq, sizeof(want_seq), "%zu", sizeof(torn) - 1);
	assert_string_equal(v, want_seq);
	assert_int_equal(mr_record_get(l, n - 1, "seq", v, sizeof(v)), MR_OK);
	snprintf(want_seq, sizeof(want_seq), "%zu", size + 1);
	assert_string_equal(v, want_seq);
	mr_audit_last(&a, line, sizeof(line), &len);
	assert_int_equal(len, n);
	assert_memory_equal(line, l, n);
	assert_int_equal(mr_audit_bytes(&a), f.len);
	unload(&f);
	unload(&before);
	mr_audit_root(&a, repaired);
	check_all(&a, fx->path, 1);
	mr_audit_close(&a);

	/* The chain with the repair record verifies on the next open, and
	 * nothing more is cut or added. */
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), size + 1);
	mr_audit_root(&a, again);
	assert_memory_equal(again, repaired, sizeof(repaired));
	check_all(&a, fx->path, 1);
	mr_audit_close(&a);
}

static void
test_only_torn(void **state)
{
	fixture *fx = *state;
	char v[64];
	size_t n;
	const char *l;
	mr_audit a;
	logfile f;
	mr_diag d;
	FILE *fp;

	/* A crash during the very first append. */
	fp = fopen(fx->path, "wb");
	assert_non_null(fp);
	assert_int_equal(fwrite("seq=1 time=", 1, 11, fp), 11);
	assert_int_equal(fclose(fp), 0);
	memset(&a, 0, sizeof(a));
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), 1);
	load(fx->path, &f);
	assert_int_equal(f.n, 1);
	l = line_of(&f, 0, &n);
	assert_int_equal(mr_record_get(l, n - 1, "cut_bytes", v, sizeof(v)), MR_OK);
	assert_string_equal(v, "11");
	assert_int_equal(mr_record_get(l, n - 1, "seq", v, sizeof(v)), MR_OK);
	assert_string_equal(v, "1");
	unload(&f);
	mr_audit_close(&a);
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), 1);
	check_all(&a, fx->path, 0);
	mr_audit_close(&a);
}

static void
test_edited(void **state)
{
	fixture *fx = *state;
	mr_merkle_hash root;
	char want[4400], *p;
	size_t size, k;
	mr_audit a;
	logfile f;
	mr_diag d;
	FILE *fp;
	int r;

	write_log(fx->path, &size, root);
	load(fx->path, &f);
	/* One digit of a value in a record in the middle: the line stays a
	 * well-formed record, only the chain can tell. */
	k = size / 2;
	while ((p = find_bytes(f.data + f.start[k], f.start[k + 1] - f.start[k], " cluster=c")) ==
	    NULL)
		k++;
	p += 10;
	*p = (char)('0' + (*p - '0' + 1) % 10);
	fp = fopen(fx->path, "r+b");
	assert_non_null(fp);
	assert_int_equal(fwrite(f.data, 1, f.len, fp), f.len);
	assert_int_equal(fclose(fp), 0);

	memset(&a, 0, sizeof(a));
	mr_diag_clear(&d);
	r = mr_audit_open(&a, fx->path, &d);
	assert_int_equal(r, MR_E_AUDIT);
	/* Record k + 1 (1-based) was edited: the next one's prev= tells. */
	snprintf(want, sizeof(want),
	    "%s: record %zu breaks the hash chain: record %zu: prev= is not the SHA-256 of "
	    "record %zu (that record or this one was altered): refusing to continue",
	    fx->path, k + 2, k + 2, k + 1);
	assert_string_equal(mr_diag_text(&d, r), want);
	assert_non_null(strstr(mr_diag_text(&d, r), "breaks the hash chain"));
	mr_audit_close(&a);
	unload(&f);
}

static void
test_long_record(void **state)
{
	fixture *fx = *state;
	char want[4400];
	mr_audit a;
	mr_diag d;
	int r;

	memset(&a, 0, sizeof(a));
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	append(&a, "issue", "serial", "01", NULL);
	append(&a, "issue", "serial", "02", NULL);
	mr_audit_close(&a);
	/* A third line longer than any record could be. */
	append_overlong(fx->path);
	mr_diag_clear(&d);
	r = mr_audit_open(&a, fx->path, &d);
	assert_int_equal(r, MR_E_AUDIT);
	snprintf(want, sizeof(want),
	    "%s: record 3 is longer than any record: refusing to continue", fx->path);
	assert_string_equal(mr_diag_text(&d, r), want);
	mr_audit_close(&a);
}

static void
test_missing(void **state)
{
	fixture *fx = *state;
	mr_merkle_hash root, empty;
	char line[64], want[4200];
	size_t index, len;
	mr_audit a;
	mr_diag d;

	/* A missing log is an empty one; nothing is created by opening. */
	memset(&a, 0, sizeof(a));
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), 0);
	assert_int_equal(access(fx->path, F_OK), -1);
	assert_int_equal(mr_audit_bytes(&a), 0);
	mr_audit_root(&a, root);
	mr_merkle_root(NULL, 0, empty);
	assert_memory_equal(root, empty, sizeof(root));
	assert_int_equal(mr_audit_find(&a, "issue", "serial", "1", &index, line, sizeof(line), &len,
			     &d),
	    MR_E_NOTFOUND);
	assert_string_equal(mr_diag_text(&d, MR_E_NOTFOUND),
	    "no issue record with serial=1 in the audit log");
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_line(&a, 0, line, sizeof(line), &len, &d), MR_E_ARG);
	snprintf(want, sizeof(want), "audit log: no record 1");
	assert_string_equal(mr_diag_text(&d, MR_E_ARG), want);
	mr_audit_close(&a);
}

/* An observer that stops the open at record `stop_at` (1-based; 0: never). */
typedef struct {
	scan_ctx s;
	size_t stop_at;
} observe_ctx;

static int
observe_fn(void *ctx, const char *line, size_t n)
{
	observe_ctx *o = ctx;

	if (o->stop_at > 0 && o->s.count + 1 == o->stop_at)
		return MR_E_STATE;
	return scan_fn(&o->s, line, n);
}

static void
test_observed(void **state)
{
	fixture *fx = *state;
	static const char torn[] = "seq=421 time=2026-12-06T05:00:00Z event=issue serial=abc";
	mr_merkle_hash root, again;
	observe_ctx o;
	size_t size;
	mr_audit a;
	logfile f;
	mr_diag d;
	FILE *fp;

	write_log(fx->path, &size, root);
	load(fx->path, &f);

	/* The open shows every record, in order, once, and is the open. */
	memset(&a, 0, sizeof(a));
	memset(&o, 0, sizeof(o));
	o.s.f = &f;
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open_observed(&a, fx->path, observe_fn, &o, &d), MR_OK);
	assert_int_equal(o.s.count, size);
	assert_int_equal(o.s.bytes, f.len);
	mr_audit_root(&a, again);
	assert_memory_equal(again, root, sizeof(root));
	check_all(&a, fx->path, 1);
	mr_audit_close(&a);

	/* The observer's error is the open's. */
	memset(&o, 0, sizeof(o));
	o.s.f = &f;
	o.stop_at = 7;
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open_observed(&a, fx->path, observe_fn, &o, &d), MR_E_STATE);
	assert_int_equal(o.s.count, 6);
	mr_audit_close(&a);

	/* A torn final append: the observer sees the records the file held,
	 * not the torn bytes nor the repair record the open adds. */
	fp = fopen(fx->path, "ab");
	assert_non_null(fp);
	assert_int_equal(fwrite(torn, 1, sizeof(torn) - 1, fp), sizeof(torn) - 1);
	assert_int_equal(fclose(fp), 0);
	memset(&o, 0, sizeof(o));
	o.s.f = &f;
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open_observed(&a, fx->path, observe_fn, &o, &d), MR_OK);
	assert_int_equal(mr_audit_size(&a), size + 1);
	assert_int_equal(o.s.count, size);
	assert_int_equal(o.s.bytes, f.len);
	mr_audit_close(&a);
	unload(&f);
}

/* Lines past the records an mr_audit knows are not its to read: a scan or
 * a search stops before them, even before one no record could be. */
static void
test_known_records(void **state)
{
	fixture *fx = *state;
	char line[MR_RECORD_MAX + 1];
	size_t index = 0, len = 0, size;
	mr_merkle_hash root;
	mr_audit a, b;
	logfile f;
	mr_diag d;

	write_log(fx->path, &size, root);
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	mr_diag_clear(&d);
	assert_int_equal(mr_audit_open(&a, fx->path, &d), MR_OK);
	load(fx->path, &f);
	/* Another writer's record, then a line longer than any record. */
	assert_int_equal(mr_audit_open(&b, fx->path, &d), MR_OK);
	append(&b, "approve", "request", "req-late", NULL);
	mr_audit_close(&b);
	append_overlong(fx->path);

	check_scan(&a, &f);
	check_find(&a, &f, "approve", "request", "req-2");
	assert_int_equal(mr_audit_find(&a, "approve", "request", "req-late", &index, line,
			     sizeof(line), &len, &d),
	    MR_E_NOTFOUND);
	assert_string_equal(mr_diag_text(&d, MR_E_NOTFOUND),
	    "no approve record with request=req-late in the audit log");
	mr_audit_close(&a);
	unload(&f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_reopen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_only_torn, setup, teardown),
		cmocka_unit_test_setup_teardown(test_edited, setup, teardown),
		cmocka_unit_test_setup_teardown(test_long_record, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_observed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_known_records, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

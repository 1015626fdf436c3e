/*
 * mr_file_lines reads a line file through one buffer of 64 KiB + max_line:
 * every line comes out once, in order, with its bytes, number and offset,
 * whether it lies inside a piece, straddles the end of one or ends exactly
 * on it. The files here are built so that those places are hit: the test
 * follows where each read ends (the reader fills its buffer, and the next
 * read starts where the first unfinished line does) and puts lines there
 * on purpose. A torn tail, an empty file, the max_line limit, a caller
 * that stops, and paths that are not regular files; mr_file_line_at reads
 * back exact ranges.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "test_tmpdir.h"

#include "mr_filelines.h"

/* The reader's piece (filelines.c). */
#define PIECE (64u * 1024u)

typedef struct {
	uint64_t off;
	size_t len;
} span;

typedef struct {
	char *data;
	size_t len, cap;
	span *lines;
	size_t n, lines_cap;
	uint64_t boundary; /* file offset where the reader's current read ends */
	size_t buf_cap;    /* PIECE + max_line */
	size_t goals_met;
	size_t exact_ends, straddles; /* lines that end on / cross a read's end */
} gen;

static void
put(gen *g, size_t len)
{
	uint64_t off = g->len;

	assert_true(len >= 1);
	if (g->len + len > g->cap) {
		g->cap = (g->len + len) * 2;
		g->data = realloc(g->data, g->cap);
		assert_non_null(g->data);
	}
	if (g->n == g->lines_cap) {
		g->lines_cap = g->lines_cap ? g->lines_cap * 2 : 256;
		g->lines = realloc(g->lines, g->lines_cap * sizeof(*g->lines));
		assert_non_null(g->lines);
	}
	/* Bytes that differ from line to line and place to place, so that
	 * a line passed from the wrong offset cannot compare equal. */
	for (size_t i = 0; i + 1 < len; i++)
		g->data[g->len + i] = (char)(33 + (g->n * 31 + i * 7) % 90);
	g->data[g->len + len - 1] = '\n';
	g->lines[g->n].off = off;
	g->lines[g->n].len = len;
	g->n++;
	g->len += len;
	/* Where the reader's next read will end. */
	if (off < g->boundary && off + len > g->boundary) {
		g->straddles++;
		g->boundary = off + g->buf_cap; /* the read restarts at this line */
	} else if (off + len == g->boundary) {
		g->exact_ends++;
		g->boundary += g->buf_cap;
	}
}

static uint32_t
next_rand(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/*
 * Lines of random lengths 1..max_line up to `target` bytes, with, at the
 * first five read ends in turn: a line ending exactly on it; a line of
 * max_line bytes with all but its newline before it; a line of max_line
 * bytes with one byte before it; a line of max_line bytes ending exactly
 * on it; an ordinary line across it.
 */
static void
build(gen *g, size_t max_line, size_t target, uint32_t seed)
{
	const struct {
		size_t before, len;
	} goals[] = {
		{ 0, 0 },
		{ max_line - 1, max_line },
		{ 1, max_line },
		{ max_line, max_line },
		{ max_line / 2, max_line / 2 + 7 },
	};
	size_t ngoals = sizeof(goals) / sizeof(goals[0]);

	memset(g, 0, sizeof(*g));
	g->buf_cap = PIECE + max_line;
	g->boundary = g->buf_cap;
	while (g->len < target) {
		uint64_t rem = g->boundary - g->len;

		if (g->goals_met < ngoals && rem <= goals[g->goals_met].before + max_line) {
			/* Steps are at most max_line, so the window of
			 * max_line bytes above `before` is never jumped. */
			assert_true(rem > goals[g->goals_met].before);
			put(g, (size_t)rem - goals[g->goals_met].before);
			if (goals[g->goals_met].len > 0)
				put(g, goals[g->goals_met].len);
			g->goals_met++;
			continue;
		}
		put(g, 1 + next_rand(&seed) % max_line);
	}
}

static void
gen_free(gen *g)
{
	free(g->data);
	free(g->lines);
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	if (len > 0)
		assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

typedef struct {
	const gen *g;
	size_t calls;
	size_t stop_at; /* with stop_ret != 0: the line whose call stops */
	int stop_ret;
} expect;

static int
check_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	expect *e = ctx;

	assert_true(e->calls < e->g->n);
	assert_int_equal(number, e->calls);
	assert_int_equal(offset, e->g->lines[number].off);
	assert_int_equal(n, e->g->lines[number].len);
	assert_memory_equal(line, e->g->data + offset, n);
	assert_int_equal(line[n - 1], '\n');
	e->calls++;
	if (e->stop_ret != 0 && number == e->stop_at)
		return e->stop_ret;
	return MR_OK;
}

static int
no_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	(void)ctx;
	(void)line;
	(void)n;
	(void)number;
	(void)offset;
	fail_msg("no line was expected");
	return MR_OK;
}

typedef test_dir fixture;

static int
setup(void **state)
{
	return test_dir_setup(state, "lines", "lines");
}

static int
teardown(void **state)
{
	return test_dir_teardown(state);
}

static void
whole_file(const char *path, size_t max_line, uint32_t seed)
{
	gen g;
	expect e = { &g, 0, 0, 0 };
	uint64_t complete = 1, total = 1;
	mr_diag d;

	build(&g, max_line, 6 * (PIECE + max_line), seed);
	/* The reads the file was built for did happen in it. */
	assert_int_equal(g.goals_met, 5);
	assert_true(g.exact_ends >= 2);
	assert_true(g.straddles >= 3);
	assert_true(g.len > 300u * 1024u);
	write_file(path, g.data, g.len);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_lines(path, max_line, check_line, &e, &complete, &total, &d), MR_OK);
	assert_int_equal(e.calls, g.n);
	assert_int_equal(complete, g.len);
	assert_int_equal(total, g.len);
	gen_free(&g);
}

static void
test_whole_file(void **state)
{
	fixture *fx = *state;

	whole_file(fx->path, 1000, 0x1234567u);
	/* The audit log's limit: a record and its newline. */
	whole_file(fx->path, 2049, 0x89abcdeu);
	/* Short lines only: many lines a piece. */
	whole_file(fx->path, 40, 0x5eed5u);
}

static void
test_torn_tail(void **state)
{
	fixture *fx = *state;
	gen g;
	expect e = { &g, 0, 0, 0 };
	uint64_t complete = 0, total = 0, lines_end;
	mr_diag d;

	build(&g, 1000, 3 * (PIECE + 1000), 77);
	lines_end = g.len;
	/* 300 bytes of a line whose newline never came: put() adds the line
	 * to g.lines, so it is counted off again after. */
	put(&g, 301);
	g.n--;
	g.len--;
	write_file(fx->path, g.data, g.len);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_lines(fx->path, 1000, check_line, &e, &complete, &total, &d), MR_OK);
	assert_int_equal(e.calls, g.n);
	assert_int_equal(complete, lines_end);
	assert_int_equal(total, lines_end + 300);
	gen_free(&g);

	/* Nothing but a torn line. */
	write_file(fx->path, "abc", 3);
	assert_int_equal(mr_file_lines(fx->path, 1000, no_line, NULL, &complete, &total, &d), MR_OK);
	assert_int_equal(complete, 0);
	assert_int_equal(total, 3);
}

static void
test_empty(void **state)
{
	fixture *fx = *state;
	uint64_t complete = 5, total = 5;
	mr_diag d;

	write_file(fx->path, "", 0);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_lines(fx->path, 100, no_line, NULL, &complete, &total, &d), MR_OK);
	assert_int_equal(complete, 0);
	assert_int_equal(total, 0);
	/* complete and total may be left out. */
	assert_int_equal(mr_file_lines(fx->path, 100, no_line, NULL, NULL, NULL, &d), MR_OK);
}

/* A file of `count` lines of `len` bytes, then one of `long_len` bytes
 * starting `before` bytes ahead of the first read's end (0: right after
 * the short lines), then one short line. Returns the long line's
 * 0-based number. */
static size_t
with_long_line(gen *g, size_t max_line, size_t long_len, size_t before)
{
	memset(g, 0, sizeof(*g));
	g->buf_cap = PIECE + max_line;
	g->boundary = g->buf_cap;
	if (before == 0) {
		for (size_t i = 0; i < 5; i++)
			put(g, 50);
	} else {
		while (g->boundary - g->len > before + max_line)
			put(g, max_line);
		put(g, (size_t)(g->boundary - g->len) - before);
	}
	put(g, long_len);
	put(g, 10);
	return g->n - 2;
}

static void
test_max_line(void **state)
{
	fixture *fx = *state;
	const size_t max_line = 500;
	const size_t befores[] = { 0, 1, max_line / 2, max_line - 1, max_line };
	char want[4200];
	uint64_t complete, total;
	gen g;
	mr_diag d;

	for (size_t b = 0; b < sizeof(befores) / sizeof(befores[0]); b++) {
		expect e = { &g, 0, 0, 0 };
		size_t at;

		/* Exactly max_line bytes, newline included: accepted. */
		at = with_long_line(&g, max_line, max_line, befores[b]);
		write_file(fx->path, g.data, g.len);
		mr_diag_clear(&d);
		assert_int_equal(mr_file_lines(fx->path, max_line, check_line, &e, &complete, &total,
				     &d),
		    MR_OK);
		assert_int_equal(e.calls, g.n);
		assert_int_equal(complete, g.len);
		assert_int_equal(total, g.len);
		assert_int_equal(g.lines[at].len, max_line);
		gen_free(&g);

		/* One byte more: refused, naming its 1-based number; the
		 * lines before it were passed. */
		at = with_long_line(&g, max_line, max_line + 1, befores[b]);
		write_file(fx->path, g.data, g.len);
		e.calls = 0;
		mr_diag_clear(&d);
		assert_int_equal(mr_file_lines(fx->path, max_line, check_line, &e, &complete, &total,
				     &d),
		    MR_E_RANGE);
		assert_int_equal(e.calls, at);
		snprintf(want, sizeof(want), "%s: line %zu is longer than %zu bytes", fx->path, at + 1,
		    max_line);
		assert_string_equal(mr_diag_text(&d, MR_E_RANGE), want);
		gen_free(&g);
	}

	/* A line far longer than the buffer, with more than max_line bytes
	 * left over at the end of the first read. */
	{
		expect e = { &g, 0, 0, 0 };
		size_t at = with_long_line(&g, max_line, 3 * PIECE, max_line + 1);

		write_file(fx->path, g.data, g.len);
		mr_diag_clear(&d);
		assert_int_equal(mr_file_lines(fx->path, max_line, check_line, &e, NULL, NULL, &d),
		    MR_E_RANGE);
		assert_int_equal(e.calls, at);
		snprintf(want, sizeof(want), "%s: line %zu is longer than %zu bytes", fx->path, at + 1,
		    max_line);
		assert_string_equal(mr_diag_text(&d, MR_E_RANGE), want);
		gen_free(&g);
	}
}

static void
test_stop(void **state)
{
	fixture *fx = *state;
	gen g;
	mr_diag d;

	build(&g, 1000, 3 * (PIECE + 1000), 4242);
	write_file(fx->path, g.data, g.len);
	/* The first line, one in the first piece, one in a later piece,
	 * the last. */
	const size_t stops[] = { 0, 5, g.n / 2, g.n - 1 };
	for (size_t s = 0; s < sizeof(stops) / sizeof(stops[0]); s++) {
		expect e = { &g, 0, stops[s], 42 };

		assert_true(g.lines[g.n / 2].off > PIECE);
		mr_diag_clear(&d);
		assert_int_equal(mr_file_lines(fx->path, 1000, check_line, &e, NULL, NULL, &d), 42);
		assert_int_equal(e.calls, stops[s] + 1);
	}
	{
		/* A negative mr_err passes through as well. */
		expect e = { &g, 0, 3, MR_E_AUDIT };

		assert_int_equal(mr_file_lines(fx->path, 1000, check_line, &e, NULL, NULL, &d),
		    MR_E_AUDIT);
		assert_int_equal(e.calls, 4);
	}
	gen_free(&g);
}

static void
test_not_regular(void **state)
{
	fixture *fx = *state;
	char link[4200], want[4300], buf[16];
	uint64_t complete = 7, total = 7;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	r = mr_file_lines(fx->path, 100, no_line, NULL, &complete, &total, &d);
	assert_int_equal(r, MR_E_NOTFOUND);
	snprintf(want, sizeof(want), "%s: not found", fx->path);
	assert_string_equal(mr_diag_text(&d, r), want);
	assert_int_equal(complete, 0);
	assert_int_equal(total, 0);

	write_file(fx->path, "a\n", 2);
	snprintf(link, sizeof(link), "%s/link", fx->dir);
	assert_int_equal(symlink(fx->path, link), 0);
	mr_diag_clear(&d);
	r = mr_file_lines(link, 100, no_line, NULL, NULL, NULL, &d);
	assert_int_equal(r, MR_E_IO);
	snprintf(want, sizeof(want), "%s: is a symbolic link", link);
	assert_string_equal(mr_diag_text(&d, r), want);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_line_at(link, 0, 2, buf, sizeof(buf), &d), MR_E_IO);
	assert_string_equal(mr_diag_text(&d, MR_E_IO), want);

	mr_diag_clear(&d);
	r = mr_file_lines(fx->dir, 100, no_line, NULL, NULL, NULL, &d);
	assert_int_equal(r, MR_E_IO);
	snprintf(want, sizeof(want), "%s: not a regular file", fx->dir);
	assert_string_equal(mr_diag_text(&d, r), want);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_line_at(fx->dir, 0, 2, buf, sizeof(buf), &d), MR_E_IO);
	assert_string_equal(mr_diag_text(&d, MR_E_IO), want);
}

static void
test_line_at(void **state)
{
	fixture *fx = *state;
	char buf[4200], want[4400];
	gen g;
	mr_diag d;

	build(&g, 2049, 3 * (PIECE + 2049), 99);
	write_file(fx->path, g.data, g.len);
	mr_diag_clear(&d);
	/* Whole lines: the first, a few across the file, the last. */
	for (size_t i = 0; i < g.n; i += (i < 3 || i + 3 > g.n) ? 1 : g.n / 17) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(mr_file_line_at(fx->path, g.lines[i].off, g.lines[i].len, buf,
				     g.lines[i].len + 1, &d),
		    MR_OK);
		assert_memory_equal(buf, g.data + g.lines[i].off, g.lines[i].len);
		assert_int_equal(buf[g.lines[i].len], '\0');
	}
	/* Any range: across 64 KiB, the file's last byte, nothing. */
	const struct {
		uint64_t off;
		size_t n;
	} ranges[] = { { PIECE - 100, 4000 }, { 1, 1 }, { 0, 4100 }, { g.len - 1, 1 },
		{ g.len - 2049, 2049 }, { 12345, 0 }, { g.len, 0 } };
	for (size_t i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		memset(buf, 'x', sizeof(buf));
		assert_int_equal(mr_file_line_at(fx->path, ranges[i].off, ranges[i].n, buf,
				     ranges[i].n + 1, &d),
		    MR_OK);
		assert_memory_equal(buf, g.data + ranges[i].off, ranges[i].n);
		assert_int_equal(buf[ranges[i].n], '\0');
	}

	/* Past the end, partly or wholly. */
	mr_diag_clear(&d);
	assert_int_equal(mr_file_line_at(fx->path, g.len - 10, 20, buf, sizeof(buf), &d), MR_E_IO);
	snprintf(want, sizeof(want), "%s: 20 bytes at offset %llu: file too short", fx->path,
	    (unsigned long long)(g.len - 10));
	assert_string_equal(mr_diag_text(&d, MR_E_IO), want);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_line_at(fx->path, g.len + 100, 1, buf, sizeof(buf), &d), MR_E_IO);
	snprintf(want, sizeof(want), "%s: 1 bytes at offset %llu: file too short", fx->path,
	    (unsigned long long)(g.len + 100));
	assert_string_equal(mr_diag_text(&d, MR_E_IO), want);

	/* No room for the NUL. */
	mr_diag_clear(&d);
	assert_int_equal(mr_file_line_at(fx->path, 0, 10, buf, 10, &d), MR_E_RANGE);
	snprintf(want, sizeof(want), "%s: a line of 10 bytes does not fit", fx->path);
	assert_string_equal(mr_diag_text(&d, MR_E_RANGE), want);
	assert_int_equal(mr_file_line_at(fx->path, 0, 9, buf, 10, &d), MR_OK);
	assert_memory_equal(buf, g.data, 9);
	assert_int_equal(buf[9], '\0');

	/* A missing file. */
	snprintf(want, sizeof(want), "%s-none", fx->path);
	mr_diag_clear(&d);
	assert_int_equal(mr_file_line_at(want, 0, 1, buf, sizeof(buf), &d), MR_E_NOTFOUND);
	gen_free(&g);
}

/* A length of SIZE_MAX must not wrap the room check (n + 1 == 0) and let
 * the read past the buffer. */
static void
test_line_at_wrap(void **state)
{
	fixture *fx = *state;
	char buf[16], want[4200];
	mr_diag d;

	write_file(fx->path, "abcde", 5);
	mr_diag_clear(&d);
	snprintf(want, sizeof(want), "%s: a line of %zu bytes does not fit", fx->path,
	    (size_t)SIZE_MAX);
	assert_int_equal(mr_file_line_at(fx->path, 0, SIZE_MAX, buf, sizeof(buf), &d), MR_E_RANGE);
	assert_string_equal(mr_diag_text(&d, MR_E_RANGE), want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_whole_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
		cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_max_line, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
		cmocka_unit_test_setup_teardown(test_not_regular, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_at, setup, teardown),
		cmocka_unit_test_setup_teardown(test_line_at_wrap, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

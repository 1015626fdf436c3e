/*
 * mr_db_parse_file, the database read in pieces by `state check`, gives
 * what mr_db_parse gives on the same bytes: the same rows, where the
 * complete lines end (a torn final line reported, not loaded, not cut),
 * the same message naming a bad line by its number, on files smaller and
 * many times larger than the reader's 64 KiB piece. A missing file is
 * MR_E_NOTFOUND with an empty database; a line longer than any record is
 * MR_E_DB naming it by its number.
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

#include "mr_statecheck.h"

#define H64 "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

typedef test_dir fixture;

static int
setup(void **state)
{
	return test_dir_setup(state, "dbfile", "issued.db");
}

static int
teardown(void **state)
{
	return test_dir_teardown(state);
}

typedef struct {
	char *p;
	size_t len, cap;
} text;

static void
addf(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
addf(text *t, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (t->cap - t->len < 4096) {
		t->cap = t->cap ? t->cap * 2 : 65536;
		t->p = realloc(t->p, t->cap);
		assert_non_null(t->p);
	}
	va_start(ap, fmt);
	k = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	assert_true(k > 0 && (size_t)k < t->cap - t->len);
	t->len += (size_t)k;
}

/* n serials, each reserved, then issued, abandoned or issued and revoked. */
static void
history(text *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char serial[41];
		snprintf(serial, sizeof(serial), "%040zx", i + 1);
		addf(t, "op=reserve serial=%s request=%s cluster=c%zu\n", serial, H64, i % 7);
		if (i % 5 == 3) {
			addf(t, "op=abandon serial=%s reason=test\n", serial);
			continue;
		}
		addf(t, "op=issue serial=%s request=%s cluster=c%zu cert=%s not_after=%zu\n", serial,
		    H64, i % 7, H64, 1000 + i);
		if (i % 9 == 4)
			addf(t, "op=revoke serial=%s reason=keyCompromise time=%zu\n", serial, 50 + i);
	}
}

static void
write_file(const char *path, const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* Both readers on t: same result, same rows, same message. */
static void
same(fixture *fx, const text *t, int want)
{
	mr_db a, b;
	size_t good_a = 0;
	uint64_t good_b = 0, total = 0;
	mr_diag da, db;
	struct stat st;

	write_file(fx->path, t->p, t->len);
	mr_diag_clear(&da);
	mr_diag_clear(&db);
	assert_int_equal(mr_db_parse(&a, fx->path, (const uint8_t *)t->p, t->len, &good_a, &da),
	    want);
	assert_int_equal(mr_db_parse_file(&b, fx->path, &good_b, &total, &db), want);
	assert_string_equal(db.msg, da.msg);
	if (want == MR_OK) {
		assert_int_equal(good_b, good_a);
		assert_int_equal(total, t->len);
		assert_int_equal(b.n, a.n);
		for (size_t i = 0; i < a.n; i++) {
			assert_string_equal(b.e[i].serial, a.e[i].serial);
			assert_int_equal(b.e[i].state, a.e[i].state);
			assert_int_equal(b.e[i].revoked, a.e[i].revoked);
			assert_memory_equal(b.e[i].cert, a.e[i].cert, 32);
			assert_ptr_equal(mr_db_by_serial(&b, a.e[i].serial), &b.e[i]);
		}
		mr_db_close(&a);
		mr_db_close(&b);
	}
	/* Nothing cut. */
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal((size_t)st.st_size, t->len);
}

static void
test_same_as_parse(void **state)
{
	fixture *fx = *state;
	/* Within one piece, and about 40 pieces. */
	const size_t sizes[] = { 3, 10000 };

	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		text t = { 0 };
		history(&t, sizes[k]);
		assert_true(sizes[k] < 10 || t.len > 40 * 65536);
		same(fx, &t, MR_OK);

		/* A torn final line. */
		addf(&t, "op=reserve serial=%040zx req", sizes[k] + 1);
		same(fx, &t, MR_OK);

		/* A bad line in the middle, named by its number. */
		t.len = 0;
		history(&t, sizes[k]);
		addf(&t, "op=reserve serial=%040zx\n", sizes[k] + 1);
		history(&t, 2);
		same(fx, &t, MR_E_DB);
		free(t.p);
	}
}

static void
test_missing_and_long(void **state)
{
	fixture *fx = *state;
	char want[4400];
	text t = { 0 };
	uint64_t good = 0, total = 0;
	mr_db db;
	mr_diag d;

	mr_diag_clear(&d);
	assert_int_equal(mr_db_parse_file(&db, fx->path, &good, &total, &d), MR_E_NOTFOUND);
	assert_int_equal(db.n, 0);
	assert_null(mr_db_by_serial(&db, "01"));
	mr_db_close(&db);

	history(&t, 3);
	addf(&t, "op=reserve serial=%040x request=%s cluster=", 99, H64);
	for (size_t i = 0; i < 2100; i++)
		addf(&t, "x");
	addf(&t, "\n");
	write_file(fx->path, t.p, t.len);
	mr_diag_clear(&d);
	assert_int_equal(mr_db_parse_file(&db, fx->path, &good, &total, &d), MR_E_DB);
	snprintf(want, sizeof(want), "%s: line 7 unreadable", fx->path);
	assert_string_equal(d.msg, want);
	free(t.p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_same_as_parse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_and_long, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

/*
 * mr_record (line records of the audit log and the database), the hex
 * helpers, and the cluster-name allowlist.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mr_cluster.h"
#include "mr_record.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
get(const char *line, const char *key, char *out, size_t cap)
{
	return mr_record_get(line, strlen(line), key, out, cap);
}

/* A finished record is one line of printable ASCII. */
static void
assert_one_printable_line(const mr_record *r)
{
	assert_int_equal(strlen(r->buf), r->len);
	assert_true(r->len >= 1);
	assert_int_equal(r->buf[r->len - 1], '\n');
	for (size_t i = 0; i + 1 < r->len; i++)
		if (r->buf[i] < 0x20 || r->buf[i] > 0x7e)
			fail_msg("byte 0x%02x at %zu", (unsigned char)r->buf[i], i);
}

static void
test_escaping(void **state)
{
	static const struct {
		const char *value, *encoded;
	} v[] = {
		{ "plain", "plain" },
		{ "a.b_c-d:e/f@g+h,i", "a.b_c-d:e/f@g+h,i" },
		{ "a b", "a%20b" },
		{ "100%", "100%25" },
		{ "k=v", "k%3Dv" },
		{ "line\nbreak", "line%0Abreak" },
		{ "cr\r", "cr%0D" },
		{ "tab\t", "tab%09" },
		{ "Z\xc3\xbcrich", "Z%C3%BCrich" },
		{ "\"'`$;|&<>*?", "%22%27%60%24%3B%7C%26%3C%3E%2A%3F" },
		{ "", "" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		mr_record r;
		char want[128], out[128];

		mr_record_init(&r);
		mr_record_add(&r, "k", v[i].value);
		assert_int_equal(mr_record_finish(&r), MR_OK);
		snprintf(want, sizeof(want), "k=%s\n", v[i].encoded);
		assert_string_equal(r.buf, want);
		assert_one_printable_line(&r);
		assert_int_equal(mr_record_get(r.buf, r.len, "k", out, sizeof(out)), MR_OK);
		assert_string_equal(out, v[i].value);
	}
}

static void
test_roundtrip_many_fields(void **state)
{
	static const struct {
		const char *key, *value;
	} f[] = {
		{ "event", "issue" },
		{ "subject", "CN=prod east,O=Example Org" },
		{ "note", "50% done = ok\nnext line" },
		{ "utf8", "\xe2\x9c\x93 \xf0\x9f\x94\x91 na\xc3\xafve" },
		{ "empty", "" },
		{ "sneaky", "x=1 event=forged" },
	};
	mr_record r;
	size_t spaces = 0;

	(void)state;
	mr_record_init(&r);
	for (size_t i = 0; i < NELEM(f); i++)
		mr_record_add(&r, f[i].key, f[i].value);
	mr_record_addf(&r, "n", "%d-%s", 42, "x y");
	assert_int_equal(mr_record_finish(&r), MR_OK);
	assert_one_printable_line(&r);
	/* Spaces only separate fields. */
	for (size_t i = 0; i < r.len; i++)
		spaces += r.buf[i] == ' ';
	assert_int_equal(spaces, NELEM(f));
	for (size_t i = 0; i < NELEM(f); i++) {
		char out[256];

		assert_int_equal(mr_record_get(r.buf, r.len, f[i].key, out, sizeof(out)), MR_OK);
		assert_string_equal(out, f[i].value);
	}
	{
		char out[64];

		assert_int_equal(get(r.buf, "n", out, sizeof(out)), MR_OK);
		assert_string_equal(out, "42-x y");
		/* The value of "sneaky" does not create a second "event". */
		assert_int_equal(get(r.buf, "event", out, sizeof(out)), MR_OK);
		assert_string_equal(out, "issue");
	}
}

/* Every byte value except NUL survives the trip. */
static void
test_roundtrip_all_bytes(void **state)
{
	char value[256], out[256];
	mr_record r;

	(void)state;
	for (int i = 1; i < 256; i++)
		value[i - 1] = (char)i;
	value[255] = '\0';
	mr_record_init(&r);
	mr_record_add(&r, "all", value);
	assert_int_equal(mr_record_finish(&r), MR_OK);
	assert_one_printable_line(&r);
	assert_int_equal(mr_record_get(r.buf, r.len, "all", out, sizeof(out)), MR_OK);
	assert_memory_equal(out, value, 256);
}

static void
test_get_keys(void **state)
{
	static const char line[] = "ab=1 a=2 abc=3 x=a y=a%3Db\n";
	char out[16];

	(void)state;
	assert_int_equal(get(line, "a", out, sizeof(out)), MR_OK);
	assert_string_equal(out, "2");
	assert_int_equal(get(line, "ab", out, sizeof(out)), MR_OK);
	assert_string_equal(out, "1");
	assert_int_equal(get(line, "abc", out, sizeof(out)), MR_OK);
	assert_string_equal(out, "3");
	assert_int_equal(get(line, "y", out, sizeof(out)), MR_OK);
	assert_string_equal(out, "a=b");
	assert_int_equal(get(line, "b", out, sizeof(out)), MR_E_NOTFOUND);
	assert_int_equal(get(line, "abcd", out, sizeof(out)), MR_E_NOTFOUND);
	assert_int_equal(get(line, "1", out, sizeof(out)), MR_E_NOTFOUND);
	assert_int_equal(get("", "a", out, sizeof(out)), MR_E_NOTFOUND);
	/* Only the first line counts. */
	assert_int_equal(get("a=1\nb=2\n", "b", out, sizeof(out)), MR_E_NOTFOUND);
	/* n bounds the search even without a NUL or newline. */
	assert_int_equal(mr_record_get("a=1 b=2", 3, "b", out, sizeof(out)), MR_E_NOTFOUND);
	assert_int_equal(mr_record_get("a=12345", 4, "a", out, sizeof(out)), MR_OK);
	assert_string_equal(out, "12");
	/* Lowercase escapes decode too. */
	assert_int_equal(get("k=%3d%c3%a9", "k", out, sizeof(out)), MR_OK);
	assert_string_equal(out, "=\xc3\xa9");
}

static void
test_get_range(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'x', sizeof(out));
	assert_int_equal(get("k=abcd", "k", out, 5), MR_OK);
	assert_string_equal(out, "abcd");
	assert_int_equal(get("k=abcd", "k", out, 4), MR_E_RANGE);
	assert_int_equal(get("k=abcd", "k", out, 0), MR_E_RANGE);
	assert_int_equal(get("k=%41%42", "k", out, 3), MR_OK);
	assert_string_equal(out, "AB");
	assert_int_equal(get("k=%41%42", "k", out, 2), MR_E_RANGE);
	assert_int_equal(get("k=", "k", out, 1), MR_OK);
	assert_string_equal(out, "");
	assert_int_equal(get("k=", "k", out, 0), MR_E_RANGE);
	/* Nothing is written past cap. */
	memset(out, 'x', sizeof(out));
	assert_int_equal(get("k=abcdefgh", "k", out, 4), MR_E_RANGE);
	assert_int_equal(out[4], 'x');
}

static void
test_get_malformed(void **state)
{
	static const char *const lines[] = {
		"k=%", "k=%4", "k=%zz", "k=%4g", "k=%g4", "k=ab%", "k=ab%4", "k=%%41",
		"k=%4 j=1", "k=% 41",
		/* A NUL cannot come from mr_record_add and would cut the value
		 * short for every C caller. */
		"k=%00", "k=ab%00cd",
	};

	(void)state;
	for (size_t i = 0; i < NELEM(lines); i++) {
		char out[32];
		int rc = get(lines[i], "k", out, sizeof(out));

		if (rc != MR_E_DER)
			fail_msg("\"%s\": rc %d, want MR_E_DER", lines[i], rc);
	}
}

static void
test_overflow(void **state)
{
	char *value = malloc(MR_RECORD_MAX + 1);
	mr_record r;
	size_t len;

	(void)state;
	assert_non_null(value);
	/* "k=" plus the value, '\n' and NUL exactly fill the buffer. */
	memset(value, 'v', MR_RECORD_MAX);
	value[MR_RECORD_MAX - 4] = '\0';
	mr_record_init(&r);
	mr_record_add(&r, "k", value);
	assert_int_equal(mr_record_finish(&r), MR_OK);
	assert_int_equal(r.len, MR_RECORD_MAX - 1);
	assert_int_equal(strlen(r.buf), MR_RECORD_MAX - 1);

	/* One byte more does not fit. */
	value[MR_RECORD_MAX - 4] = 'v';
	value[MR_RECORD_MAX - 3] = '\0';
	mr_record_init(&r);
	mr_record_add(&r, "k", value);
	assert_int_equal(mr_record_finish(&r), MR_E_RANGE);

	/* Escaping triples the size: a third of the room in spaces overflows. */
	memset(value, ' ', MR_RECORD_MAX / 3 + 1);
	value[MR_RECORD_MAX / 3 + 1] = '\0';
	mr_record_init(&r);
	mr_record_add(&r, "k", value);
	assert_int_equal(mr_record_finish(&r), MR_E_RANGE);

	/* The error is sticky: a field that would fit is not added after it. */
	memset(value, 'v', MR_RECORD_MAX);
	value[MR_RECORD_MAX - 1] = '\0';
	mr_record_init(&r);
	mr_record_add(&r, "a", "1");
	mr_record_add(&r, "big", value);
	len = r.len;
	mr_record_add(&r, "b", "2");
	assert_int_equal(r.len, len);
	assert_null(strstr(r.buf, "b=2"));
	assert_int_equal(mr_record_finish(&r), MR_E_RANGE);
	free(value);

	/* addf past its own buffer, add_hex past 64 bytes. */
	{
		uint8_t b[65] = { 0 };

		mr_record_init(&r);
		mr_record_addf(&r, "k", "%01100d", 0);
		assert_int_equal(mr_record_finish(&r), MR_E_RANGE);
		mr_record_init(&r);
		mr_record_add_hex(&r, "h", b, 65);
		assert_int_equal(mr_record_finish(&r), MR_E_RANGE);
		mr_record_init(&r);
		mr_record_add_hex(&r, "h", b, 64);
		assert_int_equal(mr_record_finish(&r), MR_OK);
	}
}

static void
test_append(void **state)
{
	mr_record a, b, empty, bad;
	char out[32];

	(void)state;
	mr_record_init(&a);
	mr_record_add(&a, "a", "1");
	mr_record_init(&b);
	mr_record_add(&b, "b", "2");
	mr_record_add(&b, "c", "x y");
	mr_record_init(&empty);
	mr_record_append(&a, &empty);
	mr_record_append(&a, &b);
	assert_int_equal(mr_record_finish(&a), MR_OK);
	assert_string_equal(a.buf, "a=1 b=2 c=x%20y\n");
	assert_int_equal(get(a.buf, "c", out, sizeof(out)), MR_OK);
	assert_string_equal(out, "x y");

	/* Appending to an empty record adds no leading space. */
	mr_record_init(&a);
	mr_record_append(&a, &b);
	assert_int_equal(mr_record_finish(&a), MR_OK);
	assert_string_equal(a.buf, "b=2 c=x%20y\n");

	/* An error in the appended record carries over. */
	mr_record_init(&bad);
	mr_record_add_hex(&bad, "h", (const uint8_t *)"", 65);
	mr_record_init(&a);
	mr_record_add(&a, "a", "1");
	mr_record_append(&a, &bad);
	assert_int_equal(mr_record_finish(&a), MR_E_RANGE);
}

static void
test_hex(void **state)
{
	static const uint8_t bytes[] = { 0x00, 0x01, 0x7f, 0x80, 0xab, 0xff };
	uint8_t all[256], back[256];
	char hex[2 * 256 + 1];

	(void)state;
	mr_hex_encode(bytes, sizeof(bytes), hex);
	assert_string_equal(hex, "00017f80abff");
	mr_hex_encode(bytes, 0, hex);
	assert_string_equal(hex, "");

	assert_int_equal(mr_hex_decode("00017f80abff", back, 6), MR_OK);
	assert_memory_equal(back, bytes, 6);
	assert_int_equal(mr_hex_decode("00017F80ABFF", back, 6), MR_OK);
	assert_memory_equal(back, bytes, 6);
	assert_int_equal(mr_hex_decode("", back, 0), MR_OK);
	assert_int_equal(mr_hex_decode("00017f80abf", back, 6), MR_E_DER);   /* short */
	assert_int_equal(mr_hex_decode("00017f80abff00", back, 6), MR_E_DER); /* long */
	assert_int_equal(mr_hex_decode("00017f80abfg", back, 6), MR_E_DER);
	assert_int_equal(mr_hex_decode("0x017f80abff", back, 6), MR_E_DER);
	assert_int_equal(mr_hex_decode(" 0017f80abff", back, 6), MR_E_DER);
	assert_int_equal(mr_hex_decode("00:1", back, 2), MR_E_DER);

	for (int i = 0; i < 256; i++)
		all[i] = (uint8_t)i;
	mr_hex_encode(all, sizeof(all), hex);
	assert_int_equal(strlen(hex), 512);
	assert_int_equal(mr_hex_decode(hex, back, sizeof(back)), MR_OK);
	assert_memory_equal(back, all, sizeof(all));

	/* add_hex writes lowercase hex that reads back. */
	{
		mr_record r;
		char out[16];

		mr_record_init(&r);
		mr_record_add_hex(&r, "h", bytes, sizeof(bytes));
		assert_int_equal(mr_record_finish(&r), MR_OK);
		assert_string_equal(r.buf, "h=00017f80abff\n");
		assert_int_equal(get(r.buf, "h", out, sizeof(out)), MR_OK);
		assert_int_equal(mr_hex_decode(out, back, 6), MR_OK);
		assert_memory_equal(back, bytes, 6);
	}
}

static void
test_cluster_names(void **state)
{
	static const char *const good[] = {
		"a", "0", "prod", "prod-east-1", "a-b", "9lives", "x1-y2-z3",
	};
	static const char *const bad[] = {
		"", "Prod", "PROD", "prod.east", ".", "..", "../x", "a/b", "/", "a_b",
		"a b", " a", "a\n", "a\t", "caf\xc3\xa9", "a;b", "a$b", "a*", "a:b", "a\\b",
		"a%2e", "~a",
	};
	char name[MR_CLUSTER_MAX + 2];

	(void)state;
	for (size_t i = 0; i < NELEM(good); i++)
		if (!mr_cluster_name_ok(good[i]))
			fail_msg("rejected \"%s\"", good[i]);
	for (size_t i = 0; i < NELEM(bad); i++)
		if (mr_cluster_name_ok(bad[i]))
			fail_msg("accepted \"%s\"", bad[i]);

	/* 63 characters: the limit; 64: over it. */
	memset(name, 'a', sizeof(name));
	name[MR_CLUSTER_MAX] = '\0';
	assert_int_equal(MR_CLUSTER_MAX, 63);
	assert_true(mr_cluster_name_ok(name));
	name[MR_CLUSTER_MAX] = 'a';
	name[MR_CLUSTER_MAX + 1] = '\0';
	assert_false(mr_cluster_name_ok(name));
	/* A good name followed by more characters in a longer buffer. */
	assert_true(mr_cluster_name_ok_n(name, MR_CLUSTER_MAX));
	assert_false(mr_cluster_name_ok_n(name, MR_CLUSTER_MAX + 1));

	/* The _n form looks at exactly n bytes. */
	assert_true(mr_cluster_name_ok_n("prod/../x", 4));
	assert_false(mr_cluster_name_ok_n("prod/../x", 5));
	assert_false(mr_cluster_name_ok_n("prod", 0));
	assert_false(mr_cluster_name_ok_n("pr\0d", 4));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escaping),
		cmocka_unit_test(test_roundtrip_many_fields),
		cmocka_unit_test(test_roundtrip_all_bytes),
		cmocka_unit_test(test_get_keys),
		cmocka_unit_test(test_get_range),
		cmocka_unit_test(test_get_malformed),
		cmocka_unit_test(test_overflow),
		cmocka_unit_test(test_append),
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_cluster_names),
	};

	return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}

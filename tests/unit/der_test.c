/*
 * mr_der: the bounded reader and the backwards writer.
 *
 * Reader vectors are data with the expected outcome next to them; every
 * rejection also checks that the cursor did not move. Writer output is
 * checked byte for byte where the encoding is fixed by X.690, and otherwise
 * read back with the reader.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mr_der.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A DER header followed by `len` content bytes, so that only the header
 * decides the outcome. Returns the total size; the caller frees *out. */
static size_t
element(const uint8_t *hdr, size_t hdr_len, size_t len, uint8_t **out)
{
	uint8_t *b = malloc(hdr_len + len + 1);

	assert_non_null(b);
	memcpy(b, hdr, hdr_len);
	for (size_t i = 0; i < len; i++)
		b[hdr_len + i] = (uint8_t)(i * 7 + 1);
	*out = b;
	return hdr_len + len;
}

static void
test_next_short_form(void **state)
{
	static const uint8_t buf[] = { 0x04, 0x03, 'a', 'b', 'c', 0x05, 0x00 };
	mr_der in = mr_der_view(buf, sizeof(buf)), content, whole;
	uint8_t tag = 0;

	(void)state;
	assert_int_equal(mr_der_peek(&in), 0x04);
	assert_int_equal(mr_der_next(&in, &tag, &content, &whole), MR_OK);
	assert_int_equal(tag, 0x04);
	assert_ptr_equal(content.p, buf + 2);
	assert_int_equal(content.n, 3);
	assert_memory_equal(content.p, "abc", 3);
	assert_ptr_equal(whole.p, buf);
	assert_int_equal(whole.n, 5);
	assert_ptr_equal(in.p, buf + 5);
	assert_int_equal(in.n, 2);

	/* NULL outputs are allowed; an empty element is fine. */
	assert_int_equal(mr_der_next(&in, NULL, NULL, NULL), MR_OK);
	assert_int_equal(in.n, 0);
	assert_int_equal(mr_der_peek(&in), -1);
	assert_int_equal(mr_der_next(&in, &tag, &content, &whole), MR_E_DER);
	assert_int_equal(in.n, 0);
}

static void
test_next_long_form(void **state)
{
	static const struct {
		uint8_t hdr[5];
		size_t hdr_len, len;
	} v[] = {
		{ { 0x04, 0x7f }, 2, 0x7f },
		{ { 0x04, 0x81, 0x80 }, 3, 0x80 },
		{ { 0x04, 0x81, 0xff }, 3, 0xff },
		{ { 0x04, 0x82, 0x01, 0x00 }, 4, 0x100 },
		{ { 0x30, 0x82, 0xff, 0xff }, 4, 0xffff },
		{ { 0x04, 0x83, 0x01, 0x00, 0x00 }, 5, 0x10000 },
		{ { 0x04, 0x83, 0x10, 0x00, 0x00 }, 5, MR_DER_MAX_LEN },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		uint8_t *b, tag = 0;
		size_t n = element(v[i].hdr, v[i].hdr_len, v[i].len, &b);
		/* One byte more than the element, to see that only it is taken. */
		mr_der in = mr_der_view(b, n + 1), content, whole;

		b[n] = 0xee;
		assert_int_equal(mr_der_next(&in, &tag, &content, &whole), MR_OK);
		assert_int_equal(tag, v[i].hdr[0]);
		assert_ptr_equal(content.p, b + v[i].hdr_len);
		assert_int_equal(content.n, v[i].len);
		assert_int_equal(whole.n, n);
		assert_int_equal(in.n, 1);
		assert_int_equal(in.p[0], 0xee);
		free(b);
	}
}

/* Each vector is malformed only in the way its comment says. */
static void
test_next_rejects(void **state)
{
	static const struct {
		const char *why;
		uint8_t hdr[6];
		size_t hdr_len;
		size_t len; /* content bytes actually present after hdr */
	} v[] = {
		{ "empty", { 0 }, 0, 0 },
		{ "tag only", { 0x04 }, 1, 0 },
		{ "indefinite length", { 0x30, 0x80 }, 2, 4 },
		{ "0x81 with a short length", { 0x04, 0x81, 0x05 }, 3, 5 },
		{ "0x81 0x7f", { 0x04, 0x81, 0x7f }, 3, 0x7f },
		{ "0x82 with a leading zero", { 0x04, 0x82, 0x00, 0x05 }, 4, 5 },
		{ "0x82 00 ff", { 0x04, 0x82, 0x00, 0xff }, 4, 0xff },
		{ "0x83 with a leading zero", { 0x04, 0x83, 0x00, 0x01, 0x00 }, 5, 0x100 },
		{ "four length bytes", { 0x04, 0x84, 0x00, 0x00, 0x01, 0x00 }, 6, 0x100 },
		{ "0xff length", { 0x04, 0xff }, 2, 8 },
		{ "length bytes cut off", { 0x04, 0x82, 0x01 }, 3, 0 },
		{ "0x81 without its length byte", { 0x04, 0x81 }, 2, 0 },
		{ "short length past the buffer", { 0x04, 0x05 }, 2, 4 },
		{ "long length past the buffer", { 0x04, 0x81, 0x90 }, 3, 0x8f },
		{ "0x82 length past the buffer", { 0x04, 0x82, 0x01, 0x00 }, 4, 0xff },
		{ "beyond MR_DER_MAX_LEN", { 0x04, 0x83, 0x10, 0x00, 0x01 }, 5, MR_DER_MAX_LEN + 1 },
		{ "high tag number 0x1f", { 0x1f, 0x01, 0x00 }, 3, 0 },
		{ "high tag number 0x3f", { 0x3f, 0x01, 0x00 }, 3, 0 },
		{ "high tag number 0x9f", { 0x9f, 0x01, 0x00 }, 3, 0 },
		{ "high tag number 0xbf", { 0xbf, 0x01, 0x00 }, 3, 0 },
		{ "high tag number 0xdf", { 0xdf, 0x00 }, 2, 0 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		uint8_t *b, tag = 0xaa;
		size_t n = element(v[i].hdr, v[i].hdr_len, v[i].len, &b);
		mr_der in = mr_der_view(b, n), before = in, content, whole;

		if (mr_der_next(&in, &tag, &content, &whole) != MR_E_DER)
			fail_msg("accepted: %s", v[i].why);
		assert_ptr_equal(in.p, before.p);
		assert_int_equal(in.n, before.n);
		/* mr_der_expect is no more lenient, and also leaves the cursor. */
		assert_int_equal(mr_der_expect(&in, v[i].hdr_len ? v[i].hdr[0] : (uint8_t)0x04,
		    &content, NULL), MR_E_DER);
		assert_ptr_equal(in.p, before.p);
		assert_int_equal(in.n, before.n);
		free(b);
	}
}

static void
test_expect(void **state)
{
	static const uint8_t buf[] = { 0x02, 0x01, 0x05, 0x04, 0x00 };
	mr_der in = mr_der_view(buf, sizeof(buf)), c, whole;

	(void)state;
	assert_int_equal(mr_der_expect(&in, MR_DER_OCTET_STRING, &c, NULL), MR_E_DER);
	assert_ptr_equal(in.p, buf);
	assert_int_equal(in.n, sizeof(buf));
	assert_int_equal(mr_der_expect(&in, MR_DER_INTEGER, &c, &whole), MR_OK);
	assert_int_equal(c.n, 1);
	assert_int_equal(c.p[0], 5);
	assert_ptr_equal(whole.p, buf);
	assert_int_equal(whole.n, 3);
	assert_int_equal(mr_der_expect(&in, MR_DER_OCTET_STRING, &c, NULL), MR_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(in.n, 0);
}

static void
test_whole(void **state)
{
	static const uint8_t ok[] = { 0x30, 0x03, 0x02, 0x01, 0x07 };
	static const uint8_t trailing[] = { 0x30, 0x03, 0x02, 0x01, 0x07, 0x00 };
	static const uint8_t trailing_elem[] = { 0x30, 0x00, 0x05, 0x00 };
	static const uint8_t short_buf[] = { 0x30, 0x04, 0x02, 0x01, 0x07 };
	mr_der c;

	(void)state;
	assert_int_equal(mr_der_whole(ok, sizeof(ok), MR_DER_SEQUENCE, &c), MR_OK);
	assert_ptr_equal(c.p, ok + 2);
	assert_int_equal(c.n, 3);
	assert_int_equal(mr_der_whole(ok, sizeof(ok), MR_DER_SET, &c), MR_E_DER);
	assert_int_equal(mr_der_whole(trailing, sizeof(trailing), MR_DER_SEQUENCE, &c),
	    MR_E_DER);
	assert_int_equal(mr_der_whole(trailing_elem, sizeof(trailing_elem),
	    MR_DER_SEQUENCE, &c), MR_E_DER);
	assert_int_equal(mr_der_whole(short_buf, sizeof(short_buf), MR_DER_SEQUENCE, &c),
	    MR_E_DER);
	assert_int_equal(mr_der_whole(ok, 0, MR_DER_SEQUENCE, &c), MR_E_DER);
	/* Every proper prefix is incomplete. */
	for (size_t n = 0; n < sizeof(ok); n++)
		assert_int_equal(mr_der_whole(ok, n, MR_DER_SEQUENCE, &c), MR_E_DER);
}

static void
test_equal(void **state)
{
	static const uint8_t a[] = { 1, 2, 3 }, b[] = { 1, 2, 3 }, d[] = { 1, 2, 4 };

	(void)state;
	assert_true(mr_der_equal(mr_der_view(a, 3), mr_der_view(b, 3)));
	assert_false(mr_der_equal(mr_der_view(a, 3), mr_der_view(d, 3)));
	assert_false(mr_der_equal(mr_der_view(a, 3), mr_der_view(b, 2)));
	assert_true(mr_der_equal(mr_der_view(NULL, 0), mr_der_view(a, 0)));
	assert_false(mr_der_equal(mr_der_view(NULL, 0), mr_der_view(a, 1)));
}

static void
test_bits(void **state)
{
	static const uint8_t ok[] = { 0x00, 0xab, 0xcd }, unused[] = { 0x01, 0xab },
	    only[] = { 0x00 };
	mr_der bytes;

	(void)state;
	assert_int_equal(mr_der_bits(mr_der_view(ok, 3), &bytes), MR_OK);
	assert_ptr_equal(bytes.p, ok + 1);
	assert_int_equal(bytes.n, 2);
	assert_int_equal(mr_der_bits(mr_der_view(only, 1), &bytes), MR_OK);
	assert_int_equal(bytes.n, 0);
	assert_int_equal(mr_der_bits(mr_der_view(unused, 2), &bytes), MR_E_DER);
	assert_int_equal(mr_der_bits(mr_der_view(NULL, 0), &bytes), MR_E_DER);
}

static void
test_bool(void **state)
{
	static const struct {
		uint8_t b[2];
		size_t n;
		int rc, value;
	} v[] = {
		{ { 0xff }, 1, MR_OK, 1 },
		{ { 0x00 }, 1, MR_OK, 0 },
		{ { 0x01 }, 1, MR_E_DER, 0 }, /* BER TRUE, not DER */
		{ { 0x80 }, 1, MR_E_DER, 0 },
		{ { 0xfe }, 1, MR_E_DER, 0 },
		{ { 0x00 }, 0, MR_E_DER, 0 },
		{ { 0xff, 0xff }, 2, MR_E_DER, 0 },
		{ { 0x00, 0x00 }, 2, MR_E_DER, 0 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		int value = 42;

		assert_int_equal(mr_der_bool(mr_der_view(v[i].b, v[i].n), &value), v[i].rc);
		if (v[i].rc == MR_OK)
			assert_int_equal(value, v[i].value);
	}
}

static void
test_uint(void **state)
{
	static const struct {
		uint8_t b[10];
		size_t n;
		int rc;
		unsigned long value;
	} v[] = {
		{ { 0x00 }, 1, MR_OK, 0 },
		{ { 0x01 }, 1, MR_OK, 1 },
		{ { 0x7f }, 1, MR_OK, 127 },
		{ { 0x00, 0x80 }, 2, MR_OK, 128 },
		{ { 0x00, 0xff }, 2, MR_OK, 255 },
		{ { 0x01, 0x00 }, 2, MR_OK, 256 },
		{ { 0x7f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff }, 8, MR_OK, 0x7fffffffffffffffUL },
		{ { 0x00, 0x80, 0, 0, 0, 0, 0, 0 }, 8, MR_OK, 0x80000000000000UL },
		{ { 0 }, 0, MR_E_DER, 0 },                 /* empty */
		{ { 0x00, 0x00 }, 2, MR_E_DER, 0 },        /* not minimal */
		{ { 0x00, 0x7f }, 2, MR_E_DER, 0 },        /* not minimal */
		{ { 0x00, 0x00, 0x80 }, 3, MR_E_DER, 0 },  /* not minimal */
		{ { 0x80 }, 1, MR_E_DER, 0 },              /* -128 */
		{ { 0xff }, 1, MR_E_DER, 0 },              /* -1 */
		{ { 0xff, 0x7f }, 2, MR_E_DER, 0 },        /* negative */
		{ { 0x00, 0x80, 0, 0, 0, 0, 0, 0, 0 }, 9, MR_E_DER, 0 }, /* 2^63: too big */
		{ { 0x01, 0, 0, 0, 0, 0, 0, 0, 0 }, 9, MR_E_DER, 0 },
	};

	(void)state;
	assert_int_equal(sizeof(unsigned long), 8); /* the vectors assume LP64 */
	for (size_t i = 0; i < NELEM(v); i++) {
		unsigned long value = 4242;
		int rc = mr_der_uint(mr_der_view(v[i].b, v[i].n), &value);

		if (rc != v[i].rc)
			fail_msg("vector %zu: rc %d, want %d", i, rc, v[i].rc);
		if (rc == MR_OK)
			assert_int_equal(value, v[i].value);
	}
}

static const struct {
	uint8_t tag;
	const char *s;
	time_t t;
} good_times[] = {
	{ MR_DER_UTC_TIME, "700101000000Z", 0 },
	{ MR_DER_UTC_TIME, "500101000000Z", -631152000 },       /* first UTCTime year */
	{ MR_DER_UTC_TIME, "991231235959Z", 946684799 },
	{ MR_DER_UTC_TIME, "000229120000Z", 951825600 },        /* 2000 is a leap year */
	{ MR_DER_UTC_TIME, "240229000000Z", 1709164800 },
	{ MR_DER_UTC_TIME, "491231235959Z", 2524607999 },       /* last UTCTime second */
	{ MR_DER_GENERALIZED_TIME, "20500101000000Z", 2524608000 },
	{ MR_DER_GENERALIZED_TIME, "19500101000000Z", -631152000 },
	{ MR_DER_GENERALIZED_TIME, "20491231235959Z", 2524607999 },
	{ MR_DER_GENERALIZED_TIME, "20240229000000Z", 1709164800 },
	{ MR_DER_GENERALIZED_TIME, "99991231235959Z", 253402300799 },
};

static void
test_time_valid(void **state)
{
	(void)state;
	for (size_t i = 0; i < NELEM(good_times); i++) {
		time_t t = 1;
		const char *s = good_times[i].s;

		if (mr_der_time(good_times[i].tag, mr_der_view((const uint8_t *)s, strlen(s)),
			&t) != MR_OK)
			fail_msg("rejected %s", s);
		if (t != good_times[i].t)
			fail_msg("%s: got %lld, want %lld", s, (long long)t,
			    (long long)good_times[i].t);
	}
}

static void
test_time_invalid(void **state)
{
	static const struct {
		uint8_t tag;
		const char *s;
	} v[] = {
		{ MR_DER_UTC_TIME, "" },
		{ MR_DER_UTC_TIME, "5001010000Z" },      /* no seconds */
		{ MR_DER_UTC_TIME, "500101000000" },     /* no Z */
		{ MR_DER_UTC_TIME, "500101000000z" },
		{ MR_DER_UTC_TIME, "500101000000+0000" },
		{ MR_DER_UTC_TIME, "5001010000000Z" },   /* one digit too many */
		{ MR_DER_UTC_TIME, "20500101000000Z" },  /* GeneralizedTime content */
		{ MR_DER_UTC_TIME, "501301000000Z" },    /* month 13 */
		{ MR_DER_UTC_TIME, "500001000000Z" },    /* month 0 */
		{ MR_DER_UTC_TIME, "500100000000Z" },    /* day 0 */
		{ MR_DER_UTC_TIME, "500132000000Z" },    /* day 32 */
		{ MR_DER_UTC_TIME, "500101240000Z" },    /* hour 24 */
		{ MR_DER_UTC_TIME, "500101006000Z" },    /* minute 60 */
		{ MR_DER_UTC_TIME, "500101000060Z" },    /* second 60 */
		{ MR_DER_UTC_TIME, "5a0101000000Z" },
		{ MR_DER_UTC_TIME, " 50101000000Z" },
		{ MR_DER_UTC_TIME, "-50101000000Z" },
		{ MR_DER_UTC_TIME, "+50101000000Z" },
		{ MR_DER_UTC_TIME, "50010100000 Z" },
		{ MR_DER_UTC_TIME, "230230000000Z" },    /* 30 February */
		{ MR_DER_UTC_TIME, "230229000000Z" },    /* 29 February 2023 */
		{ MR_DER_UTC_TIME, "230431000000Z" },    /* 31 April */
		{ MR_DER_UTC_TIME, "230631000000Z" },    /* 31 June */
		{ MR_DER_UTC_TIME, "230931000000Z" },    /* 31 September */
		{ MR_DER_UTC_TIME, "231131000000Z" },    /* 31 November */
		{ MR_DER_GENERALIZED_TIME, "205001010000Z" },
		{ MR_DER_GENERALIZED_TIME, "500101000000Z" },  /* UTCTime content */
		{ MR_DER_GENERALIZED_TIME, "20500101000000" },
		{ MR_DER_GENERALIZED_TIME, "20500101000000.5Z" },
		{ MR_DER_GENERALIZED_TIME, "205001010000.0Z" },
		{ MR_DER_GENERALIZED_TIME, "2050010100000Z" },
		{ MR_DER_GENERALIZED_TIME, "21000229000000Z" }, /* 2100 is not a leap year */
		{ MR_DER_GENERALIZED_TIME, "20501301000000Z" },
		{ MR_DER_OCTET_STRING, "500101000000Z" },      /* not a time tag */
		{ MR_DER_UTF8_STRING, "20500101000000Z" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		time_t t = 12345;

		if (mr_der_time(v[i].tag, mr_der_view((const uint8_t *)v[i].s, strlen(v[i].s)),
			&t) != MR_E_DER)
			fail_msg("accepted tag 0x%02x \"%s\"", v[i].tag, v[i].s);
	}
}

/* X.690 examples written by hand. */
static void
test_writer_known_answers(void **state)
{
	static const uint8_t want[] = {
		0x30, 0x0f,
		0x02, 0x01, 0x05,
		0x01, 0x01, 0xff,
		0x01, 0x01, 0x00,
		0x03, 0x02, 0x00, 0xa5,
		0x05, 0x00,
	};
	uint8_t buf[64];
	mr_dw w;
	const uint8_t *out;
	size_t len;

	(void)state;
	mr_dw_init(&w, buf, sizeof(buf));
	assert_int_equal(mr_dw_len(&w), 0);
	mr_dw_tlv(&w, MR_DER_NULL, NULL, 0);
	mr_dw_bits(&w, (const uint8_t[]){ 0xa5 }, 1);
	mr_dw_bool(&w, 0);
	mr_dw_bool(&w, 7); /* any non-zero is TRUE, written as 0xff */
	mr_dw_uint(&w, 5);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, 0);
	assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(out, want, sizeof(want));
	/* The output ends at the end of the buffer. */
	assert_ptr_equal(out + len, buf + sizeof(buf));
}

static void
test_writer_uint_bytes(void **state)
{
	static const struct {
		uint8_t in[4];
		size_t n;
		uint8_t want[6];
		size_t want_len;
	} v[] = {
		{ { 0 }, 0, { 0x02, 0x01, 0x00 }, 3 },
		{ { 0x00 }, 1, { 0x02, 0x01, 0x00 }, 3 },
		{ { 0x00, 0x00, 0x00 }, 3, { 0x02, 0x01, 0x00 }, 3 },
		{ { 0x00, 0x00, 0x05 }, 3, { 0x02, 0x01, 0x05 }, 3 },
		{ { 0x7f }, 1, { 0x02, 0x01, 0x7f }, 3 },
		{ { 0x80 }, 1, { 0x02, 0x02, 0x00, 0x80 }, 4 },
		{ { 0x00, 0x80 }, 2, { 0x02, 0x02, 0x00, 0x80 }, 4 },
		{ { 0x00, 0x00, 0xff, 0x01 }, 4, { 0x02, 0x03, 0x00, 0xff, 0x01 }, 5 },
		{ { 0x01, 0x00, 0x00, 0x00 }, 4, { 0x02, 0x04, 0x01, 0x00, 0x00, 0x00 }, 6 },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		uint8_t buf[16];
		mr_dw w;
		const uint8_t *out;
		size_t len;
		mr_der c;
		unsigned long value, want = 0;

		mr_dw_init(&w, buf, sizeof(buf));
		mr_dw_uint_bytes(&w, v[i].n ? v[i].in : NULL, v[i].n);
		assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);
		assert_int_equal(len, v[i].want_len);
		assert_memory_equal(out, v[i].want, len);
		/* The reader agrees on the value. */
		assert_int_equal(mr_der_whole(out, len, MR_DER_INTEGER, &c), MR_OK);
		assert_int_equal(mr_der_uint(c, &value), MR_OK);
		for (size_t k = 0; k < v[i].n; k++)
			want = want << 8 | v[i].in[k];
		assert_int_equal(value, want);
	}
}

static void
test_writer_uint_roundtrip(void **state)
{
	static const unsigned long vals[] = {
		0, 1, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
		0x7fffffffUL, 0x80000000UL, 0xffffffffUL, 0x7fffffffffffffffUL,
	};

	(void)state;
	for (size_t i = 0; i < NELEM(vals); i++) {
		uint8_t buf[16];
		mr_dw w;
		const uint8_t *out;
		size_t len;
		mr_der c;
		unsigned long value;

		mr_dw_init(&w, buf, sizeof(buf));
		mr_dw_uint(&w, vals[i]);
		assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);
		assert_int_equal(mr_der_whole(out, len, MR_DER_INTEGER, &c), MR_OK);
		assert_int_equal(mr_der_uint(c, &value), MR_OK);
		assert_int_equal(value, vals[i]);
	}
	/* Values with the top bit set get a 0x00 in front: 9 content bytes,
	 * more than mr_der_uint reads. */
	{
		static const uint8_t want[] = { 0x02, 0x09, 0x00, 0xff, 0xff, 0xff, 0xff,
			0xff, 0xff, 0xff, 0xff };
		uint8_t buf[16];
		mr_dw w;
		const uint8_t *out;
		size_t len;

		mr_dw_init(&w, buf, sizeof(buf));
		mr_dw_uint(&w, ~0UL);
		assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);
		assert_int_equal(len, sizeof(want));
		assert_memory_equal(out, want, sizeof(want));
	}
}

/* Headers for every length form, including the limit. */
static void
test_writer_lengths(void **state)
{
	static const struct {
		size_t len;
		uint8_t hdr[5];
		size_t hdr_len;
	} v[] = {
		{ 0, { 0x04, 0x00 }, 2 },
		{ 0x7f, { 0x04, 0x7f }, 2 },
		{ 0x80, { 0x04, 0x81, 0x80 }, 3 },
		{ 0xff, { 0x04, 0x81, 0xff }, 3 },
		{ 0x100, { 0x04, 0x82, 0x01, 0x00 }, 4 },
		{ 0xffff, { 0x04, 0x82, 0xff, 0xff }, 4 },
		{ 0x10000, { 0x04, 0x83, 0x01, 0x00, 0x00 }, 5 },
		{ MR_DER_MAX_LEN, { 0x04, 0x83, 0x10, 0x00, 0x00 }, 5 },
	};
	size_t cap = MR_DER_MAX_LEN + 16;
	uint8_t *buf = malloc(cap), *data = calloc(1, MR_DER_MAX_LEN + 1);

	(void)state;
	assert_non_null(buf);
	assert_non_null(data);
	for (size_t i = 0; i < NELEM(v); i++) {
		mr_dw w;
		const uint8_t *out;
		size_t len;
		mr_der in, c;
		uint8_t tag;

		mr_dw_init(&w, buf, cap);
		mr_dw_tlv(&w, MR_DER_OCTET_STRING, data, v[i].len);
		assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);
		assert_int_equal(len, v[i].hdr_len + v[i].len);
		assert_memory_equal(out, v[i].hdr, v[i].hdr_len);
		in = mr_der_view(out, len);
		assert_int_equal(mr_der_next(&in, &tag, &c, NULL), MR_OK);
		assert_int_equal(c.n, v[i].len);
		assert_int_equal(in.n, 0);
	}
	{
		mr_dw w;
		const uint8_t *out;
		size_t len;

		mr_dw_init(&w, buf, cap);
		mr_dw_tlv(&w, MR_DER_OCTET_STRING, data, MR_DER_MAX_LEN + 1);
		assert_int_equal(mr_dw_finish(&w, &out, &len), MR_E_RANGE);
	}
	free(buf);
	free(data);
}

/* Something with every writer call, nested and with a long form length. */
static void
write_sample(mr_dw *w, const uint8_t *blob, size_t blob_len)
{
	static const uint8_t oid[] = { 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x03 };
	static const uint8_t serial[] = { 0x00, 0x00, 0x9a, 0x01, 0x02 };
	static const uint8_t raw[] = { 0x05, 0x00 };
	size_t inner;

	mr_dw_time(w, 2524608000);  /* 2050-01-01: GeneralizedTime */
	mr_dw_time(w, 2524607999);  /* 2049-12-31 23:59:59: UTCTime */
	mr_dw_bits(w, blob, blob_len);
	mr_dw_tlv(w, MR_DER_OCTET_STRING, blob, blob_len);
	inner = mr_dw_len(w);
	mr_dw_tlv(w, MR_DER_OID, oid, sizeof(oid));
	mr_dw_raw(w, raw, sizeof(raw));
	mr_dw_wrap(w, MR_DER_SEQUENCE, inner);
	mr_dw_raw_der(w, mr_der_view(raw, sizeof(raw)));
	mr_dw_uint_bytes(w, serial, sizeof(serial));
	mr_dw_bool(w, 1);
	mr_dw_uint(w, 300);
	mr_dw_wrap(w, MR_DER_SEQUENCE, 0);
}

static void
test_writer_roundtrip(void **state)
{
	uint8_t blob[200], buf[1024];
	mr_dw w;
	const uint8_t *out;
	size_t len;
	mr_der seq, c, inner, bytes;
	unsigned long u;
	int b;
	uint8_t tag;
	time_t t;

	(void)state;
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(i * 31 + 7);
	mr_dw_init(&w, buf, sizeof(buf));
	write_sample(&w, blob, sizeof(blob));
	assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);

	assert_int_equal(mr_der_whole(out, len, MR_DER_SEQUENCE, &seq), MR_OK);
	assert_int_equal(mr_der_expect(&seq, MR_DER_INTEGER, &c, NULL), MR_OK);
	assert_int_equal(mr_der_uint(c, &u), MR_OK);
	assert_int_equal(u, 300);
	assert_int_equal(mr_der_expect(&seq, MR_DER_BOOLEAN, &c, NULL), MR_OK);
	assert_int_equal(mr_der_bool(c, &b), MR_OK);
	assert_int_equal(b, 1);
	assert_int_equal(mr_der_expect(&seq, MR_DER_INTEGER, &c, NULL), MR_OK);
	assert_int_equal(c.n, 4); /* leading zeros dropped, 0x00 added for 0x9a */
	assert_memory_equal(c.p, ((const uint8_t[]){ 0x00, 0x9a, 0x01, 0x02 }), 4);
	assert_int_equal(mr_der_expect(&seq, MR_DER_NULL, &c, NULL), MR_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(mr_der_expect(&seq, MR_DER_SEQUENCE, &inner, NULL), MR_OK);
	/* Children come out in the reverse order of the calls. */
	assert_int_equal(mr_der_expect(&inner, MR_DER_NULL, &c, NULL), MR_OK);
	assert_int_equal(mr_der_expect(&inner, MR_DER_OID, &c, NULL), MR_OK);
	assert_int_equal(c.n, 8);
	assert_int_equal(inner.n, 0);
	assert_int_equal(mr_der_expect(&seq, MR_DER_OCTET_STRING, &c, NULL), MR_OK);
	assert_int_equal(c.n, sizeof(blob));
	assert_memory_equal(c.p, blob, sizeof(blob));
	assert_int_equal(c.p[-2], 0x81); /* long form length */
	assert_int_equal(mr_der_expect(&seq, MR_DER_BIT_STRING, &c, NULL), MR_OK);
	assert_int_equal(mr_der_bits(c, &bytes), MR_OK);
	assert_int_equal(bytes.n, sizeof(blob));
	assert_memory_equal(bytes.p, blob, sizeof(blob));
	assert_int_equal(mr_der_next(&seq, &tag, &c, NULL), MR_OK);
	assert_int_equal(tag, MR_DER_UTC_TIME);
	assert_int_equal(mr_der_time(tag, c, &t), MR_OK);
	assert_int_equal(t, 2524607999);
	assert_int_equal(mr_der_next(&seq, &tag, &c, NULL), MR_OK);
	assert_int_equal(tag, MR_DER_GENERALIZED_TIME);
	assert_int_equal(mr_der_time(tag, c, &t), MR_OK);
	assert_int_equal(t, 2524608000);
	assert_int_equal(seq.n, 0);
}

/*
 * A buffer one byte short of the output, or any shorter, must give
 * MR_E_RANGE and never write outside [buf, buf + cap).
 */
static void
test_writer_overflow_every_size(void **state)
{
	uint8_t blob[150], ref[1024], *area;
	const uint8_t *out;
	size_t needed;
	mr_dw w;
	enum { GUARD = 32 };

	(void)state;
	for (size_t i = 0; i < sizeof(blob); i++)
		blob[i] = (uint8_t)(0x40 + i);
	mr_dw_init(&w, ref, sizeof(ref));
	write_sample(&w, blob, sizeof(blob));
	assert_int_equal(mr_dw_finish(&w, &out, &needed), MR_OK);
	memmove(ref, out, needed);

	area = malloc(needed + 2 * GUARD);
	assert_non_null(area);
	for (size_t cap = 0; cap <= needed; cap++) {
		const uint8_t *res = NULL;
		size_t len = 0;
		int rc;

		memset(area, 0xa5, needed + 2 * GUARD);
		mr_dw_init(&w, area + GUARD, cap);
		write_sample(&w, blob, sizeof(blob));
		rc = mr_dw_finish(&w, &res, &len);
		for (size_t k = 0; k < GUARD; k++) {
			assert_int_equal(area[k], 0xa5);
			assert_int_equal(area[GUARD + cap + k], 0xa5);
		}
		if (cap < needed) {
			if (rc != MR_E_RANGE)
				fail_msg("cap %zu of %zu: rc %d", cap, needed, rc);
		} else {
			assert_int_equal(rc, MR_OK);
			assert_int_equal(len, needed);
			assert_memory_equal(res, ref, needed);
		}
	}
	free(area);
}

/* After an overflow, writes that would fit do nothing. */
static void
test_writer_sticky(void **state)
{
	uint8_t buf[8], big[9] = { 0 };
	mr_dw w;
	const uint8_t *out;
	size_t len;

	(void)state;
	mr_dw_init(&w, buf, sizeof(buf));
	mr_dw_raw(&w, "ab", 2);
	assert_int_equal(mr_dw_len(&w), 2);
	mr_dw_raw(&w, big, sizeof(big));
	assert_int_equal(mr_dw_len(&w), 2);
	mr_dw_raw(&w, "c", 1);
	mr_dw_uint(&w, 1);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, 0);
	assert_int_equal(mr_dw_len(&w), 2);
	assert_int_equal(mr_dw_finish(&w, &out, &len), MR_E_RANGE);

	/* A zero-capacity writer can still take nothing. */
	mr_dw_init(&w, buf, 0);
	mr_dw_raw(&w, NULL, 0);
	assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);
	assert_int_equal(len, 0);
	mr_dw_bool(&w, 1);
	assert_int_equal(mr_dw_finish(&w, &out, &len), MR_E_RANGE);
}

static void
test_writer_bad_mark(void **state)
{
	uint8_t buf[16];
	mr_dw w;
	const uint8_t *out;
	size_t len;

	(void)state;
	mr_dw_init(&w, buf, sizeof(buf));
	mr_dw_raw(&w, "ab", 2);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, 3);
	assert_int_equal(mr_dw_finish(&w, &out, &len), MR_E_INTERNAL);
}

static void
test_writer_time(void **state)
{
	static const struct {
		time_t t;
		int rc;
		uint8_t tag;
		const char *s;
	} v[] = {
		{ -631152001, MR_E_RANGE, 0, NULL },  /* 1949-12-31 23:59:59 */
		{ -631152000, MR_OK, MR_DER_UTC_TIME, "500101000000Z" },
		{ 0, MR_OK, MR_DER_UTC_TIME, "700101000000Z" },
		{ 946684799, MR_OK, MR_DER_UTC_TIME, "991231235959Z" },
		{ 951825600, MR_OK, MR_DER_UTC_TIME, "000229120000Z" },
		{ 2524607999, MR_OK, MR_DER_UTC_TIME, "491231235959Z" },
		{ 2524608000, MR_OK, MR_DER_GENERALIZED_TIME, "20500101000000Z" },
		{ 253402300799, MR_OK, MR_DER_GENERALIZED_TIME, "99991231235959Z" },
		{ 253402300800, MR_E_RANGE, 0, NULL },   /* year 10000 */
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		uint8_t buf[32];
		mr_dw w;
		const uint8_t *out;
		size_t len;
		mr_der in, c;
		uint8_t tag;
		time_t back;

		mr_dw_init(&w, buf, sizeof(buf));
		mr_dw_time(&w, v[i].t);
		assert_int_equal(mr_dw_finish(&w, &out, &len), v[i].rc);
		if (v[i].rc != MR_OK)
			continue;
		in = mr_der_view(out, len);
		assert_int_equal(mr_der_next(&in, &tag, &c, NULL), MR_OK);
		assert_int_equal(in.n, 0);
		assert_int_equal(tag, v[i].tag);
		assert_int_equal(c.n, strlen(v[i].s));
		assert_memory_equal(c.p, v[i].s, c.n);
		assert_int_equal(mr_der_time(tag, c, &back), MR_OK);
		assert_int_equal(back, v[i].t);
	}
}

/* Every written time reads back to itself, across the whole range. */
static void
test_writer_time_roundtrip(void **state)
{
	const time_t first = -631152000, last = 253402300799;
	/* An odd step so that hours, minutes and seconds all vary. */
	const time_t step = 86400 * 3 + 3600 * 5 + 60 * 7 + 11;

	(void)state;
	for (time_t t = first; t <= last; t += step) {
		uint8_t buf[32];
		mr_dw w;
		const uint8_t *out;
		size_t len;
		mr_der in, c;
		uint8_t tag;
		time_t back;

		mr_dw_init(&w, buf, sizeof(buf));
		mr_dw_time(&w, t);
		assert_int_equal(mr_dw_finish(&w, &out, &len), MR_OK);
		in = mr_der_view(out, len);
		assert_int_equal(mr_der_next(&in, &tag, &c, NULL), MR_OK);
		assert_int_equal(tag, t < 2524608000 ? MR_DER_UTC_TIME : MR_DER_GENERALIZED_TIME);
		assert_int_equal(mr_der_time(tag, c, &back), MR_OK);
		if (back != t)
			fail_msg("%lld read back as %lld", (long long)t, (long long)back);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_short_form),
		cmocka_unit_test(test_next_long_form),
		cmocka_unit_test(test_next_rejects),
		cmocka_unit_test(test_expect),
		cmocka_unit_test(test_whole),
		cmocka_unit_test(test_equal),
		cmocka_unit_test(test_bits),
		cmocka_unit_test(test_bool),
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_time_valid),
		cmocka_unit_test(test_time_invalid),
		cmocka_unit_test(test_writer_known_answers),
		cmocka_unit_test(test_writer_uint_bytes),
		cmocka_unit_test(test_writer_uint_roundtrip),
		cmocka_unit_test(test_writer_lengths),
		cmocka_unit_test(test_writer_roundtrip),
		cmocka_unit_test(test_writer_overflow_every_size),
		cmocka_unit_test(test_writer_sticky),
		cmocka_unit_test(test_writer_bad_mark),
		cmocka_unit_test(test_writer_time),
		cmocka_unit_test(test_writer_time_roundtrip),
	};

	return cmocka_run_group_tests_name("der", tests, NULL, NULL);
}

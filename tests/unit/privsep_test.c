/*
 * The signer's side of the parser protocol (mr_privsep.h) against crafted
 * message streams, as a compromised parser could send them: only the fixed
 * table, each message in its state, lengths checked before any copy,
 * entries in strictly increasing order, the announced count honoured, and
 * requests only under names the parser may open. Each vector has the
 * error text it must produce next to it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper_msg.h"
#include "mr_privsep.h"

typedef struct {
	uint8_t b[70000];
	size_t n;
} stream;

static void
frame(stream *s, uint8_t type, const void *body, size_t len)
{
	helper_msg(s->b, &s->n, type, 0, body, len);
}

static void
list(stream *s, uint32_t count)
{
	uint8_t b[8] = { (uint8_t)(count >> 24), (uint8_t)(count >> 16), (uint8_t)(count >> 8),
		(uint8_t)count, 0, 0, 0, 2 };
	frame(s, 'L', b, 8);
}

static size_t
name_field(uint8_t *b, const char *name, size_t len)
{
	b[0] = (uint8_t)len;
	memcpy(b + 1, name, len);
	return 1 + len;
}

static void
skip_msg(stream *s, const char *name, const char *why)
{
	uint8_t b[600];
	size_t k = name_field(b, name, strlen(name)), w = strlen(why);

	b[k++] = (uint8_t)(w >> 8);
	b[k++] = (uint8_t)w;
	memcpy(b + k, why, w);
	frame(s, 'S', b, k + w);
}

static void
refuse(stream *s, const char *name, int err, const char *why)
{
	uint8_t b[600];
	size_t k = name_field(b, name, strlen(name)), w = strlen(why);
	uint32_t e = (uint32_t)err;

	b[k++] = (uint8_t)(e >> 24);
	b[k++] = (uint8_t)(e >> 16);
	b[k++] = (uint8_t)(e >> 8);
	b[k++] = (uint8_t)e;
	b[k++] = (uint8_t)(w >> 8);
	b[k++] = (uint8_t)w;
	memcpy(b + k, why, w);
	frame(s, 'R', b, k + w);
}

/* A CSR message whose length field says `claimed` and carries `actual`
 * bytes (the signer does not parse the DER here; mr_request_parse does). */
static void
csr(stream *s, const char *name, size_t claimed, size_t actual)
{
	static uint8_t b[70000];
	size_t k = name_field(b, name, strlen(name));

	b[k++] = (uint8_t)(claimed >> 8);
	b[k++] = (uint8_t)claimed;
	memset(b + k, 0x30, actual);
	frame(s, 'C', b, k + actual);
}

static void
end(stream *s)
{
	frame(s, 'Z', "", 0);
}

/* Runs the stream through mr_ps_list and mr_ps_next until END or an
 * error; returns the error (MR_OK at END) and its text in d. */
static int
feed(const stream *s, unsigned *entries, mr_diag *d)
{
	static mr_ps_item it;
	int sv[2], r;
	size_t count = 0, off = 0;
	mr_ps ps;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	while (off < s->n) {
		ssize_t k = write(sv[1], s->b + off, s->n - off);
		assert_true(k > 0);
		off += (size_t)k;
	}
	close(sv[1]);
	mr_diag_clear(d);
	mr_ps_attach(&ps, sv[0]);
	*entries = 0;
	if ((r = mr_ps_list(&ps, &count, d)) == MR_OK) {
		for (;;) {
			if ((r = mr_ps_next(&ps, &it, d)) != MR_OK || it.kind == MR_PS_END)
				break;
			(*entries)++;
		}
	}
	mr_ps_stop(&ps);
	return r;
}

static void
expect_violation(const stream *s, const char *text)
{
	mr_diag d;
	unsigned n;
	int r = feed(s, &n, &d);

	if (r == MR_OK || strstr(mr_diag_text(&d, r), text) == NULL)
		fail_msg("expected \"%s\", got %d \"%s\"", text, r, mr_diag_text(&d, r));
}

static stream s;

static void
test_good_batch(void **state)
{
	static mr_ps_item it;
	int sv[2];
	size_t count = 0;
	mr_diag d;
	mr_ps ps;

	(void)state;
	s.n = 0;
	list(&s, 4);
	skip_msg(&s, "UPPER\x1b[2J.csr", "unexpected file name");
	refuse(&s, "alpha.csr", MR_E_PEM, "alpha.csr: no PEM CERTIFICATE REQUEST block");
	csr(&s, "bravo.csr", 300, 300);
	csr(&s, "charlie.csr", MR_CSR_MAX_DER, MR_CSR_MAX_DER);
	end(&s);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], s.b, s.n), (ssize_t)s.n);
	close(sv[1]);
	mr_diag_clear(&d);
	mr_ps_attach(&ps, sv[0]);
	assert_int_equal(mr_ps_list(&ps, &count, &d), MR_OK);
	assert_int_equal(count, 4);
	assert_int_equal(ps.ignored, 2); /* the metadata files left out */
	assert_int_equal(mr_ps_next(&ps, &it, &d), MR_OK);
	assert_int_equal(it.kind, MR_PS_SKIP);
	assert_string_equal(it.name, "UPPER?[2J.csr"); /* shown safely */
	assert_int_equal(mr_ps_next(&ps, &it, &d), MR_OK);
	assert_int_equal(it.kind, MR_PS_REFUSE);
	assert_int_equal(it.err, MR_E_PEM);
	assert_string_equal(it.cluster, "alpha"); /* derived by the signer */
	assert_int_equal(mr_ps_next(&ps, &it, &d), MR_OK);
	assert_int_equal(it.kind, MR_PS_CSR);
	assert_string_equal(it.cluster, "bravo");
	assert_int_equal(it.der_len, 300);
	assert_int_equal(mr_ps_next(&ps, &it, &d), MR_OK);
	assert_int_equal(it.der_len, MR_CSR_MAX_DER);
	assert_int_equal(mr_ps_next(&ps, &it, &d), MR_OK);
	assert_int_equal(it.kind, MR_PS_END);
	mr_ps_stop(&ps);
}

static void
test_listing_error(void **state)
{
	uint8_t b[64] = { 0xff, 0xff, 0xff, (uint8_t)MR_E_MEDIA, 0, 5 };
	mr_diag d;
	unsigned n;

	(void)state;
	memcpy(b + 6, "x: no", 5);
	s.n = 0;
	frame(&s, 'E', b, 11);
	assert_int_equal(feed(&s, &n, &d), MR_E_MEDIA);
	assert_string_equal(mr_diag_text(&d, MR_E_MEDIA), "x: no");
	/* Only the parser's own kinds of error. */
	b[3] = (uint8_t)MR_E_TOKEN;
	s.n = 0;
	frame(&s, 'E', b, 11);
	expect_violation(&s, "malformed listing error");
}

static void
test_framing(void **state)
{
	uint8_t junk[8] = { 0 };

	(void)state;
	s.n = 0;
	frame(&s, 'X', junk, 0);
	expect_violation(&s, "unknown message");
	s.n = 0;
	list(&s, 1);
	s.b[1] = 1; /* the reserved byte */
	expect_violation(&s, "unknown message");
	s.n = 0;
	list(&s, 1);
	s.b[3] = 1; /* the last reserved byte */
	expect_violation(&s, "unknown message");
	s.n = 0;
	frame(&s, 'L', junk, 5);
	expect_violation(&s, "wrong length");
	s.n = 0;
	list(&s, 1);
	s.n -= 2; /* cut off */
	expect_violation(&s, "broke a message");
	s.n = 0;
	expect_violation(&s, "ended early"); /* nothing at all */
	s.n = 0;
	list(&s, 1);
	csr(&s, "alpha.csr", 10, 10);
	s.n -= 3; /* body cut off */
	expect_violation(&s, "broke a message");
}

static void
test_states(void **state)
{
	(void)state;
	s.n = 0;
	csr(&s, "alpha.csr", 10, 10);
	expect_violation(&s, "out of order");
	s.n = 0;
	end(&s);
	expect_violation(&s, "out of order");
	s.n = 0;
	list(&s, 1);
	list(&s, 1);
	expect_violation(&s, "out of order");
	s.n = 0;
	list(&s, MR_MEDIA_MAX_ENTRIES + 1);
	expect_violation(&s, "too many entries");
}

static void
test_counts_and_order(void **state)
{
	(void)state;
	s.n = 0;
	list(&s, 2);
	csr(&s, "alpha.csr", 10, 10);
	end(&s);
	expect_violation(&s, "before every announced entry");
	s.n = 0;
	list(&s, 1);
	csr(&s, "alpha.csr", 10, 10);
	csr(&s, "bravo.csr", 10, 10);
	expect_violation(&s, "more entries than announced");
	s.n = 0;
	list(&s, 2);
	csr(&s, "alpha.csr", 10, 10);
	csr(&s, "alpha.csr", 10, 10);
	expect_violation(&s, "out of order");
	s.n = 0;
	list(&s, 2);
	csr(&s, "bravo.csr", 10, 10);
	csr(&s, "alpha.csr", 10, 10);
	expect_violation(&s, "out of order");
}

static void
test_entries(void **state)
{
	(void)state;
	/* Requests only under <cluster>.csr names. */
	static const char *bad[] = { "../state/x.csr", "UPPER.csr", "alpha", "a.b.csr", ".csr" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s.n = 0;
		list(&s, 1);
		csr(&s, bad[i], 10, 10);
		expect_violation(&s, "name it may not open");
		s.n = 0;
		list(&s, 1);
		refuse(&s, bad[i], MR_E_PEM, "x");
		expect_violation(&s, "name it may not open");
	}
	/* Lengths inside the body must add up. */
	s.n = 0;
	list(&s, 1);
	csr(&s, "alpha.csr", 11, 10);
	expect_violation(&s, "malformed request");
	s.n = 0;
	list(&s, 1);
	csr(&s, "alpha.csr", 9, 10);
	expect_violation(&s, "malformed request");
	s.n = 0;
	list(&s, 1);
	csr(&s, "alpha.csr", 0, 0);
	expect_violation(&s, "malformed request");
	s.n = 0;
	list(&s, 1);
	csr(&s, "alpha.csr", MR_CSR_MAX_DER + 1, MR_CSR_MAX_DER + 1);
	expect_violation(&s, "malformed request");
	/* Beyond the protocol limit: refused on the header, before a copy. */
	s.n = 0;
	list(&s, 1);
	csr(&s, "alpha.csr", 19000, 19000);
	expect_violation(&s, "wrong length");
	s.n = 0;
	list(&s, 1);
	csr(&s, "", 10, 10);
	expect_violation(&s, "malformed entry name");
	{
		uint8_t b[16] = { 9, 'a', 'l', 0, 'h', 'a', '.', 'c', 's', 'r', 0, 1, 0x30 };
		s.n = 0;
		list(&s, 1);
		frame(&s, 'C', b, 13);
		expect_violation(&s, "malformed entry name");
	}
	/* A refusal may only carry the parser's kinds of error. */
	s.n = 0;
	list(&s, 1);
	refuse(&s, "alpha.csr", MR_E_TOKEN, "C_Sign: CKR_OK");
	expect_violation(&s, "malformed refusal");
	s.n = 0;
	list(&s, 1);
	refuse(&s, "alpha.csr", MR_OK, "fine");
	expect_violation(&s, "malformed refusal");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_batch),
		cmocka_unit_test(test_listing_error),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_states),
		cmocka_unit_test(test_counts_and_order),
		cmocka_unit_test(test_entries),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

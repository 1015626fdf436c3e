/*
 * The signer's side of the link process protocol (mr_serve_ps.h) against
 * crafted messages, as a compromised link process could send them: only
 * the fixed table, each message in its session state, lengths checked
 * before any copy, SUBMIT items bounded and refusals limited to what the
 * front end's checks can give. None of these reaches the signer's
 * operations (the server below has no appliance behind it).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "helper_msg.h"
#include "mr_serve_ps.h"

typedef struct {
	uint8_t b[300000];
	size_t n;
} stream;

static stream st;

static void
msg(stream *s, uint8_t type, uint8_t pad, const void *body, size_t len)
{
	helper_msg(s->b, &s->n, type, pad, body, len);
}

/* Feeds s to the signer (session already open or not); returns the
 * result and the diagnostic. */
static int
feed(const stream *s, int session, int close_after, char *text, size_t cap)
{
	static mr_server srv;
	mr_sps p;
	mr_diag d;
	int sv[2], r;

	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], s->b, s->n), (ssize_t)s->n);
	if (close_after)
		shutdown(sv[1], SHUT_WR);
	mr_sps_attach(&p, sv[0]);
	p.session = session;
	mr_diag_clear(&d);
	r = mr_sps_serve(&p, &srv, 1000, &d);
	snprintf(text, cap, "%s", r == MR_OK ? "" : mr_diag_text(&d, r));
	mr_sps_stop(&p);
	close(sv[1]);
	return r;
}

static void
refused(const stream *s, int session, const char *want)
{
	char text[400];

	assert_int_equal(feed(s, session, 1, text, sizeof(text)), MR_E_PROTO);
	if (strstr(text, want) == NULL)
		fail_msg("got \"%s\", want \"%s\"", text, want);
}

/* NEW (a connection) and RESET (a USB bus reset, enable, disable or
 * unbind) each close the session and get an empty answer. */
static void
closes_session(uint8_t type)
{
	uint8_t ans[64];
	mr_server *srv = calloc(1, sizeof(*srv));
	mr_sps p;
	mr_diag d;
	int sv[2];

	st.n = 0;
	msg(&st, type, 0, NULL, 0);
	assert_non_null(srv);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
	assert_int_equal(write(sv[1], st.b, st.n), (ssize_t)st.n);
	mr_sps_attach(&p, sv[0]);
	p.session = 1;
	assert_int_equal(mr_sps_serve(&p, srv, 1000, &d), MR_OK);
	assert_int_equal(p.session, 0); /* a new connection closes the session */
	/* ANSWER: status 0, no message, no payload. */
	assert_int_equal(read(sv[1], ans, sizeof(ans)), 8 + 10);
	assert_int_equal(ans[0], 'Y');
	for (int i = 8; i < 18; i++)
		assert_int_equal(ans[i], 0);
	mr_sps_stop(&p);
	close(sv[1]);
	free(srv);
}

static void
test_new_is_answered(void **state)
{
	(void)state;
	closes_session('N');
}

static void
test_reset_is_answered(void **state)
{
	uint8_t audit[4] = { 0, 0, 0, 1 };

	(void)state;
	closes_session('X');
	/* After a RESET, nothing but INFO opens the session again. */
	st.n = 0;
	msg(&st, 'X', 0, NULL, 0);
	msg(&st, 'A', 0, audit, sizeof(audit));
	{
		static mr_server srv;
		uint8_t ans[64];
		char text[400];
		mr_sps p;
		mr_diag d;
		int sv[2], r;

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(write(sv[1], st.b, st.n), (ssize_t)st.n);
		mr_sps_attach(&p, sv[0]);
		p.session = 1;
		mr_diag_clear(&d);
		assert_int_equal(mr_sps_serve(&p, &srv, 1000, &d), MR_OK);
		assert_int_equal(read(sv[1], ans, sizeof(ans)), 8 + 10);
		r = mr_sps_serve(&p, &srv, 1000, &d);
		assert_int_equal(r, MR_E_PROTO);
		snprintf(text, sizeof(text), "%s", mr_diag_text(&d, r));
		if (strstr(text, "sent AUDIT outside a session") == NULL)
			fail_msg("got \"%s\"", text);
		mr_sps_stop(&p);
		close(sv[1]);
	}
	st.n = 0;
	msg(&st, 'X', 1, NULL, 0);
	refused(&st, 1, "sent an unknown message");
	st.n = 0;
	msg(&st, 'X', 0, "x", 1);
	refused(&st, 1, "wrong length");
}

static void
test_outside_session(void **state)
{
	uint8_t audit[4] = { 0, 0, 0, 1 }, hash[33] = { 1 };

	(void)state;
	st.n = 0;
	msg(&st, 'S', 0, "\x00", 1);
	refused(&st, 0, "sent SUBMIT outside a session: protocol violation");
	st.n = 0;
	msg(&st, 'R', 0, hash, sizeof(hash));
	refused(&st, 0, "sent RESULT outside a session");
	st.n = 0;
	msg(&st, 'A', 0, audit, sizeof(audit));
	refused(&st, 0, "sent AUDIT outside a session");
}

static void
test_framing(void **state)
{
	static uint8_t big[1 + (MR_LINK_MAX_RESULTS + 1) * 32];
	char text[400];

	(void)state;
	st.n = 0;
	msg(&st, 'Q', 0, NULL, 0);
	refused(&st, 1, "sent an unknown message");
	st.n = 0;
	msg(&st, 'Y', 0, NULL, 0); /* the signer's own answer */
	refused(&st, 1, "sent an unknown message");
	st.n = 0;
	msg(&st, 'N', 1, NULL, 0);
	refused(&st, 1, "sent an unknown message");
	st.n = 0;
	msg(&st, 'N', 0, "x", 1);
	refused(&st, 1, "wrong length");
	st.n = 0;
	msg(&st, 'A', 0, big, 5);
	refused(&st, 1, "wrong length");
	big[0] = MR_LINK_MAX_RESULTS + 1; /* more hashes than a RESULT may ask */
	st.n = 0;
	msg(&st, 'R', 0, big, 1 + (MR_LINK_MAX_RESULTS + 1) * 32);
	refused(&st, 1, "wrong length");
	big[0] = 2;
	st.n = 0;
	msg(&st, 'R', 0, big, 1 + 32);
	refused(&st, 1, "sent a malformed RESULT");
	/* A length beyond any message, announced before a byte of it. */
	st.n = 0;
	msg(&st, 'S', 0, NULL, 0);
	st.b[4] = 0x7f;
	refused(&st, 1, "wrong length");
	/* A message cut short, then the end. */
	st.n = 0;
	msg(&st, 'A', 0, big, 4);
	st.n -= 2;
	refused(&st, 1, "broke a message");
	/* The end before anything. */
	st.n = 0;
	refused(&st, 1, "ended");
	/* A failure report is one line, never a request. */
	st.n = 0;
	msg(&st, 'F', 0, "\x00\x05o\x1bops", 7);
	assert_int_equal(feed(&st, 1, 1, text, sizeof(text)), MR_E_PROTO);
	assert_string_equal(text, "link process: o?ops");
}

/* One SUBMIT item: refused flag, cluster, DER of n bytes, err, why. */
static size_t
item(uint8_t *b, int refused_, const char *cluster, size_t clen, size_t n, uint32_t err,
    const char *why)
{
	size_t k = 0;

	b[k++] = (uint8_t)refused_;
	b[k++] = (uint8_t)clen;
	memcpy(b + k, cluster, clen);
	k += clen;
	b[k++] = (uint8_t)(n >> 8);
	b[k++] = (uint8_t)n;
	memset(b + k, 0x30, n);
	k += n;
	if (refused_) {
		b[k++] = (uint8_t)(err >> 24);
		b[k++] = (uint8_t)(err >> 16);
		b[k++] = (uint8_t)(err >> 8);
		b[k++] = (uint8_t)err;
		b[k++] = 0;
		b[k++] = (uint8_t)strlen(why);
		memcpy(b + k, why, strlen(why));
		k += strlen(why);
	}
	return k;
}

static void
submit(size_t count, const uint8_t *items, size_t len, const char *want)
{
	static uint8_t body[300000];

	body[0] = (uint8_t)count;
	memcpy(body + 1, items, len);
	st.n = 0;
	msg(&st, 'S', 0, body, 1 + len);
	refused(&st, 1, want);
}

static void
test_submit_items(void **state)
{
	static uint8_t b[300000];
	size_t k;

	(void)state;
	/* More items than a batch holds. */
	k = 0;
	for (int i = 0; i < MR_LINK_MAX_BATCH + 1; i++)
		k += item(b + k, 0, "alpha", 5, 10, 0, "");
	submit(MR_LINK_MAX_BATCH + 1, b, k, "malformed SUBMIT");
	/* An empty or oversized CSR. */
	submit(1, b, item(b, 0, "alpha", 5, 0, 0, ""), "malformed SUBMIT");
	submit(1, b, item(b, 0, "alpha", 5, 16385, 0, ""), "malformed SUBMIT");
	/* A cluster name longer than any, or with a NUL in it. */
	submit(1, b, item(b, 0, "0123456789012345678901234567890123456789012345678901234567890123",
	    64, 10, 0, ""), "malformed SUBMIT");
	submit(1, b, item(b, 0, "al\0ha", 5, 10, 0, ""), "malformed SUBMIT");
	/* A refusal with an error the front end never gives. */
	submit(1, b, item(b, 1, "alpha", 5, 10, (uint32_t)MR_E_INTERNAL, "x"), "malformed SUBMIT");
	/* A flag that is neither 0 nor 1. */
	k = item(b, 0, "alpha", 5, 10, 0, "");
	b[0] = 2;
	submit(1, b, k, "malformed SUBMIT");
	/* Fewer items than announced; a byte after the last. */
	submit(2, b, item(b, 0, "alpha", 5, 10, 0, ""), "malformed SUBMIT");
	k = item(b, 0, "alpha", 5, 10, 0, "");
	b[k++] = 0;
	submit(1, b, k, "malformed SUBMIT");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_new_is_answered),
		cmocka_unit_test(test_reset_is_answered),
		cmocka_unit_test(test_outside_session),
		cmocka_unit_test(test_framing),
		cmocka_unit_test(test_submit_items),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

#include <stdio.h>
#include <string.h>

#include "mr_der.h"

int
mr_der_next(mr_der *in, uint8_t *tag, mr_der *content, mr_der *whole)
{
	const uint8_t *p = in->p;
	size_t n = in->n, len, hdr;

	if (n < 2)
		return MR_E_DER;
	/* High tag numbers (0x1f) never occur in what we parse. */
	if ((p[0] & 0x1f) == 0x1f)
		return MR_E_DER;
	if (p[1] < 0x80) {
		len = p[1];
		hdr = 2;
	} else {
		size_t k = p[1] & 0x7fu;
		/* 0x80 is the indefinite form, which DER forbids; more than
		 * three length bytes is beyond MR_DER_MAX_LEN anyway. */
		if (k == 0 || k > 3 || n < 2 + k || p[2] == 0)
			return MR_E_DER;
		len = 0;
		for (size_t i = 0; i < k; i++)
			len = (len << 8) | p[2 + i];
		if (len < 0x80) /* should have used the short form */
			return MR_E_DER;
		hdr = 2 + k;
	}
	if (len > MR_DER_MAX_LEN || len > n - hdr)
		return MR_E_DER;
	if (tag != NULL)
		*tag = p[0];
	if (content != NULL)
		*content = mr_der_view(p + hdr, len);
	if (whole != NULL)
		*whole = mr_der_view(p, hdr + len);
	in->p = p + hdr + len;
	in->n = n - hdr - len;
	return MR_OK;
}

int
mr_der_expect(mr_der *in, uint8_t tag, mr_der *content, mr_der *whole)
{
	mr_der save = *in;
	uint8_t t;

	if (mr_der_next(in, &t, content, whole) != MR_OK)
		return MR_E_DER;
	if (t != tag) {
		*in = save;
		return MR_E_DER;
	}
	return MR_OK;
}

int
mr_der_peek(const mr_der *in)
{
	return in->n == 0 ? -1 : in->p[0];
}

int
mr_der_whole(const uint8_t *buf, size_t n, uint8_t tag, mr_der *content)
{
	mr_der in = mr_der_view(buf, n);

	if (mr_der_expect(&in, tag, content, NULL) != MR_OK || in.n != 0)
		return MR_E_DER;
	return MR_OK;
}

int
mr_der_equal(mr_der a, mr_der b)
{
	return a.n == b.n && (a.n == 0 || memcmp(a.p, b.p, a.n) == 0);
}

int
mr_der_bits(mr_der content, mr_der *bytes)
{
	if (content.n < 1 || content.p[0] != 0)
		return MR_E_DER;
	*bytes = mr_der_view(content.p + 1, content.n - 1);
	return MR_OK;
}

int
mr_der_bool(mr_der content, int *value)
{
	if (content.n != 1 || (content.p[0] != 0 && content.p[0] != 0xff))
		return MR_E_DER;
	*value = content.p[0] == 0xff;
	return MR_OK;
}

int
mr_der_uint(mr_der content, unsigned long *v)
{
	unsigned long x = 0;

	if (content.n == 0 || content.n > sizeof(unsigned long) ||
	    (content.p[0] & 0x80) != 0)
		return MR_E_DER;
	if (content.n > 1 && content.p[0] == 0 && (content.p[1] & 0x80) == 0)
		return MR_E_DER; /* not minimal */
	for (size_t i = 0; i < content.n; i++)
		x = (x << 8) | content.p[i];
	*v = x;
	return MR_OK;
}

static int
digits(const uint8_t *p, size_t n, int *out)
{
	int v = 0;

	for (size_t i = 0; i < n; i++) {
		if (p[i] < '0' || p[i] > '9')
			return MR_E_DER;
		v = v * 10 + (p[i] - '0');
	}
	*out = v;
	return MR_OK;
}

/* X.680 (GeneralizedTime refers to ISO 8601): a calendar date, so
 * 30 February is malformed rather than 2 March. */
static int
days_in_month(int year, int mon)
{
	static const int days[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;

	return mon == 2 && leap ? 29 : days[mon - 1];
}

int
mr_der_time(uint8_t tag, mr_der c, time_t *t)
{
	struct tm tm;
	int year, mon, day, hour, min, sec;
	size_t yl;

	if (tag == MR_DER_UTC_TIME)
		yl = 2;
	else if (tag == MR_DER_GENERALIZED_TIME)
		yl = 4;
	else
		return MR_E_DER;
	/* RFC 5280 4.1.2.5.1/.2: seconds present, Zulu, no fractions. */
	if (c.n != yl + 11 || c.p[c.n - 1] != 'Z')
		return MR_E_DER;
	if (digits(c.p, yl, &year) || digits(c.p + yl, 2, &mon) ||
	    digits(c.p + yl + 2, 2, &day) || digits(c.p + yl + 4, 2, &hour) ||
	    digits(c.p + yl + 6, 2, &min) || digits(c.p + yl + 8, 2, &sec))
		return MR_E_DER;
	if (yl == 2)
		year += year < 50 ? 2000 : 1900;
	if (mon < 1 || mon > 12 || day < 1 || day > days_in_month(year, mon) ||
	    hour > 23 || min > 59 || sec > 59)
		return MR_E_DER;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	*t = timegm(&tm);
	return MR_OK;
}

void
mr_dw_init(mr_dw *w, uint8_t *buf, size_t cap)
{
	w->buf = buf;
	w->cap = cap;
	w->pos = cap;
	w->err = MR_OK;
}

size_t
mr_dw_len(const mr_dw *w)
{
	return w->cap - w->pos;
}

void
mr_dw_raw(mr_dw *w, const void *data, size_t n)
{
	if (w->err != MR_OK)
		return;
	if (n > w->pos) {
		w->err = MR_E_RANGE;
		return;
	}
	w->pos -= n;
	if (n > 0)
		memcpy(w->buf + w->pos, data, n);
}

void
mr_dw_raw_der(mr_dw *w, mr_der v)
{
	mr_dw_raw(w, v.p, v.n);
}

static void
put_header(mr_dw *w, uint8_t tag, size_t len)
{
	uint8_t h[5];
	size_t k = 0;

	if (len > MR_DER_MAX_LEN) {
		w->err = MR_E_RANGE;
		return;
	}
	if (len < 0x80) {
		h[k++] = tag;
		h[k++] = (uint8_t)len;
	} else if (len <= 0xff) {
		h[k++] = tag;
		h[k++] = 0x81;
		h[k++] = (uint8_t)len;
	} else if (len <= 0xffff) {
		h[k++] = tag;
		h[k++] = 0x82;
		h[k++] = (uint8_t)(len >> 8);
		h[k++] = (uint8_t)len;
	} else {
		h[k++] = tag;
		h[k++] = 0x83;
		h[k++] = (uint8_t)(len >> 16);
		h[k++] = (uint8_t)(len >> 8);
		h[k++] = (uint8_t)len;
	}
	mr_dw_raw(w, h, k);
}

void
mr_dw_wrap(mr_dw *w, uint8_t tag, size_t mark)
{
	if (w->err != MR_OK)
		return;
	if (mark > mr_dw_len(w)) {
		w->err = MR_E_INTERNAL;
		return;
	}
	put_header(w, tag, mr_dw_len(w) - mark);
}

void
mr_dw_tlv(mr_dw *w, uint8_t tag, const void *data, size_t n)
{
	size_t mark = mr_dw_len(w);

	mr_dw_raw(w, data, n);
	mr_dw_wrap(w, tag, mark);
}

void
mr_dw_uint_bytes(mr_dw *w, const uint8_t *be, size_t n)
{
	size_t mark = mr_dw_len(w);

	while (n > 1 && be[0] == 0) {
		be++;
		n--;
	}
	if (n == 0) {
		static const uint8_t zero = 0;
		mr_dw_raw(w, &zero, 1);
	} else {
		mr_dw_raw(w, be, n);
		if (be[0] & 0x80) {
			static const uint8_t pad = 0;
			mr_dw_raw(w, &pad, 1);
		}
	}
	mr_dw_wrap(w, MR_DER_INTEGER, mark);
}

void
mr_dw_uint(mr_dw *w, unsigned long v)
{
	uint8_t be[sizeof(v)];

	for (size_t i = 0; i < sizeof(v); i++)
		be[sizeof(v) - 1 - i] = (uint8_t)(v >> (8 * i));
	mr_dw_uint_bytes(w, be, sizeof(be));
}

void
mr_dw_bool(mr_dw *w, int v)
{
	uint8_t b = v ? 0xff : 0x00;

	mr_dw_tlv(w, MR_DER_BOOLEAN, &b, 1);
}

void
mr_dw_bits(mr_dw *w, const uint8_t *data, size_t n)
{
	size_t mark = mr_dw_len(w);
	static const uint8_t unused = 0;

	mr_dw_raw(w, data, n);
	mr_dw_raw(w, &unused, 1);
	mr_dw_wrap(w, MR_DER_BIT_STRING, mark);
}

void
mr_dw_time(mr_dw *w, time_t t)
{
	struct tm tm;
	char s[64]; /* room for any int, to keep format checks quiet */
	int year;

	if (gmtime_r(&t, &tm) == NULL) {
		w->err = MR_E_RANGE;
		return;
	}
	year = tm.tm_year + 1900;
	if (year < 1950 || year > 9999) {
		w->err = MR_E_RANGE;
		return;
	}
	if (year < 2050) {
		snprintf(s, sizeof(s), "%02d%02d%02d%02d%02d%02dZ", year % 100,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		mr_dw_tlv(w, MR_DER_UTC_TIME, s, 13);
	} else {
		snprintf(s, sizeof(s), "%04d%02d%02d%02d%02d%02dZ", year,
		    tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
		mr_dw_tlv(w, MR_DER_GENERALIZED_TIME, s, 15);
	}
}

int
mr_dw_finish(const mr_dw *w, const uint8_t **out, size_t *len)
{
	if (w->err != MR_OK)
		return w->err;
	*out = w->buf + w->pos;
	*len = mr_dw_len(w);
	return MR_OK;
}

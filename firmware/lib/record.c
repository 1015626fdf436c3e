#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mr_record.h"

static int
safe(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	    c == '.' || c == '_' || c == '-' || c == ':' || c == '/' || c == '@' ||
	    c == '+' || c == ',';
}

void
mr_record_init(mr_record *r)
{
	r->len = 0;
	r->err = MR_OK;
	r->buf[0] = '\0';
}

static void
put(mr_record *r, const char *s, size_t n)
{
	if (r->err != MR_OK)
		return;
	if (r->len + n + 2 > sizeof(r->buf)) { /* room for '\n' and NUL */
		r->err = MR_E_RANGE;
		return;
	}
	memcpy(r->buf + r->len, s, n);
	r->len += n;
	r->buf[r->len] = '\0';
}

void
mr_record_add(mr_record *r, const char *key, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";

	if (r->len > 0)
		put(r, " ", 1);
	put(r, key, strlen(key));
	put(r, "=", 1);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		if (safe(*p)) {
			put(r, (const char *)p, 1);
		} else {
			char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
			put(r, e, 3);
		}
	}
}

void
mr_record_addf(mr_record *r, const char *key, const char *fmt, ...)
{
	char v[1024];
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(v, sizeof(v), fmt, ap);
	va_end(ap);
	if (k < 0 || (size_t)k >= sizeof(v)) {
		r->err = MR_E_RANGE;
		return;
	}
	mr_record_add(r, key, v);
}

void
mr_record_append(mr_record *r, const mr_record *other)
{
	if (other->err != MR_OK) {
		r->err = other->err;
		return;
	}
	if (other->len == 0)
		return;
	if (r->len > 0)
		put(r, " ", 1);
	put(r, other->buf, other->len);
}

void
mr_hex_encode(const uint8_t *b, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[b[i] >> 4];
		out[2 * i + 1] = hex[b[i] & 15];
	}
	out[2 * n] = '\0';
}

void
mr_record_add_hex(mr_record *r, const char *key, const uint8_t *b, size_t n)
{
	char h[2 * 64 + 1];

	if (n > 64) {
		r->err = MR_E_RANGE;
		return;
	}
	mr_hex_encode(b, n, h);
	mr_record_add(r, key, h);
}

int
mr_record_finish(mr_record *r)
{
	if (r->err != MR_OK)
		return r->err;
	r->buf[r->len++] = '\n';
	r->buf[r->len] = '\0';
	return MR_OK;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int
mr_hex_decode(const char *hex, uint8_t *out, size_t n)
{
	if (strlen(hex) != 2 * n)
		return MR_E_DER;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return MR_E_DER;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return MR_OK;
}

/* A value's bytes (v[0..n)) into out, its %XX escapes undone. */
static int
unescape(const char *v, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	for (size_t j = 0; j < n; j++) {
		char c = v[j];
		if (c == '%') {
			int hi, lo;
			if (j + 2 >= n)
				return MR_E_DER;
			hi = hexval(v[j + 1]);
			lo = hexval(v[j + 2]);
			/* mr_record_add never writes %00; a NUL would cut
			 * the value short for C callers. */
			if (hi < 0 || lo < 0 || (hi | lo) == 0)
				return MR_E_DER;
			c = (char)(hi << 4 | lo);
			j += 2;
		}
		if (o + 1 >= cap)
			return MR_E_RANGE;
		out[o++] = c;
	}
	if (cap == 0)
		return MR_E_RANGE;
	out[o] = '\0';
	return MR_OK;
}

/* The line ends at its first newline; its tokens are separated by
 * spaces. memchr finds both: a start reads every record of the log and
 * the database, several fields of each. */
int
mr_record_get(const char *line, size_t n, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *nl = memchr(line, '\n', n);
	const char *p = line, *end = nl != NULL ? nl : line + n;

	while (p < end) {
		const char *sp = memchr(p, ' ', (size_t)(end - p));
		const char *tok_end = sp != NULL ? sp : end;
		if ((size_t)(tok_end - p) > kl && memcmp(p, key, kl) == 0 && p[kl] == '=')
			return unescape(p + kl + 1, (size_t)(tok_end - p) - kl - 1, out, cap);
		p = tok_end;
		while (p < end && *p == ' ')
			p++;
	}
	return MR_E_NOTFOUND;
}

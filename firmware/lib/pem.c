#include <stdio.h>
#include <string.h>

#include "mr_base64.h"
#include "mr_pem.h"


static const char *
find(const char *hay, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; k <= n && i <= n - k; i++)
		if (memcmp(hay + i, needle, k) == 0)
			return hay + i;
	return NULL;
}

int
mr_pem_next(const char *text, size_t n, size_t *pos, const char *label, uint8_t *der,
    size_t cap, size_t *der_len)
{
	char begin[80], end[80];
	const char *b, *e, *p;
	size_t out = 0;
	unsigned acc = 0, bits = 0, pad = 0;

	if (*pos > n)
		return MR_E_ARG;
	snprintf(begin, sizeof(begin), "-----BEGIN %s-----", label);
	snprintf(end, sizeof(end), "-----END %s-----", label);
	b = find(text + *pos, n - *pos, begin);
	if (b == NULL)
		return MR_E_NOTFOUND;
	p = b + strlen(begin);
	e = find(p, n - (size_t)(p - text), end);
	if (e == NULL)
		return MR_E_PEM;
	for (; p < e; p++) {
		int v;
		if (*p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
			continue;
		if (*p == '=') {
			pad++;
			continue;
		}
		if (pad != 0) /* data after padding */
			return MR_E_PEM;
		v = mr_base64_value(*p);
		if (v < 0)
			return MR_E_PEM; /* a header line (':'), or garbage */
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (out >= cap)
				return MR_E_PEM;
			der[out++] = (uint8_t)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Canonical padding: a final group of 2 characters leaves 4 bits and
	 * needs "==", one of 3 characters leaves 2 bits and needs "=". */
	if (pad > 2 || (bits == 4 && pad != 2) || (bits == 2 && pad != 1) ||
	    (bits == 0 && pad != 0) || bits == 6 || acc != 0 || out == 0)
		return MR_E_PEM;
	*der_len = out;
	*pos = (size_t)(e - text) + strlen(end);
	return MR_OK;
}

size_t
mr_pem_size(const char *label, size_t der_len)
{
	size_t body = (der_len + 2) / 3 * 4;

	return 2 * strlen(label) + 32 + body + body / 64 + 2;
}

int
mr_pem_write(const char *label, const uint8_t *der, size_t der_len, char *out,
    size_t cap, size_t *len)
{
	size_t o = 0;
	int k;

	if (cap < mr_pem_size(label, der_len))
		return MR_E_RANGE;
	k = snprintf(out, cap, "-----BEGIN %s-----\n", label);
	if (k < 0)
		return MR_E_INTERNAL;
	o = (size_t)k;
	/* 48 bytes a line: 64 base64 characters (RFC 7468 section 2). */
	for (size_t i = 0; i < der_len; i += 48) {
		size_t chunk = der_len - i < 48 ? der_len - i : 48;
		if (mr_base64_encode(der + i, chunk, out + o, cap - o) != MR_OK)
			return MR_E_INTERNAL;
		o += MR_BASE64_LEN(chunk);
		out[o++] = '\n';
	}
	k = snprintf(out + o, cap - o, "-----END %s-----\n", label);
	if (k < 0)
		return MR_E_INTERNAL;
	*len = o + (size_t)k;
	return MR_OK;
}

#include <string.h>

#include "mr_base64.h"

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int
mr_base64_encode(const uint8_t *in, size_t n, char *out, size_t cap)
{
	size_t o = 0;

	if (cap < (n + 2) / 3 * 4 + 1)
		return MR_E_RANGE;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < n)
			v |= (uint32_t)in[i + 1] << 8;
		if (i + 2 < n)
			v |= in[i + 2];
		out[o++] = b64[v >> 18 & 63];
		out[o++] = b64[v >> 12 & 63];
		out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? b64[v & 63] : '=';
	}
	out[o] = '\0';
	return MR_OK;
}

int
mr_base64_value(char c)
{
	const char *p;

	if (c == '\0' || (p = strchr(b64, c)) == NULL)
		return -1;
	return (int)(p - b64);
}

int
mr_base64_decode(const char *in, size_t n, uint8_t *out, size_t cap, size_t *len)
{
	size_t o = 0;

	if (n % 4 != 0)
		return MR_E_DER;
	for (size_t i = 0; i < n; i += 4) {
		int v[4], pad = 0;
		uint32_t w;
		for (int j = 0; j < 4; j++) {
			if (in[i + (size_t)j] == '=' && i + 4 == n && j >= 2) {
				v[j] = 0;
				pad++;
			} else if (pad > 0 || (v[j] = mr_base64_value(in[i + (size_t)j])) < 0)
				return MR_E_DER;
		}
		w = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 | (uint32_t)v[3];
		/* Canonical: the bits padding leaves unused are zero. */
		if ((pad == 1 && (w & 0xff) != 0) || (pad == 2 && (w & 0xffff) != 0))
			return MR_E_DER;
		if (o + 3 - (size_t)pad > cap)
			return MR_E_RANGE;
		out[o++] = (uint8_t)(w >> 16);
		if (pad < 2)
			out[o++] = (uint8_t)(w >> 8);
		if (pad < 1)
			out[o++] = (uint8_t)w;
	}
	*len = o;
	return MR_OK;
}

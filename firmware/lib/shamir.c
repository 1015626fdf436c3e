#include <string.h>

#include "mr_shamir.h"

uint8_t
mr_gf256_mul(uint8_t a, uint8_t b)
{
	unsigned p = 0, x = a, y = b;

	/* Eight fixed rounds; masks instead of branches on the operands. */
	for (int i = 0; i < 8; i++) {
		p ^= x & (0u - (y & 1u));
		y >>= 1;
		x = (x << 1) ^ (0x11bu & (0u - ((x >> 7) & 1u)));
	}
	return (uint8_t)p;
}

uint8_t
mr_gf256_inv(uint8_t a)
{
	/* a^254 = a^-1 in GF(2^8) (and 0 for 0): a fixed square-and-multiply
	 * chain, 254 = 0b11111110. */
	uint8_t r = 1, s = a;

	for (int i = 0; i < 7; i++) {
		s = mr_gf256_mul(s, s); /* a^(2^(i+1)) */
		r = mr_gf256_mul(r, s);
	}
	return r;
}

int
mr_shamir_split(const uint8_t *secret, size_t n, unsigned threshold, unsigned shares,
    const uint8_t *rnd, size_t rnd_len, uint8_t *out, size_t out_cap)
{
	if (n == 0 || n > MR_SHAMIR_MAX_SECRET || threshold < 2 || threshold > shares ||
	    shares > MR_SHAMIR_MAX_SHARES)
		return MR_E_ARG;
	if (rnd_len != (size_t)(threshold - 1) * n || out_cap < (size_t)shares * n)
		return MR_E_ARG;
	for (unsigned i = 0; i < shares; i++) {
		uint8_t x = (uint8_t)(i + 1);

		for (size_t b = 0; b < n; b++) {
			/* Horner: coefficients a_(t-1) .. a_1 from rnd, a_0 the secret. */
			uint8_t y = 0;
			for (unsigned k = threshold - 1; k >= 1; k--)
				y = (uint8_t)(mr_gf256_mul(y, x) ^ rnd[(size_t)(k - 1) * n + b]);
			y = (uint8_t)(mr_gf256_mul(y, x) ^ secret[b]);
			out[(size_t)i * n + b] = y;
		}
	}
	return MR_OK;
}

int
mr_shamir_combine(const uint8_t *xs, const uint8_t *const *ys, unsigned count, size_t n,
    uint8_t *secret)
{
	uint8_t acc[MR_SHAMIR_MAX_SECRET];

	if (count < 2 || count > MR_SHAMIR_MAX_SHARES || n == 0 || n > MR_SHAMIR_MAX_SECRET)
		return MR_E_ARG;
	/* The x-coordinates are public (printed on each share), so checking
	 * them with branches leaks nothing. */
	for (unsigned i = 0; i < count; i++) {
		if (xs[i] == 0)
			return MR_E_ARG;
		for (unsigned j = 0; j < i; j++)
			if (xs[i] == xs[j])
				return MR_E_ARG;
	}
	memset(acc, 0, sizeof(acc));
	for (unsigned i = 0; i < count; i++) {
		/* Lagrange basis at 0: l_i(0) = prod_{j != i} x_j / (x_j - x_i);
		 * subtraction is XOR in GF(2^8). */
		uint8_t num = 1, den = 1, l;
		for (unsigned j = 0; j < count; j++) {
			if (j == i)
				continue;
			num = mr_gf256_mul(num, xs[j]);
			den = mr_gf256_mul(den, (uint8_t)(xs[j] ^ xs[i]));
		}
		l = mr_gf256_mul(num, mr_gf256_inv(den));
		for (size_t b = 0; b < n; b++)
			acc[b] ^= mr_gf256_mul(ys[i][b], l);
	}
	memcpy(secret, acc, n);
	explicit_bzero(acc, sizeof(acc));
	return MR_OK;
}

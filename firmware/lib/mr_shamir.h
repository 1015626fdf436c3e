/*
 * Shamir secret sharing over GF(2^8) (Shamir, "How to share a secret",
 * CACM 1979), byte by byte: each secret byte is the constant term of its
 * own random polynomial of degree threshold - 1, and share x holds the
 * polynomial values at x for every byte. Any `threshold` shares give the
 * secret back by Lagrange interpolation at 0; fewer reveal nothing about it.
 *
 * The field is GF(2^8) with the AES polynomial x^8 + x^4 + x^3 + x + 1
 * (0x11b). Multiplication and inversion run in constant time: no table
 * lookups indexed by secret bytes, no branches on them.
 *
 * Pure code: the caller supplies the randomness (from the token's RNG on
 * the appliance), which keeps the module deterministic under test. Share
 * x-coordinates are 1..shares; 0 would be the secret itself.
 */
#ifndef MR_SHAMIR_H
#define MR_SHAMIR_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"

/* Longest secret, in bytes. */
#define MR_SHAMIR_MAX_SECRET 64u
/* At most 255 shares (x = 1..255) and a threshold of at least 2: a 1-of-N
 * "split" would hand every custodian the whole secret. */
#define MR_SHAMIR_MAX_SHARES 255u

/* GF(2^8) product and inverse (inverse of 0 is 0), constant time.
 * Exported for tests. */
uint8_t mr_gf256_mul(uint8_t a, uint8_t b);
uint8_t mr_gf256_inv(uint8_t a);

/*
 * Splits secret[0..n) into `shares` shares with threshold `threshold`
 * (2 <= threshold <= shares <= 255). `rnd` holds (threshold - 1) * n random
 * bytes, the polynomial coefficients. Share i (0-based) has x = i + 1 and
 * its n bytes at out[i * n .. (i + 1) * n). MR_E_ARG on bad sizes.
 */
int mr_shamir_split(const uint8_t *secret, size_t n, unsigned threshold, unsigned shares,
    const uint8_t *rnd, size_t rnd_len, uint8_t *out, size_t out_cap) MR_MUST_CHECK;

/*
 * Combines `count` shares (x-coordinates xs[i], values ys[i][0..n)) into
 * secret[0..n). Exactly the threshold's worth of shares gives the secret;
 * the caller checks count against the threshold carried in the shares.
 * x = 0 or a repeated x is MR_E_ARG. With a wrong share the result is a
 * wrong secret, not an error: integrity is the share encoding's job.
 */
int mr_shamir_combine(const uint8_t *xs, const uint8_t *const *ys, unsigned count, size_t n,
    uint8_t *secret) MR_MUST_CHECK;

#endif

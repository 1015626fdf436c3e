/*
 * Deterministic test data, the same on every run: splitmix64 turns a
 * counter into distinct, unsorted 64-bit keys; xorshift32 is a stream of
 * numbers for shuffles and random operations.
 */
#ifndef MR_TEST_RNG_H
#define MR_TEST_RNG_H

#include <stdint.h>

static inline unsigned long long
test_mix64(unsigned long long x)
{
	x += 0x9e3779b97f4a7c15ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

static inline uint32_t
test_xorshift32(uint32_t *state)
{
	*state ^= *state << 13;
	*state ^= *state >> 17;
	*state ^= *state << 5;
	return *state;
}

#endif

#include <stdint.h>

#include "mr_sort.h"

static void
swap_bytes(uint8_t *a, uint8_t *b, size_t size)
{
	while (size-- > 0) {
		uint8_t t = *a;
		*a++ = *b;
		*b++ = t;
	}
}

/* Moves element `root` down the max-heap of n elements until both its
 * children are no larger. */
static void
sift_down(uint8_t *v, size_t root, size_t n, size_t size, mr_sort_cmp cmp, void *ctx)
{
	for (;;) {
		size_t child = 2 * root + 1, big = root;
		if (child < n && cmp(v + child * size, v + big * size, ctx) > 0)
			big = child;
		if (child + 1 < n && cmp(v + (child + 1) * size, v + big * size, ctx) > 0)
			big = child + 1;
		if (big == root)
			return;
		swap_bytes(v + root * size, v + big * size, size);
		root = big;
	}
}

void
mr_sort(void *base, size_t n, size_t size, mr_sort_cmp cmp, void *ctx)
{
	uint8_t *v = base;

	if (n < 2 || size == 0)
		return;
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n, size, cmp, ctx);
	for (size_t end = n - 1; end > 0; end--) {
		swap_bytes(v, v + end * size, size);
		sift_down(v, 0, end, size, cmp, ctx);
	}
}

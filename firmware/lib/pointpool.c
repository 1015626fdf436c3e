#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/memory.h>

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#include "mr_pointpool.h"

#if defined(WOLFSSL_DEBUG_MEMORY) || defined(WOLFSSL_STATIC_MEMORY)
#error "the point pool is written for wolfSSL's plain allocator callbacks"
#endif

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define POISON(p, n) ((void)(p), (void)(n))
#define UNPOISON(p, n) ((void)(p), (void)(n))
#endif

/* The size wolfSSL asks for a point; the headers are the library's own. */
#define BLOCK sizeof(ecc_point)

typedef struct block {
	struct block *next;
} block;

static struct {
	pthread_mutex_t mu;
	uint8_t *base;
	size_t cap;       /* blocks in the region */
	size_t fresh;     /* blocks below this index have been handed out */
	block *free;      /* most recently freed first: its pages are resident */
	size_t in_use, high;
} pool = { PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, NULL, 0, 0 };

static int
owns(const void *p)
{
	const uint8_t *b = p;

	return pool.base != NULL && b >= pool.base && b < pool.base + pool.cap * BLOCK;
}

static void *
take(void)
{
	void *p = NULL;

	pthread_mutex_lock(&pool.mu);
	if (pool.free != NULL) {
		p = pool.free;
		UNPOISON(p, BLOCK);
		pool.free = pool.free->next;
	} else if (pool.fresh < pool.cap) {
		p = pool.base + pool.fresh++ * BLOCK;
		UNPOISON(p, BLOCK);
	}
	if (p != NULL && ++pool.in_use > pool.high)
		pool.high = pool.in_use;
	pthread_mutex_unlock(&pool.mu);
	return p;
}

static void
give(void *p)
{
	block *b = p;

	pthread_mutex_lock(&pool.mu);
	b->next = pool.free;
	pool.free = b;
	pool.in_use--;
	POISON(p, BLOCK);
	pthread_mutex_unlock(&pool.mu);
}

static void *
pool_malloc(size_t n)
{
	void *p = n == BLOCK ? take() : NULL;

	return p != NULL ? p : malloc(n);
}

static void
pool_free(void *p)
{
	if (owns(p))
		give(p);
	else
		free(p);
}

static void *
pool_realloc(void *p, size_t n)
{
	void *q;

	if (!owns(p))
		return realloc(p, n);
	if (n == BLOCK)
		return p;
	if ((q = malloc(n)) == NULL)
		return NULL;
	memcpy(q, p, n < BLOCK ? n : BLOCK);
	give(p);
	return q;
}

static void
fork_prepare(void)
{
	pthread_mutex_lock(&pool.mu);
}

static void
fork_done(void)
{
	pthread_mutex_unlock(&pool.mu);
}

int
mr_pointpool_install(size_t points)
{
	void *base;

	if (pool.base != NULL)
		return 0;
	/* Address space only: a page costs memory when a point first lands
	 * on it. */
	base = mmap(NULL, points * BLOCK, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -1;
	if (pthread_atfork(fork_prepare, fork_done, fork_done) != 0 ||
	    wolfSSL_SetAllocators(pool_malloc, pool_free, pool_realloc) != 0) {
		munmap(base, points * BLOCK);
		return -1;
	}
	POISON(base, points * BLOCK);
	pool.base = base;
	pool.cap = points;
	return 0;
}

void
mr_pointpool_stats(size_t *in_use, size_t *high_water)
{
	pthread_mutex_lock(&pool.mu);
	*in_use = pool.in_use;
	*high_water = pool.high;
	pthread_mutex_unlock(&pool.mu);
}

void
mr_pointpool_prefault(size_t points)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), len;

	if (pool.base == NULL || page == 0)
		return;
	if (points > pool.cap)
		points = pool.cap;
	len = (points * BLOCK + page - 1) / page * page;
	/* An older kernel says EINVAL: the pages then come one fault at a
	 * time, as before. */
	(void)madvise(pool.base, len, MADV_POPULATE_WRITE);
}

/*
 * A pool for wolfSSL's ECC points. With FP_ECC (Debian's build) every
 * verification with a key not cached yet sets aside a table of 257 points
 * (3,216 bytes each, 0.8 MiB) for that key and one for its curve's
 * generator, whether or not the table is ever built. The read-back keeps
 * the root key's two tables (1.6 MiB) for the whole run; every CSR check
 * makes and frees 1.6 MiB more. Left to malloc, those come from whichever
 * arena the thread has (the main one for the first window, a thread's for
 * the next): each arena keeps its own high-water mark, the main heap is
 * cut up by them, and trimming and re-growing them costs page faults.
 *
 * Once installed, every allocation of exactly one point comes from one
 * region, reused most recently freed first and never given back: its
 * resident size is the most points ever alive at once (the root's tables
 * plus one check's), in one place, without page-fault churn. Other sizes,
 * and points beyond the region, go to malloc as before.
 *
 * Install once, before any wolfSSL call and before a thread starts; the
 * region lives as long as the process. Thread-safe (a mutex, held across
 * fork so that a child may use it).
 */
#ifndef MR_POINTPOOL_H
#define MR_POINTPOOL_H

#include <stddef.h>

/* Sets wolfSSL's allocators to the pool. Returns 0, or -1 when the region
 * cannot be had (wolfSSL keeps malloc: slower to settle, the same result). */
int mr_pointpool_install(size_t points);

/* The pages of the region's first `points` points made resident at once
 * (madvise MADV_POPULATE_WRITE), for a command that will use them: in
 * this machine's virtual machine each first touch of a page is a fault
 * that costs several microseconds, and a batch's first verifications
 * touch about 400 pages each, on the way to its first signature. The
 * region hands out its lowest blocks first, so these are the pages the
 * command would have touched. Nothing is done when it cannot be. */
void mr_pointpool_prefault(size_t points);

/* What a batch touches at once: the read-back's root-key tables (514
 * points), a check's two tables (514) and temporaries; 1,121 at most in
 * a batch of 32, 1,310 in one of 1,000. */
#define MR_POINTPOOL_BATCH 1120

/* Points in the region now in use, and the most ever in use (tests). */
void mr_pointpool_stats(size_t *in_use, size_t *high_water);

#endif

/*
 * An in-place heapsort. Used where libc's qsort may not be: glibc's qsort
 * asks the kernel for the machine's memory size (sysinfo(2)) once an array
 * is large, and the confined request parser's seccomp filter kills any
 * system call outside its allowlist. Heapsort needs no memory and no
 * system call, and stays O(n log n) on any input. Not stable.
 */
#ifndef MR_SORT_H
#define MR_SORT_H

#include <stddef.h>

/* cmp returns <0, 0, >0 as for qsort; ctx is passed through. */
typedef int (*mr_sort_cmp)(const void *a, const void *b, void *ctx);

void mr_sort(void *base, size_t n, size_t size, mr_sort_cmp cmp, void *ctx);

#endif

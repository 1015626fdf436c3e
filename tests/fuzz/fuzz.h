/*
 * The libFuzzer entry point every tests/fuzz/<target>_fuzz.c defines. Built
 * with -DMESHROOT_FUZZ=ON (clang) a target links libFuzzer's main; in every
 * other build it links replay.c, which feeds each file of a corpus to the
 * same function, so CI replays the corpora with gcc and under ASan+UBSan.
 *
 * A target MUST NOT keep state between calls, write files or print: it is
 * called millions of times and its only output is a crash.
 */
#ifndef MR_FUZZ_H
#define MR_FUZZ_H
#include <stddef.h>
#include <stdint.h>

/* Calls a warn_unused_result function for its side effects only: the
 * target checks what it needs; gcc does not accept a (void) cast. */
#define IGNORE(call) do { if ((call) != 0) { /* result not needed */ } } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Copies data into a fresh NUL-terminated heap buffer (so ASan sees any read
 * past size); NULL on allocation failure. */
char *mr_fuzz_strndup(const uint8_t *data, size_t size);
#endif

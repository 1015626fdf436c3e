#define _GNU_SOURCE /* fmemopen, cpu_set_t */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mr_cpus.h"

/* The token's core chosen from a /proc/interrupts text, allowed cores
 * given as a list ending in -1. */
static int
quietest(const char *text, const int *allowed_list)
{
	cpu_set_t allowed;
	char buf[2048];
	FILE *f;
	int c;

	assert_true(strlen(text) < sizeof(buf));
	memcpy(buf, text, strlen(text) + 1);
	f = fmemopen(buf, strlen(buf), "r");
	assert_non_null(f);
	CPU_ZERO(&allowed);
	for (const int *a = allowed_list; *a >= 0; a++)
		CPU_SET((size_t)*a, &allowed);
	c = mr_cpus_quietest(f, &allowed);
	fclose(f);
	return c;
}

/* As read on a two-core VM: the disk's queue interrupts core 1 only. */
static const char two_cores[] =
    "           CPU0       CPU1       \n"
    " 24:          1          0  IO-APIC   5-edge      ACPI:Ged\n"
    " 36:          0     117650 PCI-MSIX-0000:00:02.0   1-edge      virtio1-req.0\n"
    " 39:       1439          0 PCI-MSIX-0000:00:03.0   2-edge      virtio2-output.0\n"
    " 41:       1576          0 PCI-MSIX-0000:00:04.0   1-edge      virtio3-rx\n"
    "NMI:          0          0   Non-maskable interrupts\n"
    "LOC:    9961246    9960563   Local timer interrupts\n"
    "CAL:      70824    9957426   Function call interrupts\n"
    "ERR:          0\n"
    "MIS:          0\n";

static void
test_fewest_device_interrupts(void **state)
{
	(void)state;
	/* LOC and CAL are far larger on core 1 too, but they are not a
	 * device's: only the numbered lines count. */
	assert_int_equal(quietest(two_cores, (const int[]){ 0, 1, -1 }), 0);
}

static void
test_only_allowed_cores(void **state)
{
	static const char four[] =
	    "    CPU0  CPU1  CPU2  CPU3\n"
	    " 10:  50     7    90    30  edge  eth0\n"
	    " 11:   0     0     0     5  edge  nvme0q1\n";

	(void)state;
	assert_int_equal(quietest(four, (const int[]){ 0, 1, 2, 3, -1 }), 1);
	assert_int_equal(quietest(four, (const int[]){ 0, 2, 3, -1 }), 3);
	assert_int_equal(quietest(four, (const int[]){ 0, 2, -1 }), 0);
}

/* Offline cores have no column: the header says which core a column is. */
static void
test_columns_follow_the_header(void **state)
{
	static const char gaps[] =
	    "     CPU0   CPU2   CPU5\n"
	    "  1:   900    100    400  edge  disk\n";

	(void)state;
	assert_int_equal(quietest(gaps, (const int[]){ 0, 2, 5, -1 }), 2);
	assert_int_equal(quietest(gaps, (const int[]){ 0, 1, 5, -1 }), 5);
	/* No allowed core has a column: nothing to say. */
	assert_int_equal(quietest(gaps, (const int[]){ 1, 3, -1 }), -1);
}

static void
test_tie_takes_the_last(void **state)
{
	static const char tie[] =
	    "  CPU0  CPU1  CPU2\n"
	    "  3:   4     9     4  edge  disk\n";

	(void)state;
	assert_int_equal(quietest(tie, (const int[]){ 0, 1, 2, -1 }), 2);
	/* No device lines at all: every core ties, the last is taken. */
	assert_int_equal(quietest("  CPU0  CPU1\nNMI: 0 0\n", (const int[]){ 0, 1, -1 }), 1);
}

static void
test_unreadable_text(void **state)
{
	(void)state;
	assert_int_equal(quietest("", (const int[]){ 0, 1, -1 }), -1);
	assert_int_equal(quietest("garbage without a header\n 1: 5 5\n", (const int[]){ 0, 1, -1 }),
	    -1);
	/* A short line counts what it has, and nothing past it. */
	assert_int_equal(quietest("  CPU0  CPU1\n  7:  3\n", (const int[]){ 0, 1, -1 }), 1);
	assert_int_equal(quietest("  CPU0  CPU1\n  7:  3  1\n  8:  0\n", (const int[]){ 0, 1, -1 }),
	    1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fewest_device_interrupts),
		cmocka_unit_test(test_only_allowed_cores),
		cmocka_unit_test(test_columns_follow_the_header),
		cmocka_unit_test(test_tie_takes_the_last),
		cmocka_unit_test(test_unreadable_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

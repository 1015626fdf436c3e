/*
 * The one progress meter in both looks: the lines each program prints
 * (tests/integration/host_fleet.sh and messages.sh check them end to end),
 * the way a meter leaves its line before a message, and the batch limits.
 * The console is a buffer here; the runs are far shorter than any
 * redraw or plain-line interval, so only the lines that do not depend on
 * the clock are checked to the byte.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mr_progress.h"

static char screen[16384];
static size_t used;
static int terminal;

static void
capture(const char *text)
{
	size_t n = strlen(text);

	assert_true(used + n < sizeof(screen));
	memcpy(screen + used, text, n + 1);
	used += n;
}

static int
is_terminal(void)
{
	return terminal;
}

#define assert_prefix(want) assert_memory_equal(screen, want, strlen(want))

static void
look(mr_progress_look l, int tty)
{
	mr_progress_setup(&(mr_progress_console){ capture, is_terminal, l });
	terminal = tty;
	used = 0;
	screen[0] = '\0';
}

/* A meter on a fresh screen. */
static void
begin(mr_progress *p, mr_progress_look l, int tty, const char *what, size_t total)
{
	look(l, tty);
	mr_progress_start(p, what, total);
}

/* The number of lines of the screen that start with prefix. */
static int
lines_with(const char *prefix)
{
	int n = 0;
	const char *s = screen;

	while (*s != '\0') {
		const char *nl = strchr(s, '\n');
		if (strncmp(s, prefix, strlen(prefix)) == 0)
			n++;
		if (nl == NULL)
			break;
		s = nl + 1;
	}
	return n;
}

/* The host, into a log: a line at each 10% but the last, then the summary. */
static void
test_log_plain(void **state)
{
	mr_progress p;
	char want[64];

	(void)state;
	begin(&p, MR_PROGRESS_LOG, 0, "export", 1000);
	for (int i = 0; i < 1000; i++)
		mr_progress_step(&p, 1);
	for (unsigned k = 1; k <= 9; k++) {
		snprintf(want, sizeof(want), "export: %u/1000 %u%%", k * 100, k * 10);
		assert_int_equal(lines_with(want), 1);
	}
	assert_int_equal(lines_with("export: 1000/1000"), 0);
	mr_progress_end(&p);
	assert_int_equal(lines_with("export: 1000 of 1000 in "), 1);
	assert_int_equal(lines_with("export: "), 10);
}

/* The appliance, into a log: nothing before the first 5 s, then the
 * summary with its rate in parentheses. */
static void
test_console_plain(void **state)
{
	mr_progress p;
	const char *tail;

	(void)state;
	begin(&p, MR_PROGRESS_CONSOLE, 0, "sign", 1000);
	for (int i = 0; i < 1000; i++)
		mr_progress_step(&p, 1);
	assert_int_equal(used, 0);
	mr_progress_end(&p);
	assert_prefix("sign: 1000 of 1000 in ");
	tail = strstr(screen, " s (");
	assert_non_null(tail);
	assert_string_equal(tail + strlen(tail) - 4, "/s)\n");
	assert_int_equal(lines_with(""), 1);
}

/* The host on a terminal: drawn at once, erased before a message, drawn
 * again at the next step, erased before the summary. */
static void
test_log_terminal(void **state)
{
	mr_progress p;

	(void)state;
	begin(&p, MR_PROGRESS_LOG, 1, "import", 10);
	mr_progress_step(&p, 1);
	assert_string_equal(screen, "\rimport: 1/10 10%\033[K");
	mr_progress_hold(&p);
	assert_string_equal(screen, "\rimport: 1/10 10%\033[K\r\033[K");
	used = 0;
	mr_progress_step(&p, 1);
	assert_string_equal(screen, "\rimport: 2/10 20%\033[K");
	used = 0;
	mr_progress_end(&p);
	assert_prefix("\r\033[Kimport: 2 of 10 in ");
}

/* The appliance on a terminal: not redrawn faster than its interval but
 * on the last item; a message ends the line, the meter stays above it. */
static void
test_console_terminal(void **state)
{
	mr_progress p;

	(void)state;
	begin(&p, MR_PROGRESS_CONSOLE, 1, "sign", 4);
	mr_progress_step(&p, 1);
	mr_progress_pause(&p);
	assert_int_equal(used, 0);
	mr_progress_step(&p, 3);
	assert_prefix("\rsign: 4/4, ");
	assert_non_null(strstr(screen, " s left\033[K"));
	used = 0;
	mr_progress_pause(&p);
	assert_string_equal(screen, "\n");
	used = 0;
	mr_progress_pause(&p);
	assert_int_equal(used, 0);
	mr_progress_end(&p);
	assert_prefix("sign: 4 of 4 in ");
}

/* A whole batch: started, stepped n at once (if any), ended. */
static void
batch(mr_progress_look l, int tty, const char *what, size_t total, size_t n)
{
	mr_progress p;

	begin(&p, l, tty, what, total);
	if (n > 0)
		mr_progress_step(&p, n);
	mr_progress_end(&p);
}

/* Past the total: the host's total grows, the appliance's count stops. */
static void
test_overshoot(void **state)
{
	(void)state;
	batch(MR_PROGRESS_LOG, 0, "submit", 2, 3);
	assert_prefix("submit: 3 of 3 in ");
	batch(MR_PROGRESS_CONSOLE, 0, "sign", 2, 3);
	assert_prefix("sign: 2 of 2 in ");
}

/* Batches too small for a meter: the host says nothing of none, the
 * appliance nothing of one. */
static void
test_small(void **state)
{
	(void)state;
	batch(MR_PROGRESS_LOG, 1, "bundle", 0, 0);
	assert_int_equal(used, 0);
	batch(MR_PROGRESS_LOG, 1, "bundle", 1, 0);
	assert_prefix("bundle: 0 of 1 in ");
	batch(MR_PROGRESS_CONSOLE, 1, "sign", 1, 1);
	assert_int_equal(used, 0);
}

static void
test_console_say(void **state)
{
	(void)state;
	look(MR_PROGRESS_CONSOLE, 0);
	mr_console_say("request %s: issued serial %s\n", "east", "01ab");
	assert_string_equal(screen, "request east: issued serial 01ab\n");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_log_plain),
		cmocka_unit_test(test_console_plain),
		cmocka_unit_test(test_log_terminal),
		cmocka_unit_test(test_console_terminal),
		cmocka_unit_test(test_overshoot),
		cmocka_unit_test(test_small),
		cmocka_unit_test(test_console_say),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}

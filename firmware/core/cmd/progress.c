#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "board_api.h"
#include "mr_progress.h"

/* Below this, a batch is over before a meter would say anything. */
#define MIN_TOTAL 2
#define REDRAW_S 0.25

/* The meter on the console now (one at a time): mr_progress_stderr ends
 * its line before any message. */
static mr_progress *active;

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
mr_progress_start(mr_progress *p, const char *what, size_t total)
{
	p->what = what;
	p->total = total;
	p->done = 0;
	p->start = p->last = now_s();
	p->terminal = board_console_is_terminal();
	p->drawn = 0;
	active = p;
}

static void
draw(mr_progress *p, double t)
{
	char line[160];
	double el = t - p->start, rate = el > 0 ? (double)p->done / el : 0;
	double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;

	snprintf(line, sizeof(line), "%s%s: %zu/%zu, %.1f/s, %.0f s left%s", p->terminal ? "\r" : "",
	    p->what, p->done, p->total, rate, left, p->terminal ? "\033[K" : "\n");
	board_console_write(line);
	p->drawn = p->terminal;
	p->last = t;
}

void
mr_progress_step(mr_progress *p, size_t n)
{
	double t = now_s();

	p->done += n;
	if (p->done > p->total)
		p->done = p->total;
	if (p->total < MIN_TOTAL)
		return;
	if (t - p->last >= (p->terminal ? REDRAW_S : MR_PROGRESS_PLAIN_S) || (p->terminal &&
	    p->done == p->total))
		draw(p, t);
}

void
mr_progress_pause(mr_progress *p)
{
	if (p->drawn)
		board_console_write("\n");
	p->drawn = 0;
}

void
mr_progress_end(mr_progress *p)
{
	char line[160];
	double el = now_s() - p->start;

	mr_progress_pause(p);
	if (active == p)
		active = NULL;
	if (p->total < MIN_TOTAL)
		return;
	snprintf(line, sizeof(line), "%s: %zu of %zu in %.1f s (%.1f/s)\n", p->what, p->done,
	    p->total, el, el > 0 ? (double)p->done / el : 0);
	board_console_write(line);
}

void
mr_console_say(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	board_console_write(line);
}

void
mr_progress_stderr(const char *fmt, ...)
{
	va_list ap;

	if (active != NULL)
		mr_progress_pause(active);
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

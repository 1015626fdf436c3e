#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr_progress.h"

/* What the two looks do differently (mr_progress.h shows their lines). */
static const struct look {
	double redraw_s;        /* a terminal meter, at most this often */
	size_t min_total;       /* smaller batches: no meter, no summary */
	size_t tenths_min;      /* plain lines at every 10% from this many items; 0: never */
	int erase;              /* a message erases the meter (else ends its line) */
	int grow;               /* done past total raises total (else done stops there) */
	int eager;              /* a meter not on screen is drawn at the next step */
	int plain_at_end;       /* a plain line may fall on the last item (else the summary says it) */
} looks[] = {
	[MR_PROGRESS_LOG] = { 0.1, 1, 100, 1, 1, 1, 0 },
	/* A batch of one is over before a meter would say anything. */
	[MR_PROGRESS_CONSOLE] = { 0.25, 2, 0, 0, 0, 0, 1 },
};

static void
stderr_write(const char *text)
{
	fputs(text, stderr);
}

static int
stderr_is_terminal(void)
{
	return isatty(STDERR_FILENO);
}

static mr_progress_console console = { stderr_write, stderr_is_terminal, MR_PROGRESS_LOG };

/* The meter on the console now (one at a time): mr_progress_stderr takes
 * it off its line before any message. */
static mr_progress *active;

double
mr_progress_clock(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
mr_progress_setup(const mr_progress_console *c)
{
	if (c->write != NULL)
		console.write = c->write;
	if (c->is_terminal != NULL)
		console.is_terminal = c->is_terminal;
	console.look = c->look == MR_PROGRESS_CONSOLE ? MR_PROGRESS_CONSOLE : MR_PROGRESS_LOG;
}

void
mr_progress_start(mr_progress *p, const char *what, size_t total)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->total = total;
	p->start = p->last = mr_progress_clock();
	p->terminal = console.is_terminal();
	active = p;
}

/* "sign: 40/400, 12.5/s, 29 s left" */
static void
format_console(const mr_progress *p, double el, char *out, size_t cap)
{
	double rate = el > 0 ? (double)p->done / el : 0;
	double left = rate > 0 ? (double)(p->total - p->done) / rate : 0;

	snprintf(out, cap, "%s: %zu/%zu, %.1f/s, %.0f s left", p->what, p->done, p->total, rate, left);
}

/* "import: 4523/10000 45%, 812/s, 7s left": the rate only once it means
 * something. */
static void
format_log(const mr_progress *p, double el, char *out, size_t cap)
{
	unsigned pct = p->total == 0 ? 100u : (unsigned)(p->done * 100 / p->total);
	int k = snprintf(out, cap, "%s: %zu/%zu %u%%", p->what, p->done, p->total, pct);

	if (k < 0 || (size_t)k >= cap || el < 0.5 || p->done == 0)
		return;
	{
		double rate = (double)p->done / el;
		double left = (double)(p->total - p->done) / rate;
		unsigned long s = (unsigned long)(left + 0.5);
		if (s >= 60)
			snprintf(out + k, cap - (size_t)k, ", %.0f/s, %lum%02lus left", rate, s / 60,
			    s % 60);
		else
			snprintf(out + k, cap - (size_t)k, ", %.0f/s, %lus left", rate, s);
	}
}

static void
draw(mr_progress *p, double t)
{
	char body[128], line[160];

	if (console.look == MR_PROGRESS_CONSOLE)
		format_console(p, t - p->start, body, sizeof(body));
	else
		format_log(p, t - p->start, body, sizeof(body));
	/* \033[K clears what a longer earlier meter left behind. */
	snprintf(line, sizeof(line), "%s%s%s", p->terminal ? "\r" : "", body,
	    p->terminal ? "\033[K" : "\n");
	/* Whatever the work printed on stdout comes first, even when both
	 * streams go to one file (2>&1). */
	fflush(stdout);
	console.write(line);
	p->shown = p->terminal;
	p->held = 0;
	p->last = t;
}

void
mr_progress_step(mr_progress *p, size_t n)
{
	const struct look *lk = &looks[console.look];
	double t = mr_progress_clock();
	unsigned tenths;

	p->done += n;
	if (p->done > p->total) {
		if (lk->grow)
			p->total = p->done;
		else
			p->done = p->total;
	}
	if (p->total < lk->min_total)
		return;
	if (p->terminal) {
		if (p->held || (lk->eager && !p->shown) || t - p->last >= lk->redraw_s ||
		    p->done == p->total)
			draw(p, t);
		return;
	}
	if (p->done == p->total && !lk->plain_at_end)
		return; /* mr_progress_end says it */
	tenths = lk->tenths_min != 0 && p->total >= lk->tenths_min ?
	    (unsigned)(p->done * 10 / p->total) : 0;
	if (tenths <= p->tenths && t - p->last < MR_PROGRESS_PLAIN_S)
		return;
	if (tenths > p->tenths)
		p->tenths = tenths;
	draw(p, t);
}

void
mr_progress_pause(mr_progress *p)
{
	if (p->shown)
		console.write("\n");
	p->shown = 0;
}

void
mr_progress_hold(mr_progress *p)
{
	/* Whatever the caller prints next starts at the beginning of a line
	 * on both streams, even when they go to one file (2>&1). */
	fflush(stdout);
	if (p->shown) {
		console.write("\r\033[K");
		p->shown = 0;
	}
	p->held = 1;
}

/* Off its line before a message, the way of the program's look. */
static void
clear(mr_progress *p)
{
	if (looks[console.look].erase)
		mr_progress_hold(p);
	else
		mr_progress_pause(p);
}

void
mr_progress_note(mr_progress *p, const char *fmt, ...)
{
	va_list ap;

	clear(p);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void
mr_progress_error(mr_progress *p, const char *fmt, ...)
{
	va_list ap;

	clear(p);
	fflush(stdout);
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
mr_progress_end(mr_progress *p)
{
	char line[160];
	double el = mr_progress_clock() - p->start;

	clear(p);
	if (active == p)
		active = NULL;
	if (p->total < looks[console.look].min_total)
		return;
	if (console.look == MR_PROGRESS_CONSOLE)
		snprintf(line, sizeof(line), "%s: %zu of %zu in %.1f s (%.1f/s)\n", p->what, p->done,
		    p->total, el, el > 0 ? (double)p->done / el : 0);
	else if (el >= 0.05)
		snprintf(line, sizeof(line), "%s: %zu of %zu in %.1f s, %.0f/s\n", p->what, p->done,
		    p->total, el, (double)p->done / el);
	else
		snprintf(line, sizeof(line), "%s: %zu of %zu in %.1f s\n", p->what, p->done, p->total,
		    el);
	fflush(stdout);
	console.write(line);
}

void
mr_progress_stderr(const char *fmt, ...)
{
	va_list ap;

	if (active != NULL)
		clear(active);
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

void
mr_console_say(const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	console.write(line);
}

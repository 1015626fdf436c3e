#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "progress.h"

#define REDRAW_S 0.1    /* the terminal meter, at most this often */
#define PLAIN_S 5.0     /* a plain line at least this often */
#define PLAIN_MIN 100u  /* fewer items: no 10% lines (each item prints its own) */

/* The meter on the screen now, for mr_progress_stderr. */
static mr_progress *active;

static double
elapsed(const mr_progress *p)
{
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	return (double)(now.tv_sec - p->start.tv_sec) +
	    (double)(now.tv_nsec - p->start.tv_nsec) / 1e9;
}

/* "4523/10000 45%, 812/s, 7 s left": the rate only once it means something. */
static void
format(const mr_progress *p, double t, char *out, size_t cap)
{
	unsigned pct = p->total == 0 ? 100u : (unsigned)(p->done * 100 / p->total);
	int k = snprintf(out, cap, "%s: %zu/%zu %u%%", p->what, p->done, p->total, pct);

	if (k < 0 || (size_t)k >= cap || t < 0.5 || p->done == 0)
		return;
	{
		double rate = (double)p->done / t;
		double left = (double)(p->total - p->done) / rate;
		unsigned long s = (unsigned long)(left + 0.5);
		if (s >= 60)
			snprintf(out + k, cap - (size_t)k, ", %.0f/s, %lum%02lus left", rate, s / 60,
			    s % 60);
		else
			snprintf(out + k, cap - (size_t)k, ", %.0f/s, %lus left", rate, s);
	}
}

void
mr_progress_start(mr_progress *p, const char *what, size_t total)
{
	memset(p, 0, sizeof(*p));
	snprintf(p->what, sizeof(p->what), "%s", what);
	p->total = total;
	p->tty = isatty(STDERR_FILENO);
	clock_gettime(CLOCK_MONOTONIC, &p->start);
	active = p;
}

void
mr_progress_hold(mr_progress *p)
{
	/* Whatever the item prints next starts at the beginning of a line on
	 * both streams, even when they go to one file (2>&1). */
	fflush(stdout);
	if (p->shown) {
		fputs("\r\033[K", stderr);
		p->shown = 0;
	}
}

void
mr_progress_step(mr_progress *p, size_t n)
{
	char line[128];
	double t;

	p->done += n;
	if (p->done > p->total)
		p->total = p->done;
	t = elapsed(p);
	if (p->tty) {
		if (p->shown && t - p->last_draw < REDRAW_S && p->done != p->total)
			return;
		fflush(stdout);
		format(p, t, line, sizeof(line));
		/* \033[K clears what a longer earlier meter left behind. */
		fprintf(stderr, "\r%s\033[K", line);
		p->shown = 1;
		p->last_draw = t;
		return;
	}
	if (p->done == p->total)
		return; /* mr_progress_end says it */
	{
		unsigned tenths = p->total >= PLAIN_MIN ? (unsigned)(p->done * 10 / p->total) : 0;
		if (tenths <= p->tenths && t - p->last_draw < PLAIN_S)
			return;
		if (tenths > p->tenths)
			p->tenths = tenths;
	}
	fflush(stdout);
	format(p, t, line, sizeof(line));
	fprintf(stderr, "%s\n", line);
	p->last_draw = t;
}

void
mr_progress_note(mr_progress *p, const char *fmt, ...)
{
	va_list ap;

	mr_progress_hold(p);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

void
mr_progress_error(mr_progress *p, const char *fmt, ...)
{
	va_list ap;

	mr_progress_hold(p);
	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
mr_progress_end(mr_progress *p)
{
	double t = elapsed(p);

	mr_progress_hold(p);
	if (active == p)
		active = NULL;
	if (p->total == 0)
		return;
	if (t >= 0.05)
		fprintf(stderr, "%s: %zu of %zu in %.1f s, %.0f/s\n", p->what, p->done, p->total, t,
		    (double)p->done / t);
	else
		fprintf(stderr, "%s: %zu of %zu in %.1f s\n", p->what, p->done, p->total, t);
}

void
mr_progress_stderr(const char *fmt, ...)
{
	va_list ap;

	if (active != NULL)
		mr_progress_hold(active);
	fflush(stdout);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

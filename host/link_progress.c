#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include "link_progress.h"

#define TTY_EVERY_S 0.1
#define PLAIN_EVERY_S 2.0

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
mr_progress_init(mr_progress *p, size_t total)
{
	p->tty = isatty(STDERR_FILENO);
	p->drawn = 0;
	p->total = total;
	p->done = p->refused = 0;
	p->start = p->last = now();
}

static void
line(const mr_progress *p, double t, char *out, size_t cap)
{
	double el = t - p->start, rate = el > 0 ? (double)p->done / el : 0;
	int n = snprintf(out, cap, "submit: %zu/%zu done", p->done, p->total);

	if (n < 0 || (size_t)n >= cap)
		return;
	if (p->refused > 0)
		n += snprintf(out + n, cap - (size_t)n, " (%zu refused or failed)", p->refused);
	if ((size_t)n < cap && p->done > 0 && el > 0)
		n += snprintf(out + n, cap - (size_t)n, ", %.1f/s", rate);
	if ((size_t)n < cap && p->done > 0 && p->done < p->total && rate > 0)
		snprintf(out + n, cap - (size_t)n, ", about %.0f s left",
		    (double)(p->total - p->done) / rate + 0.5);
}

void
mr_progress_update(mr_progress *p, size_t done, size_t refused)
{
	char text[160];
	double t = now();

	p->done = done;
	p->refused = refused;
	if (t - p->last < (p->tty ? TTY_EVERY_S : PLAIN_EVERY_S) && (p->drawn || !p->tty))
		return;
	p->last = t;
	line(p, t, text, sizeof(text));
	fflush(stdout);
	if (p->tty) {
		/* Back to column 0, the line, the rest of the old one erased. */
		fprintf(stderr, "\r%s\033[K", text);
		p->drawn = 1;
	} else {
		fprintf(stderr, "%s\n", text);
	}
	fflush(stderr);
}

void
mr_progress_break(mr_progress *p)
{
	if (p != NULL && p->drawn) {
		fputs("\r\033[K", stderr);
		fflush(stderr);
		p->drawn = 0;
	}
	fflush(stdout);
}

void
mr_progress_end(mr_progress *p, size_t imported)
{
	double el = now() - p->start;

	mr_progress_break(p);
	printf("%zu certificate(s) imported", imported);
	if (p->total > 1 && el > 0)
		printf(" (%zu request(s) in %.1f s, %.1f/s)", p->done, el, (double)p->done / el);
	printf("\n");
	fflush(stdout);
}

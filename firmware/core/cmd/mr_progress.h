/*
 * A progress meter for long batches on the appliance console: done/total,
 * rate and time left. On a terminal one line is redrawn in place (at most
 * a few times a second); elsewhere a plain line is printed every
 * MR_PROGRESS_PLAIN_S seconds. Anything else printed while a meter runs
 * must come after mr_progress_pause, which ends the redrawn line, so that
 * a message never shares a line with the meter.
 */
#ifndef MR_PROGRESS_H
#define MR_PROGRESS_H

#include <stddef.h>

#define MR_PROGRESS_PLAIN_S 5

typedef struct {
	const char *what;
	size_t total, done;
	double start, last;     /* monotonic seconds */
	int terminal;
	int drawn;              /* a meter line is on screen, unfinished */
} mr_progress;

void mr_progress_start(mr_progress *p, const char *what, size_t total);
void mr_progress_step(mr_progress *p, size_t n);
void mr_progress_pause(mr_progress *p);
/* The final line: how many, how long, the rate. */
void mr_progress_end(mr_progress *p);

#endif

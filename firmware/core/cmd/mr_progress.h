/*
 * A progress meter for long batches on the appliance console: done/total,
 * rate and time left. On a terminal one line is redrawn in place (at most
 * a few times a second); elsewhere a plain line is printed every
 * MR_PROGRESS_PLAIN_S seconds. Anything else printed while a meter runs
 * must come after mr_progress_pause, which ends the redrawn line, so that
 * a message never shares a line with the meter.
 *
 * The meter owns the console's line state: the one started last is the
 * active one, and every "error:", "warning:" and "note:" line of the
 * appliance goes through mr_progress_stderr, which ends the active meter's
 * line first (and flushes stdout), wherever in the code it is printed.
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
/* The final line: how many, how long, the rate. The meter is no longer
 * the active one. */
void mr_progress_end(mr_progress *p);

/* printf to stderr, on a line of its own: the active meter (if any) is
 * paused and stdout flushed first. */
void mr_progress_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* printf to the operator's console (board_console_write), as is: a line
 * of up to 2 KiB (longer is cut). */
void mr_console_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

/*
 * Progress of a command over many items (clusters): done/total, rate and
 * time left, on stderr.
 *
 *   stderr a terminal   one line, rewritten in place with \r (at most ten
 *                       times a second), kept below whatever is printed
 *   otherwise           a plain line at every 10% (runs of 100 items or
 *                       more) and every 5 s, for logs
 *
 * and at the end one summary line ("import: 1000 of 1000 in 2.1 s, 476/s").
 *
 * The meter never shares a line with other output: before an item prints
 * anything of its own (stdout or stderr, directly or deep in a callee),
 * the loop calls mr_progress_hold, which takes the meter off the screen and
 * flushes stdout; mr_progress_step puts it back. mr_progress_note and
 * mr_progress_error print a line the same way. The meter started last is
 * the active one: every "error:", "warning:" and "note:" line of the host
 * tool goes through mr_progress_stderr, which holds the active meter
 * first, wherever in the code it is printed.
 *
 *   mr_progress p;
 *   mr_progress_start(&p, "import", n);
 *   for (i = 0; i < n; i++) {
 *           mr_progress_hold(&p);
 *           ... work, printing freely ...
 *           mr_progress_step(&p, 1);
 *   }
 *   mr_progress_end(&p);
 *
 * One meter at a time; nothing is allocated.
 */
#ifndef MR_HOST_PROGRESS_H
#define MR_HOST_PROGRESS_H

#include <stddef.h>
#include <time.h>

typedef struct {
	char what[32];          /* the verb shown, e.g. "import" */
	size_t total, done;
	struct timespec start;  /* CLOCK_MONOTONIC */
	double last_draw;       /* seconds since start of the last meter or line */
	int tty;                /* stderr is a terminal */
	int shown;              /* the meter is on the screen now */
	unsigned tenths;        /* plain lines: the last 10% mark reported */
} mr_progress;

void mr_progress_start(mr_progress *p, const char *what, size_t total);

/* n more items are done. */
void mr_progress_step(mr_progress *p, size_t n);

/* Takes the meter off the screen before the caller prints. */
void mr_progress_hold(mr_progress *p);

/* A line on stdout that does not collide with the meter. */
void mr_progress_note(mr_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "error: ..." on stderr, on its own line. */
void mr_progress_error(mr_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The summary line; the meter is gone afterwards (and no longer active). */
void mr_progress_end(mr_progress *p);

/* printf to stderr after the active meter (if any) is held. */
void mr_progress_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

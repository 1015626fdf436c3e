/*
 * The progress meter of long batches, for the appliance and the host:
 * done/total, rate and time left, and the console line it owns.
 *
 *   console a terminal   one line, redrawn in place with \r (at most a few
 *                        times a second), never sharing a line with a message
 *   otherwise            a plain line every MR_PROGRESS_PLAIN_S seconds (and,
 *                        in the host's look, at every 10% of runs of 100
 *                        items or more), for logs
 *
 * and at the end one summary line. Batches smaller than the look's minimum
 * show nothing.
 *
 * Each program says once, before any meter, where its meters go and how
 * they look (mr_progress_setup); the calls below are the same in both.
 * Without a setup the meters take the host's look on stderr.
 *
 *   MR_PROGRESS_CONSOLE  the appliance: the operator's console (stdout).
 *                        "sign: 40/400, 12.5/s, 29 s left"
 *                        "sign: 400 of 400 in 32.0 s (12.5/s)"
 *                        Before a message the meter's line is ended and
 *                        stays on screen; it is drawn again when due.
 *   MR_PROGRESS_LOG      the host: stderr.
 *                        "import: 4500/10000 45%, 800/s, 7s left"
 *                        "import: 10000 of 10000 in 12.5 s, 800/s"
 *                        Before a message the meter is erased; the next
 *                        step draws it again at once.
 *
 * The meter started last is the active one: every "error:", "warning:"
 * and "note:" line of either program goes through mr_progress_stderr, which
 * takes the active meter off its line first (and flushes stdout), wherever
 * in the code it is printed.
 *
 *   mr_progress p;
 *   mr_progress_start(&p, "import", n);
 *   for (i = 0; i < n; i++) {
 *           mr_progress_hold(&p);       (or mr_progress_pause)
 *           ... work, printing freely ...
 *           mr_progress_step(&p, 1);
 *   }
 *   mr_progress_end(&p);
 *
 * One meter at a time; nothing is allocated.
 */
#ifndef MR_PROGRESS_H
#define MR_PROGRESS_H

#include <stddef.h>

#define MR_PROGRESS_PLAIN_S 5

typedef enum {
	MR_PROGRESS_LOG = 0,
	MR_PROGRESS_CONSOLE,
} mr_progress_look;

/* Where a program's meters go. write gets whole lines or \r redraws;
 * is_terminal is asked at each mr_progress_start; NULL for either: stderr.
 * The struct is copied. */
typedef struct {
	void (*write)(const char *text);
	int (*is_terminal)(void);
	mr_progress_look look;
} mr_progress_console;

typedef struct {
	char what[32];          /* the verb shown, e.g. "import" */
	size_t total, done;
	double start, last;     /* monotonic seconds; last: the last line drawn */
	int terminal;           /* the console is a terminal */
	int shown;              /* a meter line is on screen, unfinished */
	int held;               /* mr_progress_hold took it off: draw at the next step */
	unsigned tenths;        /* plain lines: the last 10% mark reported */
} mr_progress;

void mr_progress_setup(const mr_progress_console *c);

/* The meters' clock: monotonic seconds, for rates and waits elsewhere too. */
double mr_progress_clock(void);

void mr_progress_start(mr_progress *p, const char *what, size_t total);

/* n more items are done. */
void mr_progress_step(mr_progress *p, size_t n);

/* Ends the meter's line (it stays on screen) before the caller prints;
 * it is drawn again when the next redraw is due. */
void mr_progress_pause(mr_progress *p);

/* Flushes stdout and erases the meter before the caller prints; the next
 * mr_progress_step draws it again. */
void mr_progress_hold(mr_progress *p);

/* A line on stdout, after the meter is taken off its line. */
void mr_progress_note(mr_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* "error: ..." on stderr, on its own line. */
void mr_progress_error(mr_progress *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* The summary line: how many, how long, the rate. The meter is off the
 * screen afterwards and no longer the active one. */
void mr_progress_end(mr_progress *p);

/* printf to stderr, on a line of its own: the active meter (if any) is
 * taken off its line and stdout flushed first. */
void mr_progress_stderr(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* printf to the console the meters write to, as is: a line of up to
 * 2 KiB (longer is cut). */
void mr_console_say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif

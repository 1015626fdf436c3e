/*
 * Progress of a long `submit` (docs/protocol.md, "Waiting"): done/total,
 * the rate and the time left. On a terminal (stderr) one line updated in
 * place with \r; otherwise a plain line every few seconds. Every other
 * line the command prints goes after mr_progress_break, so a progress
 * line and an error never share a line, and stdout's buffer is flushed
 * before anything reaches stderr (a buffered stdout would otherwise land
 * around an error when both go to one file).
 */
#ifndef MR_HOST_LINK_PROGRESS_H
#define MR_HOST_LINK_PROGRESS_H

#include <stddef.h>

typedef struct {
	int tty;            /* stderr is a terminal */
	int drawn;          /* a \r line is on the terminal now */
	size_t total, done, refused;
	double start, last;
} mr_progress;

void mr_progress_init(mr_progress *p, size_t total);

/* Records done (finished: issued, refused or failed) and refused; redraws
 * the line (terminal) or prints one (every few seconds otherwise). */
void mr_progress_update(mr_progress *p, size_t done, size_t refused);

/* Before any other output: clears the terminal line, flushes stdout. */
void mr_progress_break(mr_progress *p);

/* The final summary line (stdout). */
void mr_progress_end(mr_progress *p, size_t imported);

#endif

/*
 * The ceremony transcript: what the witnesses saw, as a file. Every
 * ceremony (init, reshare, rotate) collects its console step lines here
 * with UTC times, together with who ran and witnessed it; at the end the
 * transcript is written to the state dir as transcripts/<kind>-<time>.txt
 * (and to the media's meshroot/transcripts/ when given), and its SHA-256
 * goes into the audit log (event `transcript`), so the paper record, the
 * file and the log can be compared.
 *
 * One transcript per process; the lines are kept in memory until the end.
 * Lines never hold a PIN or a share: callers pass what they print.
 */
#ifndef MR_TRANSCRIPT_H
#define MR_TRANSCRIPT_H

#include "mr_app.h"

/* Starts collecting for ceremony `kind` ("init", "reshare", "rotate"). */
void mr_transcript_begin(const char *kind);
/* Records a person: role "operator" or "witness". Up to 16 people. */
void mr_transcript_person(const char *role, const char *name);
/* Appends one step line (no newline needed), stamped with the time. A
 * no-op before mr_transcript_begin. */
void mr_transcript_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* One step the witnesses see: "<who>: <line>" on the console, and the
 * line in the transcript (mr_transcript_line). */
void mr_transcript_step(const char *who, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/*
 * Ends it with the result (MR_OK or the error and d's text), writes the
 * file(s), and audits it when the audit log is open. Returns MR_OK or the
 * write/audit error; the ceremony's own result is the caller's.
 */
int mr_transcript_finish(mr_app *app, int result, const mr_diag *result_diag,
    const char *media, mr_diag *d) MR_MUST_CHECK;

#endif

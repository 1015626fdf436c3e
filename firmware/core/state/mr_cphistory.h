/*
 * audit.checkpoints, every checkpoint the appliance signed, oldest first
 * (docs/audit.md), beside audit.checkpoint, the latest alone. The history
 * grows with the appliance's life, so a new checkpoint is appended to it
 * rather than the whole file rewritten:
 *
 *   1. the note is appended to audit.checkpoints and fsync'ed;
 *   2. audit.checkpoint is replaced by it (atomically).
 *
 * A crash between the two, or during the append, leaves bytes after the
 * latest note in the history: a note never released, or part of one.
 * mr_cphistory_trim, at every start, cuts them. A history that does not
 * end with the latest note at all was altered: the start stops.
 */
#ifndef MR_CPHISTORY_H
#define MR_CPHISTORY_H

#include <stddef.h>

#include "mr_diag.h"
#include "mr_err.h"

/* Step 1. A failed append is cut off again, so that the next one does not
 * land after a torn note. */
int mr_cphistory_append(const char *path, const char *note, size_t n, mr_diag *d)
    MR_MUST_CHECK;

/*
 * Makes the history at path end with latest (the note in
 * audit.checkpoint): what follows its last copy is cut (*cut gets the
 * bytes). MR_OK also when there is no history yet. MR_E_AUDIT when the
 * history's tail holds no copy of latest.
 */
int mr_cphistory_trim(const char *path, const char *latest, size_t latest_len, size_t *cut,
    mr_diag *d) MR_MUST_CHECK;

/* Where a history's bytes hist[0..n) should end: just after the last copy
 * of latest; SIZE_MAX when there is none (`state check` reads it whole). */
size_t mr_cphistory_end(const char *hist, size_t n, const char *latest, size_t latest_len);

#endif

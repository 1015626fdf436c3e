/*
 * A file copied in pieces: `audit export` hands over audit.log and
 * audit.checkpoints, which grow with every certificate the appliance ever
 * issued, so reading either whole would make the export cost as much
 * memory as the history. mr_file_copy_atomic reads through one buffer of
 * fixed size instead.
 */
#ifndef MR_FILECOPY_H
#define MR_FILECOPY_H

#include <stdint.h>
#include <sys/types.h>

#include "mr_diag.h"
#include "mr_err.h"

/* As max: the whole file, however long. */
#define MR_FILE_COPY_ALL UINT64_MAX

/*
 * Atomically replaces `to` with the first `max` bytes of the regular file
 * `from` (all of it with MR_FILE_COPY_ALL), created with `mode`: the same
 * guarantees as mr_file_write_atomic (a temp <to>.tmp.<pid>, which
 * mr_file_sweep_temps knows, fsync'ed, renamed, the directory fsync'ed);
 * on failure no temp is left and `to` is as it was. `from` is never read
 * through a symlink (MR_E_IO) nor when it is not a regular file (MR_E_IO);
 * MR_E_NOTFOUND when it is absent; MR_E_IO when it holds fewer than max
 * bytes (it was cut meanwhile).
 */
int mr_file_copy_atomic(const char *from, const char *to, uint64_t max, mode_t mode,
    mr_diag *d) MR_MUST_CHECK;

#endif

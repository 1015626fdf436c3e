/*
 * One owner per directory (the appliance state dir, the host workspace):
 * an exclusive flock(2) on DIR/lock, taken without waiting and held for
 * the owner's whole run. The kernel releases it when the last descriptor
 * of the lock's open file goes, so an owner that dies in any way (SIGKILL,
 * a crash) frees the directory; nothing is left to clean up by hand.
 *
 * The owner writes "pid=N cmd=WHAT\n" into the file after it took the
 * lock, so that a process refused can name it. The line is informational:
 * the flock is the lock. A refused process gets MR_E_IN_USE with
 *   "<kind> <dir> is in use by pid N (WHAT); nothing was changed"
 * and its command exits MR_EXIT_IN_USE.
 *
 * The descriptor is O_CLOEXEC. A process that forks without exec'ing must
 * close its copy in the child (never flock(LOCK_UN) there: that would
 * release the parent's lock), or the child keeps the directory locked.
 */
#ifndef MR_DIRLOCK_H
#define MR_DIRLOCK_H

#include <stddef.h>

#include "mr_diag.h"
#include "mr_exit.h"

/* sysexits.h EX_TEMPFAIL: another process owns the directory; retry later. */

/* The lock file's name in the directory. */
#define MR_DIRLOCK_NAME "lock"

typedef struct {
	int fd; /* -1 when not held */
} mr_dirlock;

void mr_dirlock_init(mr_dirlock *l);

/*
 * Takes the exclusive lock on dir/lock (created 0600, never through a
 * symlink). `kind` names the directory in messages ("state dir",
 * "workspace"); `what` is the owner's command line (mr_dirlock_cmdline).
 * MR_E_IN_USE when another process holds it; MR_E_NOTFOUND when dir does
 * not exist; MR_E_IO otherwise. Nothing but the lock file is touched.
 */
int mr_dirlock_take(mr_dirlock *l, const char *dir, const char *kind, const char *what,
    mr_diag *d) MR_MUST_CHECK;

/* Empties the owner line and closes the descriptor (releasing the lock). */
void mr_dirlock_release(mr_dirlock *l);

/* "prog arg..." (prog without its directory, then argc words of argv),
 * printable ASCII only, cut with "..." to fit cap. */
void mr_dirlock_cmdline(const char *prog, int argc, char *const *argv, char *out, size_t cap);

#endif

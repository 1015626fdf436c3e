/*
 * One writer per workspace: a host command that writes the workspace
 * holds an exclusive lock on it (mr_dirlock.h: flock on <workspace>/lock,
 * "pid=N cmd=..." inside) for its whole run. A second writer is refused at
 * once with MR_E_IN_USE:
 *   "workspace DIR is in use by pid N (CMD); nothing was changed"
 * and exits MR_EXIT_IN_USE (75).
 *
 * Read-only commands (status, verify, audit, media export) take no lock:
 * every file of the workspace is replaced atomically, so a reader sees
 * each file whole, old or new.
 */
#ifndef MR_HOST_WSLOCK_H
#define MR_HOST_WSLOCK_H

#include "mr_diag.h"
#include "mr_dirlock.h"

/*
 * Takes the workspace's lock. With `create` the workspace is made first
 * (0700), for commands that would make it anyway; without, a workspace
 * that does not exist is left alone and out stays unlocked (nothing to
 * protect; the command reports the missing workspace itself).
 */
int mr_wslock_take(const char *workspace, int create, const char *what, mr_dirlock *out,
    mr_diag *d) MR_MUST_CHECK;

#endif

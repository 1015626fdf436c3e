/*
 * One owner per state dir: the appliance process that runs a command on a
 * state dir holds an exclusive lock on it (mr_dirlock.h: flock on
 * <state>/lock, "pid=N cmd=..." inside) from before it reads or writes
 * anything of the state until it exits. A second process on the same state
 * dir is refused at once with MR_E_IN_USE:
 *   "state dir DIR is in use by pid N (CMD); nothing was changed"
 * and exits MR_EXIT_IN_USE (75).
 *
 * Children forked while the lock is held (the confined request parser,
 * the link process) call mr_lock_drop_inherited first thing, so that a
 * child never keeps the state locked once its parent is gone.
 */
#ifndef MR_LOCK_H
#define MR_LOCK_H

#include "mr_diag.h"
#include "mr_dirlock.h"

typedef mr_dirlock mr_lock;

/* Takes the lock on state_dir for this process; `what` is its command
 * line (shown to a process refused). MR_E_NOTFOUND when state_dir does
 * not exist, MR_E_IN_USE when another process owns it. */
int mr_lock_state(const char *state_dir, const char *what, mr_lock *out, mr_diag *d)
    MR_MUST_CHECK;

/* Releases it (process exit does too). */
void mr_lock_release(mr_lock *l);

/* In a child just forked: closes its copy of the lock's descriptor (the
 * parent keeps the lock). A no-op when no lock is held. */
void mr_lock_drop_inherited(void);

#endif

#include <unistd.h>

#include "mr_lock.h"

/* The descriptor a forked child inherits: one state dir per process. */
static int held_fd = -1;

int
mr_lock_state(const char *state_dir, const char *what, mr_lock *out, mr_diag *d)
{
	int r = mr_dirlock_take(out, state_dir, "state dir", what, d);

	if (r == MR_OK)
		held_fd = out->fd;
	return r;
}

void
mr_lock_release(mr_lock *l)
{
	if (l->fd >= 0 && l->fd == held_fd)
		held_fd = -1;
	mr_dirlock_release(l);
}

void
mr_lock_drop_inherited(void)
{
	/* close, never flock(LOCK_UN): the lock belongs to the open file,
	 * which the parent shares; unlocking here would free it for all. */
	if (held_fd >= 0)
		close(held_fd);
	held_fd = -1;
}

/*
 * Profiling only (scripts/bench): valgrind cannot run the request parser
 * once it is confined (it makes system calls outside the seccomp
 * allowlist and does not know Landlock), so this build of the appliance,
 * meshroot-appliance-unconfined, links mr_sandbox_enter to this stub:
 * the parser runs in its own process as usual, reading through its
 * directory descriptor, but unconfined. Never installed, never shipped;
 * the figures it gives are instruction counts of the same code.
 */
#include "mr_sandbox.h"

int __wrap_mr_sandbox_enter(pid_t parent, int sock, int dirfd, int *landlock, mr_diag *d);

int
__wrap_mr_sandbox_enter(pid_t parent, int sock, int dirfd, int *landlock, mr_diag *d)
{
	(void)parent;
	(void)sock;
	(void)dirfd;
	(void)d;
	*landlock = 0;
	return MR_OK;
}

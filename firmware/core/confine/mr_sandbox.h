/*
 * The request parser's confinement (Linux). Called in the forked parser
 * process before it reads a single untrusted byte; irreversible. In order:
 *
 *   1. PR_SET_PDEATHSIG: the parser dies with the signer (`parent`);
 *   2. every descriptor is closed but `sock` (its socketpair end) and
 *      `dirfd` (the media requests directory);
 *   3. as root: chroot into dirfd, then setgroups/setgid/setuid to
 *      nobody (65534), checked to be irreversible;
 *   4. PR_SET_NO_NEW_PRIVS;
 *   5. Landlock, when the kernel has it: read-only access beneath dirfd,
 *      nothing else of the file system, no TCP, no abstract unix sockets
 *      or signals outside the process;
 *   6. a seccomp-bpf allowlist: read, send/write only on `sock`, read-only
 *      openat, directory listing, stat, memory management, exit; anything
 *      else kills the process (SECCOMP_RET_KILL_PROCESS).
 *
 * MR_OK when every mandatory step held (1, 2, 3 when root, 4 and 6);
 * *landlock says whether step 5 was in force. On any error the caller
 * must not parse anything: it exits.
 */
#ifndef MR_SANDBOX_H
#define MR_SANDBOX_H

#include <sys/types.h>

#include "mr_diag.h"

/*
 * First call in every helper just forked (parser, link process), before
 * it does anything else: PR_SET_PDEATHSIG(SIGKILL), _exit if the parent
 * died before that took effect, and the state dir lock's descriptor
 * closed (mr_lock_drop_inherited). The usb link process opens its
 * endpoints before it confines itself: it must die with the signer from
 * the start all the same.
 */
void mr_sandbox_child_start(pid_t parent);

int mr_sandbox_enter(pid_t parent, int sock, int dirfd, int *landlock, mr_diag *d) MR_MUST_CHECK;

/*
 * The same for `serve --listen`'s link process (mr_serve_ps.h), which
 * reads the host's bytes: it keeps `sock` and the listening socket `lfd`;
 * as root it is chrooted into an empty directory that is deleted first;
 * Landlock (when present) grants it no file system access at all; its
 * seccomp allowlist is the common part above (read, close, memory, exit,
 * abort) plus poll/ppoll, accept4 on lfd only, sendto, write on sock only;
 * openat fails with EACCES; anything else kills it.
 */
int mr_sandbox_enter_link(pid_t parent, int sock, int lfd, int *landlock, mr_diag *d)
    MR_MUST_CHECK;

/*
 * The link process of `serve --usb`: as mr_sandbox_enter_link, keeping
 * sock and the FunctionFS descriptors fds (ep0, ep1, ep2, the pipe's read
 * and write end; opened before). Its seccomp filter lets the process
 * create threads (CLONE_THREAD only), which inherit every restriction:
 * start the FunctionFS threads after this returns.
 */
#define MR_LINK_FFS_FDS 5
int mr_sandbox_enter_usb(pid_t parent, int sock, const int fds[MR_LINK_FFS_FDS], int *landlock,
    mr_diag *d) MR_MUST_CHECK;

#endif

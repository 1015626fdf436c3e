/*
 * The request parser's confinement on Linux (mr_sandbox.h): descriptors,
 * chroot and nobody when root, no_new_privs, Landlock, seccomp-bpf.
 */
#define _GNU_SOURCE /* CLONE_THREAD */
#include "mr_sandbox.h"

#ifdef __linux__
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/landlock.h>
#include <linux/seccomp.h>

#define NOBODY 65534

static int
cmp_int(const void *a, const void *b)
{
	int x = *(const int *)a, y = *(const int *)b;

	return (x > y) - (x < y);
}

/* Closes every descriptor but the n (at most 8) in keep. */
static int
close_others(const int *keep, size_t n)
{
	int k[8];
	size_t m = 0;

	for (size_t i = 0; i < n && m < 8; i++)
		if (keep[i] >= 0)
			k[m++] = keep[i];
	qsort(k, m, sizeof(k[0]), cmp_int);
#ifdef SYS_close_range
	{
		unsigned lo = 0;
		int ok = 1;
		for (size_t i = 0; i < m && ok; i++) {
			if ((unsigned)k[i] > lo)
				ok = syscall(SYS_close_range, lo, (unsigned)k[i] - 1u, 0u) == 0;
			lo = (unsigned)k[i] + 1u;
		}
		if (ok && syscall(SYS_close_range, lo, ~0u, 0u) == 0)
			return 0;
		if (errno != ENOSYS)
			return -1;
	}
#endif
	/* Old kernels: every descriptor the limit allows. */
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 1048576)
		max = 1048576;
	for (int fd = 0; fd < (int)max; fd++) {
		size_t i;
		for (i = 0; i < m && k[i] != fd; i++)
			;
		if (i == m)
			(void)close(fd);
	}
	return 0;
}

/* The link process's root: a fresh directory, removed before the chroot,
 * so nothing can ever be created or found in it. */
static int
empty_dir(int *fd, mr_diag *d)
{
	char tmpl[] = "/tmp/meshroot-empty.XXXXXX";

	if (mkdtemp(tmpl) == NULL)
		return mr_diag_set(d, MR_E_INTERNAL, "mkdtemp %s: %s", tmpl, strerror(errno));
	*fd = open(tmpl, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
	if (*fd < 0 || rmdir(tmpl) != 0) {
		int e = errno;
		if (*fd >= 0)
			close(*fd);
		(void)rmdir(tmpl);
		return mr_diag_set(d, MR_E_INTERNAL, "empty root %s: %s", tmpl, strerror(e));
	}
	return MR_OK;
}

static int
drop_root(int dirfd, mr_diag *d)
{
	gid_t g = NOBODY;
	int own = -1, r;

	if (geteuid() != 0)
		return MR_OK;
	if (dirfd < 0 && (r = empty_dir(&own, d)) != MR_OK)
		return r;
	/* The parser's whole file system is the requests directory (the link
	 * process's an empty, deleted one). As root, setgid and setuid set the
	 * real, effective and saved ids alike. */
	r = fchdir(dirfd >= 0 ? dirfd : own) != 0 || chroot(".") != 0 || chdir("/") != 0;
	if (own >= 0)
		close(own);
	if (r)
		return mr_diag_set(d, MR_E_INTERNAL, "chroot into the %s: %s",
		    dirfd >= 0 ? "requests dir" : "empty root", strerror(errno));
	if (setgroups(1, &g) != 0 || setgid(NOBODY) != 0 ||
	    setuid(NOBODY) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "dropping to uid/gid %d: %s", NOBODY,
		    strerror(errno));
	if (setuid(0) == 0 || seteuid(0) == 0)
		return mr_diag_set(d, MR_E_INTERNAL, "uid 0 could be regained");
	return MR_OK;
}

/* Landlock ABI figures, spelled out so an older <linux/landlock.h> still
 * builds: the kernel's ABI version decides what is handled. */
struct ll_ruleset {
	uint64_t fs, net, scoped;
};
#define LL_FS_V1 ((1ull << 13) - 1) /* EXECUTE .. MAKE_SYM */
#define LL_FS_REFER (1ull << 13)     /* ABI 2 */
#define LL_FS_TRUNCATE (1ull << 14)  /* ABI 3 */
#define LL_FS_IOCTL_DEV (1ull << 15) /* ABI 5 */
#define LL_NET_TCP 3ull              /* ABI 4: BIND_TCP, CONNECT_TCP */
#define LL_SCOPE_ALL 3ull            /* ABI 6: ABSTRACT_UNIX_SOCKET, SIGNAL */

static int
landlock(int dirfd, int *on, mr_diag *d)
{
	struct ll_ruleset rs = { LL_FS_V1, 0, 0 };
	struct landlock_path_beneath_attr pb;
	size_t size = sizeof(uint64_t);
	long abi;
	int fd, r;

	*on = 0;
	abi = syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	if (abi < 1)
		return MR_OK; /* not in this kernel, or disabled: chroot and seccomp remain */
	if (abi >= 2)
		rs.fs |= LL_FS_REFER;
	if (abi >= 3)
		rs.fs |= LL_FS_TRUNCATE;
	if (abi >= 4) {
		rs.net = LL_NET_TCP;
		size = 2 * sizeof(uint64_t);
	}
	if (abi >= 5)
		rs.fs |= LL_FS_IOCTL_DEV;
	if (abi >= 6) {
		rs.scoped = LL_SCOPE_ALL;
		size = sizeof(rs);
	}
	fd = (int)syscall(SYS_landlock_create_ruleset, &rs, size, 0u);
	if (fd < 0)
		return mr_diag_set(d, MR_E_INTERNAL, "landlock_create_ruleset: %s", strerror(errno));
	memset(&pb, 0, sizeof(pb));
	pb.allowed_access = LANDLOCK_ACCESS_FS_READ_FILE | LANDLOCK_ACCESS_FS_READ_DIR;
	pb.parent_fd = dirfd;
	/* No directory (the link process): no rule, no file system at all. */
	r = dirfd < 0 ? 0 : (int)syscall(SYS_landlock_add_rule, fd, LANDLOCK_RULE_PATH_BENEATH, &pb, 0u);
	if (r == 0)
		r = (int)syscall(SYS_landlock_restrict_self, fd, 0u);
	if (r != 0)
		r = mr_diag_set(d, MR_E_INTERNAL, "landlock: %s", strerror(errno));
	close(fd);
	if (r == 0)
		*on = 1;
	return r;
}

#if defined(__x86_64__)
#define SECCOMP_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define SECCOMP_ARCH AUDIT_ARCH_AARCH64
#endif

#ifdef SECCOMP_ARCH
#ifndef O_TMPFILE
#define O_TMPFILE (020000000 | O_DIRECTORY)
#endif

/* Offsets in struct seccomp_data; argument words are little-endian on
 * both supported architectures. */
#define SD_NR offsetof(struct seccomp_data, nr)
#define SD_ARCH offsetof(struct seccomp_data, arch)
#define SD_ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))
#define SD_ARG_HI(i) (SD_ARG_LO(i) + 4)

#define LD(off) BPF_STMT(BPF_LD | BPF_W | BPF_ABS, (uint32_t)(off))
#define JEQ(k, t, f) BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)(k), t, f)
#define RET(v) BPF_STMT(BPF_RET | BPF_K, (uint32_t)(v))
#define ALLOW RET(SECCOMP_RET_ALLOW)
#define KILL RET(SECCOMP_RET_KILL_PROCESS)
/* A syscall allowed whatever its arguments. */
#define SYS_ANY(nr) JEQ(nr, 0, 1), ALLOW
/* nr allowed when argument i (an int) is exactly k; the number is
 * reloaded afterwards for the checks that follow. */
#define SYS_ARG_EQ(nr, i, k) \
	JEQ(nr, 0, 4), LD(SD_ARG_LO(i)), JEQ(k, 0, 1), ALLOW, KILL
/* nr allowed when argument i has none of the bits in m (both words). */
#define SYS_ARG_NONE(nr, i, m) \
	JEQ(nr, 0, 6), LD(SD_ARG_HI(i)), JEQ(0, 0, 2), LD(SD_ARG_LO(i)), \
	BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, (uint32_t)(m), 0, 1), KILL, ALLOW
/* fcntl with one of four harmless commands (fdopendir needs them). */
#define SYS_FCNTL(nr) \
	JEQ(nr, 0, 7), LD(SD_ARG_LO(1)), JEQ(F_GETFD, 4, 0), JEQ(F_GETFL, 3, 0), \
	JEQ(F_SETFD, 2, 0), JEQ(F_DUPFD_CLOEXEC, 1, 0), KILL, ALLOW

/* What both confined processes may do: read and close what they hold,
 * manage memory (never executable), exit, abort themselves. */
#define COMMON(me) \
	LD(SD_ARCH), \
	JEQ(SECCOMP_ARCH, 1, 0), \
	KILL, \
	LD(SD_NR), \
	X32_KILL \
	SYS_ANY(__NR_read), \
	SYS_ANY(__NR_close), \
	SYS_ANY(__NR_munmap), \
	SYS_ANY(__NR_mremap), \
	SYS_ANY(__NR_brk), \
	SYS_ANY(__NR_madvise), \
	SYS_ANY(__NR_exit_group), \
	SYS_ANY(__NR_exit), \
	SYS_ANY(__NR_rt_sigreturn), \
	SYS_ANY(__NR_rt_sigprocmask), \
	SYS_ANY(__NR_getpid), \
	SYS_ANY(__NR_gettid), \
	SYS_ANY(__NR_futex), \
	SYS_ANY(__NR_clock_gettime), \
	SYS_ANY(__NR_getrandom), \
	SYS_ANY(__NR_sched_yield), \
	SYS_ANY(__NR_sigaltstack), /* the sanitizer runtime at exit */ \
	/* abort(): a signal to itself only. */ \
	SYS_ARG_EQ(__NR_tgkill, 0, me), \
	LD(SD_NR), \
	/* No executable mappings. */ \
	SYS_ARG_NONE(__NR_mmap, 2, PROT_EXEC), \
	LD(SD_NR), \
	SYS_ARG_NONE(__NR_mprotect, 2, PROT_EXEC), \
	LD(SD_NR)

#if defined(__x86_64__)
/* x32 system calls are another table: none is allowed. */
#define X32_KILL BPF_JUMP(BPF_JMP | BPF_JGE | BPF_K, 0x40000000u, 0, 1), KILL,
#else
#define X32_KILL
#endif

static int
install(struct sock_filter *f, size_t n, mr_diag *d)
{
	struct sock_fprog prog = { (unsigned short)n, f };

	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "seccomp filter: %s", strerror(errno));
	return MR_OK;
}

/* The media request parser: also stat and list, read-only opens, write
 * and send on its socket only. */
static int
seccomp(int sock, mr_diag *d)
{
	const uint32_t me = (uint32_t)getpid();
	struct sock_filter f[] = {
		COMMON(me),
		SYS_ANY(__NR_fstat),
		SYS_ANY(__NR_newfstatat),
#ifdef __NR_statx
		SYS_ANY(__NR_statx),
#endif
		SYS_ANY(__NR_getdents64),
		SYS_ANY(__NR_lseek),
		/* Output goes to the signer, nowhere else. */
		SYS_ARG_EQ(__NR_write, 0, (uint32_t)sock),
		LD(SD_NR),
		SYS_ARG_EQ(__NR_sendto, 0, (uint32_t)sock),
		LD(SD_NR),
		/* Opens are read-only: no create, truncate, append or tmpfile. */
		SYS_ARG_NONE(__NR_openat, 2,
		    O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | O_APPEND | (O_TMPFILE & ~O_DIRECTORY)),
		LD(SD_NR),
		SYS_FCNTL(__NR_fcntl),
		KILL,
	};

	return install(f, sizeof(f) / sizeof(f[0]), d);
}

/* The link process: it opens nothing (openat fails with EACCES, so a probe
 * can tell), accepts only on the listening socket, waits with poll, and
 * sends on the descriptors it holds: its signer socket and the one host
 * connection it accepted. No socket(2), connect, bind, ioctl, exec. */
static int
seccomp_link(int sock, int lfd, mr_diag *d)
{
	const uint32_t me = (uint32_t)getpid();
	struct sock_filter f[] = {
		COMMON(me),
#ifdef __NR_poll
		SYS_ANY(__NR_poll),
#endif
		SYS_ANY(__NR_ppoll),
		SYS_ANY(__NR_sendto),
		SYS_ARG_EQ(__NR_write, 0, (uint32_t)sock),
		LD(SD_NR),
		SYS_ARG_EQ(__NR_accept4, 0, (uint32_t)lfd),
		LD(SD_NR),
		JEQ(__NR_openat, 0, 1),
		RET(SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
		KILL,
	};

	return install(f, sizeof(f) / sizeof(f[0]), d);
}
/* The link process of `serve --usb`: as the socket link process, but no
 * accept4; write only on its signer socket, ep0 (the zero-length status
 * stage that stalls a control request), ep2 (replies) and the pipe the ep1
 * thread feeds; sendto only on the signer socket; nanosleep (the threads'
 * back-off). Its two FunctionFS threads are created after this filter is
 * installed and inherit it: clone only with CLONE_THREAD (a thread, never
 * a process), clone3 fails with ENOSYS (its flags cannot be inspected;
 * glibc then uses clone), set_robust_list and rseq for the new thread,
 * rt_sigaction (glibc's handlers, set at the first pthread_create),
 * sched_getaffinity (pthread_getattr_np, in the sanitizer runtime). No
 * ioctl: FunctionFS needs none here. */
static int
seccomp_usb(int sock, const int fds[MR_LINK_FFS_FDS], mr_diag *d)
{
	const uint32_t me = (uint32_t)getpid();
	struct sock_filter f[] = {
		COMMON(me),
#ifdef __NR_poll
		SYS_ANY(__NR_poll),
#endif
		SYS_ANY(__NR_ppoll),
		SYS_ANY(__NR_nanosleep),
		SYS_ANY(__NR_clock_nanosleep),
		SYS_ANY(__NR_set_robust_list),
		/* glibc installs its thread signal handlers at the first
		 * pthread_create; SECCOMP_RET_KILL_PROCESS cannot be caught. */
		SYS_ANY(__NR_rt_sigaction),
		/* pthread_getattr_np (the sanitizer runtime, at each thread's
		 * start): reads the thread's CPU mask. */
		SYS_ANY(__NR_sched_getaffinity),
#ifdef __NR_rseq
		SYS_ANY(__NR_rseq),
#endif
		SYS_ARG_EQ(__NR_sendto, 0, (uint32_t)sock),
		LD(SD_NR),
		/* write: one of four descriptors. */
		JEQ(__NR_write, 0, 7), LD(SD_ARG_LO(0)), JEQ((uint32_t)sock, 4, 0),
		JEQ((uint32_t)fds[0], 3, 0), JEQ((uint32_t)fds[2], 2, 0),
		JEQ((uint32_t)fds[4], 1, 0), KILL, ALLOW,
		/* clone: threads only. */
		JEQ(__NR_clone, 0, 4), LD(SD_ARG_LO(0)),
		BPF_JUMP(BPF_JMP | BPF_JSET | BPF_K, CLONE_THREAD, 1, 0), KILL, ALLOW,
#ifdef __NR_clone3
		JEQ(__NR_clone3, 0, 1),
		RET(SECCOMP_RET_ERRNO | (ENOSYS & SECCOMP_RET_DATA)),
#endif
		JEQ(__NR_openat, 0, 1),
		RET(SECCOMP_RET_ERRNO | (EACCES & SECCOMP_RET_DATA)),
		KILL,
	};

	return install(f, sizeof(f) / sizeof(f[0]), d);
}
#else
static int
seccomp_usb(int sock, const int fds[MR_LINK_FFS_FDS], mr_diag *d)
{
	(void)sock;
	(void)fds;
	return mr_diag_set(d, MR_E_UNSUPPORTED, "no seccomp filter for this architecture");
}

static int
seccomp(int sock, mr_diag *d)
{
	(void)sock;
	return mr_diag_set(d, MR_E_UNSUPPORTED, "no seccomp filter for this architecture");
}

static int
seccomp_link(int sock, int lfd, mr_diag *d)
{
	(void)sock;
	(void)lfd;
	return mr_diag_set(d, MR_E_UNSUPPORTED, "no seccomp filter for this architecture");
}
#endif

static int
enter(pid_t parent, const int *keep, size_t nkeep, int dirfd, int *on, mr_diag *d)
{
	int r;

	*on = 0;
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "PR_SET_PDEATHSIG: %s", strerror(errno));
	/* The parent may have died before the line above took effect. */
	if (getppid() != parent)
		_exit(3);
	if (close_others(keep, nkeep) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "close_range: %s", strerror(errno));
	if ((r = drop_root(dirfd, d)) != MR_OK)
		return r;
	/* The kernel clears the parent-death signal when the ids change
	 * (prctl(2)): without this a root signer killed with SIGKILL left its
	 * child behind, as nobody, ignoring SIGTERM. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "PR_SET_PDEATHSIG: %s", strerror(errno));
	if (getppid() != parent)
		_exit(3);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
		return mr_diag_set(d, MR_E_INTERNAL, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
	return landlock(dirfd, on, d);
}

int
mr_sandbox_enter(pid_t parent, int sock, int dirfd, int *on, mr_diag *d)
{
	int keep[2] = { sock, dirfd }, r;

	if ((r = enter(parent, keep, 2, dirfd, on, d)) != MR_OK)
		return r;
	return seccomp(sock, d);
}

int
mr_sandbox_enter_link(pid_t parent, int sock, int lfd, int *on, mr_diag *d)
{
	int keep[2] = { sock, lfd }, r;

	if ((r = enter(parent, keep, 2, -1, on, d)) != MR_OK)
		return r;
	return seccomp_link(sock, lfd, d);
}

int
mr_sandbox_enter_usb(pid_t parent, int sock, const int fds[MR_LINK_FFS_FDS], int *on,
    mr_diag *d)
{
	int keep[1 + MR_LINK_FFS_FDS], r;

	keep[0] = sock;
	for (size_t i = 0; i < MR_LINK_FFS_FDS; i++)
		keep[1 + i] = fds[i];
	if ((r = enter(parent, keep, 1 + MR_LINK_FFS_FDS, -1, on, d)) != MR_OK)
		return r;
	return seccomp_usb(sock, fds, d);
}

#else /* !__linux__ */

int
mr_sandbox_enter(pid_t parent, int sock, int dirfd, int *on, mr_diag *d)
{
	(void)parent;
	(void)sock;
	(void)dirfd;
	*on = 0;
	return mr_diag_set(d, MR_E_UNSUPPORTED, "no parser sandbox on this system");
}

int
mr_sandbox_enter_link(pid_t parent, int sock, int lfd, int *on, mr_diag *d)
{
	(void)parent;
	(void)sock;
	(void)lfd;
	*on = 0;
	return mr_diag_set(d, MR_E_UNSUPPORTED, "no link sandbox on this system");
}

int
mr_sandbox_enter_usb(pid_t parent, int sock, const int fds[MR_LINK_FFS_FDS], int *on,
    mr_diag *d)
{
	(void)parent;
	(void)sock;
	(void)fds;
	*on = 0;
	return mr_diag_set(d, MR_E_UNSUPPORTED, "no link sandbox on this system");
}

#endif

/*
 * T4: /init of a throwaway VM. Loads the USB modules (dummy_hcd: a host
 * controller wired to a gadget controller inside the same kernel), builds
 * the meshroot gadget in configfs exactly as boards/linux-gadget does,
 * starts the real FunctionFS appliance daemon, binds the gadget, runs the
 * real host binary over libusb, prints the outcome and powers off. Before
 * that it reports, from /proc, which processes hold the FunctionFS
 * endpoints and the PKCS#11 module (privilege separation).
 * Built static; everything else (binaries, libraries, token, state,
 * workspace) is in the initramfs at the paths the outer test chose.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define G "/sys/kernel/config/usb_gadget/meshroot"

static void
die(const char *what)
{
	printf("T4-RESULT rc=99 (%s: %s)\n", what, strerror(errno));
	fflush(stdout);
	reboot(RB_POWER_OFF);
	_exit(1);
}

static void
put(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY);

	if (fd < 0 || write(fd, value, strlen(value)) != (ssize_t)strlen(value))
		die(path);
	close(fd);
}

static void
load(const char *name)
{
	char path[256];
	int fd;

	snprintf(path, sizeof(path), "/modules/%s.ko", name);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		die(path);
	if (syscall(SYS_finit_module, fd, "", 0) != 0 && errno != EEXIST)
		die(path);
	close(fd);
}

static void
nap(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

static int
wait_for(const char *path, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		if (access(path, F_OK) == 0)
			return 1;
		nap(20);
	}
	return 0;
}

/* How many of pid's descriptors name a FunctionFS endpoint file. */
static int
ffs_fds(const char *pid)
{
	char dir[64], path[320], target[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(dir, sizeof(dir), "/proc/%s/fd", pid);
	if ((d = opendir(dir)) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		ssize_t k;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if ((k = readlink(path, target, sizeof(target) - 1)) <= 0)
			continue;
		target[k] = '\0';
		n += strncmp(target, "/dev/ffs-meshroot/ep", 20) == 0;
	}
	closedir(d);
	return n;
}

/* The value of a /proc/PID/status field ("" when absent). */
static void
status_field(const char *pid, const char *key, char *out, size_t cap)
{
	char path[64], line[256];
	size_t kl = strlen(key);
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%s/status", pid);
	if ((f = fopen(path, "r")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, key, kl) == 0 && line[kl] == ':') {
			char *v = line + kl + 1;
			v += strspn(v, " \t");
			v[strcspn(v, "\n")] = '\0';
			/* Uid/Gid: real, effective, saved, fs. */
			for (char *t = v; *t != '\0'; t++)
				if (*t == '\t' || *t == ' ')
					*t = ',';
			snprintf(out, cap, "%s", v);
			break;
		}
	fclose(f);
}

/* 1 when pid has the PKCS#11 module (SoftHSM2) mapped: it holds the token. */
static int
maps_softhsm(const char *pid)
{
	char path[64], line[512];
	FILE *f;
	int yes = 0;

	snprintf(path, sizeof(path), "/proc/%s/maps", pid);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while (!yes && fgets(line, sizeof(line), f) != NULL)
		yes = strstr(line, "libsofthsm2") != NULL;
	fclose(f);
	return yes;
}

/* Privilege separation, seen from outside: every process that holds a
 * FunctionFS endpoint, and the daemon (the signer). */
static void
report_privsep(pid_t daemon)
{
	char me[16], seccomp[16], uid[64], gid[64], nnp[16], ppid[16], threads[16];
	struct dirent *e;
	DIR *d = opendir("/proc");

	snprintf(me, sizeof(me), "%d", (int)daemon);
	status_field(me, "Seccomp", seccomp, sizeof(seccomp));
	printf("T4-PRIVSEP signer pid=%s seccomp=%s ffs_fds=%d softhsm=%d\n", me, seccomp,
	    ffs_fds(me), maps_softhsm(me));
	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] < '1' || e->d_name[0] > '9' || strcmp(e->d_name, me) == 0)
			continue;
		if (ffs_fds(e->d_name) == 0)
			continue;
		status_field(e->d_name, "Seccomp", seccomp, sizeof(seccomp));
		status_field(e->d_name, "Uid", uid, sizeof(uid));
		status_field(e->d_name, "Gid", gid, sizeof(gid));
		status_field(e->d_name, "NoNewPrivs", nnp, sizeof(nnp));
		status_field(e->d_name, "PPid", ppid, sizeof(ppid));
		status_field(e->d_name, "Threads", threads, sizeof(threads));
		printf("T4-PRIVSEP link pid=%s ppid=%s seccomp=%s uid=%s gid=%s nnp=%s threads=%s "
		       "ffs_fds=%d softhsm=%d\n", e->d_name, ppid, seccomp, uid, gid, nnp, threads,
		    ffs_fds(e->d_name), maps_softhsm(e->d_name));
	}
	if (d != NULL)
		closedir(d);
	fflush(stdout);
}

/* execve(2) takes char *const[] for historical reasons and never writes
 * through it; the tables below are string literals. */
static char *const *
exec_args(const char *const *v)
{
	union {
		const char *const *c;
		char *const *m;
	} u = { v };
	return u.m;
}

int
main(void)
{
	static const char *const mods[] = { "usb-common", "usbcore", "configfs", "udc-core",
		"libcomposite", "usb_f_fs", "dummy_hcd" };
	static const char *const env[] = { "PATH=/bin", "SOFTHSM2_CONF=/softhsm2.conf",
		"LD_LIBRARY_PATH=/lib/x86_64-linux-gnu:/usr/lib/softhsm", "HOME=/",
		"MESHROOT_SERIAL=T4-0001",
		/* TCG under a loaded CI machine is slow: be patient. */
		"MESHROOT_LINK_TIMEOUT_MS=30000", NULL };
	static const char *const appliance[] = { "/bin/meshroot-appliance", "--state", "/state", "--module",
		"/usr/lib/softhsm/libsofthsm2.so", "--token", "meshroot-test", "--pin-file", "/user.pin",
		"serve", "--usb", "--ffs", "/dev/ffs-meshroot", "--approve", "auto", NULL };
	static const char *const submit[] = { "/bin/meshroot", "--workspace", "/ws", "submit", "--usb",
		"--poll-ms", "50", NULL };
	pid_t daemon, host;
	int status = 0;

	mount("proc", "/proc", "proc", 0, NULL);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	mount("tmpfs", "/tmp", "tmpfs", 0, NULL);
	for (size_t i = 0; i < sizeof(mods) / sizeof(mods[0]); i++)
		load(mods[i]);
	if (mount("none", "/sys/kernel/config", "configfs", 0, NULL) != 0)
		die("configfs");

	/* The gadget: boards/linux-gadget/meshroot-gadget.sh, in C. */
	if (mkdir(G, 0755) != 0)
		die(G);
	put(G "/idVendor", "0x1209");
	put(G "/idProduct", "0x0001");
	put(G "/bcdDevice", "0x0100");
	put(G "/bcdUSB", "0x0200");
	mkdir(G "/strings/0x409", 0755);
	put(G "/strings/0x409/serialnumber", "T4-0001");
	put(G "/strings/0x409/manufacturer", "meshroot");
	put(G "/strings/0x409/product", "meshroot appliance");
	mkdir(G "/configs/c.1", 0755);
	mkdir(G "/configs/c.1/strings/0x409", 0755);
	put(G "/configs/c.1/strings/0x409/configuration", "meshroot");
	put(G "/configs/c.1/MaxPower", "100");
	if (mkdir(G "/functions/ffs.meshroot", 0755) != 0)
		die("ffs function");
	if (symlink(G "/functions/ffs.meshroot", G "/configs/c.1/ffs.meshroot") != 0)
		die("config link");
	mkdir("/dev/ffs-meshroot", 0755);
	if (mount("meshroot", "/dev/ffs-meshroot", "functionfs", 0, NULL) != 0)
		die("functionfs");

	if ((daemon = fork()) == 0) {
		execve(appliance[0], exec_args(appliance), exec_args(env));
		die("appliance");
	}
	/* ep1 appears once the daemon has written its descriptors. */
	if (!wait_for("/dev/ffs-meshroot/ep1", 30000))
		die("daemon descriptors");
	put(G "/UDC", "dummy_udc.0");
	if (!wait_for("/dev/bus/usb/001/002", 30000) && !wait_for("/dev/bus/usb/002/002", 1000))
		die("enumeration");
	nap(200);
	if ((host = fork()) == 0) {
		execve(submit[0], exec_args(submit), exec_args(env));
		die("host");
	}
	waitpid(host, &status, 0);
	report_privsep(daemon);
	printf("T4-RESULT rc=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128);
	{
		/* The certificate, for the outer test to check with openssl. */
		char buf[8192];
		ssize_t n;
		int fd = open("/ws/clusters/east/ca-cert.pem", O_RDONLY);
		if (fd >= 0) {
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				fwrite(buf, 1, (size_t)n, stdout);
			close(fd);
		}
	}
	fflush(stdout);
	kill(daemon, SIGTERM);
	nap(300);
	sync();
	reboot(RB_POWER_OFF);
	return 0;
}

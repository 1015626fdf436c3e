/*
 * The link on a Linux USB gadget through FunctionFS (boards/linux-gadget
 * sets up the configfs gadget and mounts the function at DIR):
 *
 *   DIR/ep0   descriptors and strings are written here first; then it
 *             delivers BIND, UNBIND, ENABLE, DISABLE, SETUP, SUSPEND events
 *   DIR/ep1   bulk OUT (host to appliance): read one packet at a time
 *   DIR/ep2   bulk IN  (appliance to host)
 *
 * One vendor-specific interface (class 0xff) with that bulk pair, full and
 * high speed. A thread reads ep0 events, another reads ep1 into a pipe so
 * that the serve loop can wait for input with a timeout (FunctionFS
 * endpoint files cannot be polled). A DISABLE or UNBIND (host gone, cable
 * pulled, bus reset) ends the host's session: mr_link_ffs_reset_seen.
 */
#ifndef MR_LINK_FFS_H
#define MR_LINK_FFS_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"

#define MR_LINK_FFS_DEFAULT "/dev/ffs-meshroot"
#define MR_LINK_FFS_CHUNK 512 /* high-speed bulk wMaxPacketSize */

typedef struct mr_link_ffs mr_link_ffs;

/* Opens the endpoints and writes the descriptors and strings (the serial
 * string is the gadget's, set in configfs: serial is not used). No thread
 * runs until mr_link_ffs_start, so a caller can confine itself in between
 * (the threads inherit its seccomp filter, Landlock domain and ids). */
int mr_link_ffs_open(const char *dir, const char *serial, mr_link_ffs **out, mr_diag *d)
    MR_MUST_CHECK;
int mr_link_ffs_start(mr_link_ffs *f, mr_diag *d) MR_MUST_CHECK;

/* The descriptors it holds: ep0, ep1, ep2, the pipe's read and write end.
 * Written to: ep0 (zero-length status), ep2 (replies), the pipe (ep1's
 * packets, by the ep1 thread). */
#define MR_LINK_FFS_NFDS 5
void mr_link_ffs_fds(const mr_link_ffs *f, int fds[MR_LINK_FFS_NFDS]);
void mr_link_ffs_close(mr_link_ffs *f);

/* 1 once after each disable/unbind/reset since the last call. */
int mr_link_ffs_reset_seen(mr_link_ffs *f);

/* mr_linkio callbacks; ctx is the mr_link_ffs. */
int mr_link_ffs_read(void *ctx, uint8_t *buf, size_t n, int timeout_ms);
int mr_link_ffs_write(void *ctx, const uint8_t *buf, size_t n);

#endif

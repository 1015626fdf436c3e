/*
 * The link on a unix socket: how the sim board serves the same byte stream
 * its USB gadget would (`serve --listen unix:PATH`), and how the host
 * reaches it (`submit --connect unix:PATH`). The socket is created 0600.
 */
#ifndef MR_LINK_SOCKET_H
#define MR_LINK_SOCKET_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"

/* "unix:PATH" -> PATH; NULL for any other form. */
const char *mr_link_socket_path(const char *spec);

int mr_link_socket_listen(const char *path, int *fd, mr_diag *d) MR_MUST_CHECK;
/* 1 with *cfd set, 0 on timeout, an mr_err on failure. */
int mr_link_socket_accept(int lfd, int timeout_ms, int *cfd);
int mr_link_socket_connect(const char *path, int *fd, mr_diag *d) MR_MUST_CHECK;

/* mr_linkio callbacks; ctx points at the int file descriptor. */
int mr_link_fd_read(void *ctx, uint8_t *buf, size_t n, int timeout_ms);
int mr_link_fd_write(void *ctx, const uint8_t *buf, size_t n);

#endif

/*
 * The host workspace: everything `meshroot` knows, in one directory.
 *
 *   root-cert.pem                  the pinned root (first media import, or
 *                                  `root pin`); every answer is checked
 *                                  against it
 *   audit-key.pub                  the appliance's audit key, pinned with the
 *                                  root (audit_media.h)
 *   clusters/<name>/ca-key.pem     the intermediate key (0600; absent after
 *                                  `cluster import`)
 *   clusters/<name>/csr.pem        the request
 *   clusters/<name>/ca-cert.pem    the certificate, once imported and checked
 *
 * A cluster is waiting while it has no ca-cert.pem whose key is its CSR's.
 */
#ifndef MR_HOST_WORKSPACE_H
#define MR_HOST_WORKSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "mr_cert.h"
#include "mr_csr.h"
#include "mr_diag.h"

/* A sanity bound on one workspace, far above any fleet (the list costs
 * about 24 bytes a cluster plus its name): past it, a clear error. */
#define MR_WS_LIST_MAX 1000000u
#define MR_WS_CERT_MAX 8192

/* <workspace>/clusters/<name>/<file> (file may be NULL for the dir). */
int mr_ws_path(const mr_host_opts *o, const char *name, const char *file, char *out,
    size_t cap) MR_MUST_CHECK;

/* Reads the first CERTIFICATE of a PEM file and parses it into c. */
int mr_ws_read_cert(const char *path, uint8_t *der, size_t cap, size_t *len, mr_cert *c,
    mr_diag *d) MR_MUST_CHECK;

/* Reads and parses (signature checked) a PEM CSR. */
int mr_ws_read_csr(const char *path, uint8_t *der, size_t cap, size_t *len, mr_csr *c,
    mr_diag *d) MR_MUST_CHECK;

/* The same without checking the request's self-signature: for what only
 * needs its key or its bytes (an answer's check against the workspace's
 * own request; `submit`, whose appliance checks the self-signature). */
int mr_ws_read_csr_key(const char *path, uint8_t *der, size_t cap, size_t *len, mr_csr *c,
    mr_diag *d) MR_MUST_CHECK;

/* The pinned root. MR_E_NOTFOUND when nothing is pinned yet. */
int mr_ws_read_root(const mr_host_opts *o, uint8_t *der, size_t cap, size_t *len,
    mr_cert *c, mr_diag *d) MR_MUST_CHECK;

/*
 * The cluster names of the workspace, sorted: the only whole-fleet state a
 * command keeps. Commands over every cluster walk it and read each
 * cluster's files one at a time, so memory stays flat with the fleet.
 * names[i] points into one block; mr_ws_list_free releases both.
 */
typedef struct {
	char **names;
	size_t n;
	char *block;
} mr_ws_list;

int mr_ws_list_read(const mr_host_opts *o, mr_ws_list *l, mr_diag *d) MR_MUST_CHECK;
void mr_ws_list_free(mr_ws_list *l);

/* The first max cluster names of the workspace, sorted, into a fixed
 * array; more than max is MR_E_RANGE. */
int mr_ws_clusters(const mr_host_opts *o, char names[][64], size_t max, size_t *n,
    mr_diag *d) MR_MUST_CHECK;

/* 1 when the cluster has a ca-cert.pem for the key of its csr.pem. */
int mr_ws_cluster_issued(const mr_host_opts *o, const char *name);

/* Writes der as PEM at path atomically with mode. */
int mr_ws_write_pem(const char *path, const char *label, const uint8_t *der, size_t len,
    unsigned mode, mr_diag *d) MR_MUST_CHECK;

#endif

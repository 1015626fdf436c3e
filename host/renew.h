/*
 * Renewal of a cluster's intermediate (`cluster renew NAME`) and the
 * expiry checks of `status`.
 *
 * Renewal with a new key (the default) keeps the running pair untouched
 * until the new certificate is imported:
 *   ca-key.next.pem   the new key (0600), made by `cluster renew`
 *   csr.pem           replaced by the new key's request, so the cluster is
 *                     waiting again and `media export` / `submit` send it
 *   ca-cert.pem, ca-key.pem   the old pair, still in service
 * When the answer for the new request is imported, ca-cert.pem is replaced
 * and mr_host_renew_finish moves the old pair to ca-cert.prev.pem /
 * ca-key.prev.pem and ca-key.next.pem to ca-key.pem. It is idempotent and
 * also runs before `bundle`, so a crash between the two steps heals.
 */
#ifndef MR_HOST_RENEW_H
#define MR_HOST_RENEW_H

#include "cmd.h"
#include "mr_diag.h"
#include "mr_keytype.h"

/* `cluster renew NAME [--key TYPE]`: type MR_KEY_UNKNOWN keeps the current
 * key type. */
int mr_host_cluster_renew(const mr_host_opts *o, const char *name, mr_key_type type);

/* Completes a renewal whose certificate was imported (see above): MR_OK
 * and nothing done when there is none to complete. */
int mr_host_renew_finish(const mr_host_opts *o, const char *name, mr_diag *d) MR_MUST_CHECK;

/* 1 while a renewal waits for its certificate. */
int mr_host_renew_pending(const mr_host_opts *o, const char *name);

#endif

/*
 * Root rotation on the host (docs/rotation.md).
 *
 *   root-cert.pem            the pinned root: after `root rotate`, the new one
 *   previous-root-cert.pem   the root before the last rotation
 *   roots-transition.pem     both roots, while the transition lasts: `bundle`
 *                            writes it as root-cert.pem (a superset of the
 *                            old set, as istiod's ISTIO_MULTIROOT_MESH rule
 *                            wants), and `root finish` removes it (the new
 *                            set is then a subset of the transition set)
 */
#ifndef MR_HOST_ROTATE_H
#define MR_HOST_ROTATE_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "mr_diag.h"

/*
 * The roots for a cluster's file set: *roots (root-cert.pem: both roots
 * during a transition, else the pinned one) and *issuer (the root that
 * signed cert_der: the end of cert-chain.pem). Both malloc'd PEM; the
 * caller frees them.
 */
int mr_host_bundle_roots(const mr_host_opts *o, const uint8_t *cert_pem, size_t cert_pem_len,
    uint8_t **roots, size_t *roots_len, uint8_t **issuer, size_t *issuer_len,
    mr_diag *d) MR_MUST_CHECK;

#endif

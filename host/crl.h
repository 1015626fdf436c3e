/*
 * Host-side CRLs for Istio's optional ca-crl.pem: istiod then requires, for
 * every certificate in cert-chain.pem, a CRL signed by that certificate.
 * The root's CRL comes from the appliance (media: meshroot/root.crl.pem,
 * checked and kept as <workspace>/root.crl.pem); each intermediate's CRL is
 * signed here with the cluster's own ca-key.pem.
 *
 *   <workspace>/root.crl.pem                 the newest root CRL imported
 *   <workspace>/clusters/<name>/crl-number   the intermediate's last cRLNumber
 */
#ifndef MR_HOST_CRL_H
#define MR_HOST_CRL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "cmd.h"
#include "mr_cert.h"
#include "mr_diag.h"

#define MR_HOST_CRL_MAX (256u * 1024u)

/*
 * Takes media/meshroot/root.crl.pem when present: it must be a v2 CRL
 * issued and signed by `root`, with a cRLNumber not below the one already
 * in the workspace (an old CRL never replaces a newer one). Returns MR_OK
 * and *imported = 0 when the media has none.
 */
int mr_host_crl_import(const mr_host_opts *o, const char *media, const mr_cert *root,
    int *imported, mr_diag *d) MR_MUST_CHECK;

/*
 * Signs a CRL for cluster `name` with its ca-key.pem (no revoked entries:
 * the intermediate's own issuance is istiod's business), cRLNumber one
 * above the cluster's crl-number, thisUpdate now, nextUpdate now + days
 * (at most the intermediate's notAfter). PEM into out (NUL-terminated).
 */
int mr_host_crl_intermediate(const mr_host_opts *o, const char *name, unsigned days,
    time_t now, char *out, size_t cap, size_t *len, mr_diag *d) MR_MUST_CHECK;

/*
 * The ca-crl.pem check of `meshroot verify`: reads dir/ca-crl.pem (absent:
 * no problems) and checks it against the certificates of the chain file
 * `chain` (a path): every certificate has a CRL whose issuer is its
 * subject and whose signature its key verifies, current at `now`; no
 * certificate of the chain is on its issuer's CRL. Each problem is one
 * line "<shown>: problem: ..." on out; returns the number of problems.
 */
int mr_host_verify_crl(const char *dir, const char *shown, const char *chain, FILE *out,
    time_t now);

#endif

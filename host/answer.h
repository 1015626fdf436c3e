/*
 * Checking what the appliance sends back, whatever carried it (media or
 * the USB link). The appliance is trusted only through cryptography: its
 * root must be the pinned one (pinned on first use, or when it matches an
 * expected fingerprint), and an answer is accepted only if it is signed by
 * that root, names it as issuer, certifies exactly this workspace's CSR
 * key, and passes the CA lints the appliance applies.
 */
#ifndef MR_HOST_ANSWER_H
#define MR_HOST_ANSWER_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "mr_cert.h"
#include "mr_diag.h"

/* Parses der[0..len) into root (der must outlive it) and checks it against
 * the pinned root, pinning it when nothing is pinned yet. `source` names
 * where it came from in messages ("the media", "the appliance"). */
int mr_answer_root(const mr_host_opts *o, const uint8_t *der, size_t len, const char *expect,
    const char *source, mr_cert *root, mr_diag *d) MR_MUST_CHECK;

/* Checks the certificate der[0..len) as the answer for cluster `name` and
 * writes it to the cluster's ca-cert.pem. Prints the accepted serial. */
int mr_answer_accept(const mr_host_opts *o, const char *name, const uint8_t *der, size_t len,
    const mr_cert *root, mr_diag *d) MR_MUST_CHECK;

/* The audit key the appliance sent (vkey text, one line): pinned with the
 * root in <workspace>/audit-key.pub on first use, else checked against
 * the pin, as media import does. An empty key does nothing. */
int mr_answer_audit_key(const mr_host_opts *o, const char *vkey, const char *source,
    mr_diag *d) MR_MUST_CHECK;

/* With a pinned audit key, proof[0..n) must prove that the issue record of
 * the certificate der[0..len) is in the appliance's log (audit_media.c's
 * check); it is kept as the cluster's ca-cert.audit. Without a pinned key:
 * MR_OK. On failure the caller takes the certificate back. */
int mr_answer_audit_proof(const mr_host_opts *o, const char *name, const uint8_t *proof,
    size_t n, const uint8_t *der, size_t len, mr_diag *d) MR_MUST_CHECK;

#endif

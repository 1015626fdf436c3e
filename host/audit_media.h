/*
 * The audit side of answers (docs/audit.md, docs/media.md): the appliance
 * writes meshroot/audit-key.pub with the root, and answers/<cluster>.audit
 * beside each answers/<cluster>.pem: the issue record, its RFC 9162
 * inclusion proof and the checkpoint signed right after it.
 *
 * The workspace pins the audit key together with the root on the first
 * media import (<workspace>/audit-key.pub); from then on every imported
 * answer must come with a proof that verifies under the pinned key and
 * names exactly that certificate.
 */
#ifndef MR_HOST_AUDIT_MEDIA_H
#define MR_HOST_AUDIT_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "cmd.h"
#include "mr_checkpoint.h"
#include "mr_diag.h"

/* The workspace's pinned audit key file, <workspace>/audit-key.pub
 * (MR_E_RANGE when the path does not fit out). */
int mr_host_audit_pinned_path(const mr_host_opts *o, char *out, size_t cap, mr_diag *d)
    MR_MUST_CHECK;

/* Reads a verifier key file (audit-key.pub). */
int mr_host_audit_read_key(const char *path, mr_note_key *k, mr_diag *d) MR_MUST_CHECK;

/* Pins the media's audit key, or checks it against the pinned one.
 * MR_OK (and nothing done) when the media carries none. */
int mr_host_audit_pin(const mr_host_opts *o, const char *media, mr_diag *d) MR_MUST_CHECK;

/*
 * Checks the proof file `proof_path` under key k for the certificate
 * der[0..len): signed checkpoint, inclusion of the record, record is the
 * issue of exactly this certificate. On success serial, index (0-based)
 * and the checkpoint are filled. MR_E_SIG / MR_E_AUDIT with a reason.
 */
int mr_host_audit_check_proof(const mr_note_key *k, const char *proof_path, const uint8_t *der,
    size_t len, char serial[64], uint64_t *index, mr_checkpoint *cp, mr_diag *d) MR_MUST_CHECK;

/* As mr_host_audit_check_proof for the proof text[0..tl) (read from, or
 * to be kept as, proof_path, which names it in messages). */
int mr_host_audit_check_proof_text(const mr_note_key *k, const char *proof_path,
    const uint8_t *text, size_t tl, const uint8_t *der, size_t len, char serial[64],
    uint64_t *index, mr_checkpoint *cp, mr_diag *d) MR_MUST_CHECK;

/* With a pinned audit key k: the answer's .audit on the media must verify
 * (above); *proven = 1 and the proof's serial, index and checkpoint are
 * filled. k NULL (none pinned): MR_OK and *proven = 0. */
int mr_host_audit_answer(const mr_note_key *k, const char *media, const char *cluster,
    const uint8_t *der, size_t len, int *proven, char serial[64], uint64_t *index,
    mr_checkpoint *cp, mr_diag *d) MR_MUST_CHECK;

#endif

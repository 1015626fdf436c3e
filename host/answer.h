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
#include "mr_checkpoint.h"
#include "mr_cluster.h"
#include "mr_diag.h"
#include "mr_fileio.h"

/* Parses der[0..len) into root (der must outlive it) and checks it against
 * the pinned root, pinning it when nothing is pinned yet. `source` names
 * where it came from in messages ("the media", "the appliance"). */
int mr_answer_root(const mr_host_opts *o, const uint8_t *der, size_t len, const char *expect,
    const char *source, mr_cert *root, mr_diag *d) MR_MUST_CHECK;

/*
 * Answers are taken a group at a time (group commit, as the appliance
 * releases them): each is checked in full first (root, key, lints, and
 * with a pinned audit key its proof), then staged; mr_answer_commit makes
 * the group durable with two syncs (mr_file_group: temp files, syncfs,
 * renames, syncfs) and only then reports each as accepted. In a cluster's
 * directory ca-cert.audit is renamed before ca-cert.pem, the name that
 * makes a cluster issued: a crash leaves an answer taken whole or not at
 * all, and the next import or submit takes what was missed.
 */
#define MR_ANSWER_GROUP 32

typedef struct {
	char name[MR_CLUSTER_MAX + 1];
	char serial[64];
	int proven;            /* an audit proof was checked */
	int kept;              /* and is stored as ca-cert.audit */
	uint64_t index;        /* 0-based record number in the log */
	uint64_t size;         /* records the checkpoint signs */
	char time[40];
} mr_answer_taken;

typedef struct {
	mr_file_group g;
	size_t n;
	mr_answer_taken taken[MR_ANSWER_GROUP];
	/* Set by mr_answer_take: the last answer passed every check (when
	 * it failed all the same, writing it failed: this host, not the
	 * answer). */
	int checked;
	/* The workspace's pinned audit key, read at the first answer and
	 * kept for the run (a run pins it, if at all, before its answers). */
	int key_read, key_pinned;
	mr_note_key key;
} mr_answer_batch;

/* Reports a cluster's answer that was checked but could not be stored. */
typedef void mr_answer_report(void *ctx, const char *name, const char *text);

void mr_answer_batch_init(mr_answer_batch *b);

/* Checks the certificate der[0..len) as the answer for cluster `name`
 * (issued by the pinned root, certifying this workspace's CSR key, CA
 * lints) and stages it. csr[0..csr_len) is the cluster's request as the
 * caller read it from the workspace (submit holds it); NULL reads the
 * workspace's csr.pem. With a pinned audit key, the proof: proof[0..n)
 * when given (kept as the cluster's ca-cert.audit), else the media's
 * answers/<name>.audit of `media` (checked, not copied); a missing or
 * failing proof refuses the answer. Nothing is written on failure. The
 * caller commits when mr_answer_batch_full. */
int mr_answer_take(const mr_host_opts *o, mr_answer_batch *b, const char *name,
    const uint8_t *der, size_t len, const uint8_t *csr, size_t csr_len, const mr_cert *root,
    const char *media, const uint8_t *proof, size_t n, mr_diag *d) MR_MUST_CHECK;

int mr_answer_batch_full(const mr_answer_batch *b);

/* Makes the staged answers durable, prints each as accepted, and puts a
 * renewal's new key in service. Answers not stored are reported through
 * `report` and counted in *failed. The batch is empty afterwards. */
void mr_answer_commit(const mr_host_opts *o, mr_answer_batch *b, mr_answer_report *report,
    void *ctx, size_t *failed);

/* Removes what was staged and not committed. */
void mr_answer_batch_free(mr_answer_batch *b);

/* The audit key the appliance sent (vkey text, one line): pinned with the
 * root in <workspace>/audit-key.pub on first use, else checked against
 * the pin, as media import does. An empty key does nothing. */
int mr_answer_audit_key(const mr_host_opts *o, const char *vkey, const char *source,
    mr_diag *d) MR_MUST_CHECK;

#endif

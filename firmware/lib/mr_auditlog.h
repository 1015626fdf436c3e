/*
 * Reading the audit log (its writer is firmware/core/state/audit.c): one record
 * per line, "seq=N time=T event=E key=value ... prev=H\n", values
 * percent-encoded (mr_record.h), prev the SHA-256 of the previous line
 * (64 zeros for the first). Each line, newline included, is also a leaf of
 * an RFC 9162 Merkle tree (mr_merkle.h) whose signed heads are the
 * checkpoints (mr_checkpoint.h). docs/audit.md describes the format.
 *
 * The scanner takes untrusted bytes and stops at the first record that is
 * malformed, out of sequence or off the chain, naming it (1-based, as its
 * seq= should read) and why. Pure: no I/O, no allocation.
 */
#ifndef MR_AUDITLOG_H
#define MR_AUDITLOG_H

#include <stddef.h>
#include <stdint.h>

#include "mr_err.h"
#include "mr_merkle.h"
#include "mr_record.h"

typedef struct {
	size_t n;             /* records that passed */
	size_t good_bytes;    /* their bytes */
	uint8_t last_hash[32];/* SHA-256 of the last good line: the next prev= */
	int torn;             /* the data ends in a line without its newline */
	size_t bad;           /* number of the first bad record; 0 when none */
	int bad_prev;         /* bad only because prev= does not match record bad - 1 */
	char why[256];
} mr_auditlog_scan;

/*
 * Scans data[0..len). leaves, if not NULL, receives the leaf hash of each
 * good record (cap entries at most: more records is MR_E_RANGE). MR_OK when
 * every complete line is good (a torn last line is reported in s->torn, not
 * an error), MR_E_AUDIT at the first bad record.
 */
int mr_auditlog_scan_buf(const uint8_t *data, size_t len, mr_merkle_hash *leaves, size_t cap,
    mr_auditlog_scan *s) MR_MUST_CHECK;

/*
 * The same scan a line at a time, for a log read in pieces: init, then
 * scan_line for each complete line (n bytes, newline included) in order.
 * leaf, if not NULL, receives the line's leaf hash. MR_E_AUDIT (s->bad,
 * s->why set) at a bad record; the scan must not go on after it.
 */
void mr_auditlog_scan_init(mr_auditlog_scan *s);
int mr_auditlog_scan_line(mr_auditlog_scan *s, const char *line, size_t n, mr_merkle_hash leaf)
    MR_MUST_CHECK;

/* Checks one line (no newline) as a record; why gets the reason. */
int mr_auditlog_check_line(const char *line, size_t n, char *why, size_t why_cap) MR_MUST_CHECK;

/*
 * The inclusion proof carried next to a media answer (answers/<c>.audit):
 *
 *   meshroot-audit-proof v1\n
 *   index <0-based leaf index>\n
 *   record <the record line, without newline>\n
 *   path <hex hash>\n          (leaf side first, one per line)
 *   checkpoint\n
 *   <the signed checkpoint, verbatim, to the end>
 */
typedef struct {
	uint64_t index;
	char record[MR_RECORD_MAX + 1]; /* with its newline */
	size_t record_len;
	mr_merkle_hash path[MR_MERKLE_MAX_PROOF];
	size_t path_len;
	const char *checkpoint; /* into the parsed text */
	size_t checkpoint_len;
} mr_audit_proof;

int mr_audit_proof_format(uint64_t index, const char *record, size_t record_len,
    const mr_merkle_hash *path, size_t path_len, const char *checkpoint, size_t cp_len,
    char *out, size_t cap, size_t *len) MR_MUST_CHECK;
int mr_audit_proof_parse(const char *text, size_t n, mr_audit_proof *p, char *why,
    size_t why_cap) MR_MUST_CHECK;

#endif

/*
 * The appliance audit log: an append-only file of line records, each
 * carrying its sequence number, UTC time, event name, the event's fields,
 * and prev=<SHA-256 of the previous line> so that any edit, removal or
 * reordering breaks the chain. Every record is fsync'ed before
 * mr_audit_append returns; callers append BEFORE they release a result,
 * so a result exists only if its record does (fail closed).
 *
 * Each line (newline included) is also a leaf of an RFC 9162 Merkle tree;
 * the writer keeps the leaf hashes so that checkpoints (signed tree heads,
 * mr_checkpoint.h, signed by the token's audit key through mr_app) and
 * inclusion proofs can be made at any time. docs/audit.md has the format.
 *
 * Opening the log verifies the whole chain (mr_auditlog.h). A final line
 * without its newline is the trace of a crash during an append (the record
 * was never acknowledged): it is cut off and the repair itself is logged.
 *
 * The log grows with every certificate the appliance ever issues, so it is
 * never read whole: opening it reads it in pieces (mr_filelines.h), and
 * the writer keeps where each record starts, so that one old record (a
 * lost answer's, an audit export's next lines) is read on its own. The
 * issue records are indexed by serial, the lookup every answer given again
 * makes. What stays in memory is about 5 bytes a record, and 28 an issue
 * record.
 */
#ifndef MR_AUDIT_H
#define MR_AUDIT_H

#include <stdint.h>

#include "mr_diag.h"
#include "mr_fileio.h"
#include "mr_hindex.h"
#include "mr_merkle.h"
#include "mr_record.h"

/* About half a million certificates (two records each). At this size the
 * log is about 370 MB, which every start reads, and its tree and issue
 * index take about 20 MiB: the appliance refuses to grow the log past it
 * rather than run short of memory in the middle of a batch. */
#define MR_AUDIT_MAX_RECORDS (1u << 20)

/* The records looked up by value: the last with this event and this
 * field value is found without reading the log. */
#define MR_AUDIT_INDEX_EVENT "issue"
#define MR_AUDIT_INDEX_KEY "serial"

typedef struct {
	uint8_t value_hash[16]; /* of the field's value: the index key */
	uint32_t leaf;
} mr_audit_indexed;

typedef struct {
	char path[4096];
	unsigned long next_seq;
	uint8_t last_hash[32];
	/* Subtree hashes (mr_merkle.h): a root or a proof costs O(log^2 n),
	 * so a batch's answers do not each rehash the whole log; below a
	 * block of MR_MERKLE_BLOCK records they are read again from the log
	 * when needed. */
	mr_merkle_levels tree;
	uint64_t *bstart;       /* bstart[b]: the offset of record b * MR_MERKLE_BLOCK */
	size_t blocks_cap;
	uint64_t bytes;         /* the log's size: the end of the last line */
	mr_diag fetch_diag;     /* why a block could not be read back */
	mr_audit_indexed *ix;   /* MR_AUDIT_INDEX_EVENT records, in order */
	size_t ix_n, ix_cap;
	mr_hindex ix_by_value;  /* value hash -> the last of them in ix */
	mr_file_log file;       /* open from the first append to mr_audit_close */
	int defer;              /* appends are not fsync'ed until mr_audit_sync */
	int dirty;              /* appended since the last sync */
	char last[MR_RECORD_MAX + 1]; /* the last record appended by this process */
	size_t last_len;
} mr_audit;

/* One record line, newline included; non-zero stops the read. */
typedef int (*mr_audit_line_fn)(void *ctx, const char *line, size_t n);

int mr_audit_open(mr_audit *a, const char *path, mr_diag *d) MR_MUST_CHECK;
/*
 * mr_audit_open that also shows fn each record as it is read, in order,
 * once its place in the chain is checked: a start learns what it needs
 * from the log (the ceremony's config, the issue records) in the one read
 * the open makes anyway. A non-zero from fn fails the open with that value
 * (fn sets d). fn sees the records the file held, not the audit-repair
 * record the open may append after them; on failure what it saw is moot.
 */
int mr_audit_open_observed(mr_audit *a, const char *path, mr_audit_line_fn fn, void *ctx,
    mr_diag *d) MR_MUST_CHECK;
/* Closes the file and frees the leaf hashes. Safe on a zeroed or closed
 * mr_audit. */
void mr_audit_close(mr_audit *a);

/* Appends one record: event plus the fields already in rec (which must
 * not be finished yet). */
int mr_audit_append(mr_audit *a, const char *event, mr_record *fields, mr_diag *d) MR_MUST_CHECK;

/* 1 if a record with this event has field key equal to value. */
/* Group commit: while deferred, appends are written but not fsync'ed;
 * mr_audit_sync makes them durable with one fsync (and is a no-op when
 * nothing is pending). Nothing that depends on a deferred record may be
 * released before mr_audit_sync returns MR_OK. */
void mr_audit_defer(mr_audit *a, int on);

/* The record the last mr_audit_append wrote (with its newline). */
void mr_audit_last(const mr_audit *a, char *line, size_t cap, size_t *len);
int mr_audit_sync(mr_audit *a, mr_diag *d) MR_MUST_CHECK;

int mr_audit_has(const mr_audit *a, const char *event, const char *key, const char *value);

/* The number of records, and the RFC 9162 root over all of them. */
size_t mr_audit_size(const mr_audit *a);
void mr_audit_root(mr_audit *a, mr_merkle_hash root);
/* The root over the first `size` records (a checkpoint's): MR_E_ARG past
 * the end, MR_E_AUDIT when records read back are not what was opened. */
int mr_audit_root_at(mr_audit *a, size_t size, mr_merkle_hash root, mr_diag *d) MR_MUST_CHECK;

/*
 * The last record with `event` whose field key equals value: its 0-based
 * leaf index and its line (newline included) in line[0..cap). MR_E_NOTFOUND
 * when there is none. MR_AUDIT_INDEX_EVENT records by MR_AUDIT_INDEX_KEY
 * come from the index; any other lookup reads the log (in pieces).
 */
int mr_audit_find(const mr_audit *a, const char *event, const char *key, const char *value,
    size_t *index, char *line, size_t cap, size_t *line_len, mr_diag *d) MR_MUST_CHECK;

/* Calls fn for every record line (newline included), in order, until fn
 * returns non-zero; that value is returned (MR_OK after the last line).
 * The log is read in pieces, and only up to the mr_audit_size records
 * this mr_audit knows: lines appended by anyone else are not read. */
int mr_audit_scan(const mr_audit *a, mr_audit_line_fn fn, void *ctx, mr_diag *d) MR_MUST_CHECK;

/* Record `index` (0-based), read on its own: its line (newline included)
 * in line[0..cap). MR_E_ARG for an index past the end. */
int mr_audit_line(const mr_audit *a, size_t index, char *line, size_t cap, size_t *line_len,
    mr_diag *d) MR_MUST_CHECK;
/* Records index.. as whole lines, as many as fit buf[0..cap) (at least
 * the first when it fits): *len bytes, *count records. */
int mr_audit_lines_from(const mr_audit *a, size_t index, char *buf, size_t cap, size_t *len,
    size_t *count, mr_diag *d) MR_MUST_CHECK;
/* The log's size in bytes: the end of its last record. */
uint64_t mr_audit_bytes(const mr_audit *a);

/* Inclusion proof of leaf `index` in the tree of the first `size` records. */
int mr_audit_inclusion(mr_audit *a, size_t index, size_t size, mr_merkle_hash *path,
    size_t cap, size_t *len) MR_MUST_CHECK;

#endif

/*
 * The issuance database: an append-only file of line records in the state
 * dir, loaded into memory at start.
 *
 *   reserve serial=S request=H cluster=C      written before the token signs
 *   issue   serial=S request=H cluster=C subject=.. key=.. not_before=..
 *           not_after=.. cert=<sha256>         written after the audit record
 *   abandon serial=S reason=..                 a reservation that never issued
 *   revoke  serial=S reason=<RFC 5280 name> time=<unix>
 *                                              an issued certificate revoked
 *                                              (at most once; goes on every
 *                                              later root CRL)
 *
 * A serial appears in at most one reserve line, so it is never reused; a
 * reservation is resolved to issue or abandon exactly once (see
 * mr_app_recover). Every append is fsync'ed.
 */
#ifndef MR_DB_H
#define MR_DB_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mr_diag.h"
#include "mr_fileio.h"
#include "mr_hindex.h"
#include "mr_names.h"
#include "mr_record.h"

typedef enum {
	MR_DB_RESERVED,
	MR_DB_ISSUED,
	MR_DB_ABANDONED,
} mr_db_state;

/* One serial. The digests are kept as bytes (hex in the file and in the
 * lookups), the cluster's name once for all its entries (mr_names.h):
 * 144 bytes an entry. */
typedef struct {
	char serial[41];     /* hex */
	uint8_t request[32]; /* SHA-256 of the CSR DER */
	uint8_t cert[32];    /* SHA-256 of the certificate DER, when issued */
	mr_db_state state;
	int revoked;         /* issued and then revoked */
	int reason;          /* MR_CRL_REASON_*, when revoked */
	long long not_after;
	long long revoked_at;
	const char *cluster; /* in the database's names, as long as it is open */
} mr_db_entry;

/*
 * e[0..n) in the order of their reserve lines. e may move on any reserve
 * (mr_db_reserve, and the repairs at start that call it): a pointer from
 * the lookups below is good until the next reserve or mr_db_close.
 */
typedef struct {
	char path[4096];
	mr_db_entry *e;
	size_t n, cap;
	/* Hash indexes into e (mr_hindex.h), grown with it: serial -> entry;
	 * request hash -> its first issued entry; cluster -> its last. */
	mr_hindex by_serial, by_request, by_cluster;
	mr_names clusters;
	mr_file_log file;  /* open from the first append to mr_db_close */
	int defer;         /* appends not fsync'ed until mr_db_sync */
	int dirty;
	size_t cut_bytes;  /* the torn final line mr_db_open cut, if any */
} mr_db;

int mr_db_open(mr_db *db, const char *path, mr_diag *d) MR_MUST_CHECK;
/*
 * mr_db_open in two steps, for a caller that reads the database while it
 * checks something else first: mr_db_read only reads (an absent file is
 * an empty database; *good_bytes and *total as mr_db_parse_file's),
 * mr_db_cut_torn then cuts the torn final line it found, if any (on
 * failure db is closed).
 */
int mr_db_read(mr_db *db, const char *path, uint64_t *good_bytes, uint64_t *total,
    mr_diag *d) MR_MUST_CHECK;
int mr_db_cut_torn(mr_db *db, uint64_t good_bytes, uint64_t total, mr_diag *d) MR_MUST_CHECK;
void mr_db_close(mr_db *db);
/*
 * As mr_db_open, on the file's bytes already read, and without touching
 * the file: a final line without its newline is not loaded and not cut;
 * *good_bytes is where the complete lines end (len when none is torn).
 * For `state check` (mr_statecheck.h), which diagnoses before it repairs.
 */
int mr_db_parse(mr_db *db, const char *path, const uint8_t *data, size_t len,
    size_t *good_bytes, mr_diag *d) MR_MUST_CHECK;

/*
 * The database file read in pieces for `state check`: as mr_db_parse
 * on its bytes, which it never cuts. *good_bytes gets where its complete
 * lines end, *total its length (more when the final line is torn).
 * MR_E_NOTFOUND when path is absent (db is then empty and usable); a line
 * longer than any record is MR_E_DB "<path>: line N unreadable".
 */
int mr_db_parse_file(mr_db *db, const char *path, uint64_t *good_bytes, uint64_t *total,
    mr_diag *d) MR_MUST_CHECK;

/* Group commit, as mr_audit_defer / mr_audit_sync. */
void mr_db_defer(mr_db *db, int on);
int mr_db_sync(mr_db *db, mr_diag *d) MR_MUST_CHECK;

/* request: the CSR's SHA-256 in hex (MR_E_ARG otherwise). */
int mr_db_reserve(mr_db *db, const char *serial, const char *request,
    const char *cluster, mr_diag *d) MR_MUST_CHECK;
/* `fields` carries the extra issue fields (subject, key, validity, cert);
 * it must include cert= and not_after=. */
int mr_db_issue(mr_db *db, const char *serial, mr_record *fields, mr_diag *d) MR_MUST_CHECK;
int mr_db_abandon(mr_db *db, const char *serial, const char *reason, mr_diag *d) MR_MUST_CHECK;

/* Revokes an issued certificate: MR_E_STATE unless issued and not yet
 * revoked. reason is an MR_CRL_REASON_* code. */
int mr_db_revoke(mr_db *db, const char *serial, int reason, long long when,
    mr_diag *d) MR_MUST_CHECK;

/* The lookups take hex as written in the file and answer in O(1) expected
 * time, as a scan of e in order would. */
mr_db_entry *mr_db_by_serial(const mr_db *db, const char *serial);
/* The issued entry for this request hash (64 hex digits), or NULL; the
 * first one should a request have been issued twice. */
mr_db_entry *mr_db_issued_for_request(const mr_db *db, const char *request);
/* The cluster's newest issued entry (a renewal replaces it), or NULL:
 * newest by its reserve line. */
const mr_db_entry *mr_db_last_issued_for_cluster(const mr_db *db, const char *cluster);

#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr_crl.h"
#include "mr_db.h"
#include "mr_fileio.h"
#include "mr_filelines.h"

/* The keys of the three indexes, read from the entries themselves. */
static const void *
serial_key(const void *ctx, uint32_t item, size_t *len)
{
	const mr_db_entry *e = &((const mr_db *)ctx)->e[item];

	*len = strlen(e->serial);
	return e->serial;
}

static const void *
request_key(const void *ctx, uint32_t item, size_t *len)
{
	*len = 32;
	return ((const mr_db *)ctx)->e[item].request;
}

static const void *
cluster_key(const void *ctx, uint32_t item, size_t *len)
{
	const mr_db_entry *e = &((const mr_db *)ctx)->e[item];

	*len = strlen(e->cluster);
	return e->cluster;
}

static void
init(mr_db *db)
{
	memset(db, 0, sizeof(*db));
	mr_hindex_init(&db->by_serial);
	mr_hindex_init(&db->by_request);
	mr_hindex_init(&db->by_cluster);
	mr_names_init(&db->clusters);
}

/* A new reserved entry, in the array and the serial index; NULL when out
 * of memory (nothing added). The indexes grow with the array, so that
 * marking an entry issued later never allocates. */
static mr_db_entry *
add_entry(mr_db *db, const char *serial, const uint8_t request[32], const char *cluster)
{
	mr_db_entry *e;

	if (db->n == db->cap) {
		size_t cap = db->cap ? db->cap * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*e) || (e = realloc(db->e, cap * sizeof(*e))) == NULL)
			return NULL;
		db->e = e;
		db->cap = cap;
	}
	if (mr_hindex_reserve(&db->by_serial, db->cap, serial_key, db) != MR_OK ||
	    mr_hindex_reserve(&db->by_request, db->cap, request_key, db) != MR_OK ||
	    mr_hindex_reserve(&db->by_cluster, db->cap, cluster_key, db) != MR_OK)
		return NULL;
	e = &db->e[db->n];
	memset(e, 0, sizeof(*e));
	if ((e->cluster = mr_names_intern(&db->clusters, cluster)) == NULL)
		return NULL;
	snprintf(e->serial, sizeof(e->serial), "%s", serial);
	memcpy(e->request, request, 32);
	e->state = MR_DB_RESERVED;
	/* Room was reserved above: the put cannot fail. */
	if (mr_hindex_put(&db->by_serial, e->serial, strlen(e->serial), (uint32_t)db->n,
	    serial_key, db) != MR_OK)
		return NULL;
	db->n++;
	return e;
}

/* Issued is final (only a reservation is resolved), so the request and
 * cluster indexes only ever gain entries. They answer as a scan of the
 * array would: a request's first issued entry, a cluster's last. */
static int
mark_issued(mr_db *db, mr_db_entry *e, mr_diag *d)
{
	uint32_t item = (uint32_t)(e - db->e);
	int r;

	e->state = MR_DB_ISSUED;
	r = mr_hindex_put_ordered(&db->by_request, e->request, 32, item, MR_HINDEX_FIRST,
	    request_key, db);
	if (r == MR_OK)
		r = mr_hindex_put_ordered(&db->by_cluster, e->cluster, strlen(e->cluster), item,
		    MR_HINDEX_LAST, cluster_key, db);
	/* add_entry reserved room for every entry: a broken invariant. */
	return r == MR_OK ? MR_OK : mr_diag_set(d, MR_E_INTERNAL, "issuance database index full");
}

mr_db_entry *
mr_db_by_serial(const mr_db *db, const char *serial)
{
	uint32_t i = mr_hindex_find(&db->by_serial, serial, strlen(serial), serial_key, db);

	return i == MR_HINDEX_NONE ? NULL : &db->e[i];
}

mr_db_entry *
mr_db_issued_for_request(const mr_db *db, const char *request)
{
	uint8_t h[32];
	uint32_t i;

	if (mr_hex_decode(request, h, sizeof(h)) != MR_OK)
		return NULL; /* not a SHA-256: no entry has it */
	i = mr_hindex_find(&db->by_request, h, sizeof(h), request_key, db);
	return i == MR_HINDEX_NONE ? NULL : &db->e[i];
}

const mr_db_entry *
mr_db_last_issued_for_cluster(const mr_db *db, const char *cluster)
{
	uint32_t i = mr_hindex_find(&db->by_cluster, cluster, strlen(cluster), cluster_key, db);

	return i == MR_HINDEX_NONE ? NULL : &db->e[i];
}

static int
load_line(mr_db *db, const char *line, size_t n, unsigned lineno, mr_diag *d)
{
	char op[16], serial[41], cluster[64], v[128];
	uint8_t h[32];
	mr_db_entry *e;

	if (mr_record_get(line, n, "op", op, sizeof(op)) != MR_OK ||
	    mr_record_get(line, n, "serial", serial, sizeof(serial)) != MR_OK)
		return mr_diag_set(d, MR_E_DB, "%s: line %u unreadable", db->path, lineno);
	e = mr_db_by_serial(db, serial);
	if (strcmp(op, "reserve") == 0) {
		if (e != NULL)
			return mr_diag_set(d, MR_E_DB, "%s: line %u reuses serial %s",
			    db->path, lineno, serial);
		if (mr_record_get(line, n, "request", v, sizeof(v)) != MR_OK ||
		    mr_hex_decode(v, h, sizeof(h)) != MR_OK ||
		    mr_record_get(line, n, "cluster", cluster, sizeof(cluster)) != MR_OK)
			return mr_diag_set(d, MR_E_DB, "%s: line %u unreadable", db->path, lineno);
		if (add_entry(db, serial, h, cluster) == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "out of memory");
		return MR_OK;
	}
	if (strcmp(op, "revoke") == 0) {
		int reason;
		if (e == NULL || e->state != MR_DB_ISSUED || e->revoked)
			return mr_diag_set(d, MR_E_DB, "%s: line %u revokes serial %s twice or unissued",
			    db->path, lineno, serial);
		if (mr_record_get(line, n, "reason", v, sizeof(v)) != MR_OK ||
		    mr_crl_reason_parse(v, &reason) != MR_OK ||
		    mr_record_get(line, n, "time", v, sizeof(v)) != MR_OK)
			return mr_diag_set(d, MR_E_DB, "%s: line %u unreadable", db->path, lineno);
		e->revoked = 1;
		e->reason = reason;
		e->revoked_at = strtoll(v, NULL, 10);
		return MR_OK;
	}
	if (e == NULL || e->state != MR_DB_RESERVED)
		return mr_diag_set(d, MR_E_DB, "%s: line %u resolves serial %s twice or unreserved",
		    db->path, lineno, serial);
	if (strcmp(op, "issue") == 0) {
		if (mr_record_get(line, n, "cert", v, sizeof(v)) != MR_OK ||
		    mr_hex_decode(v, e->cert, sizeof(e->cert)) != MR_OK ||
		    mr_record_get(line, n, "not_after", v, sizeof(v)) != MR_OK)
			return mr_diag_set(d, MR_E_DB, "%s: line %u unreadable", db->path, lineno);
		e->not_after = strtoll(v, NULL, 10);
		return mark_issued(db, e, d);
	}
	if (strcmp(op, "abandon") == 0) {
		e->state = MR_DB_ABANDONED;
		return MR_OK;
	}
	return mr_diag_set(d, MR_E_DB, "%s: line %u: unknown op %s", db->path, lineno, op);
}

int
mr_db_read(mr_db *db, const char *path, uint64_t *good_bytes, uint64_t *total, mr_diag *d)
{
	int r;

	*good_bytes = *total = 0;
	r = mr_db_parse_file(db, path, good_bytes, total, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return MR_OK;
	}
	return r; /* on error, mr_db_parse_file closed db */
}

int
mr_db_cut_torn(mr_db *db, uint64_t good_bytes, uint64_t total, mr_diag *d)
{
	if (total == good_bytes)
		return MR_OK;
	if (truncate(db->path, (off_t)good_bytes) != 0) {
		mr_db_close(db);
		return mr_diag_set(d, MR_E_DB, "%s: cannot cut torn record", db->path);
	}
	db->cut_bytes = (size_t)(total - good_bytes);
	return MR_OK;
}

/* Read in pieces as state check reads it (mr_db_parse_file); a torn
 * final append, never acknowledged, is then cut, so the next record
 * starts on a line of its own. */
int
mr_db_open(mr_db *db, const char *path, mr_diag *d)
{
	uint64_t complete = 0, total = 0;
	int r = mr_db_read(db, path, &complete, &total, d);

	return r != MR_OK ? r : mr_db_cut_torn(db, complete, total, d);
}

int
mr_db_parse(mr_db *db, const char *path, const uint8_t *data, size_t len, size_t *good_bytes,
    mr_diag *d)
{
	size_t pos = 0;
	unsigned lineno = 0;
	int r = MR_OK;

	init(db);
	if (snprintf(db->path, sizeof(db->path), "%s", path) >= (int)sizeof(db->path))
		return mr_diag_set(d, MR_E_RANGE, "database path too long");
	while (pos < len && r == MR_OK) {
		const char *line = (const char *)data + pos;
		const char *nl = memchr(line, '\n', len - pos);

		lineno++;
		if (nl == NULL)
			break; /* the torn final line: reported through good_bytes */
		if ((r = load_line(db, line, (size_t)(nl - line) + 1, lineno, d)) == MR_OK)
			pos += (size_t)(nl - line) + 1;
	}
	*good_bytes = pos;
	if (r != MR_OK)
		mr_db_close(db);
	return r;
}

typedef struct {
	mr_db *db;
	mr_diag *d;
	size_t lines; /* complete lines passed */
} parse_job;

static int
parse_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	parse_job *p = ctx;

	(void)offset;
	p->lines = number + 1;
	return load_line(p->db, line, n, (unsigned)number + 1, p->d);
}

/* mr_db_parse on the file itself, read in pieces (mr_filelines.h): the
 * database grows with every certificate ever issued, and neither a start
 * nor state check may hold it whole. Cuts nothing (mr_db_open does). */
int
mr_db_parse_file(mr_db *db, const char *path, uint64_t *good_bytes, uint64_t *total,
    mr_diag *d)
{
	parse_job p = { db, d, 0 };
	int r;

	init(db);
	*good_bytes = *total = 0;
	if (snprintf(db->path, sizeof(db->path), "%s", path) >= (int)sizeof(db->path))
		return mr_diag_set(d, MR_E_RANGE, "database path too long");
	r = mr_file_lines(path, MR_RECORD_MAX + 1, parse_line, &p, good_bytes, total, d);
	if (r == MR_E_NOTFOUND)
		return r; /* db stays empty, and usable */
	if (r == MR_E_RANGE) {
		/* Longer than any record: no record can be read from it. */
		mr_diag_clear(d);
		r = mr_diag_set(d, MR_E_DB, "%s: line %zu unreadable", path, p.lines + 1);
	}
	if (r != MR_OK)
		mr_db_close(db);
	return r;
}

void
mr_db_close(mr_db *db)
{
	mr_file_log_close(&db->file);
	mr_hindex_free(&db->by_serial);
	mr_hindex_free(&db->by_request);
	mr_hindex_free(&db->by_cluster);
	mr_names_free(&db->clusters);
	free(db->e);
	db->e = NULL;
	db->n = db->cap = 0;
}

static int
append(mr_db *db, mr_record *rec, mr_diag *d)
{
	if (mr_record_finish(rec) != MR_OK)
		return mr_diag_set(d, MR_E_DB, "database record too long");
	if (mr_file_log_append(&db->file, db->path, rec->buf, rec->len, !db->defer, d) != MR_OK) {
		mr_diag_prefix(d, "issuance database");
		return MR_E_DB;
	}
	db->dirty |= db->defer;
	return MR_OK;
}

void
mr_db_defer(mr_db *db, int on)
{
	db->defer = on;
}

int
mr_db_sync(mr_db *db, mr_diag *d)
{
	if (!db->dirty)
		return MR_OK;
	if (mr_file_log_sync(&db->file, db->path, d) != MR_OK) {
		mr_diag_prefix(d, "issuance database");
		return MR_E_DB;
	}
	db->dirty = 0;
	return MR_OK;
}

int
mr_db_reserve(mr_db *db, const char *serial, const char *request, const char *cluster,
    mr_diag *d)
{
	mr_record rec;
	uint8_t h[32];

	if (mr_db_by_serial(db, serial) != NULL)
		return mr_diag_set(d, MR_E_DUPLICATE, "serial %s already used", serial);
	if (mr_hex_decode(request, h, sizeof(h)) != MR_OK)
		return mr_diag_set(d, MR_E_ARG, "request hash %s is not a SHA-256 in hex", request);
	mr_record_init(&rec);
	mr_record_add(&rec, "op", "reserve");
	mr_record_add(&rec, "serial", serial);
	mr_record_add(&rec, "request", request);
	mr_record_add(&rec, "cluster", cluster);
	if (append(db, &rec, d) != MR_OK)
		return MR_E_DB;
	if (add_entry(db, serial, h, cluster) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	return MR_OK;
}

int
mr_db_issue(mr_db *db, const char *serial, mr_record *fields, mr_diag *d)
{
	mr_record rec;
	mr_db_entry *e = mr_db_by_serial(db, serial);
	uint8_t cert[32];
	char v[128];

	if (e == NULL || e->state != MR_DB_RESERVED)
		return mr_diag_set(d, MR_E_INTERNAL, "serial %s is not reserved", serial);
	mr_record_init(&rec);
	mr_record_add(&rec, "op", "issue");
	mr_record_add(&rec, "serial", serial);
	mr_record_add_hex(&rec, "request", e->request, sizeof(e->request));
	mr_record_add(&rec, "cluster", e->cluster);
	mr_record_append(&rec, fields);
	if (rec.err != MR_OK)
		return mr_diag_set(d, MR_E_DB, "database record too long");
	if (mr_record_get(rec.buf, rec.len, "cert", v, sizeof(v)) != MR_OK ||
	    mr_hex_decode(v, cert, sizeof(cert)) != MR_OK ||
	    mr_record_get(rec.buf, rec.len, "not_after", v, sizeof(v)) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "issue record lacks cert or not_after");
	if (append(db, &rec, d) != MR_OK)
		return MR_E_DB;
	memcpy(e->cert, cert, sizeof(cert));
	e->not_after = strtoll(v, NULL, 10);
	return mark_issued(db, e, d);
}

int
mr_db_abandon(mr_db *db, const char *serial, const char *reason, mr_diag *d)
{
	mr_record rec;
	mr_db_entry *e = mr_db_by_serial(db, serial);

	if (e == NULL || e->state != MR_DB_RESERVED)
		return mr_diag_set(d, MR_E_INTERNAL, "serial %s is not reserved", serial);
	mr_record_init(&rec);
	mr_record_add(&rec, "op", "abandon");
	mr_record_add(&rec, "serial", serial);
	mr_record_add(&rec, "reason", reason);
	if (append(db, &rec, d) != MR_OK)
		return MR_E_DB;
	e->state = MR_DB_ABANDONED;
	return MR_OK;
}

int
mr_db_revoke(mr_db *db, const char *serial, int reason, long long when, mr_diag *d)
{
	mr_record rec;
	mr_db_entry *e = mr_db_by_serial(db, serial);
	const char *name = mr_crl_reason_name(reason);

	if (e == NULL || e->state != MR_DB_ISSUED)
		return mr_diag_set(d, MR_E_STATE, "serial %s was never issued", serial);
	if (e->revoked)
		return mr_diag_set(d, MR_E_STATE, "serial %s is revoked already", serial);
	if (name == NULL)
		return mr_diag_set(d, MR_E_ARG, "unknown revocation reason %d", reason);
	mr_record_init(&rec);
	mr_record_add(&rec, "op", "revoke");
	mr_record_add(&rec, "serial", serial);
	mr_record_add(&rec, "reason", name);
	mr_record_addf(&rec, "time", "%lld", when);
	if (append(db, &rec, d) != MR_OK)
		return MR_E_DB;
	e->revoked = 1;
	e->reason = reason;
	e->revoked_at = when;
	return MR_OK;
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr_audit.h"
#include "mr_auditlog.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"

static int
grow(mr_audit *a, size_t want, mr_diag *d)
{
	mr_merkle_hash *n;
	size_t cap;

	if (want <= a->leaves_cap)
		return MR_OK;
	if (want > MR_AUDIT_MAX_RECORDS)
		return mr_diag_set(d, MR_E_AUDIT, "%s: more than %u records", a->path,
		    MR_AUDIT_MAX_RECORDS);
	cap = a->leaves_cap ? a->leaves_cap : 256;
	while (cap < want)
		cap *= 2;
	if (cap > MR_AUDIT_MAX_RECORDS)
		cap = MR_AUDIT_MAX_RECORDS;
	n = realloc(a->leaves, cap * sizeof(*n));
	if (n == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
	a->leaves = n;
	a->tree.lv[0] = n;
	for (size_t k = 1; k < MR_MERKLE_LEVELS && (cap >> k) > 0; k++) {
		mr_merkle_hash *l = realloc(a->tree.lv[k], (cap >> k) * sizeof(*l));
		if (l == NULL)
			return mr_diag_set(d, MR_E_NOMEM, "audit log: out of memory");
		a->tree.lv[k] = l;
	}
	a->leaves_cap = cap;
	return MR_OK;
}

void
mr_audit_close(mr_audit *a)
{
	mr_file_log_close(&a->file);
	free(a->leaves);
	for (size_t k = 1; k < MR_MERKLE_LEVELS; k++)
		free(a->tree.lv[k]);
	memset(&a->tree, 0, sizeof(a->tree));
	a->leaves = NULL;
	a->leaves_cap = 0;
}

int
mr_audit_open(mr_audit *a, const char *path, mr_diag *d)
{
	uint8_t *data = NULL;
	size_t len = 0, guess;
	mr_auditlog_scan s;
	int r;

	mr_audit_close(a);
	memset(a, 0, sizeof(*a));
	if (snprintf(a->path, sizeof(a->path), "%s", path) >= (int)sizeof(a->path))
		return mr_diag_set(d, MR_E_RANGE, "audit log path too long");
	a->next_seq = 1;
	r = mr_file_read(path, MR_AUDIT_MAX_BYTES, &data, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return grow(a, 1, d);
	}
	if (r != MR_OK)
		return r;
	guess = 1;
	for (size_t i = 0; i < len; i++)
		guess += data[i] == '\n';
	if ((r = grow(a, guess, d)) != MR_OK)
		goto out;
	if (mr_auditlog_scan_buf(data, len, a->leaves, a->leaves_cap, &s) != MR_OK) {
		r = mr_diag_set(d, MR_E_AUDIT,
		    "%s: record %zu breaks the hash chain: %s: refusing to continue", path,
		    s.bad ? s.bad : s.n + 1, s.why);
		goto out;
	}
	a->next_seq = (unsigned long)s.n + 1;
	memcpy(a->last_hash, s.last_hash, 32);
	for (size_t i = 0; i < s.n; i++)
		mr_merkle_levels_push(&a->tree);
	if (s.torn) {
		mr_record rec;
		/* A torn final append: the record was never acknowledged. */
		if (truncate(path, (off_t)s.good_bytes) != 0) {
			r = mr_diag_set(d, MR_E_AUDIT, "%s: cannot cut torn record", path);
			goto out;
		}
		mr_record_init(&rec);
		mr_record_addf(&rec, "cut_bytes", "%zu", len - s.good_bytes);
		r = mr_audit_append(a, "audit-repair", &rec, d);
		goto out;
	}
	r = MR_OK;
out:
	free(data);
	return r;
}

int
mr_audit_append(mr_audit *a, const char *event, mr_record *fields, mr_diag *d)
{
	mr_record rec;
	char when[32];
	time_t now = time(NULL);
	struct tm tm;
	int r;

	if ((r = grow(a, a->next_seq, d)) != MR_OK)
		return r == MR_E_NOMEM ? MR_E_AUDIT : r;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	mr_record_init(&rec);
	mr_record_addf(&rec, "seq", "%lu", a->next_seq);
	mr_record_add(&rec, "time", when);
	mr_record_add(&rec, "event", event);
	if (fields != NULL)
		mr_record_append(&rec, fields);
	mr_record_add_hex(&rec, "prev", a->last_hash, 32);
	if (mr_record_finish(&rec) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "audit record too long");
	if (mr_file_log_append(&a->file, a->path, rec.buf, rec.len, !a->defer, d) != MR_OK) {
		mr_diag_prefix(d, "audit log");
		return MR_E_AUDIT;
	}
	a->dirty |= a->defer;
	memcpy(a->last, rec.buf, rec.len);
	a->last[rec.len] = '\0';
	a->last_len = rec.len;
	mr_fp_sha256((const uint8_t *)rec.buf, rec.len, a->last_hash);
	mr_merkle_leaf((const uint8_t *)rec.buf, rec.len, a->leaves[a->next_seq - 1]);
	mr_merkle_levels_push(&a->tree);
	a->next_seq++;
	return MR_OK;
}

void
mr_audit_last(const mr_audit *a, char *line, size_t cap, size_t *len)
{
	size_t n = a->last_len < cap ? a->last_len : 0;

	memcpy(line, a->last, n);
	if (cap > 0)
		line[n] = '\0';
	*len = n;
}

void
mr_audit_defer(mr_audit *a, int on)
{
	a->defer = on;
}

int
mr_audit_sync(mr_audit *a, mr_diag *d)
{
	if (!a->dirty)
		return MR_OK;
	if (mr_file_log_sync(&a->file, a->path, d) != MR_OK) {
		mr_diag_prefix(d, "audit log");
		return MR_E_AUDIT;
	}
	a->dirty = 0;
	return MR_OK;
}

int
mr_audit_has(const mr_audit *a, const char *event, const char *key, const char *value)
{
	size_t index, len;
	char line[MR_RECORD_MAX + 1];

	return mr_audit_find(a, event, key, value, &index, line, sizeof(line), &len, NULL) == MR_OK;
}

int
mr_audit_scan(const mr_audit *a, int (*fn)(void *ctx, const char *line, size_t n), void *ctx,
    mr_diag *d)
{
	uint8_t *data = NULL;
	size_t len = 0, pos = 0;
	int r;

	if ((r = mr_file_read(a->path, MR_AUDIT_MAX_BYTES, &data, &len, d)) != MR_OK)
		return r;
	while (pos < len && r == MR_OK) {
		const char *line = (const char *)data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) + 1 : len - pos;

		r = fn(ctx, line, n);
		pos += n;
	}
	free(data);
	return r;
}

size_t
mr_audit_size(const mr_audit *a)
{
	return a->next_seq - 1;
}

void
mr_audit_root(const mr_audit *a, mr_merkle_hash root)
{
	mr_merkle_levels_root(&a->tree, mr_audit_size(a), root);
}

int
mr_audit_find(const mr_audit *a, const char *event, const char *key, const char *value,
    size_t *index, char *line_out, size_t cap, size_t *line_len, mr_diag *d)
{
	uint8_t *data = NULL;
	size_t len = 0, pos = 0, i = 0;
	int r;

	if ((r = mr_file_read(a->path, MR_AUDIT_MAX_BYTES, &data, &len, d)) != MR_OK)
		return r;
	r = MR_E_NOTFOUND;
	while (pos < len) {
		const char *line = (const char *)data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) + 1 : len - pos;
		char ev[64], v[256];

		if (nl != NULL && mr_record_get(line, n, "event", ev, sizeof(ev)) == MR_OK &&
		    strcmp(ev, event) == 0 &&
		    mr_record_get(line, n, key, v, sizeof(v)) == MR_OK && strcmp(v, value) == 0) {
			if (n + 1 > cap) {
				r = MR_E_RANGE;
				break;
			}
			memcpy(line_out, line, n);
			line_out[n] = '\0';
			*line_len = n;
			*index = i;
			r = MR_OK;
		}
		pos += n;
		i++;
	}
	free(data);
	if (r != MR_OK && d != NULL)
		mr_diag_set(d, r, "no %s record with %s=%s in the audit log", event, key, value);
	return r;
}

int
mr_audit_inclusion(const mr_audit *a, size_t index, size_t size, mr_merkle_hash *path,
    size_t cap, size_t *len)
{
	if (size > mr_audit_size(a))
		return MR_E_ARG;
	return mr_merkle_levels_inclusion(&a->tree, size, index, path, cap, len);
}

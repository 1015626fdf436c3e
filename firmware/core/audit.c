#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr_audit.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"

static void
hash_line(const char *line, size_t n, uint8_t out[32])
{
	mr_fp_sha256((const uint8_t *)line, n, out);
}

int
mr_audit_open(mr_audit *a, const char *path, mr_diag *d)
{
	uint8_t *data = NULL;
	size_t len = 0, pos = 0;
	int r;

	memset(a, 0, sizeof(*a));
	if (snprintf(a->path, sizeof(a->path), "%s", path) >= (int)sizeof(a->path))
		return mr_diag_set(d, MR_E_RANGE, "audit log path too long");
	a->next_seq = 1;
	r = mr_file_read(path, MR_AUDIT_MAX_BYTES, &data, &len, d);
	if (r == MR_E_NOTFOUND) {
		mr_diag_clear(d);
		return MR_OK;
	}
	if (r != MR_OK)
		return r;
	while (pos < len) {
		const char *line = (const char *)data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		char v[80];
		uint8_t prev[32];
		unsigned long seq;
		size_t n;

		if (nl == NULL) {
			/* A torn final append: the record was never acknowledged. */
			if (truncate(path, (off_t)pos) != 0) {
				r = mr_diag_set(d, MR_E_AUDIT, "%s: cannot cut torn record", path);
				goto out;
			}
			mr_record rec;
			mr_record_init(&rec);
			mr_record_addf(&rec, "cut_bytes", "%zu", len - pos);
			r = mr_audit_append(a, "audit-repair", &rec, d);
			goto out;
		}
		n = (size_t)(nl - line) + 1;
		if (mr_record_get(line, n, "seq", v, sizeof(v)) != MR_OK ||
		    sscanf(v, "%lu", &seq) != 1 || seq != a->next_seq ||
		    mr_record_get(line, n, "prev", v, sizeof(v)) != MR_OK ||
		    mr_hex_decode(v, prev, 32) != MR_OK ||
		    memcmp(prev, a->last_hash, 32) != 0) {
			r = mr_diag_set(d, MR_E_AUDIT,
			    "%s: record %lu breaks the hash chain: refusing to continue",
			    path, a->next_seq);
			goto out;
		}
		hash_line(line, n, a->last_hash);
		a->next_seq++;
		pos += n;
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
	if (mr_file_append(a->path, rec.buf, rec.len, d) != MR_OK) {
		mr_diag_prefix(d, "audit log");
		return MR_E_AUDIT;
	}
	hash_line(rec.buf, rec.len, a->last_hash);
	a->next_seq++;
	return MR_OK;
}

int
mr_audit_has(const mr_audit *a, const char *event, const char *key, const char *value)
{
	uint8_t *data = NULL;
	size_t len = 0, pos = 0;
	int found = 0;

	if (mr_file_read(a->path, MR_AUDIT_MAX_BYTES, &data, &len, NULL) != MR_OK)
		return 0;
	while (pos < len && !found) {
		const char *line = (const char *)data + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - line) + 1 : len - pos;
		char ev[64], v[256];

		if (mr_record_get(line, n, "event", ev, sizeof(ev)) == MR_OK &&
		    strcmp(ev, event) == 0 &&
		    mr_record_get(line, n, key, v, sizeof(v)) == MR_OK && strcmp(v, value) == 0)
			found = 1;
		pos += n;
	}
	free(data);
	return found;
}

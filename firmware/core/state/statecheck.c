#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr_auditlog.h"
#include "mr_crl.h"
#include "mr_fileio.h"
#include "mr_filelines.h"
#include "mr_fingerprint.h"
#include "mr_cphistory.h"
#include "mr_statecheck.h"

#define MAX_FINDINGS 200

/* docs/operations.md anchors */
#define SEC_TORN "torn-final-line"
#define SEC_RESERVED "unresolved-reservation"
#define SEC_LOG_ONLY "audit-record-without-database-row"
#define SEC_DB_ONLY "database-row-without-audit-record"
#define SEC_TEMP "leftover-temporary-file"
#define SEC_CHAIN "audit-log-broken-before-its-end"
#define SEC_CHECKPOINT "checkpoint-does-not-match"
#define SEC_DB_BAD "database-line-unreadable"
#define SEC_CERT "certificate-missing-or-altered"
#define SEC_IDENTITY "config-root-or-audit-key"
#define SEC_TOKEN "token-unreachable"
#define SEC_DISAGREE "log-and-database-disagree"
#define SEC_CEREMONY "interrupted-ceremony"

void
mr_sc_init(mr_sc_report *rep)
{
	memset(rep, 0, sizeof(*rep));
}

void
mr_sc_free(mr_sc_report *rep)
{
	free(rep->f);
	memset(rep, 0, sizeof(*rep));
}

size_t
mr_sc_manual(const mr_sc_report *rep)
{
	size_t n = rep->dropped;

	for (size_t i = 0; i < rep->n; i++)
		n += rep->f[i].repair == MR_SC_MANUAL;
	return n;
}

const char *
mr_sc_action(const mr_sc_finding *f)
{
	switch (f->repair) {
	case MR_SC_CUT_TAIL:
		return "cut it (it was never acknowledged)";
	case MR_SC_RESOLVE:
		return "resolve it as recovery does: abandoned, as no audit issue record exists";
	case MR_SC_DB_FROM_LOG:
		return "write the missing issued.db row from the audit record";
	case MR_SC_REMOVE_TEMP:
		return "remove it (it was never renamed into place)";
	case MR_SC_MANUAL:
		break;
	}
	return "nothing: no automatic repair";
}

static mr_sc_finding *
add(mr_sc_report *rep, mr_sc_repair repair, const char *section, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static mr_sc_finding *
add(mr_sc_report *rep, mr_sc_repair repair, const char *section, const char *fmt, ...)
{
	static mr_sc_finding overflow;
	mr_sc_finding *f;
	va_list ap;

	if (rep->n == rep->cap) {
		size_t cap = rep->cap ? rep->cap * 2 : 16;
		mr_sc_finding *nf = rep->n < MAX_FINDINGS ? realloc(rep->f, cap * sizeof(*nf)) : NULL;
		if (nf == NULL) {
			/* Counted as needing a person: a report that hides a
			 * problem must not read as healthy. */
			rep->dropped++;
			memset(&overflow, 0, sizeof(overflow));
			return &overflow;
		}
		rep->f = nf;
		rep->cap = cap;
	}
	f = &rep->f[rep->n++];
	memset(f, 0, sizeof(*f));
	f->repair = repair;
	f->section = section;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	return f;
}

static void
line_to(char (*lines)[240], size_t *n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
line_to(char (*lines)[240], size_t *n, const char *fmt, ...)
{
	va_list ap;

	if (*n >= MR_SC_MAX_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(lines[(*n)++], 240, fmt, ap);
	va_end(ap);
}

static void
ok(mr_sc_report *rep, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
ok(mr_sc_report *rep, const char *fmt, ...)
{
	va_list ap;

	if (rep->n_ok >= MR_SC_MAX_LINES)
		return;
	va_start(ap, fmt);
	vsnprintf(rep->ok[rep->n_ok++], sizeof(rep->ok[0]), fmt, ap);
	va_end(ap);
}

/* ---- the database against the log ---- */

enum { EV_ISSUE, EV_ABANDON, EV_REVOKE };

typedef struct {
	char serial[41];
	int ev;
	size_t seq;     /* 1-based record number */
	uint8_t cert[32]; /* issue: the certificate's SHA-256 (all zero: none given) */
} sc_event;

/* Events of the log in log order: every one (`state check`'s read of the
 * log, events_line), or those that do not simply agree with their
 * rows (agreement, below). Its error (MR_E_NOMEM) is said in d. */
typedef struct {
	sc_event *e;
	size_t n, cap;
	size_t seq;     /* records seen (events_line) */
	mr_diag *d;
} sc_events;

static void
events_init(sc_events *le, mr_diag *d)
{
	memset(le, 0, sizeof(*le));
	le->d = d;
}

static void
events_free(sc_events *le)
{
	free(le->e);
	le->e = NULL;
	le->n = le->cap = 0;
}

/* The event a record line holds (1 for an issue, abandon or revoke, with
 * e filled; 0 for any other record). seq is its 1-based record number. */
static int
parse_event(const char *line, size_t n, size_t seq, sc_event *e)
{
	char ev[32], hex[65];
	int kind;

	if (mr_record_get(line, n, "event", ev, sizeof(ev)) != MR_OK)
		return 0;
	if (strcmp(ev, "issue") == 0)
		kind = EV_ISSUE;
	else if (strcmp(ev, "abandon") == 0)
		kind = EV_ABANDON;
	else if (strcmp(ev, "revoke") == 0)
		kind = EV_REVOKE;
	else
		return 0;
	memset(e, 0, sizeof(*e));
	e->ev = kind;
	e->seq = seq;
	if (mr_record_get(line, n, "serial", e->serial, sizeof(e->serial)) != MR_OK)
		e->serial[0] = '\0';
	/* A cert= that is not 64 hex digits is named as a mismatch below. */
	if (kind == EV_ISSUE && (mr_record_get(line, n, "cert", hex, sizeof(hex)) != MR_OK ||
		strlen(hex) != 64 || mr_hex_decode(hex, e->cert, sizeof(e->cert)) != MR_OK))
		memset(e->cert, 0, sizeof(e->cert));
	return 1;
}

static int
push_event(sc_events *le, const sc_event *e)
{
	if (le->n == le->cap) {
		size_t cap = le->cap ? le->cap * 2 : 64;
		sc_event *ne = realloc(le->e, cap * sizeof(*ne));
		if (ne == NULL)
			return mr_diag_set(le->d, MR_E_NOMEM, "state check: out of memory");
		le->e = ne;
		le->cap = cap;
	}
	le->e[le->n++] = *e;
	return MR_OK;
}

/* Notes one record of the log when it issues, abandons or revokes: the
 * events the database must agree with. */
static int
events_line(void *ctx, const char *line, size_t n)
{
	sc_events *le = ctx;
	sc_event e;

	le->seq++;
	return parse_event(line, n, le->seq, &e) ? push_event(le, &e) : MR_OK;
}

/*
 * The log's events held against the database as they come. An event that
 * simply agrees with its row (an issue the row issues, with the same
 * certificate; an abandon of an abandoned row; a revoke of a revoked row)
 * leaves only a mark on that row; any other event is kept whole, in log
 * order, for agree_events to judge. So the check holds a byte a row and
 * the events that disagree, not every event of the appliance's life.
 */
typedef struct {
	const mr_db *db;
	uint8_t *seen;        /* per row: SEEN(ev) of each event naming it */
	sc_events open;       /* the events that do not simply agree */
	size_t seq;           /* records seen (agreement_line) */
} agreement;

#define SEEN(ev) (uint8_t)(1u << (ev))

static int
agreement_init(agreement *a, const mr_db *db, mr_diag *d)
{
	memset(a, 0, sizeof(*a));
	a->db = db;
	events_init(&a->open, d);
	if ((a->seen = calloc(db->n > 0 ? db->n : 1, 1)) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "state check: out of memory");
	return MR_OK;
}

static void
agreement_free(agreement *a)
{
	free(a->seen);
	a->seen = NULL;
	events_free(&a->open);
}

static int
agreement_event(agreement *a, const sc_event *e)
{
	const mr_db_entry *row = e->serial[0] != '\0' ? mr_db_by_serial(a->db, e->serial) : NULL;

	if (row != NULL) {
		a->seen[row - a->db->e] |= SEEN(e->ev);
		if ((e->ev == EV_ISSUE && row->state == MR_DB_ISSUED &&
			memcmp(row->cert, e->cert, sizeof(e->cert)) == 0) ||
		    (e->ev == EV_ABANDON && row->state == MR_DB_ABANDONED) ||
		    (e->ev == EV_REVOKE && row->revoked))
			return MR_OK;
	}
	return push_event(&a->open, e);
}

/* An mr_audit_line_fn: every record line of the log, in order. */
static int
agreement_line(void *ctx, const char *line, size_t n)
{
	agreement *a = ctx;
	sc_event e;

	a->seq++;
	return parse_event(line, n, a->seq, &e) ? agreement_event(a, &e) : MR_OK;
}

static int
collect(const uint8_t *log, size_t len, agreement *a)
{
	size_t pos = 0;
	int r = MR_OK;

	while (pos < len && r == MR_OK) {
		const char *line = (const char *)log + pos;
		const char *nl = memchr(line, '\n', len - pos);
		size_t n = nl != NULL ? (size_t)(nl - line) + 1 : len - pos;

		pos += n;
		r = agreement_line(a, line, n);
	}
	return r;
}

static int
by_serial(const void *a, const void *b)
{
	const sc_event *x = *(const sc_event *const *)a, *y = *(const sc_event *const *)b;
	int c = strcmp(x->serial, y->serial);

	return c != 0 ? c : x->ev - y->ev;
}

/* The first kept record of kind ev for serial, through the sorted index. */
static const sc_event *
lookup_open(sc_event **idx, size_t n, const char *serial, int ev)
{
	sc_event key, *kp = &key;
	sc_event **hit;

	if (n == 0)
		return NULL; /* idx is NULL then, and bsearch wants an array */
	memset(&key, 0, sizeof(key));
	snprintf(key.serial, sizeof(key.serial), "%s", serial);
	key.ev = ev;
	hit = bsearch(&kp, idx, n, sizeof(*idx), by_serial);
	return hit != NULL ? *hit : NULL;
}

/* Whether the log has a record of kind ev for serial: marked on the
 * serial's row when it has one (every event naming a row marks it),
 * else among the kept events. */
static int
logged(const agreement *a, sc_event **idx, const char *serial, int ev)
{
	const mr_db_entry *row = mr_db_by_serial(a->db, serial);

	if (row != NULL)
		return (a->seen[row - a->db->e] & SEEN(ev)) != 0;
	return lookup_open(idx, a->open.n, serial, ev) != NULL;
}

/* certs/<serial>.pem must be there, parse, carry the serial and hash to
 * want (hex). why gets what is wrong; MR_OK when sound. */
static int
check_cert(const char *state_dir, const char *serial, const char *want, char *why,
    size_t cap)
{
	char path[4096], name[64], got[65], ser[64];
	static uint8_t der[16384];
	size_t der_len = 0;
	uint8_t fp[32];
	mr_cert c;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	snprintf(name, sizeof(name), "certs/%s.pem", serial);
	if (mr_path_join(path, sizeof(path), state_dir, name) != MR_OK) {
		snprintf(why, cap, "%s: path too long", name);
		return MR_E_RANGE;
	}
	r = mr_file_read_pem(path, 65536, "CERTIFICATE", der, sizeof(der), &der_len, &d);
	if (r == MR_E_NOTFOUND) {
		snprintf(why, cap, "%s is missing", name);
		return r;
	}
	if (r != MR_OK || mr_cert_parse(der, der_len, &c, &d) != MR_OK) {
		snprintf(why, cap, "%s does not parse: %s", name, mr_diag_text(&d, MR_E_CERT));
		return MR_E_CERT;
	}
	mr_cert_serial_hex(&c, ser, sizeof(ser));
	mr_fp_sha256(der, der_len, fp);
	mr_hex_encode(fp, 32, got);
	if (strcasecmp(ser, serial) != 0) {
		snprintf(why, cap, "%s carries serial %s", name, ser);
		return MR_E_CERT;
	}
	if (strcmp(got, want) != 0) {
		snprintf(why, cap, "%s has SHA-256 %.16s..., the record says %.16s...", name, got,
		    want);
		return MR_E_CERT;
	}
	return MR_OK;
}

/* The check on the log's events held against the database (a, every
 * event of the log given); frees a. */
static int
agree_events(agreement *a, const char *state_dir, mr_sc_report *rep, mr_diag *d)
{
	const mr_db *db = a->db;
	const sc_events le = a->open;
	sc_event **idx = NULL;
	char why[300];
	int r = MR_OK;

	if (le.n > 0 && (idx = malloc(le.n * sizeof(*idx))) == NULL) {
		r = mr_diag_set(d, MR_E_NOMEM, "state check: out of memory");
		goto out;
	}
	for (size_t i = 0; i < le.n; i++)
		idx[i] = &le.e[i];
	if (le.n > 0)
		qsort(idx, le.n, sizeof(*idx), by_serial);

	/* Log to database, in log order (so that a completed issue row comes
	 * before the revoke row that needs it). The events that agree with
	 * their rows were settled as they came: they would add nothing here. */
	for (size_t i = 0; i < le.n; i++) {
		const sc_event *e = &le.e[i];
		const mr_db_entry *row = mr_db_by_serial(db, e->serial);
		mr_sc_finding *f = NULL;
		char hex[65];

		if (e->serial[0] == '\0') {
			add(rep, MR_SC_MANUAL, SEC_CHAIN, "audit.log: record %zu has no serial", e->seq);
			continue;
		}
		switch (e->ev) {
		case EV_ISSUE:
			if (row != NULL && row->state == MR_DB_ISSUED) {
				if (memcmp(row->cert, e->cert, sizeof(e->cert)) != 0)
					add(rep, MR_SC_MANUAL, SEC_DISAGREE,
					    "serial %s: audit.log record %zu and issued.db name different "
					    "certificates", e->serial, e->seq);
				break;
			}
			if (row != NULL && row->state == MR_DB_ABANDONED) {
				add(rep, MR_SC_MANUAL, SEC_DISAGREE,
				    "serial %s: audit.log record %zu issues it, issued.db abandons it",
				    e->serial, e->seq);
				break;
			}
			mr_hex_encode(e->cert, sizeof(e->cert), hex);
			if (check_cert(state_dir, e->serial, hex, why, sizeof(why)) != MR_OK) {
				add(rep, MR_SC_MANUAL, SEC_CERT,
				    "serial %s: audit.log record %zu issues it, issued.db has no issue row, "
				    "and %s", e->serial, e->seq, why);
				break;
			}
			f = add(rep, MR_SC_DB_FROM_LOG, SEC_LOG_ONLY,
			    "serial %s: audit.log record %zu (issue) has no issue row in issued.db%s",
			    e->serial, e->seq, row == NULL ? " (nor its reservation)" : "");
			break;
		case EV_ABANDON:
			if (row != NULL && row->state == MR_DB_ABANDONED)
				break;
			if (row != NULL && row->state == MR_DB_ISSUED) {
				add(rep, MR_SC_MANUAL, SEC_DISAGREE,
				    "serial %s: audit.log record %zu abandons it, issued.db issues it",
				    e->serial, e->seq);
				break;
			}
			if (logged(a, idx, e->serial, EV_ISSUE)) {
				add(rep, MR_SC_MANUAL, SEC_DISAGREE,
				    "serial %s: audit.log both issues and abandons it (record %zu)",
				    e->serial, e->seq);
				break;
			}
			f = add(rep, MR_SC_DB_FROM_LOG, SEC_LOG_ONLY,
			    "serial %s: audit.log record %zu (abandon) has no abandon row in issued.db",
			    e->serial, e->seq);
			break;
		case EV_REVOKE:
			if (row != NULL && row->revoked)
				break;
			if ((row != NULL && row->state == MR_DB_ISSUED) ||
			    logged(a, idx, e->serial, EV_ISSUE)) {
				f = add(rep, MR_SC_DB_FROM_LOG, SEC_LOG_ONLY,
				    "serial %s: audit.log record %zu (revoke) has no revoke row in issued.db",
				    e->serial, e->seq);
				break;
			}
			add(rep, MR_SC_MANUAL, SEC_DISAGREE,
			    "serial %s: audit.log record %zu revokes a serial never issued", e->serial,
			    e->seq);
			break;
		}
		if (f != NULL) {
			snprintf(f->serial, sizeof(f->serial), "%s", e->serial);
			snprintf(f->event, sizeof(f->event), "%s",
			    e->ev == EV_ISSUE ? "issue" : e->ev == EV_ABANDON ? "abandon" : "revoke");
		}
	}

	/* Database to log. */
	for (size_t i = 0; i < db->n; i++) {
		const mr_db_entry *row = &db->e[i];
		mr_sc_finding *f;

		switch (row->state) {
		case MR_DB_ISSUED:
			if (!logged(a, idx, row->serial, EV_ISSUE))
				add(rep, MR_SC_MANUAL, SEC_DB_ONLY,
				    "serial %s: issued.db issues it, audit.log has no issue record",
				    row->serial);
			break;
		case MR_DB_ABANDONED:
			if (!logged(a, idx, row->serial, EV_ABANDON))
				add(rep, MR_SC_MANUAL, SEC_DB_ONLY,
				    "serial %s: issued.db abandons it, audit.log has no abandon record",
				    row->serial);
			break;
		case MR_DB_RESERVED:
			if (logged(a, idx, row->serial, EV_ISSUE) ||
			    logged(a, idx, row->serial, EV_ABANDON))
				break; /* completed from the log above */
			f = add(rep, MR_SC_RESOLVE, SEC_RESERVED,
			    "serial %s: issued.db reserves it, nothing issues or abandons it",
			    row->serial);
			snprintf(f->serial, sizeof(f->serial), "%s", row->serial);
			break;
		}
		if (row->revoked && !logged(a, idx, row->serial, EV_REVOKE))
			add(rep, MR_SC_MANUAL, SEC_DB_ONLY,
			    "serial %s: issued.db revokes it, audit.log has no revoke record", row->serial);
	}
	r = MR_OK;
out:
	free(idx);
	agreement_free(a);
	return r;
}

int
mr_statecheck_agree(const mr_db *db, const uint8_t *log, size_t len, const char *state_dir,
    mr_sc_report *rep, mr_diag *d)
{
	agreement a;
	int r;

	if ((r = agreement_init(&a, db, d)) != MR_OK)
		return r;
	if ((r = collect(log, len, &a)) != MR_OK) {
		agreement_free(&a);
		return r;
	}
	return agree_events(&a, state_dir, rep, d);
}

/* ---- repairs at start ---- */

static int
get(const char *line, size_t n, const char *key, char *out, size_t cap, const char *serial,
    mr_diag *d)
{
	if (mr_record_get(line, n, key, out, cap) != MR_OK)
		return mr_diag_set(d, MR_E_STATE, "serial %s: its audit record lacks %s", serial, key);
	return MR_OK;
}

/* Writes the rows that the audit record of f proves, then records it. */
static int
db_from_log(mr_app *app, const mr_sc_finding *f, mr_diag *d)
{
	char line[MR_RECORD_MAX + 1], request[65], cluster[64], v[256], why[300];
	size_t index = 0, n = 0;
	mr_db_entry *row = mr_db_by_serial(&app->db, f->serial);
	mr_record rec;
	int r;

	if ((r = mr_audit_find(&app->audit, f->event, "serial", f->serial, &index, line,
		 sizeof(line), &n, d)) != MR_OK)
		return r;
	if (strcmp(f->event, "revoke") == 0) {
		int reason;
		if ((r = get(line, n, "reason", v, sizeof(v), f->serial, d)) != MR_OK)
			return r;
		if (mr_crl_reason_parse(v, &reason) != MR_OK)
			return mr_diag_set(d, MR_E_STATE, "serial %s: unknown reason %s", f->serial, v);
		if ((r = get(line, n, "time", v, sizeof(v), f->serial, d)) != MR_OK ||
		    (r = mr_db_revoke(&app->db, f->serial, reason, strtoll(v, NULL, 10), d)) != MR_OK)
			return r;
	} else {
		if (row == NULL &&
		    ((r = get(line, n, "request", request, sizeof(request), f->serial, d)) != MR_OK ||
			(r = get(line, n, "cluster", cluster, sizeof(cluster), f->serial, d)) != MR_OK ||
			(r = mr_db_reserve(&app->db, f->serial, request, cluster, d)) != MR_OK))
			return r;
		if (strcmp(f->event, "abandon") == 0) {
			if ((r = get(line, n, "reason", v, sizeof(v), f->serial, d)) != MR_OK ||
			    (r = mr_db_abandon(&app->db, f->serial, v, d)) != MR_OK)
				return r;
		} else {
			static const char *const keys[] = { "subject", "key_type", "key", "not_before",
				"not_after", "cert" };
			char cert[65];
			/* The certificate is checked again right before the row is
			 * written: the row must describe what is stored. */
			if ((r = get(line, n, "cert", cert, sizeof(cert), f->serial, d)) != MR_OK)
				return r;
			if (check_cert(app->state_dir, f->serial, cert, why, sizeof(why)) != MR_OK)
				return mr_diag_set(d, MR_E_STATE, "serial %s: %s", f->serial, why);
			mr_record_init(&rec);
			for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
				if ((r = get(line, n, keys[k], v, sizeof(v), f->serial, d)) != MR_OK)
					return r;
				mr_record_add(&rec, keys[k], v);
			}
			mr_record_add(&rec, "recovered", "state-repair");
			if ((r = mr_db_issue(&app->db, f->serial, &rec, d)) != MR_OK)
				return r;
		}
	}
	mr_record_init(&rec);
	mr_record_add(&rec, "what", "db-row-from-log");
	mr_record_add(&rec, "serial", f->serial);
	mr_record_add(&rec, "op", f->event);
	mr_record_addf(&rec, "from_record", "%zu", index + 1);
	if ((r = mr_app_audit(app, "state-repair", &rec, d)) != MR_OK)
		return r;
	fprintf(stderr, "repaired: %s: %s\n", f->text, mr_sc_action(f));
	return MR_OK;
}

int
mr_statecheck_reconcile(mr_app *app, mr_diag *d)
{
	mr_sc_report rep;
	agreement a;
	int r;

	mr_sc_init(&rep);
	if ((r = agreement_init(&a, &app->db, d)) != MR_OK)
		goto out;
	/* A second read of the log, now that the database is open: each
	 * event is held against its row as it comes, so the check's memory
	 * does not grow with the appliance's history. */
	if ((r = mr_audit_scan(&app->audit, agreement_line, &a, d)) != MR_OK) {
		agreement_free(&a);
		goto out;
	}
	if ((r = agree_events(&a, app->state_dir, &rep, d)) != MR_OK)
		goto out;
	for (size_t i = 0; i < rep.n; i++) {
		if (rep.f[i].repair != MR_SC_MANUAL)
			continue;
		r = mr_diag_set(d, MR_E_STATE, "%s: nothing was changed: run `meshroot-appliance "
		    "state check` (docs/operations.md#%s)", rep.f[i].text, rep.f[i].section);
		goto out;
	}
	if (rep.dropped > 0) {
		r = mr_diag_set(d, MR_E_STATE, "more than %d problems between audit.log and "
		    "issued.db: run `meshroot-appliance state check`", MAX_FINDINGS);
		goto out;
	}
	for (size_t i = 0; i < rep.n; i++)
		if (rep.f[i].repair == MR_SC_DB_FROM_LOG && (r = db_from_log(app, &rep.f[i], d)) != MR_OK)
			goto out;
	r = MR_OK;
out:
	mr_sc_free(&rep);
	return r;
}

int
mr_statecheck_remove_temps(mr_app *app, const mr_sc_report *rep, mr_diag *d)
{
	for (size_t i = 0; i < rep->n; i++) {
		const mr_sc_finding *f = &rep->f[i];
		mr_record rec;
		int r;

		if (f->repair != MR_SC_REMOVE_TEMP)
			continue;
		/* Gone already: the load that precedes a repair sweeps the temp
		 * files of dead processes (mr_app_recover). */
		if (unlink(f->path) != 0 && errno != ENOENT)
			return mr_diag_set(d, MR_E_IO, "%s: cannot remove it: %s", f->path,
			    strerror(errno));
		mr_record_init(&rec);
		mr_record_add(&rec, "what", "remove-temp-file");
		mr_record_add(&rec, "file", f->path);
		if ((r = mr_app_audit(app, "state-repair", &rec, d)) != MR_OK)
			return r;
		fprintf(stderr, "repaired: %s: %s\n", f->text, mr_sc_action(f));
	}
	return MR_OK;
}

/* ---- the offline check ---- */

/* <name>.tmp.<digits>: what mr_file_write_atomic leaves when it dies. */
static int
is_temp(const char *name)
{
	const char *t = strstr(name, ".tmp.");

	if (t == NULL || t == name || t[5] == '\0')
		return 0;
	for (t += 5; *t != '\0'; t++)
		if (*t < '0' || *t > '9')
			return 0;
	return 1;
}

static void
check_temps(const char *dir, const char *shown, int depth, mr_sc_report *rep)
{
	DIR *dp = opendir(dir);
	struct dirent *de;

	if (dp == NULL)
		return;
	while ((de = readdir(dp)) != NULL) {
		char path[1024], sub[256];
		if (de->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path))
			continue;
		if (snprintf(sub, sizeof(sub), "%s%s%s", shown, shown[0] ? "/" : "", de->d_name) >=
		    (int)sizeof(sub))
			continue;
		if (de->d_type == DT_DIR && depth > 0) {
			check_temps(path, sub, depth - 1, rep);
		} else if (de->d_type == DT_REG && is_temp(de->d_name)) {
			mr_sc_finding *f = add(rep, MR_SC_REMOVE_TEMP, SEC_TEMP,
			    "%s: a leftover temporary file", sub);
			snprintf(f->path, sizeof(f->path), "%s", path);
		}
	}
	closedir(dp);
}

static int
read_state(mr_app *app, const char *name, size_t max, uint8_t **data, size_t *len,
    mr_diag *d)
{
	char path[4096];

	if (mr_app_path(app, path, sizeof(path), name) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	return mr_file_read(path, max, data, len, d);
}

/* One signed note against the first `good` leaves. Returns 1 when it
 * matches, 0 when it signs more records than are intact, -1 when it
 * fails (why says how). */
static int
note_matches(const mr_app *app, const char *text, size_t n, const mr_merkle_hash *leaves,
    size_t good, mr_checkpoint *cp, char *why, size_t cap)
{
	mr_merkle_hash root;

	if (mr_checkpoint_open(text, n, &app->audit_key, cp, why, cap) != MR_OK)
		return -1;
	if (cp->size > good)
		return 0;
	mr_merkle_root(leaves, (size_t)cp->size, root);
	if (memcmp(root, cp->root, 32) != 0) {
		snprintf(why, cap, "does not match records 1..%llu of audit.log (altered)",
		    (unsigned long long)cp->size);
		return -1;
	}
	return 1;
}

static void
check_checkpoints(mr_app *app, const mr_merkle_hash *leaves, size_t good, int chain_ok,
    mr_sc_report *rep)
{
	char why[200];
	uint8_t *text = NULL;
	size_t len = 0, pos = 0, st, nl, count = 0;
	mr_checkpoint cp;
	mr_diag d;
	unsigned long long last_ok = 0;
	char last_time[64] = "";
	char latest[MR_CHECKPOINT_MAX];
	size_t latest_len = 0;
	int m;

	mr_diag_clear(&d);
	if (read_state(app, "audit.checkpoint", MR_CHECKPOINT_MAX, &text, &len, &d) != MR_OK) {
		add(rep, MR_SC_MANUAL, SEC_CHECKPOINT, "audit.checkpoint: %s", mr_diag_text(&d, MR_E_IO));
	} else {
		latest_len = len < sizeof(latest) ? len : 0;
		memcpy(latest, text, latest_len);
		m = note_matches(app, (const char *)text, len, leaves, good, &cp, why, sizeof(why));
		if (m < 0)
			add(rep, MR_SC_MANUAL, SEC_CHECKPOINT, "audit.checkpoint: %s", why);
		else if (m == 0 && chain_ok)
			add(rep, MR_SC_MANUAL, SEC_CHECKPOINT,
			    "audit.checkpoint signs %llu records, audit.log has %zu: records were removed",
			    (unsigned long long)cp.size, good);
		else if (m > 0)
			ok(rep, "audit.checkpoint: signed by %s, matches records 1..%llu",
			    app->audit_key.name, (unsigned long long)cp.size);
	}
	free(text);
	text = NULL;
	mr_diag_clear(&d);
	/* Read whole: ~250 bytes a checkpoint, far less than the log, and
	 * bounded by memory alone, not by the log's old cap. */
	if (read_state(app, "audit.checkpoints", SIZE_MAX / 2, &text, &len, &d) != MR_OK) {
		add(rep, MR_SC_MANUAL, SEC_CHECKPOINT, "audit.checkpoints: %s",
		    mr_diag_text(&d, MR_E_IO));
		return;
	}
	/* What a crash left after the latest note (mr_cphistory.h) is cut
	 * at the next start: only what comes before it is checked. */
	if (latest_len > 0) {
		size_t end = mr_cphistory_end((const char *)text, len, latest, latest_len);
		if (end == SIZE_MAX)
			add(rep, MR_SC_MANUAL, SEC_CHECKPOINT, "audit.checkpoints does not end with the "
			    "latest checkpoint (audit.checkpoint)");
		else if (end < len) {
			add(rep, MR_SC_CUT_TAIL, SEC_TORN, "audit.checkpoints: %zu bytes after the latest "
			    "checkpoint (a checkpoint never released, or part of one)", len - end);
			len = end;
		}
	}
	while (mr_checkpoint_next_note((const char *)text, len, &pos, &st, &nl)) {
		count++;
		m = note_matches(app, (const char *)text + st, nl, leaves, good, &cp, why, sizeof(why));
		if (m < 0) {
			add(rep, MR_SC_MANUAL, SEC_CHECKPOINT, "audit.checkpoints: checkpoint %zu: %s",
			    count, why);
			break;
		}
		if (m == 0 && chain_ok) {
			add(rep, MR_SC_MANUAL, SEC_CHECKPOINT, "audit.checkpoints: checkpoint %zu signs "
			    "%llu records, audit.log has %zu: records were removed", count,
			    (unsigned long long)cp.size, good);
			break;
		}
		if (m > 0 && cp.size >= last_ok) {
			last_ok = cp.size;
			snprintf(last_time, sizeof(last_time), "%s", cp.time);
		}
	}
	free(text);
	if (chain_ok)
		ok(rep, "audit.checkpoints: %zu checkpoint(s), each signs a prefix of audit.log", count);
	else if (last_ok > 0)
		line_to(rep->notes, &rep->n_notes, "audit.checkpoints: the newest checkpoint that the "
		    "intact records still match signs records 1..%llu (%s)", last_ok, last_time);
}

static void
check_token(mr_app *app, int identity, int log_healthy, mr_sc_report *rep)
{
	uint8_t spki[1024];
	size_t spki_len = 0;
	mr_key_type type;
	mr_diag d;
	char label[33] = "", serial[17] = "";

	mr_diag_clear(&d);
	if (mr_app_token_open(app, &d) != MR_OK) {
		add(rep, MR_SC_MANUAL, SEC_TOKEN, "token: %s", mr_diag_text(&d, MR_E_TOKEN));
		return;
	}
	if (mr_token_info(app->tok, label, serial, &d) == MR_OK)
		ok(rep, "token: module %s loads, token %s (serial %s) found", app->module, label, serial);
	mr_diag_clear(&d);
	if (!identity) {
		line_to(rep->notes, &rep->n_notes,
		    "token: the root key was not checked: the config or root did not load");
		return;
	}
	if (app->pin_file == NULL && app->shares_from == NULL) {
		/* Public key objects are readable without a login on most
		 * tokens; the private key is not. */
		if (mr_token_public_key(app->tok, app->cfg.root_key_label, spki, sizeof(spki),
			&spki_len, &type, &d) != MR_OK)
			line_to(rep->notes, &rep->n_notes, "token: no --pin-file: the login and the root "
			    "key %s were not checked (%s)", app->cfg.root_key_label,
			    mr_diag_text(&d, MR_E_TOKEN));
		else if (!mr_der_equal(mr_der_view(spki, spki_len), app->root.spki.whole))
			add(rep, MR_SC_MANUAL, SEC_TOKEN, "token: the public key %s is not the key of "
			    "root-cert.pem: wrong token?", app->cfg.root_key_label);
		else {
			ok(rep, "token: public key %s matches root-cert.pem", app->cfg.root_key_label);
			line_to(rep->notes, &rep->n_notes, "token: no --pin-file: the login and the "
			    "private root key were not checked");
		}
		return;
	}
	if (!log_healthy) {
		line_to(rep->notes, &rep->n_notes, "token: not logged in: every login is audited and "
		    "the audit log needs repair first");
		return;
	}
	/* The log is healthy, so opening it changes nothing; the login is
	 * then audited like every other. */
	{
		char path[4096];
		if (mr_app_path(app, path, sizeof(path), "audit.log") != MR_OK ||
		    mr_audit_open(&app->audit, path, &d) != MR_OK) {
			add(rep, MR_SC_MANUAL, SEC_TOKEN, "token: %s", mr_diag_text(&d, MR_E_AUDIT));
			return;
		}
		app->audit_open = 1;
	}
	{
		char pin[256];
		size_t pin_len = 0;
		int r = mr_app_read_pin(app, pin, sizeof(pin), &pin_len, &d);
		if (r == MR_OK)
			r = mr_app_login(app, pin, pin_len, &d);
		explicit_bzero(pin, sizeof(pin));
		if (r != MR_OK) {
			add(rep, MR_SC_MANUAL, SEC_TOKEN, "token: login: %s", mr_diag_text(&d, r));
			return;
		}
	}
	if (mr_token_find(app->tok, app->cfg.root_key_label, &d) != MR_OK) {
		add(rep, MR_SC_MANUAL, SEC_TOKEN, "token: no private root key %s: %s",
		    app->cfg.root_key_label, mr_diag_text(&d, MR_E_NOTFOUND));
		return;
	}
	if (mr_token_public_key(app->tok, app->cfg.root_key_label, spki, sizeof(spki), &spki_len,
		&type, &d) != MR_OK) {
		add(rep, MR_SC_MANUAL, SEC_TOKEN, "token: root key %s: %s", app->cfg.root_key_label,
		    mr_diag_text(&d, MR_E_TOKEN));
		return;
	}
	if (!mr_der_equal(mr_der_view(spki, spki_len), app->root.spki.whole)) {
		add(rep, MR_SC_MANUAL, SEC_TOKEN, "token: the key %s is not the key of root-cert.pem: "
		    "wrong token?", app->cfg.root_key_label);
		return;
	}
	ok(rep, "token: logged in, root key %s present and matching root-cert.pem",
	    app->cfg.root_key_label);
}

/* A ceremony killed between its `ceremony-start` record and its first
 * signed checkpoint leaves keys on the token and part of a state dir, from
 * which nothing was ever issued: its own diagnosis, not the damage the
 * file checks would otherwise report. The log's lines (a torn final one
 * included) are fed in turn to ceremony_line. */
typedef struct {
	size_t rec, started, after_done;
	int done;
} ceremony_track;

static void
ceremony_line(ceremony_track *t, const char *line, size_t n)
{
	char ev[32];

	t->rec++;
	t->after_done++;
	if (mr_record_get(line, n, "event", ev, sizeof(ev)) != MR_OK)
		return;
	if (strcmp(ev, "ceremony-start") == 0) {
		t->started = t->rec;
		t->done = 0;
	} else if (strcmp(ev, "ceremony-done") == 0) {
		t->done = 1;
		t->after_done = 0;
	}
}

static void
check_ceremony_finished(const mr_app *app, const ceremony_track *t, mr_sc_report *rep)
{
	char cp[4096];

	if (t->started > 0 && !t->done) {
		add(rep, MR_SC_MANUAL, SEC_CEREMONY, "audit.log: the ceremony started at record %zu "
		    "never finished (no ceremony-done record): nothing was issued; a new ceremony "
		    "replaces it", t->started);
		return;
	}
	/* Its last step: the first checkpoint. Never signed, and nothing after
	 * the ceremony's record: it stopped there. */
	if (t->done && t->after_done == 0 &&
	    mr_app_path(app, cp, sizeof(cp), "audit.checkpoint") == MR_OK && !mr_path_exists(cp))
		add(rep, MR_SC_MANUAL, SEC_CEREMONY, "audit.log: the ceremony (record %zu) stopped "
		    "before its first signed checkpoint: nothing was issued; a new ceremony replaces it",
		    t->rec);
}

/*
 * One pass over audit.log, in pieces (it grows with every certificate):
 * the hash chain up to its first bad record, the leaf hash of each good
 * one (32 bytes a record, for the checkpoints), the issue, abandon and
 * revoke events of the good ones (for the database), and the ceremony's
 * records over every line, as the log is, nothing cut.
 */
typedef struct {
	mr_auditlog_scan s;
	int broken;              /* the chain broke at s.bad */
	int torn;                /* the log ends in a line without its newline */
	int nomem;               /* the pass ran out of memory (d says so) */
	uint64_t complete, total;
	mr_merkle_hash *leaves;
	size_t cap;
	sc_events le;
	ceremony_track cer;
	mr_diag *d;
} log_pass;

static int
log_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	log_pass *p = ctx;

	(void)number;
	(void)offset;
	ceremony_line(&p->cer, line, n);
	if (p->broken)
		return MR_OK;
	if (p->s.n == p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 1024;
		mr_merkle_hash *nl = realloc(p->leaves, cap * sizeof(*nl));
		if (nl == NULL) {
			p->nomem = 1;
			return mr_diag_set(p->d, MR_E_NOMEM, "state check: out of memory");
		}
		p->leaves = nl;
		p->cap = cap;
	}
	if (mr_auditlog_scan_line(&p->s, line, n, p->leaves[p->s.n]) != MR_OK) {
		/* Records past the break are unproven: not compared. */
		p->broken = 1;
		return MR_OK;
	}
	if (events_line(&p->le, line, n) != MR_OK) {
		p->nomem = 1;
		return MR_E_NOMEM;
	}
	return MR_OK;
}

/* MR_OK when the log was read (the pass says what it holds); another
 * error (e, for a finding) when it could not be; MR_E_NOMEM (d). */
static int
read_log(const char *path, log_pass *p, mr_diag *e, mr_diag *d)
{
	char tail[MR_RECORD_MAX + 2];
	int r;

	mr_auditlog_scan_init(&p->s);
	p->d = d;
	p->le.d = d;
	r = mr_file_lines(path, MR_RECORD_MAX + 1, log_line, p, &p->complete, &p->total, e);
	if (p->nomem)
		return MR_E_NOMEM;
	if (r == MR_E_RANGE) {
		/* A line longer than any record: as the scan names one. */
		mr_diag_clear(e);
		if (!p->broken) {
			p->broken = 1;
			p->s.bad = p->s.n + 1;
			snprintf(p->s.why, sizeof(p->s.why), "record %zu: longer than %d bytes",
			    p->s.bad, MR_RECORD_MAX);
		}
		return MR_OK;
	}
	if (r != MR_OK)
		return r;
	if (p->total > p->complete) {
		/* The torn final line: at most max_line bytes (mr_file_lines). */
		size_t n = (size_t)(p->total - p->complete);
		if ((r = mr_file_line_at(path, p->complete, n, tail, sizeof(tail), e)) != MR_OK)
			return r;
		ceremony_line(&p->cer, tail, n);
		p->torn = 1;
	}
	return MR_OK;
}

int
mr_statecheck_run(mr_app *app, int opts, mr_sc_report *rep, mr_diag *d)
{
	char path[4096];
	uint64_t good_db = 0, db_len = 0;
	log_pass lp;
	mr_db db;
	mr_diag e;
	int identity, log_read = 0, db_read = 0, chain_ok = 0, checkpoints_ok = 0, r;
	size_t before;

	memset(&db, 0, sizeof(db));
	memset(&lp, 0, sizeof(lp));
	if (!mr_path_exists(app->state_dir))
		return mr_diag_set(d, MR_E_STATE, "%s: no such state dir", app->state_dir);

	/* Config, root, custody, audit key: written once, by the ceremony. */
	mr_diag_clear(&e);
	identity = mr_app_load_identity(app, &e) == MR_OK;
	if (!identity)
		add(rep, MR_SC_MANUAL, SEC_IDENTITY, "%s", mr_diag_text(&e, MR_E_STATE));
	else
		ok(rep, "ceremony.conf, root-cert.pem and audit-key.pub load");

	check_temps(app->state_dir, "", 2, rep);

	/* The audit log, read as it is, in pieces: nothing cut. */
	mr_diag_clear(&e);
	if (mr_app_path(app, path, sizeof(path), "audit.log") != MR_OK)
		r = mr_diag_set(&e, MR_E_RANGE, "state dir path too long");
	else
		r = read_log(path, &lp, &e, d);
	if (lp.nomem) {
		r = MR_E_NOMEM;
		goto out;
	}
	if (r != MR_OK) {
		add(rep, MR_SC_MANUAL, SEC_CHAIN, "audit.log: %s", mr_diag_text(&e, r));
	} else {
		log_read = 1;
		if (lp.broken) {
			size_t bad = lp.s.bad ? lp.s.bad : lp.s.n + 1;
			char intact[64] = "no record before it is intact";
			if (lp.s.n > 0)
				snprintf(intact, sizeof(intact), "records 1..%zu are intact", lp.s.n);
			add(rep, MR_SC_MANUAL, SEC_CHAIN, "audit.log: record %zu (line %zu) breaks the "
			    "hash chain: %s; %s", bad, bad, lp.s.why, intact);
		} else {
			chain_ok = 1;
			if (lp.torn)
				add(rep, MR_SC_CUT_TAIL, SEC_TORN,
				    "audit.log: the final record (line %zu) is torn: %llu bytes without "
				    "a newline", lp.s.n + 1,
				    (unsigned long long)(lp.total - lp.complete));
			ok(rep, "audit.log: %zu records, hash chain intact", lp.s.n);
		}
		before = rep->n;
		if (identity) {
			check_checkpoints(app, lp.leaves, lp.s.n, chain_ok, rep);
			checkpoints_ok = rep->n == before;
		} else
			line_to(rep->notes, &rep->n_notes,
			    "audit.checkpoint and audit.checkpoints: audit-key.pub did not load");
		if (identity && chain_ok) {
			/* The policy in force must be what the ceremony recorded. */
			mr_diag_clear(&e);
			if (mr_app_path(app, app->audit.path, sizeof(app->audit.path), "audit.log") ==
				MR_OK && mr_app_check_config(app, &e) != MR_OK)
				add(rep, MR_SC_MANUAL, SEC_IDENTITY, "%s", mr_diag_text(&e, MR_E_STATE));
		}
	}

	if (log_read)
		check_ceremony_finished(app, &lp.cer, rep);

	/* The database, parsed as it is, in pieces: nothing cut. */
	mr_diag_clear(&e);
	if (mr_app_path(app, path, sizeof(path), "issued.db") != MR_OK) {
		r = mr_diag_set(d, MR_E_RANGE, "state dir path too long");
		goto out;
	}
	r = mr_db_parse_file(&db, path, &good_db, &db_len, &e);
	if (r == MR_E_NOTFOUND) {
		db_read = 1;
		mr_diag_clear(&e);
	} else if (r == MR_E_NOMEM) {
		r = mr_diag_set(d, MR_E_NOMEM, "state check: out of memory");
		goto out;
	} else if (r != MR_OK) {
		/* A read error names the file by its path, a bad line by the
		 * database's own message. */
		if (r == MR_E_IO)
			add(rep, MR_SC_MANUAL, SEC_DB_BAD, "issued.db: %s", mr_diag_text(&e, r));
		else
			add(rep, MR_SC_MANUAL, SEC_DB_BAD, "%s", mr_diag_text(&e, r));
	} else {
		db_read = 1;
		if (good_db < db_len)
			add(rep, MR_SC_CUT_TAIL, SEC_TORN,
			    "issued.db: the final line is torn: %llu bytes without a newline",
			    (unsigned long long)(db_len - good_db));
	}
	if (db_read) {
		size_t issued = 0, bad = 0;
		char why[300], hex[65];
		for (size_t i = 0; i < db.n; i++) {
			if (db.e[i].state != MR_DB_ISSUED)
				continue;
			issued++;
			mr_hex_encode(db.e[i].cert, sizeof(db.e[i].cert), hex);
			if (check_cert(app->state_dir, db.e[i].serial, hex, why, sizeof(why)) != MR_OK) {
				add(rep, MR_SC_MANUAL, SEC_CERT, "serial %s: issued.db issues it, but %s",
				    db.e[i].serial, why);
				bad++;
			}
		}
		ok(rep, "issued.db: %zu serial(s), %zu issued; %zu certificate file(s) match", db.n,
		    issued, issued - bad);
	}
	if (db_read && log_read && chain_ok) {
		agreement a;
		before = rep->n;
		if ((r = agreement_init(&a, &db, d)) != MR_OK)
			goto out;
		for (size_t i = 0; i < lp.le.n && r == MR_OK; i++)
			r = agreement_event(&a, &lp.le.e[i]);
		if (r != MR_OK) {
			agreement_free(&a);
			goto out;
		}
		if ((r = agree_events(&a, app->state_dir, rep, d)) != MR_OK)
			goto out;
		if (rep->n == before)
			ok(rep, "issued.db and audit.log agree on every serial");
	} else if (db_read && log_read) {
		/* Records past the break are unproven: comparing against them,
		 * or without them, would only mislead. */
		line_to(rep->notes, &rep->n_notes, "issued.db and audit.log were not compared: "
		    "the audit log's chain is broken");
	} else {
		line_to(rep->notes, &rep->n_notes, "issued.db and audit.log were not compared: "
		    "one of them did not load");
	}

	if ((opts & MR_SC_NO_TOKEN) == 0) {
		check_token(app, identity, chain_ok && !lp.torn && checkpoints_ok, rep);
	}
	r = MR_OK;
out:
	mr_db_close(&db);
	free(lp.leaves);
	free(lp.le.e);
	return r;
}

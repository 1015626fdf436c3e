/*
 * `meshroot audit verify|show|report`: the auditor's side of the appliance
 * audit log (docs/audit.md).
 *
 *   verify DIR [--key AUDITKEY] [--previous CHECKPOINT|DIR] [--issued CERTDIR]
 *       DIR from `meshroot-appliance audit export` (audit.log, checkpoint,
 *       checkpoints, audit-key.pub) or sneakernet media (answers/<c>.audit).
 *       Checks the record chain, the checkpoint signature against the
 *       pinned audit key, the RFC 9162 root, every earlier checkpoint the
 *       export carries, and, given a saved checkpoint, the consistency proof
 *       that this log extends it. Names the first bad record and why.
 *   show DIR [--since T] [--until T] [--event E] [--cluster C] [--json]
 *   report DIR --html FILE
 *
 * The audit key is --key FILE, else the workspace's pinned audit-key.pub
 * (pinned with the root on the first media import). Nothing in DIR is
 * trusted before it verified against that key.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "audit_media.h"
#include "cmd.h"
#include "cmdtab.h"
#include "mr_auditlog.h"
#include "mr_cert.h"
#include "mr_checkpoint.h"
#include "mr_fileio.h"
#include "mr_filelines.h"
#include "mr_fingerprint.h"
#include "mr_media.h"
#include "mr_merkle.h"
#include "mr_pem.h"
#include "mr_jsonout.h"
#include "mr_progress.h"
#include "mr_record.h"

#define LOG_MAX ((size_t)2 << 30) /* 2 GiB: ten million records */

/* The log is read in pieces and its records fetched back through a window,
 * so the memory a command takes does not grow with the log's bytes: only
 * the 40 bytes a record of its offset and leaf (a long-lived appliance
 * exports tens of MB). */
#define LINE_CAP (64u * 1024u)  /* longer lines go the slow way (rest_lines) */
#define WINDOW (256u * 1024u)   /* records fetched per read */

_Static_assert(LINE_CAP >= MR_RECORD_MAX, "a line longer than LINE_CAP is no record");

typedef struct {
	char path[4096];
	int fd;                   /* held open: every read is of the file scanned */
	int has_fd;
	int loaded;               /* log_load succeeded */
	size_t len;               /* bytes of the file, a torn last line included */
	size_t *off;              /* off[i]: start of record i + 1; off[lines] = end */
	mr_merkle_hash *leaves;
	size_t lines;             /* complete lines */
	size_t cap;               /* entries of leaves, off having one more */
	size_t n;                 /* good records */
	mr_auditlog_scan scan;
	int scan_ok;
	char *win;                /* the window: bytes [win_off, win_off + win_len) */
	size_t win_off, win_len, win_cap;
	char failed[4200];        /* a read back that failed, "" when none */
} audit_log;

typedef struct {
	char dir[4096];
	mr_note_key key;
	int have_key;
	char key_from[4096];
	audit_log log;
	mr_checkpoint cp;
	int have_cp;
	char error[512];     /* first problem, "" when verified */
	size_t bad_record;   /* the record it names, 0 when none */
	char notes[16][256]; /* what was checked, for the report */
	size_t nnotes;
} verification;

static void
log_free(audit_log *l)
{
	if (l->has_fd)
		close(l->fd);
	free(l->off);
	free(l->leaves);
	free(l->win);
	memset(l, 0, sizeof(*l));
}

static void
note(verification *v, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
note(verification *v, const char *fmt, ...)
{
	va_list ap;

	if (v->nnotes == sizeof(v->notes) / sizeof(v->notes[0]))
		return;
	va_start(ap, fmt);
	vsnprintf(v->notes[v->nnotes++], sizeof(v->notes[0]), fmt, ap);
	va_end(ap);
}

static int
problem(verification *v, size_t record, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
problem(verification *v, size_t record, const char *fmt, ...)
{
	va_list ap;

	if (v->error[0] != '\0')
		return 1;
	va_start(ap, fmt);
	vsnprintf(v->error, sizeof(v->error), fmt, ap);
	va_end(ap);
	v->bad_record = record;
	return 1;
}

static int
log_grow(audit_log *l)
{
	size_t c = l->cap == 0 ? 1024 : l->cap * 2;
	size_t *off = realloc(l->off, (c + 1) * sizeof(*off));
	mr_merkle_hash *leaves;

	if (off == NULL)
		return MR_E_NOMEM;
	l->off = off;
	if ((leaves = realloc(l->leaves, c * sizeof(*leaves))) == NULL)
		return MR_E_NOMEM;
	l->leaves = leaves;
	l->cap = c;
	return MR_OK;
}

/* A complete line ends at end: its offset kept, and the chain scanned up
 * to the first bad record. After that only the offsets are kept, as
 * blame_prev reads the records about the bad one. */
static int
log_push(audit_log *l, const char *line, size_t n, size_t end)
{
	if (l->lines == l->cap && log_grow(l) != MR_OK)
		return MR_E_NOMEM;
	if (l->scan_ok &&
	    mr_auditlog_scan_line(&l->scan, line, n, l->leaves[l->scan.n]) != MR_OK)
		l->scan_ok = 0;
	l->off[++l->lines] = end;
	return MR_OK;
}

static int
on_line(void *ctx, const char *line, size_t n, size_t number, uint64_t offset)
{
	(void)number;
	return log_push(ctx, line, n, (size_t)offset + n);
}

/*
 * The lines from offset from on, the first of them longer than LINE_CAP
 * (where mr_file_lines stopped). That one is a bad record if the scan
 * got that far: the scanner refuses a line of that length before reading
 * any of it, so one of MR_RECORD_MAX + 1 bytes stands in for it (the same
 * record named, the same why). After a bad record only offsets are kept,
 * so the rest are found by their newlines alone.
 */
static int
rest_lines(audit_log *l, size_t from, size_t *total, mr_diag *d)
{
	static char too_long[MR_RECORD_MAX + 1];
	size_t pos = from;

	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\n';
	if (l->win == NULL && (l->win = malloc(WINDOW)) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", l->path);
	l->win_cap = WINDOW;
	for (;;) {
		ssize_t k = pread(l->fd, l->win, WINDOW, (off_t)pos);
		const char *p, *e;
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return mr_diag_set(d, MR_E_IO, "%s: %s", l->path, strerror(errno));
		if (k == 0)
			break;
		for (p = l->win, e = l->win + k; (p = memchr(p, '\n', (size_t)(e - p))) != NULL;) {
			p++;
			if (log_push(l, too_long, sizeof(too_long), pos + (size_t)(p - l->win)) != MR_OK)
				return mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", l->path);
		}
		pos += (size_t)k;
	}
	*total = pos;
	return MR_OK;
}

/* Reads and scans a log; a scan failure is kept in l->scan, not returned. */
static int
log_load(const char *path, audit_log *l, mr_diag *d)
{
	struct stat st, now;
	uint64_t complete = 0, total = 0;
	size_t len = 0;
	mr_diag ld;
	int r;

	memset(l, 0, sizeof(*l));
	snprintf(l->path, sizeof(l->path), "%s", path);
	/* O_NOFOLLOW: a symlink on the media must not redirect the read. */
	if ((l->fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)) < 0) {
		if (errno == ENOENT)
			return mr_diag_set(d, MR_E_NOTFOUND, "%s: not found", path);
		if (errno == ELOOP)
			return mr_diag_set(d, MR_E_IO, "%s: is a symbolic link", path);
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
	}
	l->has_fd = 1;
	if (fstat(l->fd, &st) != 0)
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
	if (!S_ISREG(st.st_mode))
		return mr_diag_set(d, MR_E_IO, "%s: not a regular file", path);
	if ((uintmax_t)st.st_size > LOG_MAX)
		return mr_diag_set(d, MR_E_RANGE, "%s: larger than %zu bytes", path, LOG_MAX);
	if (log_grow(l) != MR_OK)
		return mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", path);
	l->off[0] = 0;
	mr_auditlog_scan_init(&l->scan);
	l->scan_ok = 1;
	mr_diag_clear(&ld);
	r = mr_file_lines(path, LINE_CAP, on_line, l, &complete, &total, &ld);
	if (r == MR_E_RANGE) {
		/* A line longer than LINE_CAP starts at complete. */
		r = rest_lines(l, (size_t)complete, &len, d);
		if (r != MR_OK)
			return r;
	} else if (r == MR_E_NOMEM) {
		return mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", path);
	} else if (r != MR_OK) {
		return mr_diag_set(d, r, "%s", mr_diag_text(&ld, r));
	} else {
		len = (size_t)total;
	}
	/* What was scanned is what the held descriptor reads back. */
	if (len != (size_t)st.st_size || stat(path, &now) != 0 || now.st_dev != st.st_dev ||
	    now.st_ino != st.st_ino)
		return mr_diag_set(d, MR_E_IO, "%s: changed while read", path);
	l->len = len;
	if (l->scan_ok && l->off[l->lines] < len)
		l->scan.torn = 1;
	l->n = l->scan.n;
	l->loaded = 1;
	return MR_OK;
}

/* Reads the window that starts at record i (at least that record's bytes)
 * and checks each good record in it against its leaf: what is shown is
 * what was verified, even if the file is rewritten in place meanwhile. */
static int
win_fill(audit_log *l, size_t i)
{
	size_t start = l->off[i], need = l->off[i + 1] - start, want, got = 0;
	size_t cap = need > WINDOW ? need : WINDOW;

	if (cap != l->win_cap) {
		char *w = realloc(l->win, cap);
		if (w == NULL) {
			snprintf(l->failed, sizeof(l->failed), "%s: out of memory", l->path);
			return MR_E_NOMEM;
		}
		l->win = w;
		l->win_cap = cap;
	}
	l->win_len = 0;
	want = l->len - start < cap ? l->len - start : cap;
	while (got < want) {
		ssize_t k = pread(l->fd, l->win + got, want - got, (off_t)(start + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(l->failed, sizeof(l->failed), "%s: changed while read", l->path);
			return MR_E_IO;
		}
		got += (size_t)k;
	}
	for (size_t j = i; j < l->n && l->off[j + 1] - start <= got; j++) {
		mr_merkle_hash h;
		mr_merkle_leaf((const uint8_t *)l->win + (l->off[j] - start), l->off[j + 1] - l->off[j],
		    h);
		if (memcmp(h, l->leaves[j], 32) != 0) {
			snprintf(l->failed, sizeof(l->failed), "%s: changed while read (record %zu)",
			    l->path, j + 1);
			return MR_E_IO;
		}
	}
	l->win_off = start;
	l->win_len = got;
	return MR_OK;
}

/* Record i's line (newline included): valid until the next rec_line or
 * rec_get. A read that fails gives an empty line and l->failed. */
static const char *
rec_line(audit_log *l, size_t i /* 0-based */, size_t *n)
{
	size_t start = l->off[i], end = l->off[i + 1];

	if ((l->win_len == 0 || start < l->win_off || end > l->win_off + l->win_len) &&
	    (l->failed[0] != '\0' || win_fill(l, i) != MR_OK)) {
		*n = 0;
		return "";
	}
	*n = end - start;
	return l->win + (start - l->win_off);
}

static int
rec_get(audit_log *l, size_t i, const char *key, char *out, size_t cap)
{
	size_t n;
	const char *line = rec_line(l, i, &n);

	if (mr_record_get(line, n, key, out, cap) != MR_OK) {
		out[0] = '\0';
		return 0;
	}
	return 1;
}

static int
read_key(const char *path, mr_note_key *k, mr_diag *d)
{
	return mr_host_audit_read_key(path, k, d);
}

/* --key, else the workspace pin. */
static int
load_key(const mr_host_opts *o, const char *key_path, verification *v, mr_diag *d)
{
	char path[4096];
	int r;

	if (key_path != NULL) {
		snprintf(v->key_from, sizeof(v->key_from), "%s", key_path);
	} else {
		if ((r = mr_host_audit_pinned_path(o, path, sizeof(path), d)) != MR_OK)
			return r;
		if (!mr_path_exists(path))
			return mr_diag_set(d, MR_E_NOTFOUND,
			    "no pinned audit key in %s: give --key FILE (the audit-key.pub published "
			    "with the root at the ceremony)", o->workspace);
		snprintf(v->key_from, sizeof(v->key_from), "%s", path);
	}
	if ((r = read_key(v->key_from, &v->key, d)) != MR_OK)
		return r;
	v->have_key = 1;
	return MR_OK;
}

static int
read_checkpoint(const char *path, const mr_note_key *k, mr_checkpoint *cp, char *why,
    size_t why_cap, mr_diag *d)
{
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	if ((r = mr_file_read(path, MR_CHECKPOINT_MAX, &text, &len, d)) != MR_OK)
		return r;
	r = mr_checkpoint_open((const char *)text, len, k, cp, why, why_cap);
	free(text);
	return r;
}

/*
 * The chain broke at record b because its prev= does not match record
 * b - 1. Either b - 1 was altered (then b + 1 still links to b) or b's own
 * prev= was (then b + 1 does not link to b either).
 */
static size_t
blame_prev(audit_log *l, size_t b)
{
	size_t total = l->lines, n;
	char v[80];
	uint8_t want[32], prev[32];
	const char *line;

	if (b >= total || b < 2)
		return b;
	line = rec_line(l, b - 1, &n);
	mr_fp_sha256((const uint8_t *)line, n, want);
	if (!rec_get(l, b, "prev", v, sizeof(v)) || mr_hex_decode(v, prev, 32) != MR_OK)
		return b;
	return memcmp(want, prev, 32) == 0 ? b - 1 : b;
}

/* Every earlier checkpoint the export carries must sign a prefix of this
 * log. Returns the largest prefix confirmed (0 when none). */
static size_t
check_history(verification *v, size_t upto)
{
	char path[4096], why[200];
	uint8_t *text = NULL;
	size_t len = 0, pos = 0, st, nl, count = 0, confirmed = 0, pushed = 0;
	/* The checkpoints come oldest first: one pass over the leaves gives
	 * every prefix's root (a root from scratch for each is quadratic:
	 * seconds for a log of a few thousand checkpoints). */
	mr_merkle_acc acc;

	mr_merkle_acc_init(&acc);
	if (mr_path_join(path, sizeof(path), v->dir, "checkpoints") != MR_OK ||
	    mr_file_read(path, LOG_MAX, &text, &len, NULL) != MR_OK)
		return 0;
	while (mr_checkpoint_next_note((const char *)text, len, &pos, &st, &nl)) {
		mr_checkpoint cp;
		mr_merkle_hash root;
		if (mr_checkpoint_open((const char *)text + st, nl, &v->key, &cp, why, sizeof(why)) !=
		    MR_OK) {
			problem(v, 0, "%s: checkpoint %zu: %s", path, count + 1, why);
			break;
		}
		count++;
		if (cp.size > upto) {
			problem(v, upto + 1, "record %zu: missing: an earlier checkpoint signed %llu "
			    "records (log truncated)", upto + 1, (unsigned long long)cp.size);
			break;
		}
		if ((size_t)cp.size >= pushed) {
			while (pushed < (size_t)cp.size)
				mr_merkle_acc_push(&acc, v->log.leaves[pushed++]);
			mr_merkle_acc_root(&acc, root);
		} else {
			mr_merkle_root(v->log.leaves, (size_t)cp.size, root);
		}
		if (memcmp(root, cp.root, 32) != 0) {
			/* The chain holds, so an edit of any earlier record would
			 * have broken its successor's prev=: the last record this
			 * checkpoint signs is the altered one, unless the chain was
			 * rewritten, and then the edit lies after the last match. */
			problem(v, (size_t)cp.size, "record %llu: does not match the checkpoint signed at "
			    "%s over %llu records (altered; had the chain been rewritten, the edit "
			    "would lie in records %zu..%llu)", (unsigned long long)cp.size, cp.time,
			    (unsigned long long)cp.size, confirmed + 1, (unsigned long long)cp.size);
			break;
		}
		if (cp.size > confirmed)
			confirmed = (size_t)cp.size;
	}
	free(text);
	if (count > 0 && v->error[0] == '\0')
		note(v, "%zu earlier checkpoint(s): each signs a prefix of this log", count);
	return confirmed;
}

/* Compares with an earlier export dir (its own log checked against its
 * own checkpoint first) to name the first record where they part. */
static void
check_previous_dir(verification *v, const char *prev_dir, const mr_checkpoint *old)
{
	char path[4096];
	audit_log o;
	mr_diag d;
	mr_merkle_hash root;

	mr_diag_clear(&d);
	if (mr_path_join(path, sizeof(path), prev_dir, "audit.log") != MR_OK ||
	    log_load(path, &o, &d) != MR_OK) {
		log_free(&o);
		return;
	}
	mr_merkle_root(o.leaves, o.n, root);
	if (o.n >= old->size && memcmp(root, old->root, 32) != 0)
		mr_merkle_root(o.leaves, (size_t)old->size, root);
	if (o.n < old->size || memcmp(root, old->root, 32) != 0) {
		log_free(&o);
		return; /* the old log is no witness for its own checkpoint */
	}
	for (size_t i = 0; i < (size_t)old->size; i++) {
		if (i >= v->log.n)
			break; /* a prefix of the old log: truncated, not forked */
		if (memcmp(o.leaves[i], v->log.leaves[i], 32) != 0) {
			v->error[0] = '\0';
			problem(v, i + 1, "record %zu: differs from record %zu of the log reviewed "
			    "before (%s): the log forks there from the saved checkpoint of %llu records",
			    i + 1, i + 1, prev_dir, (unsigned long long)old->size);
			break;
		}
	}
	log_free(&o);
}

static void
check_previous(verification *v, const char *prev)
{
	char path[4096], why[200];
	struct stat st;
	mr_checkpoint old;
	mr_merkle_hash path_h[MR_MERKLE_MAX_PROOF], old_root;
	size_t plen = 0;
	mr_diag d;
	int is_dir = stat(prev, &st) == 0 && S_ISDIR(st.st_mode);

	mr_diag_clear(&d);
	if (is_dir) {
		if (mr_path_join(path, sizeof(path), prev, "checkpoint") != MR_OK)
			return;
	} else
		snprintf(path, sizeof(path), "%s", prev);
	if (read_checkpoint(path, &v->key, &old, why, sizeof(why), &d) != MR_OK) {
		problem(v, 0, "previous checkpoint %s: %s", path,
		    why[0] ? why : mr_diag_text(&d, MR_E_IO));
		return;
	}
	if (old.size > v->cp.size) {
		problem(v, (size_t)v->cp.size + 1, "record %llu: missing: the previous checkpoint "
		    "signed %llu records, this one only %llu (log truncated or rolled back)",
		    (unsigned long long)v->cp.size + 1, (unsigned long long)old.size,
		    (unsigned long long)v->cp.size);
		if (is_dir)
			check_previous_dir(v, prev, &old);
		return;
	}
	memcpy(old_root, old.root, 32);
	if (old.size == 0) {
		note(v, "previous checkpoint: empty tree");
		return;
	}
	/* The proof is made from the new log and checked against the old
	 * root alone, as a remote auditor would. */
	if (mr_merkle_consistency_proof(v->log.leaves, (size_t)v->cp.size, (size_t)old.size, path_h,
		MR_MERKLE_MAX_PROOF, &plen) != MR_OK ||
	    mr_merkle_consistency_verify(old.size, v->cp.size, old_root, v->cp.root, path_h, plen) !=
		MR_OK) {
		problem(v, 0, "fork: the log does not extend the previous checkpoint (%llu records, "
		    "signed %s): RFC 9162 consistency proof fails", (unsigned long long)old.size,
		    old.time);
		if (is_dir)
			check_previous_dir(v, prev, &old);
		return;
	}
	note(v, "previous checkpoint (%llu records, signed %s): consistency proof ok, %zu hashes",
	    (unsigned long long)old.size, old.time, plen);
}

/* Verifies an export dir; v->error says the first problem. */
static void
verify_export(verification *v, const char *prev, mr_diag *d)
{
	char path[4096], why[200];
	mr_merkle_hash root;
	mr_note_key dir_key;
	audit_log *l = &v->log;

	if (mr_path_join(path, sizeof(path), v->dir, "audit-key.pub") == MR_OK &&
	    mr_path_exists(path)) {
		if (read_key(path, &dir_key, d) != MR_OK) {
			problem(v, 0, "%s", mr_diag_text(d, MR_E_DER));
			return;
		}
		if (strcmp(dir_key.name, v->key.name) != 0 || memcmp(dir_key.pub, v->key.pub, 32) != 0) {
			problem(v, 0, "%s is not the pinned audit key (%s)", path, v->key_from);
			return;
		}
	}
	if (mr_path_join(path, sizeof(path), v->dir, "audit.log") != MR_OK ||
	    log_load(path, l, d) != MR_OK) {
		problem(v, 0, "%s", mr_diag_text(d, MR_E_IO));
		return;
	}
	if (mr_path_join(path, sizeof(path), v->dir, "checkpoint") != MR_OK)
		return;
	why[0] = '\0';
	if (read_checkpoint(path, &v->key, &v->cp, why, sizeof(why), d) != MR_OK) {
		problem(v, 0, "%s: %s", path, why[0] ? why : mr_diag_text(d, MR_E_IO));
		return;
	}
	v->have_cp = 1;
	note(v, "checkpoint: %llu records, signed %s by %s (key from %s)",
	    (unsigned long long)v->cp.size, v->cp.time, v->key.name, v->key_from);
	if (strcmp(v->cp.origin, v->key.name) != 0) {
		problem(v, 0, "%s: origin %s is not the audit key's log", path, v->cp.origin);
		return;
	}
	/* The chain first: it names the record. */
	if (!l->scan_ok) {
		size_t b = l->scan.bad;
		if (l->scan.bad_prev)
			b = blame_prev(l, b);
		if (b != l->scan.bad)
			problem(v, b, "record %zu: altered: record %zu's prev= no longer matches it "
			    "(%s)", b, b + 1, l->scan.why);
		else
			problem(v, b, "%s", l->scan.why);
		return;
	}
	if (l->scan.torn) {
		problem(v, l->n + 1, "record %zu: truncated (the log ends inside it)", l->n + 1);
		return;
	}
	note(v, "record chain: %zu records, seq 1..%zu, every prev= matches", l->n, l->n);
	if (l->n < v->cp.size) {
		problem(v, l->n + 1, "record %zu: missing: the checkpoint signs %llu records, the log "
		    "has %zu (truncated)", l->n + 1, (unsigned long long)v->cp.size, l->n);
		return;
	}
	{
		size_t confirmed = check_history(v, l->n);
		if (v->error[0] != '\0')
			return;
		mr_merkle_root(l->leaves, (size_t)v->cp.size, root);
		if (memcmp(root, v->cp.root, 32) != 0) {
			problem(v, (size_t)v->cp.size, "record %llu: does not match the signed checkpoint "
			    "(RFC 9162 root differs: altered; had the chain been rewritten, the edit "
			    "would lie in records %zu..%llu)", (unsigned long long)v->cp.size,
			    confirmed + 1, (unsigned long long)v->cp.size);
			return;
		}
	}
	note(v, "Merkle root (RFC 9162) over %llu records matches the checkpoint",
	    (unsigned long long)v->cp.size);
	if (l->n > v->cp.size)
		note(v, "warning: records %llu..%zu are newer than the checkpoint (chained, not yet "
		    "signed)", (unsigned long long)v->cp.size + 1, l->n);
	if (prev != NULL)
		check_previous(v, prev);
}

/* ---- issued certificates ---- */

/* The certificates found under CERTDIR, sorted by SHA-256 so that each
 * issue record finds its certificate in O(log n): a fleet's directory holds
 * tens of thousands. No fixed cap: a cap would silently leave some out. */
typedef struct {
	uint8_t hash[32];
	char serial[41];
	char *path;
	int seen;
} issued_cert;

typedef struct {
	issued_cert *v;
	size_t n, cap;
	int oom;
} issued_set;

static void
add_cert(issued_set *s, const uint8_t h[32], const mr_cert *cert, const char *path)
{
	if (s->n == s->cap) {
		size_t c = s->cap == 0 ? 256 : s->cap * 2;
		issued_cert *v = realloc(s->v, c * sizeof(*v));
		if (v == NULL) {
			s->oom = 1;
			return;
		}
		s->v = v;
		s->cap = c;
	}
	if ((s->v[s->n].path = strdup(path)) == NULL) {
		s->oom = 1;
		return;
	}
	memcpy(s->v[s->n].hash, h, 32);
	mr_cert_serial_hex(cert, s->v[s->n].serial, sizeof(s->v[s->n].serial));
	s->v[s->n].seen = 0;
	s->n++;
}

static void
collect_certs(const char *dir, issued_set *s, int depth)
{
	DIR *dp;
	struct dirent *e;

	if (depth > 4 || (dp = opendir(dir)) == NULL)
		return;
	while ((e = readdir(dp)) != NULL && !s->oom) {
		char path[4096];
		struct stat st;
		size_t len = strlen(e->d_name);
		if (e->d_name[0] == '.' || mr_path_join(path, sizeof(path), dir, e->d_name) != MR_OK ||
		    lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			collect_certs(path, s, depth + 1);
			continue;
		}
		if (!S_ISREG(st.st_mode) || len < 5 || strcmp(e->d_name + len - 4, ".pem") != 0)
			continue;
		{
			uint8_t *text = NULL, der[8192];
			size_t tl = 0, pos = 0, dl = 0;
			if (mr_file_read(path, 1 << 20, &text, &tl, NULL) != MR_OK)
				continue;
			while (!s->oom && mr_pem_next((const char *)text, tl, &pos, "CERTIFICATE", der,
			    sizeof(der), &dl) == MR_OK) {
				mr_cert cert;
				uint8_t h[32];
				if (mr_cert_parse(der, dl, &cert, NULL) != MR_OK)
					continue;
				/* Roots are not issued by the appliance. */
				if (mr_der_equal(cert.issuer, cert.subject))
					continue;
				mr_fp_sha256(der, dl, h);
				add_cert(s, h, &cert, path);
			}
			free(text);
		}
	}
	closedir(dp);
}

static int
by_hash(const void *a, const void *b)
{
	return memcmp(((const issued_cert *)a)->hash, ((const issued_cert *)b)->hash, 32);
}

/* Sorted, and each certificate once (a file set holds its intermediate in
 * ca-cert.pem and cert-chain.pem). */
static void
sort_unique(issued_set *s)
{
	size_t k = 0;

	qsort(s->v, s->n, sizeof(*s->v), by_hash);
	for (size_t i = 0; i < s->n; i++) {
		if (k > 0 && memcmp(s->v[k - 1].hash, s->v[i].hash, 32) == 0) {
			free(s->v[i].path);
			continue;
		}
		s->v[k++] = s->v[i];
	}
	s->n = k;
}

static void
check_issued(verification *v, const char *certdir)
{
	issued_set set = { NULL, 0, 0, 0 };
	size_t issues = 0;
	char ev[32], serial[64], hex[80];

	collect_certs(certdir, &set, 0);
	if (set.oom) {
		problem(v, 0, "%s: out of memory collecting certificates", certdir);
		goto out;
	}
	sort_unique(&set);
	for (size_t i = 0; i < v->log.n; i++) {
		issued_cert key, *c;
		if (!rec_get(&v->log, i, "event", ev, sizeof(ev)) || strcmp(ev, "issue") != 0)
			continue;
		issues++;
		rec_get(&v->log, i, "serial", serial, sizeof(serial));
		if (!rec_get(&v->log, i, "cert", hex, sizeof(hex)) ||
		    mr_hex_decode(hex, key.hash, 32) != MR_OK) {
			problem(v, i + 1, "record %zu: issue record without cert=", i + 1);
			goto out;
		}
		c = set.n == 0 ? NULL : bsearch(&key, set.v, set.n, sizeof(*set.v), by_hash);
		if (c == NULL) {
			problem(v, i + 1, "record %zu: serial %s was issued but is not in %s", i + 1,
			    serial, certdir);
			goto out;
		}
		c->seen = 1;
		if (strcmp(c->serial, serial) != 0) {
			problem(v, i + 1, "record %zu: serial %s, but %s has serial %s", i + 1, serial,
			    c->path, c->serial);
			goto out;
		}
	}
	for (size_t j = 0; j < set.n; j++)
		if (!set.v[j].seen) {
			problem(v, 0, "%s: serial %s is not in the audit log", set.v[j].path,
			    set.v[j].serial);
			goto out;
		}
	note(v, "issued certificates: %zu in %s, %zu issue records: each in the other", set.n,
	    certdir, issues);
out:
	for (size_t j = 0; j < set.n; j++)
		free(set.v[j].path);
	free(set.v);
}

/* ---- media answers ---- */

static int
verify_answer(verification *v, const char *answers, const char *cluster)
{
	char path[4096], serial[64];
	uint8_t *text = NULL, der[8192];
	size_t len = 0, pos = 0, dl = 0;
	mr_checkpoint cp;
	uint64_t index = 0;
	mr_cert cert;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	snprintf(path, sizeof(path), "%s/%s.pem", answers, cluster);
	if (mr_file_read(path, 65536, &text, &len, &d) != MR_OK)
		return problem(v, 0, "%s", mr_diag_text(&d, MR_E_IO));
	r = mr_pem_next((const char *)text, len, &pos, "CERTIFICATE", der, sizeof(der), &dl);
	free(text);
	if (r != MR_OK || mr_cert_parse(der, dl, &cert, &d) != MR_OK)
		return problem(v, 0, "%s: no readable certificate", path);
	snprintf(path, sizeof(path), "%s/%s.audit", answers, cluster);
	if ((r = mr_host_audit_check_proof(&v->key, path, der, dl, serial, &index, &cp, &d)) != MR_OK)
		return problem(v, 0, "%s", mr_diag_text(&d, r));
	note(v, "answer %s: serial %s is record %llu of %llu, checkpoint signed %s", cluster, serial,
	    (unsigned long long)index + 1, (unsigned long long)cp.size, cp.time);
	return 0;
}

static void
verify_answers(verification *v, const char *answers)
{
	DIR *dp = opendir(answers);
	struct dirent *e;
	size_t count = 0;

	if (dp == NULL) {
		problem(v, 0, "%s: cannot open", answers);
		return;
	}
	while ((e = readdir(dp)) != NULL && v->error[0] == '\0') {
		char cluster[64];
		if (!mr_media_name_cluster(e->d_name, ".audit", cluster, sizeof(cluster)))
			continue;
		verify_answer(v, answers, cluster);
		count++;
	}
	closedir(dp);
	if (count == 0)
		problem(v, 0, "%s: no answer carries an audit proof (.audit)", answers);
}

/* Runs every check that applies to dir. */
static int
verify_dir(const mr_host_opts *o, verification *v, const char *dir, const char *key,
    const char *prev, const char *issued, mr_diag *d)
{
	char path[4096];
	int r;

	memset(v, 0, sizeof(*v));
	snprintf(v->dir, sizeof(v->dir), "%s", dir);
	if ((r = load_key(o, key, v, d)) != MR_OK)
		return r;
	if (mr_path_join(path, sizeof(path), dir, "audit.log") == MR_OK && mr_path_exists(path)) {
		verify_export(v, prev, d);
		if (issued != NULL && v->error[0] == '\0')
			check_issued(v, issued);
		return MR_OK;
	}
	if (mr_path_join(path, sizeof(path), dir, MR_MEDIA_ANSWERS) == MR_OK && mr_path_exists(path)) {
		verify_answers(v, path);
		return MR_OK;
	}
	if (mr_path_join(path, sizeof(path), dir, "answers") == MR_OK && mr_path_exists(path)) {
		verify_answers(v, path);
		return MR_OK;
	}
	return mr_diag_set(d, MR_E_NOTFOUND,
	    "%s: neither an audit export (audit.log) nor media with answers", dir);
}

/* ---- show and report ---- */

typedef struct {
	const char *since, *until, *event, *cluster;
} filter;

static int
time_in(const char *t, const filter *f)
{
	if (f->since != NULL && strcmp(t, f->since) < 0)
		return 0;
	/* A date-only --until covers its whole day. */
	if (f->until != NULL && strncmp(t, f->until, strlen(f->until)) > 0)
		return 0;
	return 1;
}

static int
matches(audit_log *l, size_t i, const filter *f)
{
	char v[256];

	rec_get(l, i, "time", v, sizeof(v));
	if (!time_in(v, f))
		return 0;
	if (f->event != NULL && (!rec_get(l, i, "event", v, sizeof(v)) || strcmp(v, f->event) != 0))
		return 0;
	if (f->cluster != NULL &&
	    (!rec_get(l, i, "cluster", v, sizeof(v)) || strcmp(v, f->cluster) != 0))
		return 0;
	return 1;
}

static void
fmt_date(const char *epoch, char *out, size_t cap)
{
	char *end;
	long long t = strtoll(epoch, &end, 10);
	time_t tt = (time_t)t;
	struct tm tm;

	if (epoch[0] == '\0' || *end != '\0' || gmtime_r(&tt, &tm) == NULL) {
		snprintf(out, cap, "%s", epoch);
		return;
	}
	strftime(out, cap, "%Y-%m-%d %H:%M:%SZ", &tm);
}

/* The one-line human reading of a record. */
static void
describe(audit_log *l, size_t i, char *out, size_t cap)
{
	char ev[64], a[400], b[300], c[64];

	rec_get(l, i, "event", ev, sizeof(ev));
	if (strcmp(ev, "approve") == 0) {
		rec_get(l, i, "by", a, sizeof(a));
		snprintf(out, cap, "approved by %s", a);
	} else if (strcmp(ev, "refuse") == 0) {
		rec_get(l, i, "reason", a, sizeof(a));
		if (rec_get(l, i, "by", b, sizeof(b)))
			snprintf(out, cap, "refused by %s: %s", b, a);
		else
			snprintf(out, cap, "refused: %s", a);
	} else if (strcmp(ev, "issue") == 0) {
		rec_get(l, i, "not_after", b, sizeof(b));
		fmt_date(b, c, sizeof(c));
		rec_get(l, i, "subject", a, sizeof(a));
		snprintf(out, cap, "issued %s, expires %s", a, c);
	} else if (strcmp(ev, "login-failed") == 0) {
		rec_get(l, i, "error", a, sizeof(a));
		snprintf(out, cap, "login failed: %s", a);
	} else if (strcmp(ev, "skip") == 0) {
		rec_get(l, i, "file", a, sizeof(a));
		rec_get(l, i, "reason", b, sizeof(b));
		snprintf(out, cap, "%s skipped: %s", a, b);
	} else if (strcmp(ev, "ceremony-start") == 0) {
		rec_get(l, i, "firmware", a, sizeof(a));
		rec_get(l, i, "confirmed_by", b, sizeof(b));
		snprintf(out, cap, "firmware %s, config confirmed by %s", a, b);
	} else if (strcmp(ev, "ceremony-done") == 0) {
		rec_get(l, i, "root_sha256", a, sizeof(a));
		snprintf(out, cap, "root SHA-256 %s", a);
	} else if (strcmp(ev, "login") == 0) {
		rec_get(l, i, "token_label", a, sizeof(a));
		rec_get(l, i, "token_serial", b, sizeof(b));
		snprintf(out, cap, "token %s serial %s", a, b);
	} else if (strcmp(ev, "abandon") == 0 || strcmp(ev, "ceremony-failed") == 0) {
		if (!rec_get(l, i, "reason", a, sizeof(a)))
			rec_get(l, i, "error", a, sizeof(a));
		snprintf(out, cap, "%s", a);
	} else {
		/* Anything else: its fields after event=, minus prev=, decoded. */
		size_t n, k = 0, o = 0, field = 0;
		const char *line = rec_line(l, i, &n);

		out[0] = '\0';
		while (k < n && line[k] != '\n') {
			size_t st = k, eq;
			char key[64], val[256];
			while (k < n && line[k] != ' ' && line[k] != '\n')
				k++;
			for (eq = st; eq < k && line[eq] != '='; eq++)
				;
			field++;
			if (field > 3 && eq - st < sizeof(key)) {
				memcpy(key, line + st, eq - st);
				key[eq - st] = '\0';
				if (strcmp(key, "prev") != 0 &&
				    mr_record_get(line, n, key, val, sizeof(val)) == MR_OK) {
					int w = snprintf(out + o, cap - o, "%s%s=%s", o ? " " : "", key, val);
					if (w < 0 || (size_t)w >= cap - o)
						break;
					o += (size_t)w;
				}
			}
			while (k < n && line[k] == ' ')
				k++;
		}
	}
}

/* A decoded value as a JSON string: each byte one code point (U+0000 to
 * U+00FF), so that any bytes give valid JSON, as \u00XX always did here. */
static json_object *
json_bytes(const char *v)
{
	static char u[2 * MR_RECORD_MAX + 1];
	size_t k = 0;

	for (const unsigned char *p = (const unsigned char *)v; *p != '\0' && k + 2 < sizeof(u); p++) {
		if (*p < 0x80) {
			u[k++] = (char)*p;
		} else {
			u[k++] = (char)(0xc0 | (*p >> 6));
			u[k++] = (char)(0x80 | (*p & 0x3f));
		}
	}
	u[k] = '\0';
	return json_object_new_string(u);
}

/* Every field of record i as a JSON object, values as decoded strings. */
static json_object *
json_record(audit_log *l, size_t i)
{
	size_t n, k = 0;
	const char *line = rec_line(l, i, &n);
	json_object *j = json_object_new_object();

	while (k < n && line[k] != '\n') {
		size_t s = k, eq;
		char key[64], val[MR_RECORD_MAX];
		while (k < n && line[k] != ' ' && line[k] != '\n')
			k++;
		eq = s;
		while (eq < k && line[eq] != '=')
			eq++;
		if (eq - s < sizeof(key)) {
			memcpy(key, line + s, eq - s);
			key[eq - s] = '\0';
			if (mr_record_get(line, n, key, val, sizeof(val)) == MR_OK)
				mr_json_put(j, key, json_bytes(val));
		}
		while (k < n && line[k] == ' ')
			k++;
	}
	return j;
}

static void
html(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default:
			if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
				fputc('?', f);
			else
				fputc(*s, f);
		}
	}
}

static void
print_verification(const verification *v)
{
	for (size_t i = 0; i < v->nnotes; i++)
		printf("%s\n", v->notes[i]);
}

/* A record read back that failed (the file cut or rewritten since it was
 * scanned): what was printed is not to be trusted, so the command fails. */
static int
read_back_failed(audit_log *l)
{
	if (l->failed[0] == '\0')
		return 0;
	mr_progress_stderr("error: %s\n", l->failed);
	log_free(l);
	return 1;
}

static int
cmd_verify_audit(const mr_host_opts *o, const char *dir, const char *key, const char *prev,
    const char *issued)
{
	static verification v;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	if ((r = verify_dir(o, &v, dir, key, prev, issued, &d)) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
		log_free(&v.log);
		return mr_host_exit(r);
	}
	if (read_back_failed(&v.log))
		return mr_host_exit(MR_E_IO);
	print_verification(&v);
	if (v.error[0] != '\0') {
		fflush(stdout);
		mr_progress_stderr("error: %s\n", v.error);
		log_free(&v.log);
		return MR_EXIT_VERIFY;
	}
	printf("OK: %s verified\n", dir);
	log_free(&v.log);
	return 0;
}

#define JSON_FLAGS (JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE)

/*
 * Record i as the nth element of `show --json`'s array, written as soon as
 * it is made: the array of every record at once held some 3 KiB of json-c
 * objects a record (over 120 MiB at 42,000 records). It is made inside an
 * array of its own, so that its text is indented as inside the whole one,
 * and written without that array's brackets ("[" and "\n]"): the output is
 * byte for byte what the whole array printed.
 */
static int
json_put_record(audit_log *l, size_t i, size_t nth)
{
	json_object *one = json_object_new_array();
	const char *text;
	size_t n;
	int ok;

	if (one == NULL)
		return 0;
	mr_json_append(one, json_record(l, i));
	text = json_object_to_json_string_ext(one, JSON_FLAGS);
	n = text != NULL ? strlen(text) : 0;
	ok = n >= 3 && n - 3 <= INT_MAX && text[0] == '[' && text[n - 2] == '\n' &&
	    text[n - 1] == ']' && printf("%s%.*s", nth > 0 ? "," : "", (int)(n - 3), text + 1) >= 0;
	json_object_put(one);
	return ok;
}

static int
cmd_show(const mr_host_opts *o, const char *dir, const char *key, const filter *flt, int json)
{
	static verification v;
	mr_diag d;
	size_t shown = 0;
	int r;

	mr_diag_clear(&d);
	if ((r = verify_dir(o, &v, dir, key, NULL, NULL, &d)) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
		return mr_host_exit(r);
	}
	if (read_back_failed(&v.log))
		return mr_host_exit(MR_E_IO);
	if (v.error[0] != '\0' || !v.log.loaded) {
		mr_progress_stderr("error: %s\n", v.error[0] ? v.error : "not an audit export");
		log_free(&v.log);
		return v.error[0] ? MR_EXIT_VERIFY : MR_EXIT_INPUT;
	}
	/* A bare array of records (docs/json.md): its shape predates the
	 * other documents and is kept. */
	if (json)
		printf("[");
	else
		printf("%-5s %-20s %-15s %-12s %-34s %s\n", "SEQ", "TIME", "EVENT", "CLUSTER",
		    "SERIAL", "DETAIL");
	for (size_t i = 0; i < v.log.n; i++) {
		char seq[24], t[40], ev[64], cl[64], serial[64], detail[1024];
		if (!matches(&v.log, i, flt))
			continue;
		if (json) {
			if (!json_put_record(&v.log, i, shown)) {
				mr_progress_stderr("error: audit show: cannot write the records\n");
				log_free(&v.log);
				return 1;
			}
		} else {
			rec_get(&v.log, i, "seq", seq, sizeof(seq));
			rec_get(&v.log, i, "time", t, sizeof(t));
			rec_get(&v.log, i, "event", ev, sizeof(ev));
			if (!rec_get(&v.log, i, "cluster", cl, sizeof(cl)))
				snprintf(cl, sizeof(cl), "-");
			if (!rec_get(&v.log, i, "serial", serial, sizeof(serial)))
				snprintf(serial, sizeof(serial), "-");
			describe(&v.log, i, detail, sizeof(detail));
			/* Values came from the log: printable ASCII only. */
			for (char *p = detail; *p; p++)
				if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
					*p = '?';
			printf("%-5s %-20s %-15s %-12s %-34s %s\n", seq, t, ev, cl, serial, detail);
		}
		shown++;
	}
	if (read_back_failed(&v.log))
		return mr_host_exit(MR_E_IO);
	if (json) {
		if (printf("\n]\n") < 0 || fflush(stdout) != 0) {
			mr_progress_stderr("error: audit show: cannot write the records\n");
			log_free(&v.log);
			return 1;
		}
	} else
		printf("%zu of %zu record(s), verified against checkpoint of %llu records\n", shown,
		    v.log.n, (unsigned long long)v.cp.size);
	log_free(&v.log);
	return 0;
}

static void
html_table_head(FILE *f, const char *const *cols, size_t n)
{
	fputs("<table><thead><tr>", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "<th>%s</th>", cols[i]);
	fputs("</tr></thead><tbody>\n", f);
}

static void
html_events(FILE *f, audit_log *l, const char *event, const char *title)
{
	static const char *const cols[] = { "Seq", "Time", "Cluster", "Detail" };
	size_t count = 0;

	fprintf(f, "<h2>%s</h2>\n", title);
	for (size_t i = 0; i < l->n; i++) {
		char ev[64], v[1024];
		if (!rec_get(l, i, "event", ev, sizeof(ev)) || strcmp(ev, event) != 0)
			continue;
		if (count++ == 0)
			html_table_head(f, cols, 4);
		fputs("<tr><td>", f);
		rec_get(l, i, "seq", v, sizeof(v));
		html(f, v);
		fputs("</td><td>", f);
		rec_get(l, i, "time", v, sizeof(v));
		html(f, v);
		fputs("</td><td>", f);
		rec_get(l, i, "cluster", v, sizeof(v));
		html(f, v);
		fputs("</td><td>", f);
		describe(l, i, v, sizeof(v));
		html(f, v);
		fputs("</td></tr>\n", f);
	}
	fputs(count ? "</tbody></table>\n" : "<p class=\"none\">None.</p>\n", f);
}

static int
cmd_report(const mr_host_opts *o, const char *dir, const char *key, const char *out)
{
	static verification v;
	static const char *const icols[] = { "Seq", "Issued", "Cluster", "Serial", "Subject",
		"Not after", "Certificate SHA-256" };
	static const char *const tcols[] = { "Seq", "Time", "Event", "Cluster", "Serial", "Detail" };
	char tmp[4200];
	mr_diag d;
	FILE *f;
	int r;
	size_t count = 0;

	mr_diag_clear(&d);
	if ((r = verify_dir(o, &v, dir, key, NULL, NULL, &d)) != MR_OK) {
		mr_progress_stderr("error: %s\n", mr_diag_text(&d, r));
		return mr_host_exit(r);
	}
	if (read_back_failed(&v.log))
		return mr_host_exit(MR_E_IO);
	if (!v.log.loaded) {
		mr_progress_stderr("error: %s: not an audit export\n", dir);
		log_free(&v.log);
		return MR_EXIT_INPUT;
	}
	snprintf(tmp, sizeof(tmp), "%s.tmp", out);
	if ((f = fopen(tmp, "w")) == NULL) {
		mr_progress_stderr("error: %s: cannot write\n", tmp);
		log_free(&v.log);
		return 1;
	}
	fputs("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
	      "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; "
	      "style-src 'unsafe-inline'\">\n<title>meshroot audit report</title>\n<style>\n"
	      "body{font-family:sans-serif;margin:2em;color:#222}\n"
	      "table{border-collapse:collapse;margin-bottom:1.5em}\n"
	      "th,td{border:1px solid #bbb;padding:.25em .5em;text-align:left;font-size:90%;"
      "overflow-wrap:anywhere}\n"
	      "th{background:#eee}\ntd.mono,code{font-family:monospace}\n"
	      ".ok{background:#e6f4e6;border:1px solid #7b7;padding:.5em}\n"
	      ".bad{background:#fbe4e4;border:1px solid #c66;padding:.5em}\n"
	      ".none{color:#777}\n</style></head><body>\n<h1>meshroot audit report</h1>\n", f);
	fputs("<p>Log: <code>", f);
	html(f, dir);
	fprintf(f, "</code>, %zu records.</p>\n", v.log.n);
	if (v.error[0] == '\0') {
		fputs("<div class=\"ok\" id=\"verdict\"><strong>Verified.</strong><ul>", f);
	} else {
		fputs("<div class=\"bad\" id=\"verdict\"><strong>NOT verified: ", f);
		html(f, v.error);
		fputs("</strong><ul>", f);
	}
	for (size_t i = 0; i < v.nnotes; i++) {
		fputs("<li>", f);
		html(f, v.notes[i]);
		fputs("</li>", f);
	}
	fputs("</ul></div>\n<h2>Issued certificates</h2>\n", f);
	for (size_t i = 0; i < v.log.n; i++) {
		char ev[64], val[1024], when[64];
		static const char *const keys[] = { "seq", "time", "cluster", "serial", "subject",
			"not_after", "cert" };
		if (!rec_get(&v.log, i, "event", ev, sizeof(ev)) || strcmp(ev, "issue") != 0)
			continue;
		if (count++ == 0)
			html_table_head(f, icols, 7);
		fputs("<tr>", f);
		for (size_t k = 0; k < 7; k++) {
			rec_get(&v.log, i, keys[k], val, sizeof(val));
			if (strcmp(keys[k], "not_after") == 0) {
				fmt_date(val, when, sizeof(when));
				snprintf(val, sizeof(val), "%s", when);
			}
			fputs(k == 3 || k == 6 ? "<td class=\"mono\">" : "<td>", f);
			html(f, val);
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs(count ? "</tbody></table>\n" : "<p class=\"none\">None.</p>\n", f);
	html_events(f, &v.log, "refuse", "Refusals");
	html_events(f, &v.log, "login-failed", "Login failures");
	fputs("<h2>Timeline</h2>\n", f);
	html_table_head(f, tcols, 6);
	for (size_t i = 0; i < v.log.n; i++) {
		static const char *const keys[] = { "seq", "time", "event", "cluster", "serial" };
		char val[1024];
		fputs("<tr>", f);
		for (size_t k = 0; k < 5; k++) {
			rec_get(&v.log, i, keys[k], val, sizeof(val));
			fputs("<td>", f);
			html(f, val);
			fputs("</td>", f);
		}
		describe(&v.log, i, val, sizeof(val));
		fputs("<td>", f);
		html(f, val);
		fputs("</td></tr>\n", f);
	}
	fputs("</tbody></table>\n<p class=\"none\">Made by <code>meshroot audit report</code> "
	      "from the verified log; self-contained, no scripts.</p>\n</body></html>\n", f);
	if (v.log.failed[0] != '\0') {
		fclose(f);
		remove(tmp);
		read_back_failed(&v.log);
		return mr_host_exit(MR_E_IO);
	}
	if (fclose(f) != 0 || rename(tmp, out) != 0) {
		mr_progress_stderr("error: %s: cannot write\n", out);
		remove(tmp);
		log_free(&v.log);
		return 1;
	}
	printf("report written to %s (%zu records, %zu issued)%s\n", out, v.log.n, count,
	    v.error[0] ? ": LOG NOT VERIFIED" : "");
	fflush(stdout);
	r = v.error[0] ? MR_EXIT_VERIFY : MR_EXIT_OK;
	if (r)
		mr_progress_stderr("error: %s\n", v.error);
	log_free(&v.log);
	return r;
}

int
cmd_audit(const mr_host_opts *o, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "previous", required_argument, NULL, 'p' },
		{ "issued", required_argument, NULL, 'i' },
		{ "since", required_argument, NULL, 's' },
		{ "until", required_argument, NULL, 'u' },
		{ "event", required_argument, NULL, 'e' },
		{ "cluster", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "html", required_argument, NULL, 'H' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *key = NULL, *prev = NULL, *issued = NULL, *html_out = NULL, *sub;
	filter flt = { NULL, NULL, NULL, NULL };
	int c, json = 0;

	if (argc < 2)
		return HOST_USAGE("audit", "audit needs verify, show or report");
	sub = argv[1];
	if (strcmp(sub, "--help") == 0 || strcmp(sub, "-h") == 0) {
		HOST_HELP(stdout, "audit");
		return MR_EXIT_OK;
	}
	if (strcmp(sub, "verify") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "report") != 0)
		return HOST_USAGE("audit", "unknown audit command '%s'", sub);
	optind = 0; /* 0: glibc fully re-initialises its scanner */
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'k': key = optarg; break;
		case 'p': prev = optarg; break;
		case 'i': issued = optarg; break;
		case 's': flt.since = optarg; break;
		case 'u': flt.until = optarg; break;
		case 'e': flt.event = optarg; break;
		case 'c': flt.cluster = optarg; break;
		case 'j': json = 1; break;
		case 'H': html_out = optarg; break;
		case 'h': HOST_HELP(stdout, "audit"); return MR_EXIT_OK;
		default: return HOST_OPT_ERROR("audit", c, argv + 1);
		}
	}
	if (optind + 1 < argc - 1)
		return HOST_EXTRA("audit", argv[optind + 2]);
	if (optind + 1 != argc - 1)
		return HOST_USAGE("audit", "audit %s needs a DIR", sub);
	if (strcmp(sub, "verify") == 0)
		return cmd_verify_audit(o, argv[optind + 1], key, prev, issued);
	if (strcmp(sub, "show") == 0)
		return cmd_show(o, argv[optind + 1], key, &flt, json);
	if (strcmp(sub, "report") == 0) {
		if (html_out == NULL)
			return HOST_USAGE("audit", "audit report needs --html FILE");
		return cmd_report(o, argv[optind + 1], key, html_out);
	}
	return HOST_USAGE("audit", "unknown audit command '%s'", sub);
}

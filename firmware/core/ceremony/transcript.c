#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "board_api.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_media.h"
#include "mr_transcript.h"

#define TRANSCRIPT_MAX (64u * 1024u)
#define PEOPLE_MAX 16

static struct {
	int on;
	char kind[16];
	time_t start;
	char people[PEOPLE_MAX][80];
	size_t n_people;
	char buf[TRANSCRIPT_MAX];
	size_t len;
	int truncated;
} t;

static void
stamp(time_t when, char out[32])
{
	struct tm tm;

	gmtime_r(&when, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
mr_transcript_begin(const char *kind)
{
	size_t keep = t.n_people;
	char people[PEOPLE_MAX][80];

	/* People may be named (by option parsing) before the start. */
	memcpy(people, t.people, sizeof(people));
	memset(&t, 0, sizeof(t));
	memcpy(t.people, people, sizeof(people));
	t.n_people = keep;
	snprintf(t.kind, sizeof(t.kind), "%s", kind);
	t.start = time(NULL);
	t.on = 1;
}

void
mr_transcript_person(const char *role, const char *name)
{
	if (t.n_people < PEOPLE_MAX)
		snprintf(t.people[t.n_people++], sizeof(t.people[0]), "%s: %.60s", role, name);
}

static void
append(const char *s)
{
	size_t n = strlen(s);

	if (t.len + n + 1 > sizeof(t.buf)) {
		t.truncated = 1;
		return;
	}
	memcpy(t.buf + t.len, s, n);
	t.len += n;
}

void
mr_transcript_line(const char *fmt, ...)
{
	char line[600], when[32];
	va_list ap;

	if (!t.on)
		return;
	stamp(time(NULL), when);
	append(when);
	append("  ");
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* One step, one line: the transcript is read line by line. */
	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	append(line);
	append("\n");
}

void
mr_transcript_step(const char *who, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	board_console_write(who);
	board_console_write(": ");
	board_console_write(line);
	board_console_write("\n");
	mr_transcript_line("%s", line);
}

int
mr_transcript_finish(mr_app *app, int result, const mr_diag *result_diag, const char *media,
    mr_diag *d)
{
	static char out[TRANSCRIPT_MAX + 4096];
	char start[32], end[32], name[96], path[4096], hex[65], serial[17] = "", label[33] = "";
	uint8_t fp[32];
	size_t o = 0;
	mr_record rec;
	mr_diag td;
	int r = MR_E_RANGE;

	if (!t.on)
		return MR_OK;
	t.on = 0;
	stamp(t.start, start);
	stamp(time(NULL), end);
	mr_diag_clear(&td);
	if (app->tok != NULL)
		(void)!mr_token_info(app->tok, label, serial, &td);
	o += (size_t)snprintf(out + o, sizeof(out) - o,
	    "meshroot ceremony transcript: %s\n"
	    "started:   %s\nfinished:  %s\n"
	    "firmware:  %s, board %s\n"
	    "state dir: %s\n"
	    "token:     %s%s%s\n",
	    t.kind, start, end, MESHROOT_VERSION, board_name(), app->state_dir,
	    label[0] ? label : app->token, serial[0] ? ", serial " : "", serial);
	for (size_t i = 0; i < t.n_people && o < sizeof(out); i++)
		o += (size_t)snprintf(out + o, sizeof(out) - o, "%s\n", t.people[i]);
	if (t.n_people == 0 && o < sizeof(out))
		o += (size_t)snprintf(out + o, sizeof(out) - o,
		    "people:    not named (--operator NAME --witness NAME)\n");
	if (o < sizeof(out))
		o += (size_t)snprintf(out + o, sizeof(out) - o, "----\n%.*s%s----\nresult:    %s%s%s\n",
		    (int)t.len, t.buf, t.truncated ? "(transcript truncated)\n" : "",
		    result == MR_OK ? "ok" : "FAILED: ", result == MR_OK ? "" : "",
		    result == MR_OK ? "" : mr_diag_text(result_diag, result));
	if (o >= sizeof(out))
		return mr_diag_set(d, MR_E_RANGE, "transcript too long");
	if (mr_app_path(app, path, sizeof(path), "transcripts") != MR_OK ||
	    (r = mr_mkdirs(path, 0700, d)) != MR_OK)
		return r != MR_OK ? r : MR_E_RANGE;
	/* Never replace an earlier transcript (a retry within the same
	 * second): its hash is in the audit log. */
	for (unsigned attempt = 1;; attempt++) {
		char suffix[16] = "";
		if (attempt > 1)
			snprintf(suffix, sizeof(suffix), "-%u", attempt);
		snprintf(name, sizeof(name), "transcripts/%s-%.10s-%.2s%.2s%.2s%s.txt", t.kind,
		    start, start + 11, start + 14, start + 17, suffix);
		if (mr_app_path(app, path, sizeof(path), name) != MR_OK)
			return MR_E_RANGE;
		r = mr_file_create_atomic(path, out, o, 0600, d);
		if (r != MR_E_EXISTS || attempt == 99)
			break;
		mr_diag_clear(d);
	}
	if (r != MR_OK)
		return r;
	board_console_write("ceremony: transcript written to ");
	board_console_write(path);
	board_console_write("\n");
	if (media != NULL) {
		char dir[4096], top[4096], mpath[4096];
		if (mr_path_join(dir, sizeof(dir), media, MR_MEDIA_TOP "/transcripts") != MR_OK ||
		    (r = mr_mkdirs(dir, 0755, d)) != MR_OK ||
		    mr_path_join(top, sizeof(top), media, MR_MEDIA_TOP) != MR_OK ||
		    mr_path_join(mpath, sizeof(mpath), top, name) != MR_OK ||
		    (r = mr_file_write_atomic(mpath, out, o, 0644, d)) != MR_OK)
			return r != MR_OK ? r : MR_E_RANGE;
	}
	if (app->audit_open) {
		mr_fp_sha256((const uint8_t *)out, o, fp);
		mr_hex_encode(fp, 32, hex);
		mr_record_init(&rec);
		mr_record_add(&rec, "kind", t.kind);
		mr_record_add(&rec, "file", name);
		mr_record_add(&rec, "sha256", hex);
		mr_record_add(&rec, "result", result == MR_OK ? "ok" : "failed");
		{
			char people[PEOPLE_MAX * 82] = "";
			size_t po = 0;
			for (size_t i = 0; i < t.n_people; i++)
				po += (size_t)snprintf(people + po, sizeof(people) - po, "%s%s",
				    i ? "; " : "", t.people[i]);
			if (t.n_people > 0)
				mr_record_add(&rec, "people", people);
		}
		if ((r = mr_app_audit(app, "transcript", &rec, d)) != MR_OK)
			return r;
		/* The transcript's hash is what witnesses write down: sign it
		 * into a checkpoint now, not at the next command. */
		if (app->have_audit_key && app->tok != NULL &&
		    (r = mr_app_checkpoint(app, NULL, 0, NULL, d)) != MR_OK)
			return r;
	}
	return MR_OK;
}

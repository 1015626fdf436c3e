/*
 * `--json`: one JSON document on stdout, and nothing else there.
 *
 * A command that takes --json calls mr_jsonout_begin before it prints
 * anything: from then on whatever it prints for people (progress, notes,
 * the human report, prompts) goes to stderr, because file descriptor 1 is
 * pointed at stderr while the real stdout is kept aside. mr_jsonout_end
 * writes the document, followed by a newline, to the real stdout and puts
 * it back. So no progress line can ever corrupt the document, however
 * deep in a callee it is printed.
 *
 * Every document is an object that starts with "format" (which output it
 * is, e.g. "meshroot.status") and "schema_version" (docs/json.md: raised
 * only when a field changes meaning or goes; new fields may appear at any
 * time). The schemas are docs/json/<format>.schema.json.
 *
 * Built with json-c; never by hand.
 */
#ifndef MR_JSONOUT_H
#define MR_JSONOUT_H

#include <time.h>

#include <json-c/json.h>

#include "mr_err.h"

#define MR_JSON_SCHEMA_VERSION 1

typedef struct {
	int fd;     /* the real stdout while active, else -1 */
} mr_jsonout;

/* Sends fd 1 to stderr until mr_jsonout_end. 0, or -1 when the
 * descriptors cannot be set up (then nothing changed). */
int mr_jsonout_begin(mr_jsonout *j) MR_MUST_CHECK;

/* Writes doc to the real stdout, restores fd 1 and drops doc (which may be
 * NULL: then only the restore). 0, or -1 when the document could not be
 * written whole. Harmless on a j that was never begun. */
int mr_jsonout_end(mr_jsonout *j, json_object *doc);

/* A new document {"format": format, "schema_version": 1}. NULL when out
 * of memory. */
json_object *mr_json_doc(const char *format);

/* Adds key: s to obj (s NULL: null). 0 or -1 (out of memory). */
int mr_json_put_str(json_object *obj, const char *key, const char *s);
int mr_json_put_int(json_object *obj, const char *key, long long v);
int mr_json_put_bool(json_object *obj, const char *key, int v);
/* t as RFC 3339 UTC, "2027-01-31T12:00:00Z". */
int mr_json_put_time(json_object *obj, const char *key, time_t t);
/* Takes v (also on failure). */
int mr_json_put(json_object *obj, const char *key, json_object *v);
/* Takes v (also on failure). */
int mr_json_append(json_object *array, json_object *v);

#endif

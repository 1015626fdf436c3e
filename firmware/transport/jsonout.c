#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "mr_jsonout.h"

int
mr_jsonout_begin(mr_jsonout *j)
{
	j->fd = -1;
	fflush(stdout);
	if ((j->fd = dup(STDOUT_FILENO)) < 0)
		return -1;
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
		close(j->fd);
		j->fd = -1;
		return -1;
	}
	return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
mr_jsonout_end(mr_jsonout *j, json_object *doc)
{
	int rc = 0;

	if (j->fd < 0) {
		rc = doc == NULL ? 0 : -1;
		json_object_put(doc);
		return rc;
	}
	/* Whatever people were told goes out before the document. */
	fflush(stdout);
	fflush(stderr);
	if (doc != NULL) {
		size_t n = 0;
		const char *s = json_object_to_json_string_length(doc,
		    JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED | JSON_C_TO_STRING_NOSLASHESCAPE,
		    &n);
		if (s == NULL || write_all(j->fd, s, n) != 0 || write_all(j->fd, "\n", 1) != 0)
			rc = -1;
	}
	if (dup2(j->fd, STDOUT_FILENO) < 0)
		rc = -1;
	close(j->fd);
	j->fd = -1;
	json_object_put(doc);
	return rc;
}

json_object *
mr_json_doc(const char *format)
{
	json_object *o = json_object_new_object();

	if (o == NULL)
		return NULL;
	if (mr_json_put_str(o, "format", format) != 0 ||
	    mr_json_put_int(o, "schema_version", MR_JSON_SCHEMA_VERSION) != 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

int
mr_json_put(json_object *obj, const char *key, json_object *v)
{
	if (obj == NULL) {
		json_object_put(v);
		return -1;
	}
	/* json-c keeps v only when the add succeeds. */
	if (json_object_object_add(obj, key, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

int
mr_json_put_str(json_object *obj, const char *key, const char *s)
{
	json_object *v = NULL;

	if (s != NULL && (v = json_object_new_string(s)) == NULL)
		return -1;
	return mr_json_put(obj, key, v);
}

int
mr_json_put_int(json_object *obj, const char *key, long long v)
{
	json_object *x = json_object_new_int64((int64_t)v);

	return x == NULL ? -1 : mr_json_put(obj, key, x);
}

int
mr_json_put_bool(json_object *obj, const char *key, int v)
{
	json_object *x = json_object_new_boolean(v != 0);

	return x == NULL ? -1 : mr_json_put(obj, key, x);
}

int
mr_json_put_time(json_object *obj, const char *key, time_t t)
{
	char buf[32];
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return -1;
	return mr_json_put_str(obj, key, buf);
}

int
mr_json_append(json_object *array, json_object *v)
{
	if (array == NULL || v == NULL) {
		json_object_put(v);
		return -1;
	}
	if (json_object_array_add(array, v) != 0) {
		json_object_put(v);
		return -1;
	}
	return 0;
}

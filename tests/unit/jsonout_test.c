#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mr_jsonout.h"

/* Reads all of a temp file from the start. */
static char *
slurp(FILE *f)
{
	static char buf[8192];
	size_t n;

	fflush(f);
	rewind(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	return buf;
}

/* Whatever is printed between begin and end goes to stderr; stdout gets
 * the document alone, one newline after it, and the document reads back
 * with the values it was given, hostile bytes included. */
static void
test_document_alone_on_stdout(void **state)
{
	FILE *out = tmpfile(), *err = tmpfile();
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	mr_jsonout j;
	json_object *doc, *back, *v;
	char *text;
	size_t len;

	(void)state;
	assert_non_null(out);
	assert_non_null(err);
	fflush(stdout);
	assert_true(dup2(fileno(out), STDOUT_FILENO) >= 0);
	assert_true(dup2(fileno(err), STDERR_FILENO) >= 0);

	assert_int_equal(mr_jsonout_begin(&j), 0);
	printf("progress: 1 of 2\n"); /* deep in some callee */
	doc = mr_json_doc("meshroot.test");
	assert_non_null(doc);
	assert_int_equal(mr_json_put_str(doc, "name", "a\"b\\c\nd\x01\xc3\xa9/"), 0);
	assert_int_equal(mr_json_put_int(doc, "days_left", -3), 0);
	assert_int_equal(mr_json_put_time(doc, "time", (time_t)1800000000), 0);
	assert_int_equal(mr_json_put_str(doc, "error", NULL), 0);
	assert_int_equal(mr_jsonout_end(&j, doc), 0);
	printf("after\n");
	fflush(stdout);

	fflush(stderr);
	assert_true(dup2(saved_out, STDOUT_FILENO) >= 0);
	assert_true(dup2(saved_err, STDERR_FILENO) >= 0);
	close(saved_out);
	close(saved_err);

	assert_non_null(strstr(slurp(err), "progress: 1 of 2\n"));
	text = slurp(out);
	len = strlen(text);
	/* The document, its newline, then what was printed after end. */
	assert_true(len > 6);
	assert_string_equal(text + len - 6, "after\n");
	text[len - 6] = '\0';
	assert_null(strstr(text, "progress"));
	assert_int_equal(text[len - 7], '\n');
	back = json_tokener_parse(text);
	assert_non_null(back);
	assert_true(json_object_object_get_ex(back, "format", &v));
	assert_string_equal(json_object_get_string(v), "meshroot.test");
	assert_true(json_object_object_get_ex(back, "schema_version", &v));
	assert_int_equal(json_object_get_int(v), MR_JSON_SCHEMA_VERSION);
	assert_true(json_object_object_get_ex(back, "name", &v));
	assert_string_equal(json_object_get_string(v), "a\"b\\c\nd\x01\xc3\xa9/");
	assert_true(json_object_object_get_ex(back, "days_left", &v));
	assert_int_equal(json_object_get_int64(v), -3);
	assert_true(json_object_object_get_ex(back, "time", &v));
	assert_string_equal(json_object_get_string(v), "2027-01-15T08:00:00Z");
	assert_true(json_object_object_get_ex(back, "error", &v));
	assert_null(v);
	json_object_put(back);
	fclose(out);
	fclose(err);
}

/* end without begin: nothing written, a document is an error. */
static void
test_end_without_begin(void **state)
{
	mr_jsonout j = { -1 };

	(void)state;
	assert_int_equal(mr_jsonout_end(&j, NULL), 0);
	assert_int_equal(mr_jsonout_end(&j, mr_json_doc("meshroot.test")), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_document_alone_on_stdout),
		cmocka_unit_test(test_end_without_begin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

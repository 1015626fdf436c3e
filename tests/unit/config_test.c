/*
 * mr_config: the ceremony config. A typo must never fall back to a
 * default, so every error vector names the line and the reason.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "mr_config.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

static int
parse(const char *text, mr_config *c, mr_diag *d)
{
	mr_diag_clear(d);
	return mr_config_parse(text, strlen(text), c, d);
}

static void
assert_defaults(const mr_config *c)
{
	assert_string_equal(c->root_cn, "meshroot Root CA");
	assert_string_equal(c->root_o, "Example Org");
	assert_string_equal(c->root_c, "");
	assert_int_equal(c->root_key_type, MR_KEY_EC_P384);
	assert_int_equal(c->root_validity_days, 7305);
	assert_string_equal(c->root_key_label, "meshroot-root");
	assert_string_equal(c->policy_o, "Example Org");
	assert_int_equal(c->max_validity_days, 365);
	assert_int_equal(c->allowed_key_types, (1u << MR_KEY_EC_P256) |
	    (1u << MR_KEY_EC_P384) | (1u << MR_KEY_RSA_3072) | (1u << MR_KEY_RSA_4096));
}

static void
test_template_is_the_defaults(void **state)
{
	mr_config empty, tmpl;
	mr_diag d;
	const char *t = mr_config_template();

	(void)state;
	assert_int_equal(parse("", &empty, &d), MR_OK);
	assert_defaults(&empty);
	assert_int_equal(parse(t, &tmpl, &d), MR_OK);
	assert_defaults(&tmpl);
	/* Every key of the template is set explicitly ... */
	assert_non_null(strstr(t, "\ncommon_name = "));
	assert_non_null(strstr(t, "\nkey_type = "));
	assert_non_null(strstr(t, "\nvalidity_days = "));
	assert_non_null(strstr(t, "\nkey_label = "));
	assert_non_null(strstr(t, "\nmax_validity_days = "));
	assert_non_null(strstr(t, "\nallowed_key_types = "));
	/* ... and it never names RSA-2048 as allowed. */
	assert_null(strstr(strstr(t, "\nallowed_key_types = "), "rsa-2048"));
}

static void
test_all_keys_applied(void **state)
{
	static const char text[] =
	    "# comment\n"
	    "\n"
	    "  [root]  \n"
	    "common_name = Acme Root CA 2026\n"
	    "organization=Acme, Inc.\n"
	    "\tcountry = DE\t\n"
	    "key_type = rsa-4096\n"
	    "validity_days = 3650\n"
	    "key_label = acme-root\n"
	    "[policy]\n"
	    "organization = Acme Mesh\n"
	    "max_validity_days = 90\n"
	    "allowed_key_types = ec-p256, rsa-3072\n"
	    "[token]\n"
	    "module_args = configdir='sql:/var/lib/nss' certPrefix='' flags=readOnly\n";
	mr_config c;
	mr_diag d;

	(void)state;
	assert_int_equal(parse(text, &c, &d), MR_OK);
	assert_string_equal(c.root_cn, "Acme Root CA 2026");
	assert_string_equal(c.root_o, "Acme, Inc.");
	assert_string_equal(c.root_c, "DE");
	assert_int_equal(c.root_key_type, MR_KEY_RSA_4096);
	assert_int_equal(c.root_validity_days, 3650);
	assert_string_equal(c.root_key_label, "acme-root");
	assert_string_equal(c.policy_o, "Acme Mesh");
	assert_int_equal(c.max_validity_days, 90);
	assert_int_equal(c.allowed_key_types, (1u << MR_KEY_EC_P256) | (1u << MR_KEY_RSA_3072));
	assert_string_equal(c.module_args, "configdir='sql:/var/lib/nss' certPrefix='' flags=readOnly");
}

/* [token] module_args: empty by default, bounded, no other key. */
static void
test_module_args(void **state)
{
	char text[400];
	mr_config c;
	mr_diag d;

	(void)state;
	assert_int_equal(parse("[root]\n", &c, &d), MR_OK);
	assert_string_equal(c.module_args, "");
	memset(text, 0, sizeof(text));
	snprintf(text, sizeof(text), "[token]\nmodule_args = %0256d\n", 0);
	assert_int_equal(parse(text, &c, &d), MR_E_CONFIG);
	snprintf(text, sizeof(text), "[token]\nmodule_args = %0255d\n", 0);
	assert_int_equal(parse(text, &c, &d), MR_OK);
	assert_int_equal(strlen(c.module_args), 255);
	assert_int_equal(parse("[token]\npin = 1234\n", &c, &d), MR_E_CONFIG);
}

/* The same key in two sections is not a duplicate; CRLF is fine. */
static void
test_sections_and_crlf(void **state)
{
	mr_config c;
	mr_diag d;

	(void)state;
	assert_int_equal(parse("[root]\r\norganization = A\r\n[policy]\r\norganization = B\r\n"
	    "[root]\r\ncommon_name = X\r\n", &c, &d), MR_OK);
	assert_string_equal(c.root_o, "A");
	assert_string_equal(c.policy_o, "B");
	assert_string_equal(c.root_cn, "X");
	/* No newline at the end of the text. */
	assert_int_equal(parse("[root]\ncommon_name = Y", &c, &d), MR_OK);
	assert_string_equal(c.root_cn, "Y");
	/* Values of exactly 64 bytes fit. */
	{
		char text[128];

		snprintf(text, sizeof(text), "[root]\ncommon_name = %064d\n", 0);
		assert_int_equal(parse(text, &c, &d), MR_OK);
		assert_int_equal(strlen(c.root_cn), 64);
	}
}

static void
test_errors(void **state)
{
	static const struct {
		const char *text;
		const char *line;  /* "line N" expected in the message */
		const char *word;  /* and this */
	} v[] = {
		{ "[root]\nfoo = bar\n", "line 2", "unknown key" },
		/* Names become UTF8String: well-formed UTF-8, no controls. */
		{ "[root]\ncommon_name = a\tb\n", "line 2", "invalid value" },
		{ "[root]\norganization = \xc3\n", "line 2", "invalid value" },
		{ "[root]\norganization = \xc0\xafx\n", "line 2", "invalid value" },
		{ "[policy]\norganization = \xed\xa0\x80\n", "line 2", "invalid value" },
		{ "[policy]\norganization = \xf4\x90\x80\x80\n", "line 2", "invalid value" },
		{ "[root]\ncommon_name = \xff\n", "line 2", "invalid value" },
		{ "[policy]\ncommon_name = x\n", "line 2", "unknown key" },
		{ "[root]\nCommon_Name = x\n", "line 2", "unknown key" },
		{ "# c\n\n[roots]\n", "line 3", "unknown section" },
		{ "[Root]\n", "line 1", "unknown section" },
		{ "[]\n", "line 1", "unknown section" },
		{ "[root\n", "line 1", "malformed section" },
		{ "[root] # x\n", "line 1", "malformed section" },
		{ "[root]\ncommon_name = a\ncommon_name = b\n", "line 3", "twice" },
		{ "[policy]\nmax_validity_days = 30\n\n# x\nmax_validity_days = 30\n", "line 5", "twice" },
		{ "[root]\nkey_type = ec-p521\n", "line 2", "invalid value" },
		{ "[root]\nkey_type = EC-P384\n", "line 2", "invalid value" },
		{ "[root]\nkey_type = rsa-2048\n", "line 2", "invalid value" },
		{ "[root]\nkey_type =\n", "line 2", "invalid value" },
		{ "[policy]\nallowed_key_types = ec-p256 rsa-2048\n", "line 2", "invalid value" },
		{ "[policy]\nallowed_key_types = ed25519\n", "line 2", "invalid value" },
		{ "[policy]\nallowed_key_types =\n", "line 2", "invalid value" },
		{ "[policy]\nallowed_key_types = , ,\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days = 0\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days = -1\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days = +5\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days = 10d\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days = 1 0\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days =\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days = 36526\n", "line 2", "invalid value" },
		{ "[root]\nvalidity_days = 18446744073709551617\n", "line 2", "invalid value" },
		{ "[policy]\nmax_validity_days = 0\n", "line 2", "invalid value" },
		{ "[policy]\nmax_validity_days = 3654\n", "line 2", "invalid value" },
		{ "[root]\ncountry = usa\n", "line 2", "invalid value" },
		{ "[root]\ncountry = us\n", "line 2", "invalid value" },
		{ "[root]\ncountry = U\n", "line 2", "invalid value" },
		{ "[root]\ncountry = U1\n", "line 2", "invalid value" },
		{ "[root]\ncommon_name =\n", "line 2", "invalid value" },
		{ "[root]\nkey_label =   \n", "line 2", "invalid value" },
		{ "[root]\ncommon_name = a\x01" "b\n", "line 2", "control character" },
		{ "[root]\ncommon_name = a\x1b[2Jb\n", "line 2", "control character" },
		{ "[root]\ncommon_name = a\x7f" "b\n", "line 2", "control character" },
		{ "[root]\n# \x0c\n", "line 2", "control character" },
		/* A bare CR can make a terminal show a different value than the
		 * one parsed; only CR LF is a line end. */
		{ "[root]\ncommon_name = Evil\rcommon_name = Good\n", "line 2", "control character" },
		{ "common_name = x\n", "line 1", "outside a section" },
		{ "# only a comment\nkey_type = ec-p256\n[root]\n", "line 2", "outside a section" },
		{ "[root]\njust some words\n", "line 2", "expected key = value" },
	};

	(void)state;
	for (size_t i = 0; i < NELEM(v); i++) {
		mr_config c;
		mr_diag d;
		int rc = parse(v[i].text, &c, &d);

		if (rc != MR_E_CONFIG)
			fail_msg("vector %zu accepted (rc %d)", i, rc);
		if (strstr(d.msg, v[i].line) == NULL || strstr(d.msg, v[i].word) == NULL)
			fail_msg("vector %zu: \"%s\" lacks \"%s\" or \"%s\"", i, d.msg, v[i].line,
			    v[i].word);
	}
}

static void
test_embedded_nul(void **state)
{
	static const char text[] = "[root]\ncommon_name = a\0b\n";
	mr_config c;
	mr_diag d;

	(void)state;
	mr_diag_clear(&d);
	assert_int_equal(mr_config_parse(text, sizeof(text) - 1, &c, &d), MR_E_CONFIG);
	assert_non_null(strstr(d.msg, "line 2"));
	assert_non_null(strstr(d.msg, "control character"));
}

static void
test_long_lines(void **state)
{
	char text[1024];
	mr_config c;
	mr_diag d;

	(void)state;
	/* A long comment is fine ... */
	snprintf(text, sizeof(text), "[root]\n# %0400d\ncommon_name = x\n", 0);
	assert_int_equal(parse(text, &c, &d), MR_OK);
	/* ... a line of 600 characters is not. */
	snprintf(text, sizeof(text), "[root]\n# %0600d\n", 0);
	assert_int_equal(parse(text, &c, &d), MR_E_CONFIG);
	assert_non_null(strstr(d.msg, "line 2"));
	assert_non_null(strstr(d.msg, "too long"));
	/* A value one byte over the 64-byte name limit. */
	snprintf(text, sizeof(text), "[root]\ncommon_name = %065d\n", 0);
	assert_int_equal(parse(text, &c, &d), MR_E_CONFIG);
	assert_non_null(strstr(d.msg, "line 2"));
	snprintf(text, sizeof(text), "[policy]\norganization = %065d\n", 0);
	assert_int_equal(parse(text, &c, &d), MR_E_CONFIG);
	snprintf(text, sizeof(text), "[root]\nkey_label = %065d\n", 0);
	assert_int_equal(parse(text, &c, &d), MR_E_CONFIG);
}

static void
test_too_big(void **state)
{
	char *text = malloc(MR_CONFIG_MAX + 2);
	mr_config c;
	mr_diag d;

	(void)state;
	assert_non_null(text);
	/* Blank lines only: fine at the limit, refused one byte over. */
	memset(text, '\n', MR_CONFIG_MAX + 1);
	mr_diag_clear(&d);
	assert_int_equal(mr_config_parse(text, MR_CONFIG_MAX, &c, &d), MR_OK);
	assert_int_equal(mr_config_parse(text, MR_CONFIG_MAX + 1, &c, &d), MR_E_CONFIG);
	free(text);
}

/* The policy can never issue an intermediate that outlives the root. */
static void
test_max_validity_vs_root(void **state)
{
	mr_config c;
	mr_diag d;

	(void)state;
	/* Default max_validity_days (365) above a 100-day root. */
	assert_int_equal(parse("[root]\nvalidity_days = 100\n", &c, &d), MR_E_CONFIG);
	assert_non_null(strstr(d.msg, "max_validity_days"));
	assert_int_equal(parse("[root]\nvalidity_days = 3000\n[policy]\nmax_validity_days = 3001\n",
	    &c, &d), MR_E_CONFIG);
	assert_non_null(strstr(d.msg, "max_validity_days"));
	/* Equal is allowed. */
	assert_int_equal(parse("[root]\nvalidity_days = 365\n", &c, &d), MR_OK);
	assert_int_equal(c.root_validity_days, 365);
}

/* Well-formed multi-byte names are kept as written. */
static void
test_utf8_names(void **state)
{
	mr_config c;
	mr_diag d;

	(void)state;
	assert_int_equal(parse("[root]\ncommon_name = Wurzel-CA M\xc3\xbcnchen \xe2\x80\x94 "
	    "\xf0\x9f\x94\x91\n[policy]\norganization = \xc3\x89tat\n", &c, &d), MR_OK);
	assert_string_equal(c.root_cn, "Wurzel-CA M\xc3\xbcnchen \xe2\x80\x94 \xf0\x9f\x94\x91");
	assert_string_equal(c.policy_o, "\xc3\x89tat");
}

static void
test_allows(void **state)
{
	mr_config c;
	mr_diag d;

	(void)state;
	assert_int_equal(parse("", &c, &d), MR_OK);
	assert_true(mr_config_allows(&c, MR_KEY_EC_P256));
	assert_true(mr_config_allows(&c, MR_KEY_EC_P384));
	assert_true(mr_config_allows(&c, MR_KEY_RSA_3072));
	assert_true(mr_config_allows(&c, MR_KEY_RSA_4096));
	assert_false(mr_config_allows(&c, MR_KEY_RSA_2048));
	assert_false(mr_config_allows(&c, MR_KEY_UNKNOWN));

	assert_int_equal(parse("[policy]\nallowed_key_types = ec-p384\n", &c, &d), MR_OK);
	assert_false(mr_config_allows(&c, MR_KEY_EC_P256));
	assert_true(mr_config_allows(&c, MR_KEY_EC_P384));
	assert_false(mr_config_allows(&c, MR_KEY_RSA_3072));

	/* Even a mask that names RSA-2048 or "unknown" does not allow them. */
	c.allowed_key_types = ~0u;
	assert_false(mr_config_allows(&c, MR_KEY_RSA_2048));
	assert_false(mr_config_allows(&c, MR_KEY_UNKNOWN));
	assert_true(mr_config_allows(&c, MR_KEY_RSA_4096));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_is_the_defaults),
		cmocka_unit_test(test_utf8_names),
		cmocka_unit_test(test_all_keys_applied),
		cmocka_unit_test(test_module_args),
		cmocka_unit_test(test_sections_and_crlf),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_max_validity_vs_root),
		cmocka_unit_test(test_allows),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}

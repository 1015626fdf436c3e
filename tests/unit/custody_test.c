/*
 * Split custody without a token: the [custody] config keys, the custody
 * state file, and mr_custody_read_pin over a --shares-from directory
 * (every refusal happens before anything could reach a token).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "mr_config.h"
#include "mr_custody.h"
#include "mr_fileio.h"

static int
parse(const char *text, mr_config *c, mr_diag *d)
{
	mr_diag_clear(d);
	return mr_config_parse(text, strlen(text), c, d);
}

static void
test_config(void **state)
{
	mr_config c;
	mr_diag d;

	(void)state;
	assert_int_equal(parse("", &c, &d), MR_OK);
	assert_int_equal(c.custody_split, 0);
	assert_int_equal(c.crl_validity_days, 90);
	assert_int_equal(parse(mr_config_template(), &c, &d), MR_OK);
	assert_int_equal(c.custody_split, 0); /* off in the template too: opt in */
	assert_int_equal(c.custody_shares, 5);
	assert_int_equal(c.custody_threshold, 3);
	assert_int_equal(parse("[custody]\nsplit = on\nshares = 3\nthreshold = 2\n", &c, &d), MR_OK);
	assert_int_equal(c.custody_split, 1);
	assert_int_equal(c.custody_shares, 3);
	assert_int_equal(c.custody_threshold, 2);
	assert_int_equal(parse("[custody]\nsplit = yes\n", &c, &d), MR_E_CONFIG);
	assert_string_equal(d.msg, "line 2: invalid value for split");
	assert_int_equal(parse("[custody]\nsplit = on\nthreshold = 1\n", &c, &d), MR_E_CONFIG);
	assert_int_equal(parse("[custody]\nsplit = on\nshares = 2\nthreshold = 3\n", &c, &d),
	    MR_E_CONFIG);
	assert_string_equal(d.msg, "custody threshold must be at least 2 and at most shares (3 of 2)");
	assert_int_equal(parse("[custody]\nshares = 17\n", &c, &d), MR_E_CONFIG);
	assert_int_equal(parse("[custody]\nmembers = 3\n", &c, &d), MR_E_CONFIG);
	assert_string_equal(d.msg, "line 2: unknown key members in [custody]");
	/* Off: the numbers are not checked against each other. */
	assert_int_equal(parse("[custody]\nshares = 2\nthreshold = 3\n", &c, &d), MR_OK);
	assert_int_equal(parse("[policy]\ncrl_validity_days = 0\n", &c, &d), MR_E_CONFIG);
	/* Name constraints: DNS names only, at most 8 domains. */
	assert_int_equal(parse("[policy]\ntrust_domain = cluster.local\n"
			       "dns_domains = svc svc.cluster.local\n", &c, &d), MR_OK);
	assert_string_equal(c.nc_trust_domain, "cluster.local");
	assert_int_equal(c.n_nc_dns, 2);
	assert_string_equal(c.nc_dns[1], "svc.cluster.local");
	{
		static const char *const bad[] = { "spiffe://x", ".cluster.local", "a..b", "-a.b",
			"a-.b", "A.B", "*.svc", "x/y", "a b" };
		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char text[128];
			snprintf(text, sizeof(text), "[policy]\ntrust_domain = %s\n", bad[i]);
			assert_int_equal(parse(text, &c, &d), MR_E_CONFIG);
		}
	}
	assert_int_equal(parse("[policy]\ndns_domains = a b c d e f g h i\n", &c, &d), MR_E_CONFIG);
	assert_int_equal(parse("", &c, &d), MR_OK);
	assert_string_equal(c.nc_trust_domain, "");
	assert_int_equal(c.n_nc_dns, 0);
}

static char dir[256];

static void
write_file(const char *name, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	/* A share file others can read is refused (mr_file_read_private). */
	assert_int_equal(chmod(path, 0600), 0);
}

static void
clear_dir(void)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s' && mkdir -p '%s'", dir, dir);
	assert_int_equal(system(cmd), 0);
}

static void
test_read_pin(void **state)
{
	const uint8_t secret[16] = "0123456789abcdef";
	const uint8_t set[4] = { 1, 2, 3, 4 }, other_set[4] = { 9, 9, 9, 9 };
	uint8_t rnd[16];
	mr_share s[3], o[3];
	mr_custody c;
	char text[MR_SHARE_TEXT_MAX], pin[64], want[33], path[512];
	size_t len = 0;
	mr_diag d;

	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/custody_test.%d", (int)getpid());
	for (size_t i = 0; i < sizeof(rnd); i++)
		rnd[i] = (uint8_t)(i * 7 + 1);
	assert_int_equal(mr_share_split(secret, 16, 2, 3, set, rnd, 16, s), MR_OK);
	assert_int_equal(mr_share_split(secret, 16, 2, 3, other_set, rnd, 16, o), MR_OK);
	memset(&c, 0, sizeof(c));
	memcpy(c.set_id, set, 4);
	c.threshold = 2;
	c.shares = 3;
	mr_custody_pin_check(set, secret, c.pin_check);
	mr_custody_pin_text(secret, want);

	/* The state file round-trips. */
	clear_dir();
	snprintf(path, sizeof(path), "%s/custody", dir);
	mr_diag_clear(&d);
	assert_int_equal(mr_custody_store(path, &c, &d), MR_OK);
	{
		mr_custody back;
		assert_int_equal(mr_custody_load(path, &back, &d), MR_OK);
		assert_memory_equal(&back, &c, sizeof(c));
	}

	/* Two good shares give the PIN. */
	clear_dir();
	assert_int_equal(mr_share_encode(&s[0], text, sizeof(text)), MR_OK);
	write_file("a.txt", text);
	assert_int_equal(mr_share_encode(&s[2], text, sizeof(text)), MR_OK);
	write_file("b.txt", text);
	mr_diag_clear(&d);
	assert_int_equal(mr_custody_read_pin(&c, dir, pin, sizeof(pin), &len, &d), MR_OK);
	assert_int_equal(len, 32);
	assert_string_equal(pin, want);

	/* A share file others can read is refused, with the chmod to run. */
	{
		char bpath[600], msg[1400];
		snprintf(bpath, sizeof(bpath), "%s/b.txt", dir);
		assert_int_equal(chmod(bpath, 0644), 0);
		mr_diag_clear(&d);
		assert_int_equal(mr_custody_read_pin(&c, dir, pin, sizeof(pin), &len, &d), MR_E_ARG);
		snprintf(msg, sizeof(msg), "share file %s is readable by others (mode 0644); chmod 600 %s",
		    bpath, bpath);
		assert_string_equal(d.msg, msg);
		assert_int_equal(chmod(bpath, 0600), 0);
	}

	/* A share of another set is named by position and file. */
	assert_int_equal(mr_share_encode(&o[1], text, sizeof(text)), MR_OK);
	write_file("b.txt", text);
	mr_diag_clear(&d);
	assert_int_equal(mr_custody_read_pin(&c, dir, pin, sizeof(pin), &len, &d), MR_E_PIN);
	assert_non_null(strstr(d.msg, "share 2 (b.txt): from share set 09090909"));

	/* Right set, but the pin check fails (a share altered consistently
	 * would need the checksum too: simulate with a wrong pin_check). */
	assert_int_equal(mr_share_encode(&s[1], text, sizeof(text)), MR_OK);
	write_file("b.txt", text);
	{
		mr_custody bad = c;
		bad.pin_check[0] ^= 1;
		mr_diag_clear(&d);
		assert_int_equal(mr_custody_read_pin(&bad, dir, pin, sizeof(pin), &len, &d), MR_E_PIN);
		assert_non_null(strstr(d.msg, "do not combine to this token's PIN"));
	}

	/* Too few, and garbage. */
	clear_dir();
	assert_int_equal(mr_share_encode(&s[0], text, sizeof(text)), MR_OK);
	write_file("a.txt", text);
	mr_diag_clear(&d);
	assert_int_equal(mr_custody_read_pin(&c, dir, pin, sizeof(pin), &len, &d), MR_E_PIN);
	assert_non_null(strstr(d.msg, "holds 1 share, 2 needed"));
	write_file("b.txt", "# nothing\nhello world\n");
	mr_diag_clear(&d);
	assert_int_equal(mr_custody_read_pin(&c, dir, pin, sizeof(pin), &len, &d), MR_E_PIN);
	assert_string_equal(d.msg, "share 2 (b.txt): word 1 is not a share word");
	clear_dir();
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_read_pin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}

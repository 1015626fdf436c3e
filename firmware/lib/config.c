#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_config.h"

static const char template_text[] =
    "# meshroot ceremony config.\n"
    "# Review every line with the witnesses before `ceremony init`; the SHA-256\n"
    "# of this file is recorded in the audit log and the ceremony transcript.\n"
    "\n"
    "[root]\n"
    "# Subject of the self-signed root certificate.\n"
    "common_name = meshroot Root CA\n"
    "organization = Example Org\n"
    "# Two-letter country code, optional.\n"
    "country =\n"
    "# ec-p384 (default), ec-p256, rsa-3072 or rsa-4096.\n"
    "key_type = ec-p384\n"
    "# Root lifetime in days (default 20 years).\n"
    "validity_days = 7305\n"
    "# CKA_LABEL of the root key in the token; must not exist yet.\n"
    "key_label = meshroot-root\n"
    "\n"
    "[policy]\n"
    "# O of every intermediate; CN and L come from the cluster name.\n"
    "organization = Example Org\n"
    "# Longest intermediate lifetime in days (capped by the root's own expiry).\n"
    "max_validity_days = 365\n"
    "# Key types accepted in requests. RSA below 3072 bits is never accepted.\n"
    "allowed_key_types = ec-p256 ec-p384 rsa-3072 rsa-4096\n";

const char *
mr_config_template(void)
{
	return template_text;
}

int
mr_config_allows(const mr_config *c, mr_key_type t)
{
	return t != MR_KEY_UNKNOWN && t != MR_KEY_RSA_2048 &&
	    (c->allowed_key_types & (1u << t)) != 0;
}

static void
defaults(mr_config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->root_cn, sizeof(c->root_cn), "meshroot Root CA");
	snprintf(c->root_o, sizeof(c->root_o), "Example Org");
	c->root_key_type = MR_KEY_EC_P384;
	c->root_validity_days = 7305;
	snprintf(c->root_key_label, sizeof(c->root_key_label), "meshroot-root");
	snprintf(c->policy_o, sizeof(c->policy_o), "Example Org");
	c->max_validity_days = 365;
	c->allowed_key_types = (1u << MR_KEY_EC_P256) | (1u << MR_KEY_EC_P384) |
	    (1u << MR_KEY_RSA_3072) | (1u << MR_KEY_RSA_4096);
}

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int
set_string(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return 0;
	memcpy(dst, v, strlen(v) + 1);
	return 1;
}

static int
set_days(unsigned *dst, const char *v, unsigned max)
{
	char *end;
	unsigned long x;

	if (*v < '0' || *v > '9')
		return 0;
	x = strtoul(v, &end, 10);
	if (*end != '\0' || x == 0 || x > max)
		return 0;
	*dst = (unsigned)x;
	return 1;
}

static int
set_key_types(unsigned *mask, const char *v)
{
	char buf[256], *save = NULL, *tok;

	if (!set_string(buf, sizeof(buf), v))
		return 0;
	*mask = 0;
	for (tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
		mr_key_type t = mr_key_type_parse(tok);
		if (t == MR_KEY_UNKNOWN || t == MR_KEY_RSA_2048)
			return 0;
		*mask |= 1u << t;
	}
	return *mask != 0;
}

/* Applies one key; 0 when the value is invalid, -1 when the key is unknown. */
static int
apply(mr_config *c, const char *section, const char *key, const char *v)
{
	mr_key_type t;

	if (strcmp(section, "root") == 0) {
		if (strcmp(key, "common_name") == 0)
			return *v != '\0' && set_string(c->root_cn, sizeof(c->root_cn), v);
		if (strcmp(key, "organization") == 0)
			return set_string(c->root_o, sizeof(c->root_o), v);
		if (strcmp(key, "country") == 0)
			return (*v == '\0' || (strlen(v) == 2 && v[0] >= 'A' && v[0] <= 'Z' &&
			    v[1] >= 'A' && v[1] <= 'Z')) && set_string(c->root_c, sizeof(c->root_c), v);
		if (strcmp(key, "key_type") == 0) {
			t = mr_key_type_parse(v);
			if (t == MR_KEY_UNKNOWN || t == MR_KEY_RSA_2048)
				return 0;
			c->root_key_type = t;
			return 1;
		}
		if (strcmp(key, "validity_days") == 0)
			return set_days(&c->root_validity_days, v, 36525);
		if (strcmp(key, "key_label") == 0)
			return *v != '\0' && set_string(c->root_key_label, sizeof(c->root_key_label), v);
		return -1;
	}
	if (strcmp(section, "policy") == 0) {
		if (strcmp(key, "organization") == 0)
			return set_string(c->policy_o, sizeof(c->policy_o), v);
		if (strcmp(key, "max_validity_days") == 0)
			return set_days(&c->max_validity_days, v, 3653);
		if (strcmp(key, "allowed_key_types") == 0)
			return set_key_types(&c->allowed_key_types, v);
		return -1;
	}
	return -1;
}

int
mr_config_parse(const char *text, size_t n, mr_config *c, mr_diag *d)
{
	char line[512], section[16] = "", seen[32][48];
	size_t pos = 0, nseen = 0;
	unsigned lineno = 0;

	defaults(c);
	if (n > MR_CONFIG_MAX)
		return mr_diag_set(d, MR_E_CONFIG, "config larger than %u bytes", MR_CONFIG_MAX);
	while (pos < n) {
		size_t len = 0;
		char *s, *eq, *key, *val;
		int ok;

		lineno++;
		while (pos < n && text[pos] != '\n') {
			unsigned char ch = (unsigned char)text[pos];
			if (ch == '\0' || (ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f)
				return mr_diag_set(d, MR_E_CONFIG, "line %u: control character", lineno);
			if (len + 1 >= sizeof(line))
				return mr_diag_set(d, MR_E_CONFIG, "line %u: too long", lineno);
			line[len++] = text[pos++];
		}
		pos++; /* the newline */
		line[len] = '\0';
		s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		if (*s == '[') {
			char *e = strchr(s, ']');
			if (e == NULL || e[1] != '\0')
				return mr_diag_set(d, MR_E_CONFIG, "line %u: malformed section", lineno);
			*e = '\0';
			if (strcmp(s + 1, "root") != 0 && strcmp(s + 1, "policy") != 0)
				return mr_diag_set(d, MR_E_CONFIG, "line %u: unknown section [%s]",
				    lineno, s + 1);
			snprintf(section, sizeof(section), "%s", s + 1);
			continue;
		}
		eq = strchr(s, '=');
		if (eq == NULL)
			return mr_diag_set(d, MR_E_CONFIG, "line %u: expected key = value", lineno);
		*eq = '\0';
		key = trim(s);
		val = trim(eq + 1);
		if (section[0] == '\0')
			return mr_diag_set(d, MR_E_CONFIG, "line %u: %s outside a section",
			    lineno, key);
		for (size_t i = 0; i < nseen; i++) {
			char full[48];
			snprintf(full, sizeof(full), "%s.%.30s", section, key);
			if (strcmp(seen[i], full) == 0)
				return mr_diag_set(d, MR_E_CONFIG, "line %u: %s set twice",
				    lineno, key);
		}
		ok = apply(c, section, key, val);
		if (ok < 0)
			return mr_diag_set(d, MR_E_CONFIG, "line %u: unknown key %s in [%s]",
			    lineno, key, section);
		if (ok == 0)
			return mr_diag_set(d, MR_E_CONFIG, "line %u: invalid value for %s",
			    lineno, key);
		if (nseen < sizeof(seen) / sizeof(seen[0]))
			snprintf(seen[nseen++], sizeof(seen[0]), "%s.%.30s", section, key);
	}
	if (c->max_validity_days > c->root_validity_days)
		return mr_diag_set(d, MR_E_CONFIG,
		    "policy max_validity_days exceeds the root's validity_days");
	return MR_OK;
}

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
    "# The audit key that signs the audit log's checkpoints: auto (Ed25519\n"
    "# where the token has it, else ECDSA P-256), ed25519 or ecdsa-p256.\n"
    "audit_key = auto\n"
    "\n"
    "[policy]\n"
    "# O of every intermediate; CN and L come from the cluster name.\n"
    "organization = Example Org\n"
    "# Longest intermediate lifetime in days (capped by the root's own expiry).\n"
    "max_validity_days = 365\n"
    "# Key types accepted in requests. RSA below 3072 bits is never accepted.\n"
    "allowed_key_types = ec-p256 ec-p384 rsa-3072 rsa-4096\n"
    "# Days from one root CRL to the next (its nextUpdate); issue a new CRL\n"
    "# before then (`meshroot-appliance crl`).\n"
    "crl_validity_days = 90\n"
    "# Name constraints written into every intermediate (critical, RFC 5280\n"
    "# 4.2.1.10); empty: none. trust_domain limits workload URI SANs to\n"
    "# spiffe://<trust_domain>/...; dns_domains (space-separated) limits DNS\n"
    "# SANs to those domains and their subdomains, e.g. svc svc.cluster.local\n"
    "trust_domain =\n"
    "dns_domains =\n"
    "\n"
    "[custody]\n"
    "# Split custody of the token PIN: at `ceremony init` the appliance sets a\n"
    "# random PIN that nobody sees and splits it into `shares` shares, any\n"
    "# `threshold` of which unlock the token (Shamir's scheme). Recommended:\n"
    "# split = on, 3 of 5. With split = off the token keeps its operator PIN.\n"
    "split = off\n"
    "shares = 5\n"
    "threshold = 3\n"
    "\n"
    "[token]\n"
    "# Init string some PKCS#11 modules need in C_Initialize (pReserved), e.g.\n"
    "# NSS softoken: configdir='sql:/path/to/db' certPrefix='' keyPrefix=''\n"
    "# secmod='secmod.db' flags=. Used by every later command unless\n"
    "# --module-args overrides it. Never a PIN. Empty: none.\n"
    "module_args =\n";

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
	c->crl_validity_days = 90;
	c->custody_split = 0;
	c->custody_shares = 5;
	c->custody_threshold = 3;
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

/*
 * Names become UTF8String attributes of certificates (RFC 5280 4.1.2.4):
 * well-formed UTF-8 only (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF) and no control characters, tab included.
 */
static int
utf8_text_ok(const char *v)
{
	const unsigned char *p = (const unsigned char *)v;

	while (*p) {
		unsigned c = *p, need, cp;
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return 0;
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			need = 1, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			need = 2, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			need = 3, cp = c & 0x07;
		else
			return 0;
		for (unsigned k = 1; k <= need; k++) {
			if ((p[k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (p[k] & 0x3fu);
		}
		if ((need == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (need == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return 0;
		p += need + 1;
	}
	return 1;
}

static int
set_string(char *dst, size_t cap, const char *v)
{
	if (strlen(v) >= cap)
		return 0;
	memcpy(dst, v, strlen(v) + 1);
	return 1;
}

/* A name value: well-formed UTF-8 text that fits. */
static int
set_name(char *dst, size_t cap, const char *v)
{
	return utf8_text_ok(v) && set_string(dst, cap, v);
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

/* RFC 5280 4.2.1.10 wants constraints as DNS names: LDH labels of 1..63,
 * no wildcard, no leading or trailing dot, lower case (names compare
 * case-insensitively; one spelling avoids doubt). */
static int
dns_name_ok(const char *v)
{
	size_t label = 0, n = strlen(v);

	if (n == 0 || n > 127 || v[0] == '.' || v[n - 1] == '.')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char ch = v[i];
		if (ch == '.') {
			if (label == 0 || v[i - 1] == '-')
				return 0;
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			(ch == '-' && label > 0)))
			return 0;
		if (++label > 63)
			return 0;
	}
	return v[n - 1] != '-';
}

static int
set_dns_domains(mr_config *c, const char *v)
{
	char buf[512], *save = NULL, *tok;

	if (!set_string(buf, sizeof(buf), v))
		return 0;
	c->n_nc_dns = 0;
	for (tok = strtok_r(buf, " ,", &save); tok; tok = strtok_r(NULL, " ,", &save)) {
		if (c->n_nc_dns == MR_CONFIG_MAX_DNS || !dns_name_ok(tok))
			return 0;
		snprintf(c->nc_dns[c->n_nc_dns++], sizeof(c->nc_dns[0]), "%s", tok);
	}
	return 1;
}

/* Applies one key; 0 when the value is invalid, -1 when the key is unknown. */
static int
apply(mr_config *c, const char *section, const char *key, const char *v)
{
	mr_key_type t;

	if (strcmp(section, "root") == 0) {
		if (strcmp(key, "common_name") == 0)
			return *v != '\0' && set_name(c->root_cn, sizeof(c->root_cn), v);
		if (strcmp(key, "organization") == 0)
			return set_name(c->root_o, sizeof(c->root_o), v);
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
		if (strcmp(key, "audit_key") == 0) {
			if (strcmp(v, "auto") == 0)
				c->audit_key = MR_AUDIT_KEY_AUTO;
			else if (strcmp(v, "ed25519") == 0)
				c->audit_key = MR_AUDIT_KEY_ED25519;
			else if (strcmp(v, "ecdsa-p256") == 0)
				c->audit_key = MR_AUDIT_KEY_ECDSA_P256;
			else
				return 0;
			return 1;
		}
		return -1;
	}
	if (strcmp(section, "policy") == 0) {
		if (strcmp(key, "organization") == 0)
			return set_name(c->policy_o, sizeof(c->policy_o), v);
		if (strcmp(key, "max_validity_days") == 0)
			return set_days(&c->max_validity_days, v, 3653);
		if (strcmp(key, "allowed_key_types") == 0)
			return set_key_types(&c->allowed_key_types, v);
		if (strcmp(key, "crl_validity_days") == 0)
			return set_days(&c->crl_validity_days, v, 3653);
		if (strcmp(key, "trust_domain") == 0)
			return (*v == '\0' || dns_name_ok(v)) &&
			    set_string(c->nc_trust_domain, sizeof(c->nc_trust_domain), v);
		if (strcmp(key, "dns_domains") == 0)
			return set_dns_domains(c, v);
		return -1;
	}
	if (strcmp(section, "custody") == 0) {
		if (strcmp(key, "split") == 0) {
			if (strcmp(v, "on") != 0 && strcmp(v, "off") != 0)
				return 0;
			c->custody_split = strcmp(v, "on") == 0;
			return 1;
		}
		if (strcmp(key, "shares") == 0)
			return set_days(&c->custody_shares, v, MR_CONFIG_MAX_SHARES);
		if (strcmp(key, "threshold") == 0)
			return set_days(&c->custody_threshold, v, MR_CONFIG_MAX_SHARES);
		return -1;
	}
	if (strcmp(section, "token") == 0) {
		if (strcmp(key, "module_args") == 0)
			return set_string(c->module_args, sizeof(c->module_args), v);
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
			/* CR only as part of CR LF: a bare CR makes a terminal
			 * show witnesses something other than what is parsed. */
			if (ch == '\0' || (ch < 0x20 && ch != '\t' && ch != '\r') || ch == 0x7f ||
			    (ch == '\r' && pos + 1 < n && text[pos + 1] != '\n'))
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
			if (strcmp(s + 1, "root") != 0 && strcmp(s + 1, "policy") != 0 &&
			    strcmp(s + 1, "custody") != 0 && strcmp(s + 1, "token") != 0)
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
	/* Shamir: a threshold of 1 would hand each custodian the whole PIN,
	 * and a threshold above the share count could never unlock. */
	if (c->custody_split &&
	    (c->custody_threshold < 2 || c->custody_threshold > c->custody_shares))
		return mr_diag_set(d, MR_E_CONFIG,
		    "custody threshold must be at least 2 and at most shares (%u of %u)",
		    c->custody_threshold, c->custody_shares);
	return MR_OK;
}

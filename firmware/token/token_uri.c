#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "token_p11.h"
#include "token_p11kit.h"

#define URI_SCHEME "pkcs11:"
/* CK_TOKEN_INFO.label is 32 bytes. */
#define TOKEN_LABEL_MAX 32

struct mr_token_sel {
	P11KitUri *uri; /* NULL: select by label */
	CK_SLOT_ID slot_id; /* (CK_SLOT_ID)-1 when the URI names no slot-id */
	char label[TOKEN_LABEL_MAX + 1];
	char name[160];
};

void
mr_token_p11_string(char *dst, size_t cap, const CK_UTF8CHAR *src, size_t n)
{
	size_t len = n;

	if (cap == 0)
		return;
	while (len > 0 && (src[len - 1] == ' ' || src[len - 1] == '\0'))
		len--;
	if (len > cap - 1)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/*
 * RFC 7512 allows a PIN in the URI (pin-value, pin-source). A selector
 * ends up in configs, logs and diags, so a URI that may carry one is never
 * echoed, even when it does not parse (then we cannot tell for sure).
 */
static int
mentions_pin(const char *selector)
{
	return strstr(selector, "pin-") != NULL || strstr(selector, "pin%2") != NULL;
}

int
mr_token_sel_parse(const char *selector, const char *module_path, mr_token_sel **out,
    mr_diag *d)
{
	int r = MR_E_INTERNAL;
	mr_token_sel *s = NULL;
	const mr_p11kit *k;
	const char *mpath;
	int pr;

	if (selector == NULL || out == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "token selector missing");
		goto out;
	}
	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		r = MR_E_NOMEM;
		goto out;
	}
	s->slot_id = (CK_SLOT_ID)-1;
	if (strncmp(selector, URI_SCHEME, strlen(URI_SCHEME)) != 0) {
		size_t n = strlen(selector);

		if (n == 0 || n > TOKEN_LABEL_MAX) {
			r = mr_diag_set(d, MR_E_ARG,
			    "token label must be 1 to %d bytes, got %zu", TOKEN_LABEL_MAX, n);
			goto out;
		}
		memcpy(s->label, selector, n + 1);
		snprintf(s->name, sizeof(s->name), "%s", selector);
		*out = s;
		s = NULL;
		r = MR_OK;
		goto out;
	}
	if (mentions_pin(selector))
		snprintf(s->name, sizeof(s->name), "(PKCS#11 URI not shown: it may hold a PIN)");
	else
		snprintf(s->name, sizeof(s->name), "%s", selector);
	if ((k = mr_p11kit_get(d)) == NULL) {
		r = MR_E_TOKEN;
		goto out;
	}
	if ((s->uri = k->uri_new()) == NULL) {
		r = MR_E_NOMEM;
		goto out;
	}
	pr = k->uri_parse(selector,
	    P11_KIT_URI_FOR_MODULE_WITH_VERSION | P11_KIT_URI_FOR_SLOT | P11_KIT_URI_FOR_TOKEN,
	    s->uri);
	if (pr != P11_KIT_URI_OK) {
		r = mr_diag_set(d, MR_E_ARG, "PKCS#11 URI '%s': %s", s->name,
		    k->uri_message(pr));
		goto out;
	}
	if (k->uri_get_pin_value(s->uri) != NULL ||
	    k->uri_get_pin_source(s->uri) != NULL) {
		r = mr_diag_set(d, MR_E_ARG,
		    "the PKCS#11 URI carries a PIN (pin-value/pin-source): give the PIN separately");
		goto out;
	}
	/* Attributes of objects (object=, id=, type=) and unknown ones would
	 * be silently ignored by the token match: refuse them instead. */
	if (k->uri_any_unrecognized(s->uri)) {
		r = mr_diag_set(d, MR_E_ARG,
		    "PKCS#11 URI '%s' has attributes that do not select a token", s->name);
		goto out;
	}
	if (k->uri_get_module_name(s->uri) != NULL) {
		r = mr_diag_set(d, MR_E_ARG,
		    "PKCS#11 URI '%s': module-name is not supported, the module is given by path",
		    s->name);
		goto out;
	}
	mpath = k->uri_get_module_path(s->uri);
	if (mpath != NULL && (module_path == NULL || strcmp(mpath, module_path) != 0)) {
		r = mr_diag_set(d, MR_E_ARG,
		    "PKCS#11 URI '%s' names module-path %s, but the module is %s", s->name, mpath,
		    module_path != NULL ? module_path : "(none)");
		goto out;
	}
	s->slot_id = k->uri_get_slot_id(s->uri);
	*out = s;
	s = NULL;
	r = MR_OK;
out:
	mr_token_sel_free(s);
	return r;
}

int
mr_token_sel_match(const mr_token_sel *s, const CK_INFO *module, CK_SLOT_ID id,
    const CK_SLOT_INFO *slot, const CK_TOKEN_INFO *token)
{
	char label[TOKEN_LABEL_MAX + 1];
	const mr_p11kit *k;

	if (s->uri == NULL) {
		mr_token_p11_string(label, sizeof(label), token->label, sizeof(token->label));
		return strcmp(label, s->label) == 0;
	}
	if (s->slot_id != (CK_SLOT_ID)-1 && s->slot_id != id)
		return 0;
	/* Loaded when the URI was parsed. */
	k = mr_p11kit_get(NULL);
	return k != NULL && k->uri_match_module_info(s->uri, module) &&
	    k->uri_match_slot_info(s->uri, slot) && k->uri_match_token_info(s->uri, token);
}

const char *
mr_token_sel_name(const mr_token_sel *s)
{
	return s->name;
}

void
mr_token_sel_free(mr_token_sel *s)
{
	if (s == NULL)
		return;
	/* A URI was made only once p11-kit was loaded. */
	if (s->uri != NULL)
		mr_p11kit_get(NULL)->uri_free(s->uri);
	free(s);
}

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "token_p11kit.h"

/* The library's soname: the one the -dev package links against. */
#define P11KIT_SONAME "libp11-kit.so.0"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static mr_p11kit api;
static int loaded;
static char why[256];

/* Each symbol by its name, into the pointer of the same name without its
 * "p11_kit_" prefix. */
#define BIND(h, field, ok)                                                   \
	do {                                                                 \
		*(void **)&api.field = dlsym((h), "p11_kit_" #field);        \
		if (api.field == NULL && (ok)) {                             \
			snprintf(why, sizeof(why), "%s has no p11_kit_%s",   \
			    P11KIT_SONAME, #field);                          \
			(ok) = 0;                                            \
		}                                                            \
	} while (0)

static void
load(void)
{
	void *h = dlopen(P11KIT_SONAME, RTLD_NOW | RTLD_LOCAL);
	int ok = 1;

	if (h == NULL) {
		const char *e = dlerror();
		snprintf(why, sizeof(why), "%s", e != NULL ? e : P11KIT_SONAME ": cannot be loaded");
		return;
	}
	BIND(h, uri_new, ok);
	BIND(h, uri_parse, ok);
	BIND(h, uri_message, ok);
	BIND(h, uri_get_pin_value, ok);
	BIND(h, uri_get_pin_source, ok);
	BIND(h, uri_any_unrecognized, ok);
	BIND(h, uri_get_module_name, ok);
	BIND(h, uri_get_module_path, ok);
	BIND(h, uri_get_slot_id, ok);
	BIND(h, uri_match_module_info, ok);
	BIND(h, uri_match_slot_info, ok);
	BIND(h, uri_match_token_info, ok);
	BIND(h, uri_free, ok);
	/* The library stays loaded: a selector's URI lives until the token is
	 * closed, and p11-kit is not meant to be unloaded under its users. */
	loaded = ok;
}

const mr_p11kit *
mr_p11kit_get(mr_diag *d)
{
	(void)pthread_once(&once, load);
	if (!loaded) {
		mr_diag_set(d, MR_E_TOKEN, "PKCS#11 URIs need p11-kit: %s", why);
		return NULL;
	}
	return &api;
}

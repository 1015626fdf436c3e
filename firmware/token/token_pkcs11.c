/*
 * The PKCS#11 side of the token layer (see mr_token.h). The only file that
 * calls C_* functions; it includes no wolfSSL header (they clash).
 *
 * Single-threaded: one mr_token is used by one thread at a time, and the
 * module reference counts below are not locked.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_token.h"
#include "token_p11.h"
#include "token_spki.h"

#define KEY_CACHE_MAX 16
#define PIN_MAX 128
#define KEY_ID_LEN 16
/* RSA-4096 signatures and moduli; nothing larger is a supported type. */
#define SIG_MAX 512
#define EC_POINT_MAX 160
#define EC_PARAMS_MAX 32
#define SLOTS_MAX 256

#define ATTR(type, ptr, len) { (type), (ptr), (CK_ULONG)(len) }

/* DER OBJECT IDENTIFIERs as CKA_EC_PARAMS carries them (RFC 5480 2.1.1.1). */
static const CK_BYTE oid_p256[] = { 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07 };
static const CK_BYTE oid_p384[] = { 0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22 };
/* id-Ed25519 (RFC 8410 3), the CKA_EC_PARAMS of CKK_EC_EDWARDS keys (PKCS#11 3.0 2.3.10). */
static const CK_BYTE oid_ed25519[] = { 0x06, 0x03, 0x2b, 0x65, 0x70 };
/* Ed25519 signs the message itself: the longest one C_Sign is given. */
#define EDDSA_MSG_MAX 4096

typedef struct {
	char label[MR_TOKEN_LABEL_MAX + 1];
	CK_OBJECT_HANDLE priv;
	CK_OBJECT_HANDLE pub; /* CK_INVALID_HANDLE until first needed */
	CK_BYTE id[64];
	size_t id_len;
	mr_key_type type;
	/* The hash-and-sign mechanism for SHA-256 and SHA-384 digests, or
	 * CKM_VENDOR_DEFINED when the token has none; 0 until looked up. */
	CK_MECHANISM_TYPE hash_mech[2];
} key_entry;

struct mr_token {
	void *dl;
	CK_FUNCTION_LIST_PTR f;
	char module[256];    /* for the removal hint of a key we could not destroy */
	char token_label[33];
	mr_token_mechs mechs;
	char leftover[1024]; /* see mr_token_leftover */
	int init_held;
	CK_SLOT_ID slot;
	CK_SESSION_HANDLE session;
	int have_session;
	int logged_in;
	int login_owned; /* our C_Login did it, so our close may C_Logout */
	key_entry keys[KEY_CACHE_MAX];
	size_t nkeys;
	/* A batch signs on one thread while another draws serials and signs
	 * checkpoints: one session, one operation at a time (a session
	 * cannot interleave C_SignInit/C_Sign of two callers), and the key
	 * cache is shared. The caller that holds the token runs the calls
	 * that others asked for meanwhile, in their order, before it lets go
	 * (token_run): the signing thread never waits for a caller's turn to
	 * come and that caller to be scheduled, and never keeps it waiting
	 * for more than the call under way. */
	pthread_mutex_t lock;
	pthread_cond_t turn;
	int held;
	struct token_call *head, *tail;
	int lock_made;
};

/*
 * C_Initialize/C_Finalize are per process, not per mr_token: two tokens on
 * the same module share one initialisation, and only the last close may
 * finalize. A module some other library initialised is never finalized.
 */
static struct {
	CK_FUNCTION_LIST_PTR f;
	unsigned refs;
	int ours;
} inits[8];

static int
init_acquire(mr_token *t, const char *module_args, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_C_INITIALIZE_ARGS args;
	size_t i, slot = sizeof(inits) / sizeof(inits[0]);
	CK_RV rv;

	for (i = 0; i < sizeof(inits) / sizeof(inits[0]); i++) {
		if (inits[i].refs > 0 && inits[i].f == t->f) {
			inits[i].refs++;
			t->init_held = 1;
			r = MR_OK;
			goto out;
		}
		if (inits[i].refs == 0 && slot == sizeof(inits) / sizeof(inits[0]))
			slot = i;
	}
	if (slot == sizeof(inits) / sizeof(inits[0])) {
		r = mr_diag_set(d, MR_E_RANGE, "too many PKCS#11 modules loaded");
		goto out;
	}
	memset(&args, 0, sizeof(args));
	args.flags = CKF_OS_LOCKING_OK;
	/* PKCS#11 2.40 5.4: pReserved "must be NULL_PTR"; NSS softoken and a
	 * few others read their configuration string from it all the same. */
	if (module_args != NULL && *module_args != '\0')
		args.pReserved = (CK_VOID_PTR)(uintptr_t)module_args;
	rv = t->f->C_Initialize(&args);
	if (rv == CKR_ARGUMENTS_BAD && args.pReserved == NULL) {
		r = mr_diag_set(d, MR_E_TOKEN, "C_Initialize: CKR_ARGUMENTS_BAD (does the module "
		    "need its init string? give it with --module-args)");
		goto out;
	}
	if (rv != CKR_OK && rv != CKR_CRYPTOKI_ALREADY_INITIALIZED) {
		r = mr_token_rv_diag(d, "C_Initialize", rv);
		goto out;
	}
	inits[slot].f = t->f;
	inits[slot].refs = 1;
	inits[slot].ours = rv == CKR_OK;
	t->init_held = 1;
	r = MR_OK;
out:
	return r;
}

static void
init_release(mr_token *t)
{
	if (!t->init_held)
		return;
	for (size_t i = 0; i < sizeof(inits) / sizeof(inits[0]); i++) {
		if (inits[i].refs == 0 || inits[i].f != t->f)
			continue;
		if (--inits[i].refs == 0 && inits[i].ours)
			(void)t->f->C_Finalize(NULL);
		break;
	}
	t->init_held = 0;
}

/* Appends a token's label (blank padding cut) to a ", "-separated list;
 * what does not fit ends in "...". */
static void
add_label(char *list, size_t cap, const CK_TOKEN_INFO *ti)
{
	size_t n = sizeof(ti->label), k = strlen(list);

	while (n > 0 && ti->label[n - 1] == ' ')
		n--;
	if (n == 0)
		return; /* a free slot's uninitialised token */
	if (k + 2 + n + 4 >= cap) {
		if (k + 4 < cap && (k < 3 || strcmp(list + k - 3, "...") != 0))
			snprintf(list + k, cap - k, "%s...", k > 0 ? ", " : "");
		return;
	}
	if (k > 0) {
		memcpy(list + k, ", ", 2);
		k += 2;
	}
	/* A label is the token's bytes: shown tame. */
	for (size_t i = 0; i < n; i++)
		list[k++] = ti->label[i] >= 0x20 && ti->label[i] < 0x7f ? (char)ti->label[i] : '?';
	list[k] = '\0';
}

static int
select_slot(mr_token *t, const mr_token_sel *sel, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_SLOT_ID *slots = NULL;
	CK_ULONG n = 0, i, found = 0;
	char seen[200] = "";
	CK_INFO info;
	CK_SLOT_INFO sinfo;
	CK_TOKEN_INFO tinfo;
	CK_RV rv;

	if ((rv = t->f->C_GetInfo(&info)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetInfo", rv);
		goto out;
	}
	if ((rv = t->f->C_GetSlotList(CK_TRUE, NULL, &n)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetSlotList", rv);
		goto out;
	}
	if (n > SLOTS_MAX) {
		r = mr_diag_set(d, MR_E_TOKEN, "C_GetSlotList: %lu slots", (unsigned long)n);
		goto out;
	}
	if (n > 0 && (slots = calloc(n, sizeof(*slots))) == NULL) {
		r = MR_E_NOMEM;
		goto out;
	}
	if (n > 0 && (rv = t->f->C_GetSlotList(CK_TRUE, slots, &n)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetSlotList", rv);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if ((rv = t->f->C_GetSlotInfo(slots[i], &sinfo)) != CKR_OK) {
			r = mr_token_rv_diag(d, "C_GetSlotInfo", rv);
			goto out;
		}
		rv = t->f->C_GetTokenInfo(slots[i], &tinfo);
		/* A token pulled between the two calls is simply not a candidate. */
		if (rv == CKR_TOKEN_NOT_PRESENT || rv == CKR_TOKEN_NOT_RECOGNIZED)
			continue;
		if (rv != CKR_OK) {
			r = mr_token_rv_diag(d, "C_GetTokenInfo", rv);
			goto out;
		}
		add_label(seen, sizeof(seen), &tinfo);
		if (!mr_token_sel_match(sel, &info, slots[i], &sinfo, &tinfo))
			continue;
		if (found++ == 0)
			t->slot = slots[i];
	}
	if (found == 0) {
		/* The labels present: a typo or the wrong token is seen at once. */
		const char *name = mr_token_sel_name(sel);
		if (strncmp(name, "pkcs11:", 7) == 0 || name[0] == '(')
			r = mr_diag_set(d, MR_E_TOKEN, "no token matches '%s' (found: %s)", name,
			    seen[0] != '\0' ? seen : "no token at all");
		else
			r = mr_diag_set(d, MR_E_TOKEN, "no token labelled \"%s\" (found: %s)", name,
			    seen[0] != '\0' ? seen : "no token at all");
		goto out;
	}
	if (found > 1) {
		r = mr_diag_set(d, MR_E_DUPLICATE, "%lu tokens match '%s'; give a serial",
		    (unsigned long)found, mr_token_sel_name(sel));
		goto out;
	}
	r = MR_OK;
out:
	free(slots);
	return r;
}

int
mr_token_open(mr_token **out, const char *module_path, const char *selector, mr_diag *d)
{
	return mr_token_open_args(out, module_path, NULL, selector, d);
}

int
mr_token_open_args(mr_token **out, const char *module_path, const char *module_args,
    const char *selector, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	mr_token *t = NULL;
	mr_token_sel *sel = NULL;
	CK_C_GetFunctionList get_list;
	CK_RV rv;

	if (out == NULL || module_path == NULL || selector == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_open: missing argument");
		goto out;
	}
	*out = NULL;
	if ((r = mr_token_sel_parse(selector, module_path, &sel, d)) != MR_OK)
		goto out;
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		r = MR_E_NOMEM;
		goto out;
	}
	if (pthread_mutex_init(&t->lock, NULL) != 0) {
		r = mr_diag_set(d, MR_E_NOMEM, "cannot make the token's lock");
		goto out;
	}
	if (pthread_cond_init(&t->turn, NULL) != 0) {
		pthread_mutex_destroy(&t->lock);
		r = mr_diag_set(d, MR_E_NOMEM, "cannot make the token's lock");
		goto out;
	}
	t->lock_made = 1;
	snprintf(t->module, sizeof(t->module), "%s", module_path);
	if ((t->dl = dlopen(module_path, RTLD_NOW | RTLD_LOCAL)) == NULL) {
		r = mr_diag_set(d, MR_E_TOKEN, "dlopen: %s", dlerror());
		goto out;
	}
	get_list = (CK_C_GetFunctionList)dlsym(t->dl, "C_GetFunctionList");
	if (get_list == NULL) {
		r = mr_diag_set(d, MR_E_TOKEN, "%s is not a PKCS#11 module (no C_GetFunctionList)",
		    module_path);
		goto out;
	}
	if ((rv = get_list(&t->f)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetFunctionList", rv);
		goto out;
	}
	if (t->f == NULL || t->f->version.major != 2) {
		r = mr_diag_set(d, MR_E_TOKEN, "C_GetFunctionList: no PKCS#11 2.x function list");
		goto out;
	}
	if ((r = init_acquire(t, module_args, d)) != MR_OK)
		goto out;
	if ((r = select_slot(t, sel, d)) != MR_OK)
		goto out;
	rv = t->f->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
	    &t->session);
	if (rv != CKR_OK) {
		r = mr_token_rv_diag(d, "C_OpenSession", rv);
		goto out;
	}
	t->have_session = 1;
	*out = t;
	t = NULL;
	r = MR_OK;
out:
	mr_token_sel_free(sel);
	mr_token_close(t);
	return r;
}

void
mr_token_close(mr_token *t)
{
	if (t == NULL)
		return;
	if (t->f != NULL) {
		if (t->login_owned)
			(void)t->f->C_Logout(t->session);
		if (t->have_session)
			(void)t->f->C_CloseSession(t->session);
		init_release(t);
	}
	if (t->dl != NULL)
		dlclose(t->dl);
	mr_token_mechs_free(&t->mechs);
	if (t->lock_made) {
		pthread_cond_destroy(&t->turn);
		pthread_mutex_destroy(&t->lock);
	}
	free(t);
}

int
mr_token_info(mr_token *t, char label[33], char serial[17], mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_TOKEN_INFO info;
	CK_RV rv;

	if (t == NULL || label == NULL || serial == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_info: missing argument");
		goto out;
	}
	if ((rv = t->f->C_GetTokenInfo(t->slot, &info)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetTokenInfo", rv);
		goto out;
	}
	mr_token_p11_string(label, 33, info.label, sizeof(info.label));
	mr_token_p11_string(serial, 17, info.serialNumber, sizeof(info.serialNumber));
	r = MR_OK;
out:
	return r;
}

int
mr_token_pin_status(mr_token *t, unsigned *status, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_TOKEN_INFO info;
	CK_RV rv;

	if (t == NULL || status == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_pin_status: missing argument");
		goto out;
	}
	*status = 0;
	if ((rv = t->f->C_GetTokenInfo(t->slot, &info)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetTokenInfo", rv);
		goto out;
	}
	if ((info.flags & CKF_USER_PIN_COUNT_LOW) != 0)
		*status |= MR_TOKEN_PIN_COUNT_LOW;
	if ((info.flags & CKF_USER_PIN_FINAL_TRY) != 0)
		*status |= MR_TOKEN_PIN_FINAL_TRY;
	if ((info.flags & CKF_USER_PIN_LOCKED) != 0)
		*status |= MR_TOKEN_PIN_LOCKED;
	if ((info.flags & CKF_USER_PIN_TO_BE_CHANGED) != 0)
		*status |= MR_TOKEN_PIN_TO_BE_CHANGED;
	r = MR_OK;
out:
	return r;
}

int
mr_token_login(mr_token *t, const char *pin, size_t pin_len, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	/* C_Login takes a non-const pointer: the PIN goes through a copy of
	 * ours that is wiped on every path. */
	CK_UTF8CHAR buf[PIN_MAX];
	CK_RV rv;

	if (t == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_login: missing token");
		goto out;
	}
	if (t->logged_in) {
		r = MR_OK;
		goto out;
	}
	if (pin == NULL || pin_len == 0) {
		r = mr_diag_set(d, MR_E_PIN, "empty PIN");
		goto out;
	}
	if (pin_len > sizeof(buf)) {
		r = mr_diag_set(d, MR_E_PIN, "PIN longer than %zu bytes", sizeof(buf));
		goto out;
	}
	memcpy(buf, pin, pin_len);
	rv = t->f->C_Login(t->session, CKU_USER, buf, (CK_ULONG)pin_len);
	/* Login state is per application and token (PKCS#11 2.40 section
	 * 5.6): another mr_token of this process may have logged in already,
	 * and then it, not we, logs out. */
	if (rv != CKR_OK && rv != CKR_USER_ALREADY_LOGGED_IN) {
		r = mr_token_rv_diag(d, "C_Login", rv);
		goto out;
	}
	t->logged_in = 1;
	t->login_owned = rv == CKR_OK;
	r = MR_OK;
out:
	explicit_bzero(buf, sizeof(buf));
	return r;
}

int
mr_token_set_pin(mr_token *t, const char *old_pin, size_t old_len, const char *new_pin,
    size_t new_len, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	/* C_SetPIN takes non-const pointers: copies of ours, wiped on every path. */
	CK_UTF8CHAR o[PIN_MAX], n[PIN_MAX];
	CK_RV rv;

	if (t == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_set_pin: missing token");
		goto out;
	}
	if (!t->logged_in) {
		/* PKCS#11 2.40 5.6: outside a user session C_SetPIN would act on
		 * whatever the module decides; we change only our own login's PIN. */
		r = mr_diag_set(d, MR_E_PIN, "C_SetPIN: not logged in");
		goto out;
	}
	if (old_pin == NULL || old_len == 0 || new_pin == NULL || new_len == 0) {
		r = mr_diag_set(d, MR_E_PIN, "empty PIN");
		goto out;
	}
	if (old_len > sizeof(o) || new_len > sizeof(n)) {
		r = mr_diag_set(d, MR_E_PIN, "PIN longer than %zu bytes", sizeof(o));
		goto out;
	}
	memcpy(o, old_pin, old_len);
	memcpy(n, new_pin, new_len);
	rv = t->f->C_SetPIN(t->session, o, (CK_ULONG)old_len, n, (CK_ULONG)new_len);
	if (rv != CKR_OK) {
		r = mr_token_rv_diag(d, "C_SetPIN", rv);
		goto out;
	}
	r = MR_OK;
out:
	explicit_bzero(o, sizeof(o));
	explicit_bzero(n, sizeof(n));
	return r;
}

/* At most two matches are fetched: enough to tell one from several. */
static int
find_objects(mr_token *t, CK_ATTRIBUTE *tmpl, CK_ULONG n, CK_OBJECT_HANDLE *first,
    CK_ULONG *count, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_OBJECT_HANDLE h[2];
	CK_RV rv, frv;

	*count = 0;
	if ((rv = t->f->C_FindObjectsInit(t->session, tmpl, n)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_FindObjectsInit", rv);
		goto out;
	}
	rv = t->f->C_FindObjects(t->session, h, 2, count);
	/* A failed Final leaves the search active: the next C_FindObjectsInit
	 * would fail with CKR_OPERATION_ACTIVE and hide the real cause. */
	frv = t->f->C_FindObjectsFinal(t->session);
	if (rv != CKR_OK) {
		r = mr_token_rv_diag(d, "C_FindObjects", rv);
		goto out;
	}
	if (frv != CKR_OK) {
		r = mr_token_rv_diag(d, "C_FindObjectsFinal", frv);
		goto out;
	}
	if (*count > 2) {
		r = mr_diag_set(d, MR_E_TOKEN, "C_FindObjects returned more than asked");
		goto out;
	}
	if (*count > 0)
		*first = h[0];
	r = MR_OK;
out:
	return r;
}

static const char *
attr_name(CK_ATTRIBUTE_TYPE type)
{
	switch (type) {
	case CKA_TOKEN: return "CKA_TOKEN";
	case CKA_PRIVATE: return "CKA_PRIVATE";
	case CKA_SENSITIVE: return "CKA_SENSITIVE";
	case CKA_EXTRACTABLE: return "CKA_EXTRACTABLE";
	case CKA_ALWAYS_SENSITIVE: return "CKA_ALWAYS_SENSITIVE";
	case CKA_NEVER_EXTRACTABLE: return "CKA_NEVER_EXTRACTABLE";
	case CKA_SIGN: return "CKA_SIGN";
	case CKA_DECRYPT: return "CKA_DECRYPT";
	case CKA_UNWRAP: return "CKA_UNWRAP";
	case CKA_DERIVE: return "CKA_DERIVE";
	case CKA_KEY_TYPE: return "CKA_KEY_TYPE";
	case CKA_ID: return "CKA_ID";
	case CKA_EC_PARAMS: return "CKA_EC_PARAMS";
	case CKA_EC_POINT: return "CKA_EC_POINT";
	case CKA_MODULUS: return "CKA_MODULUS";
	case CKA_PUBLIC_EXPONENT: return "CKA_PUBLIC_EXPONENT";
	}
	return "attribute";
}

static int
get_attr(mr_token *t, CK_OBJECT_HANDLE h, CK_ATTRIBUTE_TYPE type, void *buf, size_t cap,
    size_t *len, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_ATTRIBUTE a = ATTR(type, buf, cap);
	char fn[64];
	CK_RV rv;

	snprintf(fn, sizeof(fn), "C_GetAttributeValue(%s)", attr_name(type));
	if ((rv = t->f->C_GetAttributeValue(t->session, h, &a, 1)) != CKR_OK) {
		r = mr_token_rv_diag(d, fn, rv);
		goto out;
	}
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > cap) {
		r = mr_diag_set(d, MR_E_TOKEN, "%s: no value", fn);
		goto out;
	}
	*len = a.ulValueLen;
	r = MR_OK;
out:
	return r;
}

static mr_key_type
ec_type(const CK_BYTE *params, size_t n)
{
	if (n == sizeof(oid_p256) && memcmp(params, oid_p256, n) == 0)
		return MR_KEY_EC_P256;
	if (n == sizeof(oid_p384) && memcmp(params, oid_p384, n) == 0)
		return MR_KEY_EC_P384;
	return MR_KEY_UNKNOWN;
}

/* PKCS#11 3.0 2.3.10: an Edwards curve is named by its OID or by the
 * PrintableString "edwards25519" (SoftHSM2 stores the latter). */
static mr_key_type
ed_type(const CK_BYTE *params, size_t n)
{
	static const CK_BYTE name[] = { 0x13, 0x0c, 'e', 'd', 'w', 'a', 'r', 'd', 's', '2', '5',
		'5', '1', '9' };

	if ((n == sizeof(oid_ed25519) && memcmp(params, oid_ed25519, n) == 0) ||
	    (n == sizeof(name) && memcmp(params, name, n) == 0))
		return MR_KEY_ED25519;
	return MR_KEY_UNKNOWN;
}

static mr_key_type
rsa_type(const CK_BYTE *mod, size_t n)
{
	while (n > 0 && mod[0] == 0) {
		mod++;
		n--;
	}
	if (n == 0 || (mod[0] & 0x80) == 0)
		return MR_KEY_UNKNOWN;
	switch (n * 8) {
	case 2048: return MR_KEY_RSA_2048;
	case 3072: return MR_KEY_RSA_3072;
	case 4096: return MR_KEY_RSA_4096;
	}
	return MR_KEY_UNKNOWN;
}

static int
check_label(const char *label, mr_diag *d)
{
	size_t n;

	if (label == NULL)
		return mr_diag_set(d, MR_E_ARG, "key label missing");
	n = strlen(label);
	if (n == 0 || n > MR_TOKEN_LABEL_MAX)
		return mr_diag_set(d, MR_E_ARG, "key label must be 1 to %d bytes, got %zu",
		    MR_TOKEN_LABEL_MAX, n);
	return MR_OK;
}

/* The type of a private key, from its own attributes. */
static int
key_type_of(mr_token *t, CK_OBJECT_HANDLE priv, const char *label, mr_key_type *type,
    mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_KEY_TYPE kt;
	CK_BYTE buf[SIG_MAX];
	size_t len;

	if ((r = get_attr(t, priv, CKA_KEY_TYPE, &kt, sizeof(kt), &len, d)) != MR_OK)
		goto out;
	if (len != sizeof(kt)) {
		r = mr_diag_set(d, MR_E_TOKEN, "key '%s': bad CKA_KEY_TYPE", label);
		goto out;
	}
	if (kt == CKK_EC) {
		if ((r = get_attr(t, priv, CKA_EC_PARAMS, buf, EC_PARAMS_MAX, &len, d)) != MR_OK)
			goto out;
		*type = ec_type(buf, len);
	} else if (kt == CKK_EC_EDWARDS) {
		if ((r = get_attr(t, priv, CKA_EC_PARAMS, buf, EC_PARAMS_MAX, &len, d)) != MR_OK)
			goto out;
		*type = ed_type(buf, len);
	} else if (kt == CKK_RSA) {
		if ((r = get_attr(t, priv, CKA_MODULUS, buf, sizeof(buf), &len, d)) != MR_OK)
			goto out;
		*type = rsa_type(buf, len);
	} else
		*type = MR_KEY_UNKNOWN;
	if (*type == MR_KEY_UNKNOWN) {
		r = mr_diag_set(d, MR_E_TOKEN,
		    "key '%s' is not one of ec-p256, ec-p384, rsa-2048, rsa-3072, rsa-4096, ed25519",
		    label);
		goto out;
	}
	r = MR_OK;
out:
	return r;
}

static void
cache_drop(mr_token *t, key_entry *k)
{
	size_t i = (size_t)(k - t->keys);

	memmove(&t->keys[i], &t->keys[i + 1], (t->nkeys - i - 1) * sizeof(t->keys[0]));
	t->nkeys--;
}

static key_entry *
cache_add(mr_token *t)
{
	/* Oldest out: the cache only saves lookups, it is never authoritative. */
	if (t->nkeys == KEY_CACHE_MAX)
		cache_drop(t, &t->keys[0]);
	memset(&t->keys[t->nkeys], 0, sizeof(t->keys[0]));
	return &t->keys[t->nkeys++];
}

/* The private key labelled `label`, from the cache or the token. */
static int
lookup(mr_token *t, const char *label, key_entry **out, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	char lbl[MR_TOKEN_LABEL_MAX + 1];
	CK_ATTRIBUTE tmpl[2];
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG count;
	CK_BYTE id[64];
	size_t id_len;
	mr_key_type type;
	key_entry *k;

	if (t == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "missing token");
		goto out;
	}
	if ((r = check_label(label, d)) != MR_OK)
		goto out;
	for (size_t i = 0; i < t->nkeys; i++) {
		if (strcmp(t->keys[i].label, label) == 0) {
			*out = &t->keys[i];
			r = MR_OK;
			goto out;
		}
	}
	snprintf(lbl, sizeof(lbl), "%s", label);
	tmpl[0] = (CK_ATTRIBUTE)ATTR(CKA_CLASS, &cls, sizeof(cls));
	tmpl[1] = (CK_ATTRIBUTE)ATTR(CKA_LABEL, lbl, strlen(lbl));
	if ((r = find_objects(t, tmpl, 2, &h, &count, d)) != MR_OK)
		goto out;
	if (count == 0) {
		r = mr_diag_set(d, MR_E_NOTFOUND, "no private key labelled '%s'%s", label,
		    t->logged_in ? "" : " (not logged in)");
		goto out;
	}
	if (count > 1) {
		r = mr_diag_set(d, MR_E_DUPLICATE, "several private keys labelled '%s'", label);
		goto out;
	}
	if ((r = key_type_of(t, h, label, &type, d)) != MR_OK)
		goto out;
	if ((r = get_attr(t, h, CKA_ID, id, sizeof(id), &id_len, d)) != MR_OK)
		goto out;
	k = cache_add(t);
	memcpy(k->label, lbl, sizeof(k->label));
	k->priv = h;
	k->pub = CK_INVALID_HANDLE;
	memcpy(k->id, id, id_len);
	k->id_len = id_len;
	k->type = type;
	*out = k;
	r = MR_OK;
out:
	return r;
}

/*
 * The public key object of the pair: same label and, when the private key
 * has one, same CKA_ID, so that a stray public key that only shares the
 * label is not taken for ours.
 */
static int
lookup_pub(mr_token *t, key_entry *k, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_ATTRIBUTE tmpl[3];
	CK_OBJECT_HANDLE h = CK_INVALID_HANDLE;
	CK_ULONG count, n = 2;

	if (k->pub != CK_INVALID_HANDLE) {
		r = MR_OK;
		goto out;
	}
	tmpl[0] = (CK_ATTRIBUTE)ATTR(CKA_CLASS, &cls, sizeof(cls));
	tmpl[1] = (CK_ATTRIBUTE)ATTR(CKA_LABEL, k->label, strlen(k->label));
	if (k->id_len > 0)
		tmpl[n++] = (CK_ATTRIBUTE)ATTR(CKA_ID, k->id, k->id_len);
	if ((r = find_objects(t, tmpl, n, &h, &count, d)) != MR_OK)
		goto out;
	if (count != 1) {
		r = mr_diag_set(d, count == 0 ? MR_E_NOTFOUND : MR_E_DUPLICATE,
		    "%s public key object for '%s'", count == 0 ? "no" : "several", k->label);
		goto out;
	}
	k->pub = h;
	r = MR_OK;
out:
	return r;
}

int
mr_token_find(mr_token *t, const char *label, mr_diag *d)
{
	key_entry *k;

	return lookup(t, label, &k, d);
}

static int
read_attrs(mr_token *t, CK_OBJECT_HANDLE h, mr_token_key_attrs *a, mr_diag *d)
{
	static const CK_ATTRIBUTE_TYPE types[] = {
		CKA_TOKEN, CKA_PRIVATE, CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE,
		CKA_NEVER_EXTRACTABLE, CKA_SIGN, CKA_DECRYPT, CKA_UNWRAP, CKA_DERIVE,
	};
	int *const out[] = {
		&a->token, &a->private_, &a->sensitive, &a->extractable, &a->always_sensitive,
		&a->never_extractable, &a->sign, &a->decrypt, &a->unwrap, &a->derive,
	};
	enum { N = sizeof(types) / sizeof(types[0]) };
	int r = MR_E_INTERNAL;
	CK_BBOOL v[N];
	CK_ATTRIBUTE tmpl[N];
	CK_RV rv;

	for (size_t i = 0; i < N; i++)
		tmpl[i] = (CK_ATTRIBUTE)ATTR(types[i], &v[i], sizeof(v[i]));
	rv = t->f->C_GetAttributeValue(t->session, h, tmpl, N);
	/* These two only mean "some attribute is not there": each is then
	 * marked with ulValueLen and reported as -1 below. */
	if (rv != CKR_OK && rv != CKR_ATTRIBUTE_TYPE_INVALID && rv != CKR_ATTRIBUTE_SENSITIVE) {
		r = mr_token_rv_diag(d, "C_GetAttributeValue", rv);
		goto out;
	}
	for (size_t i = 0; i < N; i++) {
		if (tmpl[i].ulValueLen != sizeof(CK_BBOOL))
			*out[i] = -1;
		else
			*out[i] = v[i] != CK_FALSE;
	}
	r = MR_OK;
out:
	return r;
}

int
mr_token_key_attributes(mr_token *t, const char *label, mr_token_key_attrs *a, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	key_entry *k;

	if (a == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_key_attributes: missing output");
		goto out;
	}
	if ((r = lookup(t, label, &k, d)) != MR_OK)
		goto out;
	r = read_attrs(t, k->priv, a, d);
out:
	return r;
}

/*
 * A token may ignore template attributes it does not like and still return
 * CKR_OK; what the new pair really is is read back and compared. Any
 * property weaker than asked refuses the key, named by its attribute.
 */
static int
check_generated(mr_token *t, CK_OBJECT_HANDLE priv, const char *label, mr_key_type type,
    int asked_unmodifiable, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	mr_token_key_attrs a;
	CK_BBOOL modifiable = CK_TRUE;
	CK_ATTRIBUTE mod = ATTR(CKA_MODIFIABLE, &modifiable, sizeof(modifiable));
	mr_key_type made = MR_KEY_UNKNOWN;
	const struct {
		CK_ATTRIBUTE_TYPE type;
		const int *have;
		int want;
	} rules[] = {
		{ CKA_TOKEN, &a.token, 1 },
		{ CKA_PRIVATE, &a.private_, 1 },
		{ CKA_SENSITIVE, &a.sensitive, 1 },
		{ CKA_EXTRACTABLE, &a.extractable, 0 },
		{ CKA_ALWAYS_SENSITIVE, &a.always_sensitive, 1 },
		{ CKA_NEVER_EXTRACTABLE, &a.never_extractable, 1 },
		{ CKA_SIGN, &a.sign, 1 },
		{ CKA_DECRYPT, &a.decrypt, 0 },
		{ CKA_UNWRAP, &a.unwrap, 0 },
		{ CKA_DERIVE, &a.derive, 0 },
	};

	if ((r = read_attrs(t, priv, &a, d)) != MR_OK)
		goto out;
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		if (*rules[i].have != rules[i].want) {
			r = mr_diag_set(d, MR_E_TOKEN, "key '%s' is weaker than asked: %s is %s, "
			    "not %s", label, attr_name(rules[i].type),
			    *rules[i].have < 0 ? "not reported" : *rules[i].have ? "TRUE" : "FALSE",
			    rules[i].want ? "TRUE" : "FALSE");
			goto out;
		}
	}
	/* Asked for and accepted, CKA_MODIFIABLE=FALSE must hold too; when
	 * the token refused the attribute the template said so already. */
	if (asked_unmodifiable &&
	    t->f->C_GetAttributeValue(t->session, priv, &mod, 1) == CKR_OK &&
	    mod.ulValueLen == sizeof(modifiable) && modifiable != CK_FALSE) {
		r = mr_diag_set(d, MR_E_TOKEN, "key '%s' is weaker than asked: CKA_MODIFIABLE is "
		    "TRUE, not FALSE", label);
		goto out;
	}
	if ((r = key_type_of(t, priv, label, &made, d)) != MR_OK)
		goto out;
	if (made != type) {
		r = mr_diag_set(d, MR_E_TOKEN, "key '%s' is not what was asked: the token made "
		    "%s, not %s", label, mr_key_type_name(made), mr_key_type_name(type));
		goto out;
	}
	r = MR_OK;
out:
	return r;
}

static void
hex_id(const CK_BYTE *id, size_t n, char *out, size_t cap)
{
	static const char digits[] = "0123456789abcdef";
	size_t j = 0;

	for (size_t i = 0; i < n && j + 2 < cap; i++) {
		out[j++] = digits[id[i] >> 4];
		out[j++] = digits[id[i] & 15];
	}
	out[j] = '\0';
}

/* Remembers an object we could not destroy, with the command that does. */
static void
note_leftover(mr_token *t, const char *label, const CK_BYTE *id, size_t id_len, int private_)
{
	char hex[2 * KEY_ID_LEN + 1];
	size_t n = strlen(t->leftover);
	CK_TOKEN_INFO info;

	if (t->token_label[0] == '\0' && t->f->C_GetTokenInfo(t->slot, &info) == CKR_OK)
		mr_token_p11_string(t->token_label, sizeof(t->token_label), info.label,
		    sizeof(info.label));
	hex_id(id, id_len, hex, sizeof(hex));
	snprintf(t->leftover + n, sizeof(t->leftover) - n,
	    "  %s key label '%s' id %s: pkcs11-tool --module %s --token-label '%s' --login "
	    "--delete-object --type %s --id %s\n", private_ ? "private" : "public", label, hex,
	    t->module, t->token_label, private_ ? "privkey" : "pubkey", hex);
}

static int
destroy(mr_token *t, CK_OBJECT_HANDLE h, const char *label, const CK_BYTE *id, size_t id_len,
    int private_, mr_diag *d)
{
	int r = MR_OK;
	CK_RV rv = t->f->C_DestroyObject(t->session, h);

	if (rv != CKR_OK) {
		note_leftover(t, label, id, id_len, private_);
		r = mr_token_rv_diag(d, "C_DestroyObject", rv);
	}
	return r;
}

/* Optional template attributes: hardening a token may refuse. The ones
 * that carry the key's security (sensitive, not extractable, sign only)
 * are never dropped; what the token made of them is read back. */
enum {
	OPT_COPYABLE = 1u << 0,   /* private CKA_COPYABLE=FALSE (NSS: CKR_GENERAL_ERROR) */
	OPT_MODIFIABLE = 1u << 1, /* CKA_MODIFIABLE=FALSE on both */
	OPT_SIGN_RECOVER = 1u << 2,
	OPT_PUB_USAGE = 1u << 3,  /* public CKA_WRAP, CKA_VERIFY_RECOVER, CKA_DERIVE FALSE */
	OPT_ALL = OPT_COPYABLE | OPT_MODIFIABLE | OPT_SIGN_RECOVER | OPT_PUB_USAGE,
};

/* What a token answers for a template it does not take as is. */
static int
template_refused(CK_RV rv)
{
	return rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_VALUE_INVALID ||
	    rv == CKR_TEMPLATE_INCONSISTENT || rv == CKR_GENERAL_ERROR;
}

static void
dropped_names(unsigned opts, char *out, size_t cap)
{
	snprintf(out, cap, "%s%s%s%s", (opts & OPT_COPYABLE) ? "" : "CKA_COPYABLE ",
	    (opts & OPT_MODIFIABLE) ? "" : "CKA_MODIFIABLE ",
	    (opts & OPT_SIGN_RECOVER) ? "" : "CKA_SIGN_RECOVER ",
	    (opts & OPT_PUB_USAGE) ? "" : "public CKA_WRAP/CKA_VERIFY_RECOVER/CKA_DERIVE ");
	if (*out != '\0')
		out[strlen(out) - 1] = '\0';
}

int
mr_token_can_make(mr_token *t, mr_key_type type, mr_diag *d)
{
	return t == NULL ? mr_diag_set(d, MR_E_ARG, "missing token") :
	    mr_token_mechs_can_make(&t->mechs, t->f, t->slot, type, d);
}

int
mr_token_generate(mr_token *t, const char *label, mr_key_type type, mr_diag *d)
{
	return mr_token_generate_report(t, label, type, NULL, d);
}

int
mr_token_generate_report(mr_token *t, const char *label, mr_key_type type,
    mr_token_gen_report *rep, mr_diag *d)
{
	/* Each try drops more: all options, then without CKA_COPYABLE (the
	 * one NSS refuses), then none. */
	static const unsigned tries[] = { OPT_ALL, OPT_ALL & ~OPT_COPYABLE, 0 };
	int r = MR_E_INTERNAL;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BYTE id[KEY_ID_LEN];
	CK_BYTE params[EC_PARAMS_MAX];
	CK_BYTE f4[] = { 0x01, 0x00, 0x01 };
	CK_ULONG bits = mr_key_type_bits(type);
	char lbl[MR_TOKEN_LABEL_MAX + 1];
	CK_MECHANISM mech = { CKM_EC_KEY_PAIR_GEN, NULL, 0 };
	CK_ATTRIBUTE any[1];
	CK_ATTRIBUTE pub[16], priv[16];
	CK_ULONG npub, npriv, count;
	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE, h;
	size_t params_len = 0, i;
	unsigned opts = OPT_ALL;
	key_entry *k;
	CK_RV rv = CKR_OK;

	if (rep != NULL)
		memset(rep, 0, sizeof(*rep));
	if (t == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "missing token");
		goto out;
	}
	if ((r = check_label(label, d)) != MR_OK)
		goto out;
	if (type == MR_KEY_EC_P256) {
		memcpy(params, oid_p256, sizeof(oid_p256));
		params_len = sizeof(oid_p256);
	} else if (type == MR_KEY_EC_P384) {
		memcpy(params, oid_p384, sizeof(oid_p384));
		params_len = sizeof(oid_p384);
	} else if (type == MR_KEY_ED25519) {
		memcpy(params, oid_ed25519, sizeof(oid_ed25519));
		params_len = sizeof(oid_ed25519);
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
	} else if (type == MR_KEY_RSA_2048 || type == MR_KEY_RSA_3072 || type == MR_KEY_RSA_4096)
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
	else {
		r = mr_diag_set(d, MR_E_ARG, "unsupported key type %s", mr_key_type_name(type));
		goto out;
	}
	/* Private objects are invisible before login: the label check below
	 * would pass for a label that is in fact taken. */
	if (!t->logged_in) {
		r = mr_diag_set(d, MR_E_PIN, "generating key '%s': not logged in", label);
		goto out;
	}
	snprintf(lbl, sizeof(lbl), "%s", label);
	any[0] = (CK_ATTRIBUTE)ATTR(CKA_LABEL, lbl, strlen(lbl));
	if ((r = find_objects(t, any, 1, &h, &count, d)) != MR_OK)
		goto out;
	if (count > 0) {
		r = mr_diag_set(d, MR_E_EXISTS, "an object labelled '%s' already exists", label);
		goto out;
	}
	if ((rv = t->f->C_GenerateRandom(t->session, id, sizeof(id))) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GenerateRandom", rv);
		goto out;
	}

	for (i = 0; i < sizeof(tries) / sizeof(tries[0]); i++) {
		opts = tries[i];
		npub = npriv = 0;
		/* No CKA_VERIFY or CKA_ENCRYPT: tpm2-pkcs11 maps them onto the
		 * TPM bits of CKA_DECRYPT and CKA_SIGN, and a public template
		 * with VERIFY=TRUE, ENCRYPT=FALSE next to a private DECRYPT=FALSE
		 * can never be generated there. The public key is never used on
		 * the token: verification is done in software. */
		pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_TOKEN, &yes, sizeof(yes));
		pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_PRIVATE, &no, sizeof(no));
		pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_LABEL, lbl, strlen(lbl));
		pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_ID, id, sizeof(id));
		if (opts & OPT_MODIFIABLE)
			pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_MODIFIABLE, &no, sizeof(no));
		if (opts & OPT_PUB_USAGE) {
			pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_WRAP, &no, sizeof(no));
			pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_VERIFY_RECOVER, &no, sizeof(no));
			pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_DERIVE, &no, sizeof(no));
		}
		if (params_len > 0)
			pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_EC_PARAMS, params, params_len);
		else {
			pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_MODULUS_BITS, &bits, sizeof(bits));
			pub[npub++] = (CK_ATTRIBUTE)ATTR(CKA_PUBLIC_EXPONENT, f4, sizeof(f4));
		}

		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_TOKEN, &yes, sizeof(yes));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_PRIVATE, &yes, sizeof(yes));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_SENSITIVE, &yes, sizeof(yes));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_EXTRACTABLE, &no, sizeof(no));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_LABEL, lbl, strlen(lbl));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_ID, id, sizeof(id));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_SIGN, &yes, sizeof(yes));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_DECRYPT, &no, sizeof(no));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_UNWRAP, &no, sizeof(no));
		priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_DERIVE, &no, sizeof(no));
		/* Not modifiable and not copyable where the token takes it:
		 * nobody holding the PIN can later turn on decrypt, or clone
		 * the key into a weaker object. */
		if (opts & OPT_MODIFIABLE)
			priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_MODIFIABLE, &no, sizeof(no));
		if (opts & OPT_COPYABLE)
			priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_COPYABLE, &no, sizeof(no));
		if (opts & OPT_SIGN_RECOVER)
			priv[npriv++] = (CK_ATTRIBUTE)ATTR(CKA_SIGN_RECOVER, &no, sizeof(no));

		hpub = hpriv = CK_INVALID_HANDLE;
		rv = t->f->C_GenerateKeyPair(t->session, &mech, pub, npub, priv, npriv, &hpub,
		    &hpriv);
		if (rv == CKR_OK || !template_refused(rv))
			break;
	}
	if (rv != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GenerateKeyPair", rv);
		if (template_refused(rv))
			mr_diag_prefix(d, "also without the optional attributes");
		hpub = hpriv = CK_INVALID_HANDLE;
		goto out;
	}
	if (rep != NULL)
		dropped_names(opts, rep->dropped, sizeof(rep->dropped));
	if ((r = check_generated(t, hpriv, label, type, (opts & OPT_MODIFIABLE) != 0, d)) != MR_OK)
		goto out;
	k = cache_add(t);
	memcpy(k->label, lbl, sizeof(k->label));
	k->priv = hpriv;
	k->pub = hpub;
	memcpy(k->id, id, sizeof(id));
	k->id_len = sizeof(id);
	k->type = type;
	hpub = hpriv = CK_INVALID_HANDLE;
	r = MR_OK;
out:
	/* A pair that does not meet the template must not stay on the token;
	 * what cannot be destroyed is named (mr_token_leftover). */
	if (hpriv != CK_INVALID_HANDLE || hpub != CK_INVALID_HANDLE) {
		mr_diag dd;
		int destroyed = 1;

		mr_diag_clear(&dd);
		if (hpriv != CK_INVALID_HANDLE &&
		    destroy(t, hpriv, lbl, id, sizeof(id), 1, &dd) != MR_OK)
			destroyed = 0;
		if (hpub != CK_INVALID_HANDLE &&
		    destroy(t, hpub, lbl, id, sizeof(id), 0, &dd) != MR_OK)
			destroyed = 0;
		mr_diag_prefix(d, destroyed ? "refused and destroyed" :
		    "refused, NOT destroyed (%s)", mr_diag_text(&dd, MR_E_TOKEN));
	}
	return r;
}

int
mr_token_destroy(mr_token *t, const char *label, mr_diag *d)
{
	int r = MR_E_INTERNAL, r2;
	key_entry *k;
	CK_OBJECT_HANDLE priv, pub;
	CK_BYTE id[64];
	size_t id_len;
	char lbl[MR_TOKEN_LABEL_MAX + 1];

	if ((r = lookup(t, label, &k, d)) != MR_OK)
		goto out;
	/* The public object may be missing (a half-made pair); then only the
	 * private key goes. */
	r2 = lookup_pub(t, k, d);
	if (r2 != MR_OK && r2 != MR_E_NOTFOUND) {
		r = r2;
		goto out;
	}
	priv = k->priv;
	pub = k->pub;
	memcpy(id, k->id, k->id_len);
	id_len = k->id_len;
	snprintf(lbl, sizeof(lbl), "%s", k->label);
	cache_drop(t, k);
	r = destroy(t, priv, lbl, id, id_len, 1, d);
	if (pub != CK_INVALID_HANDLE && (r2 = destroy(t, pub, lbl, id, id_len, 0, d)) != MR_OK)
		r = r2;
out:
	return r;
}

const char *
mr_token_leftover(const mr_token *t)
{
	return t == NULL ? "" : t->leftover;
}

int
mr_token_public_key(mr_token *t, const char *label, uint8_t *spki, size_t cap,
    size_t *spki_len, mr_key_type *type, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	key_entry *k;
	CK_BYTE a[SIG_MAX], b[SIG_MAX];
	size_t a_len, b_len;

	if (spki == NULL || spki_len == NULL || type == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_public_key: missing output");
		goto out;
	}
	if ((r = lookup(t, label, &k, d)) != MR_OK || (r = lookup_pub(t, k, d)) != MR_OK)
		goto out;
	if (k->type == MR_KEY_ED25519) {
		if ((r = get_attr(t, k->pub, CKA_EC_PARAMS, a, EC_PARAMS_MAX, &a_len, d)) != MR_OK)
			goto out;
		if (ed_type(a, a_len) != MR_KEY_ED25519) {
			r = mr_diag_set(d, MR_E_KEY_MISMATCH,
			    "key '%s': public key is not an Ed25519 key", label);
			goto out;
		}
		if ((r = get_attr(t, k->pub, CKA_EC_POINT, a, EC_POINT_MAX, &a_len, d)) != MR_OK ||
		    (r = mr_token_spki_ed25519(a, a_len, spki, cap, spki_len, d)) != MR_OK)
			goto out;
	} else if (mr_key_type_is_ec(k->type)) {
		/* The curve is taken from the private key; the public object must
		 * agree or it belongs to another key. */
		if ((r = get_attr(t, k->pub, CKA_EC_PARAMS, a, EC_PARAMS_MAX, &a_len, d)) != MR_OK)
			goto out;
		if (ec_type(a, a_len) != k->type) {
			r = mr_diag_set(d, MR_E_KEY_MISMATCH,
			    "key '%s': public key is not on the private key's curve", label);
			goto out;
		}
		if ((r = get_attr(t, k->pub, CKA_EC_POINT, a, EC_POINT_MAX, &a_len, d)) != MR_OK ||
		    (r = mr_token_spki_ec(k->type, a, a_len, spki, cap, spki_len, d)) != MR_OK)
			goto out;
	} else {
		if ((r = get_attr(t, k->pub, CKA_MODULUS, a, sizeof(a), &a_len, d)) != MR_OK ||
		    (r = get_attr(t, k->priv, CKA_MODULUS, b, sizeof(b), &b_len, d)) != MR_OK)
			goto out;
		if (a_len != b_len || memcmp(a, b, a_len) != 0) {
			r = mr_diag_set(d, MR_E_KEY_MISMATCH,
			    "key '%s': public and private key moduli differ", label);
			goto out;
		}
		if ((r = get_attr(t, k->pub, CKA_PUBLIC_EXPONENT, b, 16, &b_len, d)) != MR_OK ||
		    (r = mr_token_spki_rsa(k->type, a, a_len, b, b_len, spki, cap, spki_len,
		    d)) != MR_OK)
			goto out;
	}
	*type = k->type;
	r = MR_OK;
out:
	if (r != MR_OK && label != NULL)
		mr_diag_prefix(d, "public key '%s'", label);
	return r;
}

/* One signature with key k and mech over in[0..n) (non-const: C_Sign takes
 * it so), which must come back exactly `want` bytes long, into sig. */
static int
sign_once(mr_token *t, key_entry *k, CK_MECHANISM *mech, CK_BYTE *in, size_t n, size_t want,
    uint8_t *sig, size_t *sig_len, mr_diag *d)
{
	CK_BYTE out[SIG_MAX];
	CK_ULONG out_len = sizeof(out);
	CK_RV rv;

	if ((rv = t->f->C_SignInit(t->session, mech, k->priv)) != CKR_OK) {
		/* The key may have been deleted behind our back: look it up
		 * afresh next time. */
		if (rv == CKR_KEY_HANDLE_INVALID || rv == CKR_OBJECT_HANDLE_INVALID)
			cache_drop(t, k);
		return mr_token_rv_diag(d, "C_SignInit", rv);
	}
	if ((rv = t->f->C_Sign(t->session, in, (CK_ULONG)n, out, &out_len)) != CKR_OK)
		return mr_token_rv_diag(d, "C_Sign", rv);
	if (out_len != want)
		return mr_diag_set(d, MR_E_TOKEN, "C_Sign: %lu bytes from a %s key, expected %zu",
		    (unsigned long)out_len, mr_key_type_name(k->type), want);
	memcpy(sig, out, want);
	*sig_len = want;
	return MR_OK;
}

static int
token_sign(mr_token *t, const char *label, const uint8_t *in, size_t in_len, uint8_t *sig,
    size_t cap, size_t *sig_len, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	key_entry *k;
	CK_MECHANISM mech = { CKM_ECDSA, NULL, 0 };
	/* C_Sign takes non-const input. */
	CK_BYTE data[EDDSA_MSG_MAX];
	size_t want, max_in;

	if (in == NULL || sig == NULL || sig_len == NULL) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_sign: missing argument");
		goto out;
	}
	if ((r = lookup(t, label, &k, d)) != MR_OK)
		goto out;
	if (k->type == MR_KEY_ED25519) {
		/* PureEdDSA (RFC 8032 5.1): the token hashes the message. */
		mech.mechanism = CKM_EDDSA;
		want = 64;
		max_in = EDDSA_MSG_MAX;
	} else if (mr_key_type_is_ec(k->type)) {
		want = 2 * (mr_key_type_bits(k->type) / 8);
		max_in = 64; /* SHA-512 */
	} else {
		mech.mechanism = CKM_RSA_PKCS;
		want = mr_key_type_bits(k->type) / 8;
		max_in = want - 11; /* RFC 8017 9.2: at least 8 bytes of padding */
	}
	if (in_len == 0 || in_len > max_in) {
		r = mr_diag_set(d, MR_E_ARG, "key '%s' (%s) cannot sign %zu bytes", label,
		    mr_key_type_name(k->type), in_len);
		goto out;
	}
	if (cap < want) {
		r = mr_diag_set(d, MR_E_RANGE, "signature buffer of %zu bytes, %zu needed", cap, want);
		goto out;
	}
	memcpy(data, in, in_len);
	r = sign_once(t, k, &mech, data, in_len, want, sig, sig_len, d);
out:
	return r;
}

/*
 * One call to the token, as a request: run by the caller itself when the
 * token is free, else queued and run by the caller that holds it.
 */
typedef struct token_call {
	int (*run)(mr_token *t, struct token_call *c);
	int r;
	int done;
	struct token_call *next;
} token_call;

static int
token_run(mr_token *t, token_call *c)
{
	token_call *q;

	pthread_mutex_lock(&t->lock);
	if (t->held) {
		c->done = 0;
		c->next = NULL;
		if (t->tail != NULL)
			t->tail->next = c;
		else
			t->head = c;
		t->tail = c;
		while (!c->done)
			pthread_cond_wait(&t->turn, &t->lock);
		pthread_mutex_unlock(&t->lock);
		return c->r;
	}
	t->held = 1;
	pthread_mutex_unlock(&t->lock);
	c->r = c->run(t, c);
	pthread_mutex_lock(&t->lock);
	while ((q = t->head) != NULL) {
		if ((t->head = q->next) == NULL)
			t->tail = NULL;
		pthread_mutex_unlock(&t->lock);
		q->r = q->run(t, q);
		pthread_mutex_lock(&t->lock);
		q->done = 1;
		pthread_cond_broadcast(&t->turn);
	}
	t->held = 0;
	pthread_mutex_unlock(&t->lock);
	return c->r;
}

typedef struct {
	token_call call;
	const char *label;
	const uint8_t *in;
	size_t in_len;
	uint8_t *sig;
	size_t cap, *sig_len;
	mr_diag *d;
} sign_call;

static int
run_sign(mr_token *t, token_call *c)
{
	sign_call *a = (sign_call *)c;

	return token_sign(t, a->label, a->in, a->in_len, a->sig, a->cap, a->sig_len, a->d);
}

int
mr_token_sign(mr_token *t, const char *label, const uint8_t *in, size_t in_len, uint8_t *sig,
    size_t cap, size_t *sig_len, mr_diag *d)
{
	sign_call a = { { run_sign, 0, 0, NULL }, label, in, in_len, sig, cap, sig_len, d };

	if (t == NULL)
		return token_sign(t, label, in, in_len, sig, cap, sig_len, d);
	return token_run(t, &a.call);
}

static int
token_random(mr_token *t, uint8_t *buf, size_t n, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_RV rv;

	if (t == NULL || (buf == NULL && n > 0)) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_random: missing argument");
		goto out;
	}
	if (n > 0 && (rv = t->f->C_GenerateRandom(t->session, buf, (CK_ULONG)n)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GenerateRandom", rv);
		goto out;
	}
	r = MR_OK;
out:
	return r;
}

typedef struct {
	token_call call;
	uint8_t *buf;
	size_t n;
	mr_diag *d;
} random_call;

static int
run_random(mr_token *t, token_call *c)
{
	random_call *a = (random_call *)c;

	return token_random(t, a->buf, a->n, a->d);
}

int
mr_token_random(mr_token *t, uint8_t *buf, size_t n, mr_diag *d)
{
	random_call a = { { run_random, 0, 0, NULL }, buf, n, d };

	if (t == NULL)
		return token_random(t, buf, n, d);
	return token_run(t, &a.call);
}

static int
token_sign_hashing(mr_token *t, const char *label, size_t digest_len, const uint8_t *data,
    size_t n, uint8_t *sig, size_t cap, size_t *sig_len, int *done, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	key_entry *k;
	CK_MECHANISM mech = { CKM_VENDOR_DEFINED, NULL, 0 };
	CK_BYTE *copy = NULL;
	size_t want, slot = digest_len == 32 ? 0 : 1;

	if (data == NULL || sig == NULL || sig_len == NULL || done == NULL ||
	    (digest_len != 32 && digest_len != 48) || n > 0xffffffffu) {
		r = mr_diag_set(d, MR_E_ARG, "mr_token_sign_hashing: bad argument");
		goto out;
	}
	*done = 0;
	if ((r = lookup(t, label, &k, d)) != MR_OK)
		goto out;
	if (k->type == MR_KEY_ED25519) {
		r = MR_OK;
		goto out;
	}
	if (k->hash_mech[slot] == 0)
		k->hash_mech[slot] = mr_token_mechs_hash_sign(&t->mechs, t->f, t->slot, k->type,
		    digest_len);
	if (k->hash_mech[slot] == CKM_VENDOR_DEFINED) {
		r = MR_OK;
		goto out;
	}
	mech.mechanism = k->hash_mech[slot];
	want = mr_key_type_is_ec(k->type) ? 2 * (mr_key_type_bits(k->type) / 8) :
	    mr_key_type_bits(k->type) / 8;
	if (cap < want) {
		r = mr_diag_set(d, MR_E_RANGE, "signature buffer of %zu bytes, %zu needed", cap, want);
		goto out;
	}
	/* C_Sign takes non-const input. */
	if ((copy = malloc(n > 0 ? n : 1)) == NULL) {
		r = MR_E_NOMEM;
		goto out;
	}
	memcpy(copy, data, n);
	if ((r = sign_once(t, k, &mech, copy, n, want, sig, sig_len, d)) == MR_OK)
		*done = 1;
out:
	free(copy);
	return r;
}

typedef struct {
	token_call call;
	const char *label;
	size_t digest_len;
	const uint8_t *data;
	size_t n;
	uint8_t *sig;
	size_t cap, *sig_len;
	int *done;
	mr_diag *d;
} hashing_call;

static int
run_sign_hashing(mr_token *t, token_call *c)
{
	hashing_call *a = (hashing_call *)c;

	return token_sign_hashing(t, a->label, a->digest_len, a->data, a->n, a->sig, a->cap,
	    a->sig_len, a->done, a->d);
}

int
mr_token_sign_hashing(mr_token *t, const char *label, size_t digest_len, const uint8_t *data,
    size_t n, uint8_t *sig, size_t cap, size_t *sig_len, int *done, mr_diag *d)
{
	hashing_call a = { { run_sign_hashing, 0, 0, NULL }, label, digest_len, data, n, sig, cap,
		sig_len, done, d };

	if (t == NULL)
		return token_sign_hashing(t, label, digest_len, data, n, sig, cap, sig_len, done, d);
	return token_run(t, &a.call);
}

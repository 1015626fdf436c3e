/*
 * p11fault: a PKCS#11 module that wraps a real one (SoftHSM2) and injects
 * token faults, for tests/integration/token_faults.sh.
 *
 * C_GetFunctionList dlopens the real module, copies its function list and
 * replaces the functions meshroot calls with wrappers that count every
 * call and, when one matches the configuration, fail it instead of (or
 * after) forwarding it. Configuration, read once from the environment:
 *
 *   P11FAULT_MODULE  the real module (default: SoftHSM2's Debian path)
 *   P11FAULT_AT      N       the N-th wrapped call of the process (1-based)
 *                    C_Name  or C_Name:K, the K-th call of that function
 *   P11FAULT_DO      a CK_RV name (CKR_DEVICE_ERROR, ...) or hex value:
 *                    the call is not forwarded and returns it;
 *                    "stall:MS" forwards after sleeping MS milliseconds;
 *                    "corrupt" (C_Sign only) forwards, then flips a bit
 *                    of the signature it returns
 *   P11FAULT_TRACE   a file that gets one line "N C_Name [injected]" per
 *                    call, to enumerate the injection points of a run
 *   P11FAULT_PINFLAGS low, final or locked: C_GetTokenInfo reports
 *                    CKF_USER_PIN_COUNT_LOW, _FINAL_TRY or _LOCKED (SoftHSM2
 *                    never sets them)
 *
 * and, to play a token with other capabilities (tests/integration/token_caps.sh):
 *
 *   P11FAULT_NO_MECH   hex mechanism numbers, comma separated: left out of
 *                      C_GetMechanismList; C_GetMechanismInfo and
 *                      C_SignInit answer CKR_MECHANISM_INVALID
 *   P11FAULT_RSA_MAXBITS  ulMaxKeySize of CKM_RSA_PKCS_KEY_PAIR_GEN
 *   P11FAULT_WEAKEN    decrypt or extractable: C_GenerateKeyPair makes the
 *                      private key with CKA_DECRYPT or CKA_EXTRACTABLE TRUE
 *                      whatever the template says (a token weaker than asked)
 *   P11FAULT_NO_COPYABLE  C_GenerateKeyPair answers CKR_GENERAL_ERROR to a
 *                      private template with CKA_COPYABLE (as NSS softoken)
 *   P11FAULT_INIT_ARGS C_Initialize answers CKR_ARGUMENTS_BAD unless
 *                      pReserved is this string (as NSS softoken)
 *
 * This is test code: it aborts on a malformed configuration rather than
 * running a test that injects nothing.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <p11-kit/pkcs11.h>

#define DEFAULT_MODULE "/usr/lib/softhsm/libsofthsm2.so"

static void *real_dl;
static CK_FUNCTION_LIST *real;
static CK_FUNCTION_LIST wrapped;

static unsigned long calls, want_n, want_k;
static char want_fn[64];
static CK_RV inject_rv;
static enum { DO_NOTHING, DO_RV, DO_STALL, DO_CORRUPT } action;
static long stall_ms;
static int corrupt_pending;
static FILE *trace;

static const struct {
	const char *name;
	CK_RV rv;
} rvs[] = {
	{ "CKR_DEVICE_ERROR", CKR_DEVICE_ERROR },
	{ "CKR_DEVICE_REMOVED", CKR_DEVICE_REMOVED },
	{ "CKR_DEVICE_MEMORY", CKR_DEVICE_MEMORY },
	{ "CKR_SESSION_HANDLE_INVALID", CKR_SESSION_HANDLE_INVALID },
	{ "CKR_SESSION_CLOSED", CKR_SESSION_CLOSED },
	{ "CKR_USER_NOT_LOGGED_IN", CKR_USER_NOT_LOGGED_IN },
	{ "CKR_PIN_INCORRECT", CKR_PIN_INCORRECT },
	{ "CKR_PIN_LOCKED", CKR_PIN_LOCKED },
	{ "CKR_FUNCTION_FAILED", CKR_FUNCTION_FAILED },
	{ "CKR_GENERAL_ERROR", CKR_GENERAL_ERROR },
	{ "CKR_TOKEN_NOT_PRESENT", CKR_TOKEN_NOT_PRESENT },
	{ "CKR_HOST_MEMORY", CKR_HOST_MEMORY },
};

static void
die(const char *msg, const char *arg)
{
	fprintf(stderr, "p11fault: %s%s\n", msg, arg != NULL ? arg : "");
	abort();
}

static void
configure(void)
{
	const char *at = getenv("P11FAULT_AT"), *what = getenv("P11FAULT_DO");
	const char *tr = getenv("P11FAULT_TRACE");
	size_t i;

	if (tr != NULL && *tr != '\0' && (trace = fopen(tr, "a")) == NULL)
		die("cannot open P11FAULT_TRACE ", tr);
	if (at == NULL || *at == '\0')
		return;
	if (what == NULL || *what == '\0')
		die("P11FAULT_AT without P11FAULT_DO", NULL);
	if (at[0] >= '0' && at[0] <= '9') {
		want_n = strtoul(at, NULL, 10);
	} else {
		const char *colon = strchr(at, ':');
		size_t n = colon != NULL ? (size_t)(colon - at) : strlen(at);

		if (n == 0 || n >= sizeof(want_fn))
			die("bad P11FAULT_AT ", at);
		memcpy(want_fn, at, n);
		want_k = colon != NULL ? strtoul(colon + 1, NULL, 10) : 1;
	}
	if (strncmp(what, "stall:", 6) == 0) {
		action = DO_STALL;
		stall_ms = strtol(what + 6, NULL, 10);
	} else if (strcmp(what, "corrupt") == 0) {
		action = DO_CORRUPT;
	} else {
		action = DO_RV;
		for (i = 0; i < sizeof(rvs) / sizeof(rvs[0]); i++)
			if (strcmp(what, rvs[i].name) == 0)
				inject_rv = rvs[i].rv;
		if (inject_rv == 0) {
			char *end;

			inject_rv = strtoul(what, &end, 16);
			if (*end != '\0' || inject_rv == 0)
				die("bad P11FAULT_DO ", what);
		}
	}
}

/* Counts the call; 1 when it is the one to fail (then *rv is the result). */
static int
hit(const char *fn, CK_RV *rv)
{
	static unsigned long fn_calls;
	int match = 0;

	calls++;
	if (action != DO_NOTHING) {
		if (want_n != 0)
			match = calls == want_n;
		else if (strcmp(fn, want_fn) == 0)
			match = ++fn_calls == want_k;
	}
	if (trace != NULL) {
		fprintf(trace, "%lu %s%s\n", calls, fn, match ? " injected" : "");
		fflush(trace);
	}
	if (!match)
		return 0;
	switch (action) {
	case DO_RV:
		*rv = inject_rv;
		return 1;
	case DO_STALL: {
		struct timespec ts = { stall_ms / 1000, (stall_ms % 1000) * 1000000L };

		nanosleep(&ts, NULL);
		return 0;
	}
	case DO_CORRUPT:
		corrupt_pending = 1;
		return 0;
	case DO_NOTHING:
		break;
	}
	return 0;
}

#define FORWARD(fn, args, call)                 \
	static CK_RV w_##fn args                \
	{                                       \
		CK_RV rv;                       \
		if (hit(#fn, &rv))              \
			return rv;              \
		return real->fn call;           \
	}

#define NO_MECH_MAX 16
static CK_MECHANISM_TYPE no_mech[NO_MECH_MAX];
static size_t n_no_mech;

static void
configure_caps(void)
{
	const char *v = getenv("P11FAULT_NO_MECH");
	char *end;

	while (v != NULL && *v != '\0') {
		if (n_no_mech == NO_MECH_MAX)
			die("too many P11FAULT_NO_MECH entries", NULL);
		no_mech[n_no_mech++] = strtoul(v, &end, 16);
		if (end == v || (*end != ',' && *end != '\0'))
			die("bad P11FAULT_NO_MECH ", v);
		v = *end == ',' ? end + 1 : end;
	}
}

static int
mech_hidden(CK_MECHANISM_TYPE m)
{
	for (size_t i = 0; i < n_no_mech; i++)
		if (no_mech[i] == m)
			return 1;
	return 0;
}

static CK_RV
w_C_Initialize(CK_VOID_PTR a)
{
	const char *want = getenv("P11FAULT_INIT_ARGS");
	CK_C_INITIALIZE_ARGS *args = a;
	CK_RV rv;

	if (hit("C_Initialize", &rv))
		return rv;
	if (want != NULL && (args == NULL || args->pReserved == NULL ||
	    strcmp((const char *)args->pReserved, want) != 0))
		return CKR_ARGUMENTS_BAD;
	if (args != NULL && args->pReserved != NULL) {
		/* SoftHSM2 follows the standard and refuses a pReserved. */
		CK_C_INITIALIZE_ARGS copy = *args;

		copy.pReserved = NULL;
		return real->C_Initialize(&copy);
	}
	return real->C_Initialize(a);
}

static CK_RV
w_C_GetMechanismList(CK_SLOT_ID slot, CK_MECHANISM_TYPE_PTR list, CK_ULONG_PTR n)
{
	CK_MECHANISM_TYPE all[512];
	CK_ULONG got = 512, kept = 0;
	CK_RV rv;

	if (hit("C_GetMechanismList", &rv))
		return rv;
	if ((rv = real->C_GetMechanismList(slot, all, &got)) != CKR_OK)
		return rv;
	for (CK_ULONG i = 0; i < got; i++) {
		if (mech_hidden(all[i]))
			continue;
		if (list != NULL && kept >= *n)
			return CKR_BUFFER_TOO_SMALL;
		if (list != NULL)
			list[kept] = all[i];
		kept++;
	}
	*n = kept;
	return CKR_OK;
}

static CK_RV
w_C_GetMechanismInfo(CK_SLOT_ID slot, CK_MECHANISM_TYPE m, CK_MECHANISM_INFO_PTR info)
{
	const char *max = getenv("P11FAULT_RSA_MAXBITS");
	CK_RV rv;

	if (hit("C_GetMechanismInfo", &rv))
		return rv;
	if (mech_hidden(m))
		return CKR_MECHANISM_INVALID;
	rv = real->C_GetMechanismInfo(slot, m, info);
	if (rv == CKR_OK && m == CKM_RSA_PKCS_KEY_PAIR_GEN && max != NULL)
		info->ulMaxKeySize = strtoul(max, NULL, 10);
	return rv;
}

static CK_RV
w_C_GenerateKeyPair(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_ATTRIBUTE_PTR pub,
    CK_ULONG npub, CK_ATTRIBUTE_PTR priv, CK_ULONG npriv, CK_OBJECT_HANDLE_PTR hpub,
    CK_OBJECT_HANDLE_PTR hpriv)
{
	const char *weaken = getenv("P11FAULT_WEAKEN");
	CK_ATTRIBUTE copy[32];
	CK_ATTRIBUTE_TYPE weak = 0;
	CK_BBOOL yes = CK_TRUE;
	CK_RV rv;

	if (hit("C_GenerateKeyPair", &rv))
		return rv;
	if (npriv > 32)
		return CKR_TEMPLATE_INCONSISTENT;
	for (CK_ULONG i = 0; i < npriv; i++)
		if (priv[i].type == CKA_COPYABLE && getenv("P11FAULT_NO_COPYABLE") != NULL)
			return CKR_GENERAL_ERROR;
	if (weaken != NULL && strcmp(weaken, "decrypt") == 0)
		weak = CKA_DECRYPT;
	else if (weaken != NULL && strcmp(weaken, "extractable") == 0)
		weak = CKA_EXTRACTABLE;
	else if (weaken != NULL && *weaken != '\0')
		die("bad P11FAULT_WEAKEN ", weaken);
	for (CK_ULONG i = 0; i < npriv; i++) {
		copy[i] = priv[i];
		if (weak != 0 && copy[i].type == weak) {
			copy[i].pValue = &yes;
			copy[i].ulValueLen = sizeof(yes);
		}
	}
	return real->C_GenerateKeyPair(s, m, pub, npub, copy, npriv, hpub, hpriv);
}

FORWARD(C_Finalize, (CK_VOID_PTR a), (a))
FORWARD(C_GetInfo, (CK_INFO_PTR a), (a))
FORWARD(C_GetSlotList, (CK_BBOOL a, CK_SLOT_ID_PTR b, CK_ULONG_PTR c), (a, b, c))
FORWARD(C_GetSlotInfo, (CK_SLOT_ID a, CK_SLOT_INFO_PTR b), (a, b))

static CK_RV
w_C_GetTokenInfo(CK_SLOT_ID slot, CK_TOKEN_INFO_PTR info)
{
	const char *pf = getenv("P11FAULT_PINFLAGS");
	CK_RV rv;

	if (hit("C_GetTokenInfo", &rv))
		return rv;
	if ((rv = real->C_GetTokenInfo(slot, info)) != CKR_OK || pf == NULL)
		return rv;
	if (strcmp(pf, "low") == 0)
		info->flags |= CKF_USER_PIN_COUNT_LOW;
	else if (strcmp(pf, "final") == 0)
		info->flags |= CKF_USER_PIN_FINAL_TRY;
	else if (strcmp(pf, "locked") == 0)
		info->flags |= CKF_USER_PIN_LOCKED;
	else if (*pf != '\0')
		die("bad P11FAULT_PINFLAGS ", pf);
	return rv;
}
FORWARD(C_OpenSession, (CK_SLOT_ID a, CK_FLAGS b, CK_VOID_PTR c, CK_NOTIFY d,
    CK_SESSION_HANDLE_PTR e), (a, b, c, d, e))
FORWARD(C_CloseSession, (CK_SESSION_HANDLE a), (a))
FORWARD(C_Login, (CK_SESSION_HANDLE a, CK_USER_TYPE b, CK_UTF8CHAR_PTR c, CK_ULONG d),
    (a, b, c, d))
FORWARD(C_Logout, (CK_SESSION_HANDLE a), (a))
FORWARD(C_DestroyObject, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b), (a, b))
FORWARD(C_GetAttributeValue, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE b,
    CK_ATTRIBUTE_PTR c, CK_ULONG d), (a, b, c, d))
FORWARD(C_FindObjectsInit, (CK_SESSION_HANDLE a, CK_ATTRIBUTE_PTR b, CK_ULONG c), (a, b, c))
FORWARD(C_FindObjects, (CK_SESSION_HANDLE a, CK_OBJECT_HANDLE_PTR b, CK_ULONG c,
    CK_ULONG_PTR d), (a, b, c, d))
FORWARD(C_FindObjectsFinal, (CK_SESSION_HANDLE a), (a))

static CK_RV
w_C_SignInit(CK_SESSION_HANDLE s, CK_MECHANISM_PTR m, CK_OBJECT_HANDLE k)
{
	CK_RV rv;

	if (hit("C_SignInit", &rv))
		return rv;
	if (m != NULL && mech_hidden(m->mechanism))
		return CKR_MECHANISM_INVALID;
	return real->C_SignInit(s, m, k);
}
FORWARD(C_GenerateRandom, (CK_SESSION_HANDLE a, CK_BYTE_PTR b, CK_ULONG c), (a, b, c))

static CK_RV
w_C_Sign(CK_SESSION_HANDLE s, CK_BYTE_PTR data, CK_ULONG n, CK_BYTE_PTR sig,
    CK_ULONG_PTR sig_len)
{
	CK_RV rv;

	if (hit("C_Sign", &rv))
		return rv;
	rv = real->C_Sign(s, data, n, sig, sig_len);
	/* A size query (sig == NULL) defers the corruption to the real one. */
	if (rv == CKR_OK && corrupt_pending && sig != NULL && *sig_len > 0) {
		sig[*sig_len / 2] ^= 0x01;
		corrupt_pending = 0;
		if (trace != NULL) {
			fprintf(trace, "%lu C_Sign corrupted\n", calls);
			fflush(trace);
		}
	}
	return rv;
}

CK_RV C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list);

CK_RV
C_GetFunctionList(CK_FUNCTION_LIST_PTR_PTR list)
{
	CK_C_GetFunctionList get;
	const char *path = getenv("P11FAULT_MODULE");
	CK_RV rv;

	if (list == NULL)
		return CKR_ARGUMENTS_BAD;
	if (real == NULL) {
		if (path == NULL || *path == '\0')
			path = DEFAULT_MODULE;
		if ((real_dl = dlopen(path, RTLD_NOW | RTLD_LOCAL)) == NULL)
			die("cannot load ", dlerror());
		if ((get = (CK_C_GetFunctionList)dlsym(real_dl, "C_GetFunctionList")) == NULL)
			die("no C_GetFunctionList in ", path);
		if ((rv = get(&real)) != CKR_OK)
			return rv;
		configure();
		configure_caps();
		wrapped = *real;
#define WRAP(fn) wrapped.fn = w_##fn
		WRAP(C_Initialize);
		WRAP(C_Finalize);
		WRAP(C_GetInfo);
		WRAP(C_GetSlotList);
		WRAP(C_GetSlotInfo);
		WRAP(C_GetTokenInfo);
		WRAP(C_OpenSession);
		WRAP(C_CloseSession);
		WRAP(C_Login);
		WRAP(C_Logout);
		WRAP(C_DestroyObject);
		WRAP(C_GetAttributeValue);
		WRAP(C_FindObjectsInit);
		WRAP(C_FindObjects);
		WRAP(C_FindObjectsFinal);
		WRAP(C_SignInit);
		WRAP(C_Sign);
		WRAP(C_GenerateKeyPair);
		WRAP(C_GenerateRandom);
		WRAP(C_GetMechanismList);
		WRAP(C_GetMechanismInfo);
#undef WRAP
	}
	*list = &wrapped;
	return CKR_OK;
}

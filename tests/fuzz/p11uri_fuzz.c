/* Token selection (firmware/token/token_uri.c): a label or PKCS#11 URI
 * (RFC 7512) from the config or command line, then matched against token,
 * slot and module info. Input: the selector up to the first '\n'; the bytes
 * after it fill the info structures a module would return. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "token_p11.h"

#define MODULE "/usr/lib/softhsm/libsofthsm2.so"

static void
fill(void *dst, size_t n, const uint8_t **p, size_t *left)
{
	size_t k = *left < n ? *left : n;

	memset(dst, ' ', n);
	memcpy(dst, *p, k);
	*p += k;
	*left -= k;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *nl = memchr(data, '\n', size);
	size_t sel_len = nl != NULL ? (size_t)(nl - data) : size;
	const uint8_t *p = nl != NULL ? nl + 1 : data + size;
	size_t left = size - sel_len - (nl != NULL ? 1 : 0);
	char *sel = mr_fuzz_strndup(data, sel_len);
	mr_token_sel *s = NULL;
	CK_INFO module;
	CK_SLOT_INFO slot;
	CK_TOKEN_INFO token;
	mr_diag d;
	char label[33];
	int is_uri = sel_len >= 7 && memcmp(data, "pkcs11:", 7) == 0;

	if (sel == NULL)
		return 0;
	memset(&module, 0, sizeof(module));
	memset(&slot, 0, sizeof(slot));
	memset(&token, 0, sizeof(token));
	fill(token.label, sizeof(token.label), &p, &left);
	fill(token.manufacturerID, sizeof(token.manufacturerID), &p, &left);
	fill(token.model, sizeof(token.model), &p, &left);
	fill(token.serialNumber, sizeof(token.serialNumber), &p, &left);
	fill(slot.slotDescription, sizeof(slot.slotDescription), &p, &left);
	fill(slot.manufacturerID, sizeof(slot.manufacturerID), &p, &left);
	fill(module.manufacturerID, sizeof(module.manufacturerID), &p, &left);
	fill(module.libraryDescription, sizeof(module.libraryDescription), &p, &left);
	mr_token_p11_string(label, sizeof(label), token.label, sizeof(token.label));
	if (strlen(label) > 32)
		__builtin_trap();
	mr_diag_clear(&d);
	if (mr_token_sel_parse(sel, MODULE, &s, &d) == MR_OK) {
		const char *name = mr_token_sel_name(s);

		/* A selector that may carry a PIN is never echoed. */
		if (is_uri && strstr(sel, "pin-") != NULL && strstr(name, "pin-") != NULL)
			__builtin_trap();
		IGNORE(mr_token_sel_match(s, &module, (CK_SLOT_ID)(left & 7), &slot, &token));
		mr_token_sel_free(s);
	} else if (is_uri && strstr(sel, "pin-") != NULL && strstr(d.msg, "pin-") != NULL &&
	    strstr(d.msg, "(pin-value/pin-source)") == NULL) {
		__builtin_trap();
	}
	free(sel);
	return 0;
}

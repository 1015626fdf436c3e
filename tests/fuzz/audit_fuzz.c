/* The audit log's parsers (firmware/lib/auditlog.c, checkpoint.c): the
 * record scanner, the answer proof file, the signed-note checkpoint, the
 * verifier key and base64. Byte 0 picks the parser; the rest is its input.
 * Invariants checked: the scanner never reports more good bytes than it was
 * given, and a checkpoint that parses re-encodes to the same body. */
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "mr_auditlog.h"
#include "mr_checkpoint.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char why[256];
	const uint8_t *in;
	size_t n;

	if (size < 1)
		return 0;
	in = data + 1;
	n = size - 1;
	switch (data[0] % 5) {
	case 0: {
		static mr_merkle_hash leaves[4096];
		mr_auditlog_scan s;
		IGNORE(mr_auditlog_scan_buf(in, n, leaves, 4096, &s));
		if (s.good_bytes > n || (s.n > 0 && s.good_bytes == 0))
			__builtin_trap();
		break;
	}
	case 1: {
		static mr_audit_proof p;
		char *t = mr_fuzz_strndup(in, n);
		if (t == NULL)
			return 0;
		if (mr_audit_proof_parse(t, n, &p, why, sizeof(why)) == MR_OK &&
		    (p.record_len == 0 || p.record[p.record_len - 1] != '\n' ||
			p.checkpoint + p.checkpoint_len != t + n))
			__builtin_trap();
		free(t);
		break;
	}
	case 2: {
		mr_checkpoint cp;
		mr_note_key k;
		char *t = mr_fuzz_strndup(in, n);
		if (t == NULL)
			return 0;
		if (mr_checkpoint_parse(t, n, &cp, why, sizeof(why)) == MR_OK) {
			char body[MR_CHECKPOINT_MAX];
			size_t bl = 0;
			/* Without extension lines the body re-encodes exactly. */
			if (cp.body_len > n)
				__builtin_trap();
			if (cp.time[0] == '\0' &&
			    mr_checkpoint_body(cp.origin, cp.size, cp.root, NULL, body, sizeof(body),
				&bl) == MR_OK &&
			    bl == cp.body_len && memcmp(body, t, bl) != 0)
				__builtin_trap();
		}
		memset(&k, 0, sizeof(k));
		memcpy(k.name, "meshroot/audit/0000000000000000", 32);
		k.type = (uint8_t)(n & 1 ? MR_NOTE_ED25519 : MR_NOTE_ECDSA);
		IGNORE(mr_checkpoint_open(t, n, &k, &cp, why, sizeof(why)));
		free(t);
		break;
	}
	case 3: {
		mr_note_key k;
		char again[256];
		char *t = mr_fuzz_strndup(in, n);
		if (t == NULL)
			return 0;
		if (mr_note_vkey_parse(t, n, &k, why, sizeof(why)) == MR_OK &&
		    (mr_note_vkey_format(&k, again, sizeof(again)) != MR_OK ||
			strncmp(again, t, strlen(again) - 1) != 0))
			__builtin_trap();
		free(t);
		break;
	}
	default: {
		uint8_t out[1024];
		char enc[1400];
		size_t len = 0;
		char *t = mr_fuzz_strndup(in, n);
		if (t == NULL)
			return 0;
		/* Strict base64: what decodes re-encodes to the same text. */
		if (n <= 1360 && mr_base64_decode(t, n, out, sizeof(out), &len) == MR_OK &&
		    (mr_base64_encode(out, len, enc, sizeof(enc)) != MR_OK || strlen(enc) != n ||
			memcmp(enc, t, n) != 0))
			__builtin_trap();
		free(t);
		break;
	}
	}
	return 0;
}

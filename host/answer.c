#include <stdio.h>
#include <string.h>
#include <time.h>

#include "answer.h"
#include "audit_media.h"
#include "mr_checkpoint.h"
#include "mr_csr.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_lint.h"
#include "mr_record.h"
#include "renew.h"
#include "workspace.h"

static void
normalise_hex(const char *in, char *out, size_t cap)
{
	size_t o = 0;

	for (; *in && o + 1 < cap; in++) {
		char c = *in;
		if (c == ':' || c == ' ')
			continue;
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		out[o++] = c;
	}
	out[o] = '\0';
}

int
mr_answer_root(const mr_host_opts *o, const uint8_t *der, size_t len, const char *expect,
    const char *source, mr_cert *root, mr_diag *d)
{
	char path[4096], hex[65], want[130], colon[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN];
	uint8_t pinned[MR_WS_CERT_MAX], fp[32];
	size_t pinned_len = 0;
	mr_cert pc;
	int r;

	if (mr_cert_parse(der, len, root, d) != MR_OK) {
		mr_diag_prefix(d, "the root from %s", source);
		return MR_E_CERT;
	}
	mr_fp_sha256(der, len, fp);
	mr_hex_encode(fp, 32, hex);
	r = mr_ws_read_root(o, pinned, sizeof(pinned), &pinned_len, &pc, d);
	if (r == MR_OK) {
		if (pinned_len != len || memcmp(pinned, der, len) != 0)
			return mr_diag_set(d, MR_E_KEY_MISMATCH,
			    "the root from %s (SHA-256 %s) is not the pinned root in %s/root-cert.pem",
			    source, hex, o->workspace);
		return MR_OK;
	}
	if (r != MR_E_NOTFOUND)
		return r;
	mr_diag_clear(d);
	/* Nothing pinned yet: only a well-formed root of ours may be pinned. */
	if (mr_cert_verify_signature(root, &root->spki, d) != MR_OK ||
	    mr_lint_ca(root, MR_LINT_ROOT, NULL, time(NULL), d) != MR_OK) {
		mr_diag_prefix(d, "the root from %s is not a valid root", source);
		return MR_E_CERT;
	}
	mr_fp_hex(fp, 32, colon, sizeof(colon));
	mr_fp_words(fp, words, sizeof(words));
	if (expect != NULL) {
		normalise_hex(expect, want, sizeof(want));
		if (strcmp(want, hex) != 0)
			return mr_diag_set(d, MR_E_KEY_MISMATCH,
			    "the root from %s has SHA-256 %s, not the expected %s", source, hex, want);
	} else {
		printf("pinning the root found on %s. Compare with the ceremony transcript:\n"
		       "  SHA-256: %s\n  words:   %s\n", source, colon, words);
	}
	if (mr_path_join(path, sizeof(path), o->workspace, "root-cert.pem") != MR_OK ||
	    mr_mkdirs(o->workspace, 0700, d) != MR_OK)
		return MR_E_IO;
	return mr_ws_write_pem(path, "CERTIFICATE", der, len, 0644, d);
}

int
mr_answer_accept(const mr_host_opts *o, const char *name, const uint8_t *der, size_t len,
    const mr_cert *root, mr_diag *d)
{
	char path[4096], serial[64];
	uint8_t csr_der[MR_CSR_MAX_DER];
	size_t csr_len = 0;
	mr_cert c;
	mr_csr csr;
	int r = MR_E_INTERNAL;

	if (mr_cert_parse(der, len, &c, d) != MR_OK) {
		mr_diag_prefix(d, "answer");
		return MR_E_CERT;
	}
	if (mr_ws_path(o, name, "csr.pem", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_ARG, "invalid cluster name '%s'", name);
	if ((r = mr_ws_read_csr(path, csr_der, sizeof(csr_der), &csr_len, &csr, d)) != MR_OK)
		return r;
	if (!mr_der_equal(c.issuer, root->subject))
		return mr_diag_set(d, MR_E_CERT, "answer is not issued by the pinned root");
	if (mr_cert_verify_signature(&c, &root->spki, d) != MR_OK) {
		mr_diag_prefix(d, "answer signature does not verify with the pinned root");
		return MR_E_SIG;
	}
	if (!mr_der_equal(c.spki.whole, csr.spki.whole))
		return mr_diag_set(d, MR_E_KEY_MISMATCH,
		    "answer certifies a different key than this workspace's request");
	if (mr_lint_ca(&c, MR_LINT_INTERMEDIATE, root, time(NULL), d) != MR_OK) {
		mr_diag_prefix(d, "answer");
		return MR_E_CERT;
	}
	if (mr_ws_path(o, name, "ca-cert.pem", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_ARG, "invalid cluster name '%s'", name);
	if ((r = mr_ws_write_pem(path, "CERTIFICATE", der, len, 0644, d)) != MR_OK)
		return r;
	mr_cert_serial_hex(&c, serial, sizeof(serial));
	printf("cluster %s: certificate accepted (serial %s)\n", name, serial);
	/* A renewal's new key goes into service with its certificate. */
	return mr_host_renew_finish(o, name, d);
}

int
mr_answer_audit_key(const mr_host_opts *o, const char *vkey, const char *source, mr_diag *d)
{
	char pin[4096], text[300], why[160];
	mr_note_key k, p;
	int r;

	if (vkey == NULL || vkey[0] == '\0')
		return MR_OK;
	if (mr_note_vkey_parse(vkey, strlen(vkey), &k, why, sizeof(why)) != MR_OK)
		return mr_diag_set(d, MR_E_PROTO, "the audit key from %s: %s", source, why);
	if (mr_path_join(pin, sizeof(pin), o->workspace, "audit-key.pub") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "workspace path too long");
	if (mr_path_exists(pin)) {
		if ((r = mr_host_audit_read_key(pin, &p, d)) != MR_OK)
			return r;
		if (strcmp(p.name, k.name) != 0 || memcmp(p.pub, k.pub, 32) != 0)
			return mr_diag_set(d, MR_E_KEY_MISMATCH,
			    "the audit key from %s (%s) is not the pinned one in %s", source, k.name, pin);
		return MR_OK;
	}
	if (mr_note_vkey_format(&k, text, sizeof(text)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "audit key too long");
	if ((r = mr_file_write_atomic(pin, text, strlen(text), 0644, d)) != MR_OK)
		return r;
	printf("pinning the audit key found on %s (compare with the ceremony transcript):\n  %s",
	    source, text);
	return MR_OK;
}

int
mr_answer_audit_proof(const mr_host_opts *o, const char *name, const uint8_t *proof, size_t n,
    const uint8_t *der, size_t len, mr_diag *d)
{
	char pin[4096], path[4096], serial[64];
	mr_note_key k;
	mr_checkpoint cp;
	uint64_t index = 0;
	int r;

	if (mr_path_join(pin, sizeof(pin), o->workspace, "audit-key.pub") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "workspace path too long");
	if (!mr_path_exists(pin))
		return MR_OK;
	if (n == 0)
		return mr_diag_set(d, MR_E_AUDIT, "the certificate came without its audit proof: not taken");
	if ((r = mr_host_audit_read_key(pin, &k, d)) != MR_OK)
		return r;
	/* Kept beside the certificate: the evidence, as answers/<c>.audit on media. */
	if (mr_ws_path(o, name, "ca-cert.audit", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_ARG, "invalid cluster name '%s'", name);
	if ((r = mr_file_write_atomic(path, proof, n, 0644, d)) != MR_OK)
		return r;
	if ((r = mr_host_audit_check_proof(&k, path, der, len, serial, &index, &cp, d)) != MR_OK) {
		remove(path);
		return r;
	}
	printf("cluster %s: serial %s is record %llu of the audit log (checkpoint of %llu records, "
	       "signed %s)\n", name, serial, (unsigned long long)index + 1,
	    (unsigned long long)cp.size, cp.time);
	return MR_OK;
}

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "answer.h"
#include "audit_media.h"
#include "mr_checkpoint.h"
#include "mr_csr.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_lint.h"
#include "mr_pem.h"
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

/* Empty again for the next group; what the run read once stays. */
static void
next_group(mr_answer_batch *b)
{
	mr_file_group_init(&b->g, 0);
	b->n = 0;
}

void
mr_answer_batch_init(mr_answer_batch *b)
{
	next_group(b);
	b->key_read = b->key_pinned = 0;
}

/* The pinned audit key (*k NULL when none is pinned), read from the
 * workspace at the first answer of the run. */
static int
pinned_key(const mr_host_opts *o, mr_answer_batch *b, const mr_note_key **k, mr_diag *d)
{
	char pin[4096];
	int r;

	if (!b->key_read) {
		if ((r = mr_host_audit_pinned_path(o, pin, sizeof(pin), d)) != MR_OK)
			return r;
		b->key_pinned = mr_path_exists(pin);
		if (b->key_pinned && (r = mr_host_audit_read_key(pin, &b->key, d)) != MR_OK)
			return r;
		b->key_read = 1;
	}
	*k = b->key_pinned ? &b->key : NULL;
	return MR_OK;
}

int
mr_answer_batch_full(const mr_answer_batch *b)
{
	return b->n == MR_ANSWER_GROUP;
}

/* With a pinned audit key k, the answer's proof must verify: given in
 * proof[0..n) (the link), or on the media. Fills t's audit facts. */
static int
check_proof(const mr_note_key *k, const char *name, const uint8_t *der, size_t len,
    const char *media, const uint8_t *proof, size_t n, const char *keep, mr_answer_taken *t,
    mr_diag *d)
{
	mr_checkpoint cp;
	int r;

	t->proven = 0;
	if (media != NULL) {
		r = mr_host_audit_answer(k, media, name, der, len, &t->proven, t->serial, &t->index,
		    &cp, d);
	} else {
		if (k == NULL)
			return MR_OK;
		if (n == 0)
			return mr_diag_set(d, MR_E_AUDIT,
			    "the certificate came without its audit proof: not taken");
		r = mr_host_audit_check_proof_text(k, keep, proof, n, der, len, t->serial, &t->index,
		    &cp, d);
		t->proven = r == MR_OK;
	}
	if (r == MR_OK && t->proven) {
		t->size = cp.size;
		snprintf(t->time, sizeof(t->time), "%s", cp.time);
	}
	return r;
}

int
mr_answer_take(const mr_host_opts *o, mr_answer_batch *b, const char *name,
    const uint8_t *der, size_t len, const uint8_t *csr, size_t csr_len, const mr_cert *root,
    const char *media, const uint8_t *proof, size_t n, mr_diag *d)
{
	char path[4096], keep[4096];
	uint8_t csr_der[MR_CSR_MAX_DER];
	size_t ws_csr_len = 0, pem_cap = mr_pem_size("CERTIFICATE", len), pem_len = 0;
	char *pem = NULL;
	const mr_note_key *key = NULL;
	mr_answer_taken *t;
	mr_cert c;
	mr_csr req;
	int r = MR_E_INTERNAL;

	b->checked = 0;
	if (b->n == MR_ANSWER_GROUP)
		return mr_diag_set(d, MR_E_INTERNAL, "answer group full");
	t = &b->taken[b->n];
	if (mr_cert_parse(der, len, &c, d) != MR_OK) {
		mr_diag_prefix(d, "answer");
		return MR_E_CERT;
	}
	if (mr_ws_path(o, name, "csr.pem", path, sizeof(path)) != MR_OK ||
	    mr_ws_path(o, name, "ca-cert.audit", keep, sizeof(keep)) != MR_OK ||
	    strlen(name) >= sizeof(t->name))
		return mr_diag_set(d, MR_E_ARG, "invalid cluster name '%s'", name);
	/* Only the request's key matters here (the appliance checked the
	 * request's self-signature before it issued): one signature check
	 * less per answer. */
	if (csr != NULL) {
		if (mr_csr_parse_unverified(csr, csr_len, &req, d) != MR_OK) {
			mr_diag_prefix(d, "%s", path);
			return MR_E_CSR;
		}
	} else if ((r = mr_ws_read_csr_key(path, csr_der, sizeof(csr_der), &ws_csr_len, &req, d)) !=
	    MR_OK) {
		return r;
	}
	if (!mr_der_equal(c.issuer, root->subject))
		return mr_diag_set(d, MR_E_CERT, "answer is not issued by the pinned root");
	if (mr_cert_verify_signature(&c, &root->spki, d) != MR_OK) {
		mr_diag_prefix(d, "answer signature does not verify with the pinned root");
		return MR_E_SIG;
	}
	if (!mr_der_equal(c.spki.whole, req.spki.whole))
		return mr_diag_set(d, MR_E_KEY_MISMATCH,
		    "answer certifies a different key than this workspace's request");
	if (mr_lint_ca(&c, MR_LINT_INTERMEDIATE, root, time(NULL), d) != MR_OK) {
		mr_diag_prefix(d, "answer");
		return MR_E_CERT;
	}
	/* Signed by the root, and also proven to be in the audit log (with
	 * a pinned audit key): only then is anything written. */
	if ((r = pinned_key(o, b, &key, d)) != MR_OK ||
	    (r = check_proof(key, name, der, len, media, proof, n, keep, t, d)) != MR_OK)
		return r;
	b->checked = 1;
	if (mr_ws_path(o, name, "ca-cert.pem", path, sizeof(path)) != MR_OK)
		return mr_diag_set(d, MR_E_ARG, "invalid cluster name '%s'", name);
	/* What an import killed before its renames left here goes first. */
	{
		char dir[4096];
		snprintf(dir, sizeof(dir), "%s", path);
		*strrchr(dir, '/') = '\0';
		if ((r = mr_file_sweep_temps(dir, NULL, d)) != MR_OK)
			return r;
	}
	if ((pem = malloc(pem_cap)) == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	r = mr_pem_write("CERTIFICATE", der, len, pem, pem_cap, &pem_len);
	if (r != MR_OK)
		r = mr_diag_set(d, r, "cluster %s: cannot encode the certificate", name);
	/* The proof before the certificate: ca-cert.pem makes the cluster
	 * issued, so it is the last name of the answer to appear. */
	t->kept = r == MR_OK && media == NULL && t->proven;
	if (t->kept)
		r = mr_file_group_stage(&b->g, keep, proof, n, 0644, d);
	if (r == MR_OK && (r = mr_file_group_stage(&b->g, path, pem, pem_len, 0644, d)) != MR_OK &&
	    t->kept) {
		/* Never a proof without its certificate: unstage it. */
		b->g.n--;
		unlink(b->g.tmp[b->g.n]);
	}
	free(pem);
	if (r != MR_OK)
		return r;
	snprintf(t->name, sizeof(t->name), "%s", name);
	if (!t->proven)
		mr_cert_serial_hex(&c, t->serial, sizeof(t->serial));
	b->n++;
	return MR_OK;
}

void
mr_answer_commit(const mr_host_opts *o, mr_answer_batch *b, mr_answer_report *report,
    void *ctx, size_t *failed)
{
	size_t done = 0, files = 0;
	mr_diag d;
	int r;

	mr_diag_clear(&d);
	r = mr_file_group_commit(&b->g, &done, &d);
	for (size_t i = 0; i < b->n; i++) {
		const mr_answer_taken *t = &b->taken[i];
		/* An answer is stored when its last file (ca-cert.pem) is. */
		files += t->kept ? 2 : 1;
		if (r != MR_OK && files > done) {
			report(ctx, t->name, mr_diag_text(&d, r));
			(*failed)++;
			continue;
		}
		printf("cluster %s: certificate accepted (serial %s)\n", t->name, t->serial);
		if (t->proven)
			printf("cluster %s: serial %s is record %llu of the audit log (checkpoint of "
			       "%llu records, signed %s)\n", t->name, t->serial,
			    (unsigned long long)t->index + 1, (unsigned long long)t->size, t->time);
		/* A renewal's new key goes into service with its certificate. */
		{
			mr_diag e;
			int q;
			mr_diag_clear(&e);
			if ((q = mr_host_renew_finish(o, t->name, &e)) != MR_OK) {
				report(ctx, t->name, mr_diag_text(&e, q));
				(*failed)++;
			}
		}
	}
	mr_file_group_free(&b->g);
	next_group(b);
}

void
mr_answer_batch_free(mr_answer_batch *b)
{
	mr_file_group_free(&b->g);
	b->n = 0;
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
	if ((r = mr_host_audit_pinned_path(o, pin, sizeof(pin), d)) != MR_OK)
		return r;
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


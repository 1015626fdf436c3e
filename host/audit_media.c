#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit_media.h"
#include "mr_auditlog.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_media.h"
#include "mr_merkle.h"
#include "mr_record.h"

#define PROOF_MAX (MR_RECORD_MAX + MR_CHECKPOINT_MAX + 8192)

int
mr_host_audit_read_key(const char *path, mr_note_key *k, mr_diag *d)
{
	uint8_t *text = NULL;
	size_t len = 0;
	char why[160];
	int r;

	if ((r = mr_file_read(path, 1024, &text, &len, d)) != MR_OK)
		return r;
	r = mr_note_vkey_parse((const char *)text, len, k, why, sizeof(why));
	free(text);
	if (r != MR_OK)
		return mr_diag_set(d, MR_E_DER, "%s: %s", path, why);
	return MR_OK;
}

int
mr_host_audit_pinned_path(const mr_host_opts *o, char *out, size_t cap, mr_diag *d)
{
	if (mr_path_join(out, cap, o->workspace, "audit-key.pub") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "workspace path too long");
	return MR_OK;
}

int
mr_host_audit_pin(const mr_host_opts *o, const char *media, mr_diag *d)
{
	char path[4096], pin[4096], vkey[256];
	mr_note_key k, p;
	int r;

	if (mr_path_join(path, sizeof(path), media, MR_MEDIA_TOP "/audit-key.pub") != MR_OK ||
	    (r = mr_host_audit_pinned_path(o, pin, sizeof(pin), d)) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "media path too long");
	if (!mr_path_exists(path))
		return MR_OK;
	if ((r = mr_host_audit_read_key(path, &k, d)) != MR_OK)
		return r;
	if (mr_path_exists(pin)) {
		if ((r = mr_host_audit_read_key(pin, &p, d)) != MR_OK)
			return r;
		if (strcmp(p.name, k.name) != 0 || memcmp(p.pub, k.pub, 32) != 0)
			return mr_diag_set(d, MR_E_KEY_MISMATCH,
			    "the audit key on the media (%s) is not the pinned one in %s", k.name, pin);
		return MR_OK;
	}
	if (mr_note_vkey_format(&k, vkey, sizeof(vkey)) != MR_OK ||
	    (r = mr_file_write_atomic(pin, vkey, strlen(vkey), 0644, d)) != MR_OK)
		return r != MR_OK ? r : MR_E_RANGE;
	printf("pinning the audit key found on the media (compare with the ceremony transcript):\n"
	       "  %s", vkey);
	return MR_OK;
}

int
mr_host_audit_check_proof(const mr_note_key *k, const char *proof_path, const uint8_t *der,
    size_t len, char serial[64], uint64_t *index, mr_checkpoint *cp, mr_diag *d)
{
	uint8_t *text = NULL;
	size_t tl = 0;
	int r;

	if ((r = mr_file_read(proof_path, PROOF_MAX, &text, &tl, d)) != MR_OK)
		return r;
	r = mr_host_audit_check_proof_text(k, proof_path, text, tl, der, len, serial, index, cp, d);
	free(text);
	return r;
}

/*
 * mr_checkpoint_open, remembering the last note it opened: the answers of
 * one batch carry the same checkpoint (one per group), and its signature
 * need not be checked again for each. Only the same bytes under the same
 * key are taken from memory; anything else is opened and checked anew.
 */
static int
open_checkpoint(const char *text, size_t n, const mr_note_key *k, mr_checkpoint *cp, char *why,
    size_t why_cap)
{
	static char last[MR_CHECKPOINT_MAX];
	static size_t last_n;
	static mr_note_key last_key;
	static mr_checkpoint last_cp;
	int r;

	if (last_n > 0 && n == last_n && memcmp(text, last, n) == 0 &&
	    memcmp(k, &last_key, sizeof(*k)) == 0) {
		*cp = last_cp;
		return MR_OK;
	}
	last_n = 0;
	if ((r = mr_checkpoint_open(text, n, k, cp, why, why_cap)) == MR_OK && n <= sizeof(last)) {
		memcpy(last, text, n);
		last_n = n;
		last_key = *k;
		last_cp = *cp;
	}
	return r;
}

int
mr_host_audit_check_proof_text(const mr_note_key *k, const char *proof_path,
    const uint8_t *text, size_t tl, const uint8_t *der, size_t len, char serial[64],
    uint64_t *index, mr_checkpoint *cp, mr_diag *d)
{
	static mr_audit_proof p;
	uint8_t h[32], want[32];
	char why[200], ev[32], hex[80];
	mr_merkle_hash leaf;
	int r;

	if (tl > PROOF_MAX)
		return mr_diag_set(d, MR_E_RANGE, "%s: larger than %zu bytes", proof_path,
		    (size_t)PROOF_MAX);
	r = mr_audit_proof_parse((const char *)text, tl, &p, why, sizeof(why));
	if (r == MR_OK)
		r = open_checkpoint(p.checkpoint, p.checkpoint_len, k, cp, why, sizeof(why));
	if (r != MR_OK)
		return mr_diag_set(d, MR_E_SIG, "%s: %s", proof_path, why);
	mr_merkle_leaf((const uint8_t *)p.record, p.record_len, leaf);
	if (mr_merkle_inclusion_verify(p.index, cp->size, leaf, p.path, p.path_len, cp->root) != MR_OK)
		return mr_diag_set(d, MR_E_SIG, "%s: record %llu is not in the log the checkpoint "
		    "signs (inclusion proof fails)", proof_path, (unsigned long long)p.index + 1);
	if (mr_record_get(p.record, p.record_len, "event", ev, sizeof(ev)) != MR_OK ||
	    strcmp(ev, "issue") != 0 ||
	    mr_record_get(p.record, p.record_len, "cert", hex, sizeof(hex)) != MR_OK ||
	    mr_hex_decode(hex, want, 32) != MR_OK ||
	    mr_record_get(p.record, p.record_len, "serial", serial, 64) != MR_OK)
		return mr_diag_set(d, MR_E_AUDIT, "%s: the proven record %llu is not an issue record",
		    proof_path, (unsigned long long)p.index + 1);
	mr_fp_sha256(der, len, h);
	if (memcmp(h, want, 32) != 0)
		return mr_diag_set(d, MR_E_AUDIT, "%s: record %llu (serial %s) is not this certificate",
		    proof_path, (unsigned long long)p.index + 1, serial);
	*index = p.index;
	return MR_OK;
}

int
mr_host_audit_answer(const mr_note_key *k, const char *media, const char *cluster,
    const uint8_t *der, size_t len, int *proven, char serial[64], uint64_t *index,
    mr_checkpoint *cp, mr_diag *d)
{
	char path[4096];
	int r;

	*proven = 0;
	if (k == NULL)
		return MR_OK;
	if (mr_media_path(path, sizeof(path), media, MR_MEDIA_ANSWERS, cluster, ".audit") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "media path too long");
	if (!mr_path_exists(path))
		return mr_diag_set(d, MR_E_AUDIT,
		    "answer comes without its audit proof (%s): not taken", path);
	if ((r = mr_host_audit_check_proof(k, path, der, len, serial, index, cp, d)) != MR_OK)
		return r;
	*proven = 1;
	return MR_OK;
}

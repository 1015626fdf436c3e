/*
 * pemfile: reads a PEM file as a list of blocks (label, headers flag, DER).
 *
 * The framing follows Go's encoding/pem, which is what istiod uses on the
 * cacerts files: a block is "-----BEGIN <label>-----" at the start of a line,
 * optional "Key: value" header lines ending in a blank line, base64 (spaces,
 * tabs and line breaks ignored), then "-----END <label>-----" with the same
 * label. Text between blocks is ignored, as Go does (openssl -text output).
 * Unlike Go, a malformed block is an error rather than silently skipped: a
 * verifier must not hide what istiod would ignore.
 *
 * The caller owns the bundle and frees it with mr_pemfile_free, which wipes
 * every DER buffer (a bundle may hold a private key). Nothing here knows
 * what the DER means.
 */
#ifndef MR_PEMFILE_H
#define MR_PEMFILE_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_err.h"

#define MR_PEMFILE_MAX_SIZE (1024u * 1024u) /* a cacerts file is a few KiB */
#define MR_PEMFILE_MAX_BLOCKS 32u
#define MR_PEMFILE_LABEL_MAX 40u

typedef struct {
	char label[MR_PEMFILE_LABEL_MAX + 1]; /* e.g. "CERTIFICATE", NUL-terminated */
	int has_headers;                      /* "Proc-Type: 4,ENCRYPTED" and the like */
	uint8_t *der;
	size_t der_len;
} mr_pemfile_block;

typedef struct {
	mr_pemfile_block *blocks;
	size_t n;
} mr_pemfile;

/*
 * Splits text[0..len) into blocks. On success *out holds n >= 0 blocks (a
 * text without any BEGIN line gives n = 0). On failure *out is empty and d
 * says which block is malformed and how (MR_E_PEM, MR_E_RANGE, MR_E_NOMEM).
 */
int mr_pemfile_parse(const uint8_t *text, size_t len, mr_pemfile *out,
    mr_diag *d) MR_MUST_CHECK;

/*
 * Reads and parses the file at path (symlinks followed: Kubernetes secret
 * mounts are symlinks). MR_E_NOTFOUND when it does not exist, MR_E_IO when it
 * cannot be read (d carries strerror), MR_E_RANGE when larger than
 * MR_PEMFILE_MAX_SIZE, else as mr_pemfile_parse. The raw text is wiped.
 */
int mr_pemfile_read(const char *path, mr_pemfile *out, mr_diag *d) MR_MUST_CHECK;

/* Wipes and frees every block; leaves *f empty. f may be NULL. */
void mr_pemfile_free(mr_pemfile *f);

#endif

/*
 * Split custody of the token's user PIN (ceremony config [custody]).
 *
 * At `ceremony init` (and `ceremony reshare`) the appliance draws a fresh
 * random secret from the token's RNG, makes it the user PIN with C_SetPIN,
 * and splits it with Shamir's scheme (mr_share.h) into `shares` shares of
 * which any `threshold` unlock the token. Each custodian gets one share,
 * shown once on the console (and written to --shares-dir for tests and
 * automation). The PIN itself is never shown, stored or logged.
 *
 * The state dir keeps only public facts, in `custody` (one record line):
 *   set_id=<8 hex> threshold=<M> shares=<N> pin_check=<16 hex>
 * pin_check is the first 8 bytes of SHA-256("meshroot-pin-check" || set id
 * || secret): with a 128-bit random secret it reveals nothing usable, and it
 * lets the appliance refuse shares that combine to the wrong PIN before any
 * C_Login, so a mistake never burns the token's retry counter.
 *
 * Every later login reads `threshold` shares (console, or the files of
 * --shares-from DIR), decodes and checks each one, checks that all belong
 * to the current share set, combines them, compares pin_check, and only
 * then logs in.
 */
#ifndef MR_CUSTODY_H
#define MR_CUSTODY_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_share.h"

/* The random secret; the PIN is its lowercase hex (32 characters). */
#define MR_CUSTODY_SECRET_LEN 16u
#define MR_CUSTODY_PIN_LEN (2u * MR_CUSTODY_SECRET_LEN)
#define MR_CUSTODY_CHECK_LEN 8u

typedef struct {
	uint8_t set_id[MR_SHARE_SET_ID_LEN];
	unsigned threshold, shares;
	uint8_t pin_check[MR_CUSTODY_CHECK_LEN];
} mr_custody;

/* Reads / atomically writes the state dir's custody file. */
int mr_custody_load(const char *path, mr_custody *c, mr_diag *d) MR_MUST_CHECK;
int mr_custody_store(const char *path, const mr_custody *c, mr_diag *d) MR_MUST_CHECK;

/* The PIN text of a secret: lowercase hex, NUL-terminated. */
void mr_custody_pin_text(const uint8_t secret[MR_CUSTODY_SECRET_LEN],
    char pin[MR_CUSTODY_PIN_LEN + 1]);
void mr_custody_pin_check(const uint8_t set_id[MR_SHARE_SET_ID_LEN],
    const uint8_t secret[MR_CUSTODY_SECRET_LEN], uint8_t out[MR_CUSTODY_CHECK_LEN]);

/*
 * Reads c->threshold shares from the files in `dir` (every regular file not
 * starting with '.', in name order; all are checked, the first `threshold`
 * are used) or, when dir is NULL, from the console, one custodian after the
 * other. Each share is decoded and checked before the next is read; the
 * first bad one ends it: "share 2 (share-2.txt): checksum mismatch". On
 * success pin holds the PIN text (MR_CUSTODY_PIN_LEN characters and a NUL;
 * cap at least MR_CUSTODY_PIN_LEN + 1). Never touches the token.
 */
int mr_custody_read_pin(const mr_custody *c, const char *dir, char *pin, size_t cap,
    size_t *len, mr_diag *d) MR_MUST_CHECK;

/*
 * Shows shares s[0..n) to the custodians on the console, one at a time
 * (with `confirm` set, waits for Enter between custodians and clears
 * nothing it cannot: the operator turns the screen away), and writes
 * share-<i>.txt (0600, refusing to overwrite) into dir when dir is not
 * NULL. `who` names the token in each share's comment header.
 */
int mr_custody_present(const mr_share *s, unsigned n, const char *dir, const char *who,
    int confirm, mr_diag *d) MR_MUST_CHECK;

#endif

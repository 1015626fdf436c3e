/*
 * Ceremony steps beyond `ceremony init` (cmd_ceremony.c): split custody of
 * the token PIN (ceremony_custody.c). Each step prints its transcript
 * line, audits its facts (never a PIN or a share) and fails closed.
 */
#ifndef MR_CEREMONY_H
#define MR_CEREMONY_H

#include "mr_app.h"

/*
 * The custody step of `ceremony init` with [custody] split = on, run with
 * the token open and logged in, before root-cert.pem marks the ceremony
 * finished: reads the operator's current PIN once more (--pin-file or the
 * console), then hands the token over to custody (mr_custody.h): fresh
 * random PIN, shares shown and written to app->shares_dir, C_SetPIN,
 * state dir `custody`, audit record "custody-split".
 */
int mr_ceremony_split_custody(mr_app *app, mr_diag *d) MR_MUST_CHECK;

/* `ceremony rotate --key-label LABEL [--common-name CN] [--media DIR]
 * [--yes]`: new root key and root, cross-certificates, transition bundle
 * (ceremony_rotate.c). */
int cmd_ceremony_rotate(mr_app *app, int argc, char **argv);

/* `ceremony reshare [--shares-dir DIR] [--yes]`: M current shares in, a new
 * share set and a new PIN out; the old shares stop working. */
int cmd_ceremony_reshare(mr_app *app, int argc, char **argv);

#endif

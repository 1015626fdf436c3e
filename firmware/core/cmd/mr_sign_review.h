/*
 * `sign --media DIR --review batch`: the operator reviews the whole batch
 * as one table (cluster, key type, fingerprint words, validity, renewal)
 * and approves it with one confirmation. The audit log records that
 * approval (`approve-batch`) with the batch's hash: SHA-256 over one line
 * "<cluster> <request SHA-256 hex>\n" per new request, in listing order.
 *
 * The review reads the confined parser's whole listing once; the batch is
 * then issued from a second listing (mr_ps_rewind), and only a request
 * whose cluster and request hash were in the approved table is signed: a
 * file changed on the media in between is refused, never signed unseen.
 * Memory: one row (cluster, hash) per new request, never the requests.
 */
#ifndef MR_SIGN_REVIEW_H
#define MR_SIGN_REVIEW_H

#include <stddef.h>
#include <stdint.h>

#include "mr_app.h"
#include "mr_privsep.h"

typedef struct {
	char cluster[64];
	uint8_t hash[32];
} mr_review_row;

typedef struct {
	mr_review_row *rows;    /* the approved requests, in listing order */
	size_t n, cap, next;
	char batch_hex[65];
} mr_review;

/*
 * Reads the listing (after mr_ps_list announced n entries) to its end,
 * checks each request as sign does (mr_request_parse), prints the table
 * and asks for one confirmation (--yes: given, and recorded so). MR_OK:
 * approved and recorded; MR_E_CANCELLED: declined and recorded, nothing
 * is to be signed; any other error stops the batch (d says why).
 */
int mr_review_batch(mr_app *app, mr_ps *ps, size_t n, mr_review *rv, mr_diag *d) MR_MUST_CHECK;

/* 1 when this request is a row of the approved table. Calls must come in
 * listing order (the second listing's). */
int mr_review_approved(mr_review *rv, const char *cluster, const uint8_t hash[32]);

void mr_review_free(mr_review *rv);

#endif

/*
 * Privilege separation for `sign --media` (docs/security.md). The signer
 * (this process: state dir, audit log, PKCS#11 session) forks a request
 * parser before it opens any of them. The parser confines itself
 * (mr_sandbox.h), lists the media requests directory through a descriptor,
 * reads each request (bounded, O_NOFOLLOW), decodes the PEM, parses the CSR
 * (its structure: the self-signature is checked in the signer), and tells the signer about each directory
 * entry in one small message over a socketpair:
 *
 *   LIST  count, ignored   first: how many entries follow (<= MR_MEDIA_MAX_ENTRIES),
 *                          and how many metadata files were left out (mr_media.h)
 *   LERR  err, text        first, instead: the directory could not be listed
 *   SKIP  name, why        an entry that was not opened
 *   RFSE  name, err, text  a request that is not a valid, self-signed CSR
 *   CSR   name, der        a request that is (DER <= MR_CSR_MAX_DER)
 *   END                    last, after exactly `count` entries
 *
 * The signer accepts exactly this table, each message only in its state
 * (LIST/LERR first, entries in strictly increasing name order, END after the
 * announced count), checks every length against the frame and the protocol
 * limit before it copies, derives the cluster from the name itself and
 * re-parses every CSR it is given (mr_request_parse) before anything else
 * happens to it. Anything else, or the parser dying, stops the batch.
 */
#ifndef MR_PRIVSEP_H
#define MR_PRIVSEP_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mr_csr.h"
#include "mr_diag.h"
#include "mr_media.h"

enum {
	MR_PS_SKIP = 1, /* it.why says why */
	MR_PS_REFUSE,   /* it.err and it.why: the parser's refusal */
	MR_PS_CSR,      /* it.der: a CSR whose structure parsed in the parser */
	MR_PS_END,      /* no more entries */
};

typedef struct {
	int kind;
	char name[256];     /* printable ASCII (anything else shown as '?') */
	char cluster[64];   /* REFUSE and CSR: derived by the signer from name */
	char why[320];
	int err;
	size_t der_len;
	uint8_t der[MR_CSR_MAX_DER]; /* last: most of it is never touched */
} mr_ps_item;

typedef struct {
	pid_t pid;          /* -1: no parser */
	int fd;             /* the signer's end of the socketpair */
	int state;
	int open_err;       /* the requests dir could not be opened */
	mr_diag open_diag;
	char dir[4096];     /* media/meshroot/requests, for messages */
	uint32_t announced, seen;
	uint32_t ignored;   /* metadata files the listing left out (._*, .DS_Store) */
	char last[256];
} mr_ps;

/* Opens media's requests dir and forks the parser on it. Call before the
 * state dir or the token is opened. An unopenable directory is not an error
 * here: mr_ps_list reports it. MR_E_INTERNAL when fork or socketpair fail. */
int mr_ps_start(mr_ps *ps, const char *media, mr_diag *d) MR_MUST_CHECK;

/* The first message: the number of entries, or why there are none. */
int mr_ps_list(mr_ps *ps, size_t *count, mr_diag *d) MR_MUST_CHECK;

/* The next entry (or MR_PS_END). Any protocol violation or the parser's
 * death is an error (MR_E_PROTO) with one line in d: the caller stops. */
int mr_ps_next(mr_ps *ps, mr_ps_item *it, mr_diag *d) MR_MUST_CHECK;

/* After MR_PS_END: asks the parser for the whole listing once more (it
 * lists and reads the directory again: what changed in between is seen);
 * mr_ps_list and mr_ps_next then work as the first time. */
int mr_ps_rewind(mr_ps *ps, mr_diag *d) MR_MUST_CHECK;

/* After MR_PS_END: the parser must have exited with status 0. */
int mr_ps_finish(mr_ps *ps, mr_diag *d) MR_MUST_CHECK;

/* Tests: the signer's side on a descriptor that carries parser messages,
 * with no parser process behind it. */
void mr_ps_attach(mr_ps *ps, int fd);

/* Kills (if still running) and reaps the parser, closes everything. */
void mr_ps_stop(mr_ps *ps);

#endif

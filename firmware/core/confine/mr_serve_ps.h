/*
 * Privilege separation for `serve --listen` (docs/security.md). The signer
 * (this process: state dir, audit log, PKCS#11 session, approval) forks the
 * link process before it opens any of them. The link process confines
 * itself (mr_sandbox_enter_link), accepts the host's connections on the
 * listening socket, reads and decodes every frame (mr_serve_front_frame:
 * framing, session, sequence numbers, the SUBMIT batch, each CSR and its
 * self-signature), encodes the replies, and asks the signer only this, over
 * a socketpair, one request at a time:
 *
 *   NEW                        a host connected: no session until INFO
 *   RESET                      (--usb) bind, enable, disable, unbind or bus
 *                              reset: the session is closed, as by NEW
 *   INFO                       opens the session
 *   SUBMIT  n, n x {refused, cluster, der[, err, why]}   in a session
 *   RESULT  n, n x hash        in a session (n <= MR_LINK_MAX_RESULTS)
 *   AUDIT   index              in a session
 *
 * Each is answered with one ANSWER {status, message, reply payload}. The
 * signer accepts exactly this table, each message only in its state,
 * checks every length against the message and the protocol limit before it
 * copies, re-parses every CSR the link process passed (mr_request_parse)
 * and never parses one it refused (it only hashes and audits it). Anything
 * else, or the link process dying, stops serving with one error line.
 *
 * `serve --usb` runs the same split with FunctionFS in the link process
 * (mr_sps_start_usb). The umockdev tests still drive the front end in
 * process (mr_serve_frame).
 */
#ifndef MR_SERVE_PS_H
#define MR_SERVE_PS_H

#include <sys/types.h>

#include "mr_serve.h"

typedef struct {
	pid_t pid;          /* -1: no link process */
	int fd;             /* the signer's end of the socketpair */
	int session;        /* INFO seen since the last NEW */
	int dead;
} mr_sps;

/* Forks the link process on the listening socket lfd (which the signer
 * then closes). Call before the state dir or the token is opened. */
int mr_sps_start(mr_sps *p, int lfd, mr_diag *d) MR_MUST_CHECK;

/* serve --usb: forks the link process, which opens the FunctionFS
 * endpoints under dir, writes the descriptors (the serial string is the
 * gadget's, from configfs: the link process needs nothing from the
 * token), confines itself and only then starts its ep0 and ep1 threads.
 * Call before the state dir or the token is opened. A failure to open the
 * endpoints reaches the signer as FAIL at its first mr_sps_serve. */
int mr_sps_start_usb(mr_sps *p, const char *dir, mr_diag *d) MR_MUST_CHECK;

/* Waits at most timeout_ms for one request and answers it with s.
 * MR_OK (also when nothing came), or MR_E_PROTO with one line in d when
 * the link process died or broke the protocol (it is then killed): the
 * caller stops serving. */
int mr_sps_serve(mr_sps *p, mr_server *s, int timeout_ms, mr_diag *d) MR_MUST_CHECK;

/* Tests: the signer's side on a descriptor that carries link process
 * messages, with no process behind it. */
void mr_sps_attach(mr_sps *p, int fd);

/*
 * Decodes the body of one link-process message whose type, state and
 * length mr_sps_serve has already checked against its table: the request
 * for the signer in rq (rq->op 0: none), a NOTE/FAIL/PROBE text in
 * text[0..cap). No side effects (the fuzz target calls it); 0, or -1 with
 * the violation in *why. rq's CSR views point into body.
 */
int mr_sps_decode(uint8_t type, const uint8_t *body, size_t len, mr_serve_req *rq, char *text,
    size_t cap, const char **why);

/* Kills and reaps the link process, closes everything. */
void mr_sps_stop(mr_sps *p);

#endif

/*
 * The request parser process and the signer's side of its protocol
 * (mr_privsep.h): the listing's table and states and the parser's work on
 * the requests directory. Spawning, reading checked messages and reporting
 * the parser's end are the helper engine's (mr_helper.h). The parser's
 * half is at the bottom: it never returns.
 */
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mr_fileio.h"
#include "mr_helper.h"
#include "mr_privsep.h"
#include "mr_sandbox.h"

#define TEXT_MAX MR_HELPER_TEXT_MAX
#define NAME_MAX_ 255
#define BODY_MAX (1 + NAME_MAX_ + 2 + MR_CSR_MAX_DER)
/* A parser that says nothing for this long is stuck or hostile. */
#define TIMEOUT_MS 60000

enum { T_LIST = 'L', T_LERR = 'E', T_SKIP = 'S', T_RFSE = 'R', T_CSR = 'C', T_END = 'Z' };
enum { ST_LIST = 1, ST_ITEMS = 2, ST_DONE = 4 };

/* Every message the signer accepts, the states it is accepted in and its
 * body length bounds (checked before the body is read). */
static const mr_helper_msg table[] = {
	{ T_LIST, ST_LIST, 4 + 4, 4 + 4, "LIST" },
	{ T_LERR, ST_LIST, 4 + 2, 4 + 2 + TEXT_MAX, "LERR" },
	{ T_SKIP, ST_ITEMS, 1 + 1 + 2, 1 + NAME_MAX_ + 2 + TEXT_MAX, "SKIP" },
	{ T_RFSE, ST_ITEMS, 1 + 1 + 4 + 2, 1 + NAME_MAX_ + 4 + 2 + TEXT_MAX, "RFSE" },
	{ T_CSR, ST_ITEMS, 1 + 1 + 2 + 1, BODY_MAX, "CSR" },
	{ T_END, ST_ITEMS, 0, 0, "END" },
};

static const mr_helper_proto proto = { "request parser", "out of order", table,
	sizeof(table) / sizeof(table[0]), TIMEOUT_MS };

/* The errors a parser may give for a refusal or a listing: what the
 * bounded readers and the CSR parser return, nothing of the signer's. */
static int
refusal_err_ok(int err)
{
	return err == MR_E_IO || err == MR_E_RANGE || err == MR_E_NOTFOUND ||
	    err == MR_E_NOMEM || err == MR_E_PEM || err == MR_E_CSR || err == MR_E_ARG;
}

static int
list_err_ok(int err)
{
	return err == MR_E_IO || err == MR_E_MEDIA || err == MR_E_NOMEM || err == MR_E_INTERNAL;
}

static int
ended(mr_ps *ps, const char *what, mr_diag *d)
{
	ps->state = ST_DONE;
	return mr_helper_ended(&proto, &ps->pid, what, d);
}

static int
violation(mr_ps *ps, const char *what, mr_diag *d)
{
	ps->state = ST_DONE;
	return mr_helper_violation(&proto, &ps->pid, what, d);
}

/* One message, checked against the table and the state. */
static int
recv_msg(mr_ps *ps, uint8_t *type, uint8_t *body, size_t *len, mr_diag *d)
{
	int r = mr_helper_recv(&proto, &ps->pid, ps->fd, (unsigned)ps->state, TIMEOUT_MS, type, body,
	    len, d);

	if (r != MR_OK) {
		ps->state = ST_DONE;
		return r;
	}
	return *type == 0 ? violation(ps, "sent nothing for 60 s", d) : MR_OK;
}

int
mr_ps_list(mr_ps *ps, size_t *count, mr_diag *d)
{
	static uint8_t body[BODY_MAX];
	uint8_t type;
	size_t len;
	uint32_t v;
	char text[TEXT_MAX + 1];
	int r;

	*count = 0;
	if (ps->open_err != MR_OK) {
		mr_diag_set(d, ps->open_err, "%s", mr_diag_text(&ps->open_diag, ps->open_err));
		return ps->open_err;
	}
	if (ps->state != ST_LIST)
		return mr_diag_set(d, MR_E_INTERNAL, "request parser: listing asked twice");
	if ((r = recv_msg(ps, &type, body, &len, d)) != MR_OK)
		return r;
	mr_psrd rr = { body, len };
	if (type == T_LERR) {
		if (mr_psrd_u(&rr, 4, &v) != 0 || !list_err_ok((int)(int32_t)v) ||
		    mr_psrd_str(&rr, 2, TEXT_MAX, text, sizeof(text)) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed listing error", d);
		mr_ps_printable(text);
		ps->state = ST_DONE;
		return mr_diag_set(d, (int)(int32_t)v, "%s", text);
	}
	if (mr_psrd_u(&rr, 4, &v) != 0 || v > MR_MEDIA_MAX_ENTRIES)
		return violation(ps, "announced too many entries", d);
	ps->announced = v;
	if (mr_psrd_u(&rr, 4, &v) != 0 || rr.n != 0 || v > MR_MEDIA_MAX_ENTRIES)
		return violation(ps, "announced too many ignored entries", d);
	ps->ignored = v;
	ps->state = ST_ITEMS;
	*count = ps->announced;
	return MR_OK;
}

int
mr_ps_next(mr_ps *ps, mr_ps_item *it, mr_diag *d)
{
	static uint8_t body[BODY_MAX];
	uint8_t type;
	size_t len;
	uint32_t v;
	int r;

	memset(it, 0, offsetof(mr_ps_item, der));
	it->der_len = 0;
	if (ps->state != ST_ITEMS)
		return mr_diag_set(d, MR_E_INTERNAL, "request parser: no listing in progress");
	if ((r = recv_msg(ps, &type, body, &len, d)) != MR_OK)
		return r;
	mr_psrd rr = { body, len };
	if (type == T_END) {
		if (ps->seen != ps->announced)
			return violation(ps, "ended before every announced entry", d);
		ps->state = ST_DONE;
		it->kind = MR_PS_END;
		return MR_OK;
	}
	if (ps->seen == ps->announced)
		return violation(ps, "sent more entries than announced", d);
	if (mr_psrd_str(&rr, 1, NAME_MAX_, it->name, sizeof(it->name)) != 0 || it->name[0] == '\0')
		return violation(ps, "sent a malformed entry name", d);
	/* Strictly increasing: each directory entry once, in the order listed. */
	if (ps->seen > 0 && strcmp(it->name, ps->last) <= 0)
		return violation(ps, "sent entries out of order", d);
	memcpy(ps->last, it->name, sizeof(ps->last));
	ps->seen++;
	switch (type) {
	case T_SKIP:
		if (mr_psrd_str(&rr, 2, TEXT_MAX, it->why, sizeof(it->why)) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed skip", d);
		it->kind = MR_PS_SKIP;
		break;
	case T_RFSE:
		if (mr_psrd_u(&rr, 4, &v) != 0 || !refusal_err_ok((int)(int32_t)v) ||
		    mr_psrd_str(&rr, 2, TEXT_MAX, it->why, sizeof(it->why)) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed refusal", d);
		it->err = (int)(int32_t)v;
		it->kind = MR_PS_REFUSE;
		break;
	case T_CSR:
		if (mr_psrd_u(&rr, 2, &v) != 0 || v == 0 || v > MR_CSR_MAX_DER ||
		    mr_psrd_take(&rr, it->der, v) != 0 || rr.n != 0)
			return violation(ps, "sent a malformed request", d);
		it->der_len = v;
		it->kind = MR_PS_CSR;
		break;
	default:
		return violation(ps, "sent a message out of order", d);
	}
	/* The parser only opens <cluster>.csr: the signer derives the cluster
	 * from the name itself, never takes it from the parser. */
	if (it->kind != MR_PS_SKIP &&
	    !mr_media_name_cluster(it->name, ".csr", it->cluster, sizeof(it->cluster)))
		return violation(ps, "sent a request under a name it may not open", d);
	mr_ps_printable(it->name);
	mr_ps_printable(it->why);
	return MR_OK;
}

int
mr_ps_finish(mr_ps *ps, mr_diag *d)
{
	int st = 0, r;
	pid_t pid = ps->pid;

	if (pid <= 0)
		return MR_OK;
	if (ps->state != ST_DONE)
		return violation(ps, "stopped before the end of the listing", d);
	close(ps->fd);
	ps->fd = -1;
	r = mr_ps_reap(pid, &st);
	ps->pid = -1;
	if (r == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return MR_OK;
	if (WIFSIGNALED(st) && WTERMSIG(st) == SIGSYS)
		return mr_diag_set(d, MR_E_PROTO,
		    "request parser (pid %d) killed by SIGSYS after its listing", (int)pid);
	return mr_diag_set(d, MR_E_PROTO, "request parser (pid %d) failed after its listing",
	    (int)pid);
}

int
mr_ps_rewind(mr_ps *ps, mr_diag *d)
{
	const uint8_t cmd = 'R';

	if (ps->state != ST_DONE || ps->pid <= 0 || ps->fd < 0)
		return mr_diag_set(d, MR_E_INTERNAL, "request parser: no finished listing to repeat");
	if (send(ps->fd, &cmd, 1, MSG_NOSIGNAL) != 1)
		return ended(ps, "is gone", d);
	ps->state = ST_LIST;
	ps->announced = ps->seen = 0;
	ps->last[0] = '\0';
	return MR_OK;
}

void
mr_ps_attach(mr_ps *ps, int fd)
{
	*ps = (mr_ps){ .pid = -1, .fd = fd, .state = ST_LIST };
}

void
mr_ps_stop(mr_ps *ps)
{
	mr_helper_stop(&ps->pid, &ps->fd);
	ps->state = ST_DONE;
}

/* ---- the parser process: everything below runs confined ---- */

typedef struct {
	int dirfd;
	const char *dir;
} parser_arg;

static uint8_t out[MR_PSMSG_HDR + BODY_MAX];
static const char *probe_spec; /* the test hook's per-file probe, if any */

static void
send_text(uint8_t type, const char *name, int err, const char *text)
{
	mr_pswr w;

	mr_pswr_begin(&w, out, sizeof(out), type);
	if (name != NULL)
		mr_pswr_str(&w, 1, name, NAME_MAX_);
	if (type != T_SKIP)
		mr_pswr_u(&w, 4, (uint32_t)err);
	mr_pswr_str(&w, 2, text, TEXT_MAX);
	mr_helper_send(&w);
}

/*
 * Test hook (sim builds only), MESHROOT_PRIVSEP_PROBE, on reaching request
 * file `at` (the probes run once confined are mr_helper_probe's):
 *   abort:NAME   abort() on reaching request file NAME
 *   forge:NAME   on reaching NAME, send a request under a name the parser
 *                may not open (the signer must reject it)
 */
static void
probe(const char *at)
{
	const char *spec = probe_spec;

	if (spec == NULL)
		return;
	if (strncmp(spec, "abort:", 6) == 0 && strcmp(spec + 6, at) == 0) {
		abort();
	} else if (strncmp(spec, "forge:", 6) == 0 && strcmp(spec + 6, at) == 0) {
		mr_pswr w;
		mr_pswr_begin(&w, out, sizeof(out), T_CSR);
		mr_pswr_str(&w, 1, "../../state/evil.csr", NAME_MAX_);
		mr_pswr_u(&w, 2, 1);
		mr_pswr_u(&w, 1, 0x30);
		mr_helper_send(&w);
	}
}

static int
parser_confine(void *arg, pid_t signer, int sock, mr_diag *d)
{
	const parser_arg *a = arg;
	int landlock;

	return mr_sandbox_enter(signer, sock, a->dirfd, &landlock, d);
}

static void
parser_fail(int err, const char *text)
{
	char line[TEXT_MAX + 1];

	snprintf(line, sizeof(line), "request parser %s", text);
	send_text(T_LERR, NULL, err, line);
}

static void parser_main(void *arg) __attribute__((noreturn));

static void
parser_main(void *arg)
{
	static uint8_t der[MR_MEDIA_MAX_FILE];
	const parser_arg *a = arg;
	const int dirfd = a->dirfd;
	const char *dir = a->dir;
	char shown[4096 + 256];
	mr_media_names names;
	mr_media_item item;
	size_t der_len;
	mr_diag d;
	mr_csr csr;
	mr_pswr w;
	int r;

	probe_spec = mr_helper_probe();
again:
	/* Only the names are held: each file is examined, read and parsed
	 * when its turn comes, so memory does not grow with the batch, and
	 * the socket's buffer lets this process work ahead of the signer. */
	mr_diag_clear(&d);
	if ((r = mr_media_names_at(dirfd, dir, &names, &d)) != MR_OK) {
		send_text(T_LERR, NULL, r, mr_diag_text(&d, r));
		_exit(0);
	}
	mr_pswr_begin(&w, out, sizeof(out), T_LIST);
	mr_pswr_u(&w, 4, (uint32_t)names.n);
	mr_pswr_u(&w, 4, (uint32_t)names.ignored);
	mr_helper_send(&w);
	for (size_t i = 0; i < names.n; i++) {
		const mr_media_item *it = &item;
		mr_media_classify_at(dirfd, mr_media_name(&names, i), ".csr", &item);
		if (!it->ok) {
			send_text(T_SKIP, it->name, 0, it->why);
			continue;
		}
		probe(it->name);
		mr_diag_clear(&d);
		snprintf(shown, sizeof(shown), "%s/%s", dir, it->name);
		r = mr_file_read_pem_at(dirfd, it->name, shown, MR_MEDIA_MAX_FILE,
		    "CERTIFICATE REQUEST", der, sizeof(der), &der_len, &d);
		if (r == MR_OK && mr_csr_parse_unverified(der, der_len, &csr, &d) != MR_OK)
			r = MR_E_CSR; /* as mr_request_parse reports it */
		if (r == MR_OK && der_len > MR_CSR_MAX_DER)
			r = mr_diag_set(&d, MR_E_CSR, "CSR larger than %u bytes", MR_CSR_MAX_DER);
		if (r != MR_OK) {
			send_text(T_RFSE, it->name, r, mr_diag_text(&d, r));
			continue;
		}
		mr_pswr_begin(&w, out, sizeof(out), T_CSR);
		mr_pswr_str(&w, 1, it->name, NAME_MAX_);
		mr_pswr_u(&w, 2, (uint32_t)der_len);
		mr_pswr_bytes(&w, der, der_len);
		mr_helper_send(&w);
	}
	mr_pswr_begin(&w, out, sizeof(out), T_END);
	mr_helper_send(&w);
	mr_media_names_free(&names);
	/* The signer may ask for the listing once more (a batch reviewed as
	 * a whole, then issued): one byte 'R'. Its end of the socket closed:
	 * done. */
	for (;;) {
		uint8_t cmd;
		ssize_t k = read(mr_helper_sock(), &cmd, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k == 1 && cmd == 'R')
			goto again;
		_exit(0);
	}
}

int
mr_ps_start(mr_ps *ps, const char *media, mr_diag *d)
{
	parser_arg a;
	mr_helper_child c = { NULL, parser_confine, parser_fail, parser_main, &a };
	int dirfd = -1, r;

	memset(ps, 0, sizeof(*ps));
	ps->pid = -1;
	ps->fd = -1;
	ps->state = ST_LIST;
	mr_diag_clear(&ps->open_diag);
	ps->open_err = mr_media_open_dir(media, MR_MEDIA_REQUESTS, &dirfd, ps->dir,
	    sizeof(ps->dir), &ps->open_diag);
	if (ps->open_err != MR_OK)
		return MR_OK;
	a.dirfd = dirfd;
	a.dir = ps->dir;
	r = mr_helper_spawn(&c, &ps->pid, &ps->fd, d);
	close(dirfd);
	return r;
}

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "mr_cluster.h"
#include "mr_fileio.h"
#include "mr_fingerprint.h"
#include "mr_issue.h"
#include "mr_lint.h"
#include "mr_pem.h"
#include "mr_record.h"
#include "mr_signer.h"
#include "mr_tbs.h"
#include "mr_cpus.h"
#include "mr_worker.h"

#define DAY 86400
/* Tolerated clock difference between the appliance and the clusters. */
#define BACKDATE 300

static int
request_parse(const mr_app *app, const char *cluster, const uint8_t *der, size_t n,
    mr_request *rq, int verify, mr_diag *d)
{
	memset(rq, 0, sizeof(*rq));
	if (!mr_cluster_name_ok(cluster))
		return mr_diag_set(d, MR_E_POLICY, "cluster name %s", mr_cluster_name_why(cluster));
	snprintf(rq->cluster, sizeof(rq->cluster), "%s", cluster);
	mr_fp_sha256(der, n, rq->csr_hash);
	mr_hex_encode(rq->csr_hash, 32, rq->csr_hash_hex);
	if (mr_csr_parse_unverified(der, n, &rq->csr, d) != MR_OK ||
	    (verify && mr_csr_verify(&rq->csr, d) != MR_OK))
		return MR_E_CSR;
	if (!mr_config_allows(&app->cfg, rq->csr.spki.type))
		return mr_diag_set(d, MR_E_POLICY, "%s keys are not allowed by policy%s",
		    mr_key_type_name(rq->csr.spki.type),
		    rq->csr.spki.type == MR_KEY_RSA_2048 ? " (RSA below 3072 bits)" : "");
	/* A request for the root's own key would make the intermediate and
	 * the root interchangeable. */
	if (mr_der_equal(rq->csr.spki.whole, app->root.spki.whole))
		return mr_diag_set(d, MR_E_POLICY, "the request carries the root's own public key");
	mr_csr_ignored(&rq->csr, rq->ignored, sizeof(rq->ignored));
	return MR_OK;
}

int
mr_request_parse(const mr_app *app, const char *cluster, const uint8_t *der, size_t n,
    mr_request *rq, mr_diag *d)
{
	return request_parse(app, cluster, der, n, rq, 1, d);
}

int
mr_request_parse_unverified(const mr_app *app, const char *cluster, const uint8_t *der,
    size_t n, mr_request *rq, mr_diag *d)
{
	return request_parse(app, cluster, der, n, rq, 0, d);
}

int
mr_request_verify(const mr_request *rq, mr_diag *d)
{
	return mr_csr_verify(&rq->csr, d) == MR_OK ? MR_OK : MR_E_CSR;
}

void
mr_request_describe(const mr_app *app, const mr_request *rq, char *out, size_t cap)
{
	char hex[MR_FP_HEX_LEN(32)], words[MR_FP_WORDS_LEN], earlier[160] = "none";
	const mr_db_entry *last = NULL;

	mr_fp_hex(rq->csr_hash, 32, hex, sizeof(hex));
	mr_fp_words(rq->csr_hash, words, sizeof(words));
	/* A second certificate for a cluster is a renewal or a mistake: the
	 * operator decides knowing which certificate the cluster has now. */
	last = mr_db_last_issued_for_cluster(&app->db, rq->cluster);
	if (last != NULL) {
		time_t t = (time_t)last->not_after;
		struct tm tm;
		char until[16] = "?";
		if (gmtime_r(&t, &tm) != NULL)
			strftime(until, sizeof(until), "%Y-%m-%d", &tm);
		snprintf(earlier, sizeof(earlier), "serial %s, valid until %s (this is a renewal)",
		    last->serial, until);
	}
	snprintf(out, cap,
	    "  cluster:   %s\n"
	    "  subject:   O=%s, L=%s, CN=%s (requested subject ignored)\n"
	    "  key:       %s\n"
	    "  CSR SHA-256: %s\n"
	    "  words:     %s\n"
	    "  ignored:   %s\n"
	    "  issued before: %s\n",
	    rq->cluster, app->cfg.policy_o, rq->cluster, rq->cluster,
	    mr_key_type_name(rq->csr.spki.type), hex, words,
	    rq->ignored[0] ? rq->ignored : "nothing", earlier);
}

/* The stored certificate of serial, into der (cap bytes). */
static int
load_stored(mr_app *app, const char *serial, uint8_t *der, size_t cap, mr_issued *out,
    mr_diag *d)
{
	char path[4096], name[64];
	int r;

	snprintf(name, sizeof(name), "certs/%s.pem", serial);
	if (mr_app_path(app, path, sizeof(path), name) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "state dir path too long");
	if ((r = mr_file_read_pem(path, 65536, "CERTIFICATE", der, cap, &out->der_len, d)) != MR_OK)
		return r == MR_E_PEM ? MR_E_STATE : r;
	out->der = der;
	snprintf(out->serial, sizeof(out->serial), "%s", serial);
	out->already_issued = 1;
	return MR_OK;
}

int
mr_issue_stored(mr_app *app, const char *request_hex, uint8_t *der, size_t cap, mr_issued *is,
    mr_diag *d)
{
	const mr_db_entry *prior = mr_db_issued_for_request(&app->db, request_hex);

	memset(is, 0, sizeof(*is));
	is->audit_index = -1;
	is->record = "";
	if (prior == NULL)
		return MR_E_NOTFOUND;
	return load_stored(app, prior->serial, der, cap, is, d);
}

/* Room in the window's arena for up to want bytes (the items' maxima add
 * up to its size, so there always is), kept with arena_keep. */
static uint8_t *
arena_room(mr_issue_arena *a, size_t want)
{
	return want <= sizeof(a->bytes) - a->used ? a->bytes + a->used : NULL;
}

static void
arena_keep(mr_issue_arena *a, size_t n)
{
	a->used += n;
}

/*
 * A window's serials come from one draw of the token's RNG: the window is
 * begun while the token signs the window before, and each call to the
 * token waits for the signature under way (token_pkcs11.c runs it on the
 * signing thread after it), so a draw per serial would hold the window
 * back by 32 signatures. A token
 * that will not give that much at once is asked per serial.
 */
typedef struct {
	uint8_t bytes[MR_ISSUE_WINDOW * 16];
	size_t used, len;
} serial_pool;

/* 16 fresh bytes: from the pool, or (a serial drawn again) from the token. */
static int
random16(mr_app *app, serial_pool *pool, uint8_t out[16], mr_diag *d)
{
	if (pool->len - pool->used >= 16) {
		memcpy(out, pool->bytes + pool->used, 16);
		pool->used += 16;
		return MR_OK;
	}
	return mr_token_random(app->tok, out, 16, d);
}

static int
new_serial(mr_app *app, serial_pool *pool, uint8_t serial[16], char hex[41], mr_diag *d)
{
	for (int tries = 0; tries < 8; tries++) {
		int r = random16(app, pool, serial, d);
		if (r != MR_OK)
			return r;
		/* RFC 5280 4.1.2.2: positive; a non-zero first byte keeps all
		 * 16 bytes in the encoding: 127 random bits. */
		serial[0] &= 0x7f;
		if (serial[0] == 0)
			serial[0] = 0x01;
		mr_hex_encode(serial, 16, hex);
		if (mr_db_by_serial(&app->db, hex) == NULL)
			return MR_OK;
	}
	return mr_diag_set(d, MR_E_INTERNAL, "token RNG keeps returning used serials");
}

static void
subject_key_id(const mr_spki *k, uint8_t id[20])
{
	mr_spki_key_id(k, id);
}

static int
build_tbs(mr_app *app, const mr_request *rq, const uint8_t serial[16], time_t now,
    uint8_t *tbs_buf, size_t tbs_cap, mr_der *tbs, mr_diag *d)
{
	mr_name_fields nf = { NULL, app->cfg.policy_o, NULL, rq->cluster, rq->cluster };
	mr_tbs_params p;
	uint8_t ski[20], name_buf[512]; /* the subject, copied into the TBS */
	time_t not_before = now - BACKDATE, not_after;
	mr_der subject;

	if (mr_name_build(&nf, name_buf, sizeof(name_buf), &subject) != MR_OK)
		return mr_diag_set(d, MR_E_POLICY, "cannot build the subject name");
	if (not_before < app->root.not_before)
		not_before = app->root.not_before;
	/* Validity capped by policy and never beyond the root (RFC 5280 6.1.3). */
	not_after = now + (time_t)app->cfg.max_validity_days * DAY;
	if (not_after > app->root.not_after)
		not_after = app->root.not_after;
	if (not_after - now < DAY)
		return mr_diag_set(d, MR_E_POLICY, "the root expires in less than a day");
	subject_key_id(&rq->csr.spki, ski);
	memset(&p, 0, sizeof(p));
	p.serial = serial;
	p.serial_len = 16;
	p.sig_alg = mr_sig_alg_for_key(app->root.spki.type);
	p.issuer = app->root.subject;
	p.subject = subject;
	p.not_before = not_before;
	p.not_after = not_after;
	p.spki = rq->csr.spki.whole;
	p.ski = ski;
	p.aki = app->root.ext.ski.p;
	p.path_len = 0;
	p.key_usage = MR_KU_KEY_CERT_SIGN | MR_KU_CRL_SIGN | MR_KU_DIGITAL_SIGNATURE;
	/* Policy name constraints (ceremony config [policy] trust_domain,
	 * dns_domains): the intermediate can then only certify its mesh. */
	{
		static const char *dns[MR_CONFIG_MAX_DNS];
		for (unsigned i = 0; i < app->cfg.n_nc_dns; i++)
			dns[i] = app->cfg.nc_dns[i];
		p.nc_uri_host = app->cfg.nc_trust_domain;
		p.nc_dns = dns;
		p.n_nc_dns = app->cfg.n_nc_dns;
	}
	if (app->root.ext.ski.n != 20)
		return mr_diag_set(d, MR_E_STATE, "root has no 20-byte subjectKeyIdentifier");
	if (mr_tbs_build(&p, tbs_buf, tbs_cap, tbs) != MR_OK)
		return mr_diag_set(d, MR_E_INTERNAL, "cannot encode the TBS");
	/* Written at the end of tbs_buf; the window's arena packs it at the
	 * start. */
	memmove(tbs_buf, tbs->p, tbs->n);
	tbs->p = tbs_buf;
	return MR_OK;
}

/* Records a refusal before it is reported: if the record cannot be
 * written, the refusal is not released either (fail closed). */
static int
refuse(mr_app *app, const mr_request *rq, int err, mr_diag *d)
{
	mr_record rec;
	mr_diag ad;

	mr_diag_clear(&ad);
	mr_record_init(&rec);
	mr_record_add(&rec, "cluster", rq->cluster);
	mr_record_add(&rec, "request", rq->csr_hash_hex);
	mr_record_add(&rec, "reason", mr_diag_text(d, err));
	if (mr_app_audit(app, "refuse", &rec, &ad) != MR_OK) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_AUDIT, "%s", mr_diag_text(&ad, MR_E_AUDIT));
	}
	return err;
}

/* A reserved serial whose certificate will not be released: resolved at
 * once (audit first, then the database), so the log shows why. If either
 * write fails, the next start resolves it (mr_app_recover). */
static int
abandon(mr_app *app, const mr_request *rq, const char *serial, int err, mr_diag *d)
{
	mr_record rec;
	mr_diag ad;

	mr_diag_clear(&ad);
	mr_record_init(&rec);
	mr_record_add(&rec, "serial", serial);
	mr_record_add(&rec, "cluster", rq->cluster);
	mr_record_add(&rec, "request", rq->csr_hash_hex);
	mr_record_add(&rec, "reason", mr_diag_text(d, err));
	if (mr_app_audit(app, "abandon", &rec, &ad) != MR_OK ||
	    mr_db_abandon(&app->db, serial, mr_diag_text(d, err), &ad) != MR_OK) {
		mr_diag_clear(d);
		return mr_diag_set(d, MR_E_AUDIT, "%s", mr_diag_text(&ad, MR_E_AUDIT));
	}
	return err;
}

/* The steps an item goes through in a window (begin, sign, finish). */
enum { ST_NEW, ST_DONE, ST_DUP, ST_RESERVED, ST_UNCHECKED, ST_SIGNED, ST_STORED, ST_ABANDON };

/* a. One request: answered from the state dir, refused (audited), or
 * reserved. MR_OK unless the window must stop. */
static int
prepare(mr_app *app, mr_issue_item *it, mr_issue_arena *arena, serial_pool *pool, time_t now,
    mr_diag *d)
{
	const mr_request *rq = it->rq;
	mr_db_entry *prior;
	uint8_t *room;
	int r;

	/* Running again on the same request never signs twice. */
	if ((prior = mr_db_issued_for_request(&app->db, rq->csr_hash_hex)) != NULL) {
		it->step = ST_DONE;
		if ((room = arena_room(arena, MR_ISSUE_CERT_MAX)) == NULL)
			it->err = mr_diag_set(&it->diag, MR_E_INTERNAL, "window arena full");
		else if ((it->err = load_stored(app, prior->serial, room, MR_ISSUE_CERT_MAX, &it->is,
			      &it->diag)) == MR_OK)
			arena_keep(arena, it->is.der_len);
		return it->err == MR_OK ? MR_OK : mr_diag_set(d, it->err, "%s",
		    mr_diag_text(&it->diag, it->err));
	}
	if ((r = new_serial(app, pool, it->serial, it->is.serial, d)) != MR_OK)
		return r;
	if ((room = arena_room(arena, MR_ISSUE_TBS_MAX)) == NULL)
		return mr_diag_set(d, MR_E_INTERNAL, "window arena full");
	r = build_tbs(app, rq, it->serial, now, room, MR_ISSUE_TBS_MAX, &it->tbs, &it->diag);
	if (r == MR_OK)
		arena_keep(arena, it->tbs.n);
	if (r == MR_OK && (mr_tbs_parse(it->tbs, &it->built, &it->diag) != MR_OK ||
	    mr_lint_ca(&it->built, MR_LINT_INTERMEDIATE, &app->root, now, &it->diag) != MR_OK))
		r = MR_E_LINT;
	if (r != MR_OK) {
		/* The token never sees a TBS that failed its lints. */
		it->step = ST_DONE;
		it->err = refuse(app, rq, r, &it->diag);
		return it->err == MR_E_AUDIT ? mr_diag_set(d, MR_E_AUDIT, "%s",
		    mr_diag_text(&it->diag, MR_E_AUDIT)) : MR_OK;
	}
	if ((r = mr_db_reserve(&app->db, it->is.serial, rq->csr_hash_hex, rq->cluster, d)) != MR_OK)
		return r;
	it->step = ST_RESERVED;
	mr_crashpoint("after-reserve");
	return MR_OK;
}

/* b. Reads back what the token signed for one item: nothing leaves without
 * both checks (same TBS, valid signature: mr_sign_tbs_check), then the
 * lints again on what was signed. Touches only the item. */
static int
check_signed(const mr_app *app, mr_issue_item *it, time_t now)
{
	int r;

	if ((r = mr_sign_tbs_check(it->is.der, it->is.der_len, it->tbs, it->built.tbs_sig_alg,
		 &app->root.spki, &it->diag)) != MR_OK)
		return r;
	if (mr_cert_parse(it->is.der, it->is.der_len, &it->signed_cert, &it->diag) != MR_OK)
		return MR_E_INTERNAL;
	if (mr_lint_ca(&it->signed_cert, MR_LINT_INTERMEDIATE, &app->root, now, &it->diag) != MR_OK)
		return MR_E_LINT;
	return MR_OK;
}

/*
 * b. The token signs item i while a second thread reads back item i - 1:
 * the CPU work of the checks never makes the token wait. The signing
 * thread publishes each item once it is signed (or abandoned); the
 * checker takes them in order. The token goes on to the next window as
 * soon as it has signed this one; the window's read-back may end later,
 * and mr_issue_finish waits for it. A check failure other than a lint
 * (the token signed something that does not verify) stops all signing of
 * the process: the rest of this window and every later one are abandoned,
 * and the caller stops at this window's finish.
 *
 * One mutex and condition for every window's read-back: windows come and
 * go, and a window's finish never destroys what the checker may still be
 * unlocking.
 */
static pthread_mutex_t rb_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t rb_cv = PTHREAD_COND_INITIALIZER;
static int rb_halted; /* a failed read-back: sign nothing more */

static void
check_one(mr_issue_readback *p, mr_issue_item *it)
{
	int e;

	if (it->step != ST_UNCHECKED)
		return;
	if ((e = check_signed(p->app, it, p->now)) == MR_OK) {
		it->step = ST_SIGNED;
		return;
	}
	it->step = ST_ABANDON;
	it->err = e;
	if (e == MR_E_LINT)
		return;
	pthread_mutex_lock(&rb_mu);
	rb_halted = 1;
	if (!p->stop) {
		p->stop = 1;
		p->stop_err = e;
		mr_diag_set(&p->stop_diag, e, "%s", mr_diag_text(&it->diag, e));
	}
	pthread_mutex_unlock(&rb_mu);
}

/* The window's items in order. Once the last is marked checked, the
 * window may be finished and gone: p is not read after that. */
static void
check_all(mr_issue_readback *p)
{
	size_t k = p->k;

	for (size_t j = 0; j < k; j++) {
		pthread_mutex_lock(&rb_mu);
		while (p->published <= j)
			pthread_cond_wait(&rb_cv, &rb_mu);
		pthread_mutex_unlock(&rb_mu);
		check_one(p, &p->v[j]);
		pthread_mutex_lock(&rb_mu);
		p->checked = j + 1;
		pthread_cond_broadcast(&rb_cv);
		pthread_mutex_unlock(&rb_mu);
	}
}

/*
 * The read-back thread lives as long as the process, not a window: wolfSSL
 * (FP_ECC) keeps its point tables per thread, and the two a read-back
 * needs, the root key's and its curve's generator's, are built on the
 * second verification with them (about 140 million instructions for
 * P-384, as much as 18 verifications) and make each later one about 3.5x
 * cheaper. Built once per run instead of once per window; kept, the
 * two tables take about 1.6 MiB for the whole run. The thread frees them
 * when the process exits (mr_worker.h).
 */
static void
readback_end(void)
{
	mr_sig_release_cache();
}

static mr_worker readback = MR_WORKER_INIT("mr-readback", mr_cpus_enter_rest, readback_end);
static const mr_app *warm_app; /* the warm-up's, set before it is posted */

/* Two verifications with the root key: the tables exist from here on. */
static __attribute__((noinline)) void
warm_up(const mr_app *app)
{
	for (int i = 0; i < 2; i++)
		if (mr_cert_verify_signature(&app->root, &app->root.spki, NULL) != MR_OK)
			break;
}

static void
warm_job(void *arg)
{
	(void)arg;
	warm_up(warm_app);
}

static void
check_job(void *arg)
{
	check_all(arg);
}

/* Hands the thread a job (a window or a warm-up): 0, or -1 when no thread
 * can run. Waits while the thread has a job before. */
static int
readback_post(mr_issue_readback *p, const mr_app *warm)
{
	if (p == NULL)
		warm_app = warm;
	return mr_worker_post(&readback, p != NULL ? check_job : warm_job, p);
}

/* Waits until the thread has finished its job. */
static void
readback_wait(void)
{
	mr_worker_wait(&readback);
}

void
mr_issue_prepare(const mr_app *app)
{
	pthread_mutex_lock(&rb_mu);
	rb_halted = 0;
	pthread_mutex_unlock(&rb_mu);
	(void)readback_post(NULL, app);
}

void
mr_issue_prepare_wait(void)
{
	readback_wait();
}

static void
publish(mr_issue_readback *p, size_t n)
{
	pthread_mutex_lock(&rb_mu);
	p->published = n;
	pthread_cond_broadcast(&rb_cv);
	pthread_mutex_unlock(&rb_mu);
}

static int
halted(void)
{
	int h;

	pthread_mutex_lock(&rb_mu);
	h = rb_halted;
	pthread_mutex_unlock(&rb_mu);
	return h;
}

/* The window's read-back goes to the thread once it is free: while it
 * still reads back the window before, the token signs on and the items
 * wait, published. -1 when no thread can run (the signer checks in line). */
static int
readback_offer(mr_issue_readback *p)
{
	if (p->posted)
		return 0;
	if (mr_worker_busy(&readback))
		return 0;
	if (readback_post(p, NULL) != 0)
		return -1;
	p->posted = 1;
	return 0;
}

/* The token signs one item's TBS; the certificate goes into the arena. */
static int
sign_one(mr_app *app, mr_issue_item *it, mr_issue_arena *arena)
{
	uint8_t *room = arena_room(arena, MR_ISSUE_CERT_MAX);
	int r;

	if (room == NULL)
		return mr_diag_set(&it->diag, MR_E_INTERNAL, "window arena full");
	if ((r = mr_sign_tbs_token(MR_DEV_ID, &app->root.spki, it->built.tbs_sig_alg, it->tbs, room,
		 MR_ISSUE_CERT_MAX, &it->is.der_len, &it->diag)) != MR_OK)
		return r;
	it->is.der = room;
	arena_keep(arena, it->is.der_len);
	return MR_OK;
}

/* Signed items go to the read-back this many at a time (and the window's
 * last ones when it ends): with 4, the token's thread spent 24-36 ms of a
 * batch of 1,000 outside C_Sign, against 38-45 ms one at a time. A bad
 * signature then stops the signing at most 3 items later than before
 * (the read-back may already be up to a window behind); nothing signed
 * after it is released unchecked. */
#define READBACK_STEP 4

/* Without a read-back thread: items [from, to) checked here, in line. */
static void
check_in_line(mr_issue_readback *p, size_t from, size_t to)
{
	for (size_t j = from; j < to; j++)
		check_one(p, &p->v[j]);
}

/* Signs every reserved item (after job->r, the window's state so far, is
 * MR_OK) and hands each to the read-back; returns the token's failure that
 * stops the batch, if any (the read-back's is mr_issue_finish's). */
static int
sign_all(mr_issue_job *job)
{
	mr_issue_readback *p = &job->rb;
	mr_issue_item *v = job->v;
	size_t k = job->k;
	int r = job->r, halt = r != MR_OK, in_line;

	memset(p, 0, sizeof(*p));
	p->app = job->app;
	p->v = v;
	p->k = k;
	p->now = job->now;
	mr_diag_clear(&p->stop_diag);
	if (k == 0)
		return r; /* nothing to read back: the thread never sees p */
	/* Without a thread the checks run in line: slower, the same checks. */
	in_line = readback_offer(p) != 0;
	for (size_t i = 0; i < k; i++) {
		mr_issue_item *it = &v[i];
		int e;
		if (it->step == ST_RESERVED) {
			if (halt || halted()) {
				it->step = ST_ABANDON;
				it->err = mr_diag_set(&it->diag, MR_E_CANCELLED,
				    "batch stopped before signing");
			} else if ((e = sign_one(job->app, it, job->arena)) == MR_OK) {
				it->step = ST_UNCHECKED;
				mr_crashpoint("after-sign");
			} else {
				/* A token failure stops the window: what was signed is
				 * still checked, stored and recorded. */
				it->step = ST_ABANDON;
				it->err = e;
				halt = 1;
				if (r == MR_OK)
					r = mr_diag_set(&job->d, e, "%s", mr_diag_text(&it->diag, e));
			}
		}
		if (in_line) {
			check_in_line(p, i, i + 1);
			continue;
		}
		/* Handed over a few at a time: each hand-over wakes the
		 * read-back's thread on the other core, which the token's
		 * thread pays for (docs/performance.md). */
		if ((i + 1) % READBACK_STEP != 0 && i + 1 != k)
			continue;
		publish(p, i + 1);
		if (readback_offer(p) != 0) {
			check_in_line(p, 0, i + 1);
			in_line = 1;
		}
	}
	/* The read-back thread was busy with the window before all along
	 * (more than a window behind): the token waits for it here, so that
	 * windows are read back in order and never more than one behind. */
	if (!in_line && !p->posted) {
		if (readback_post(p, NULL) == 0) {
			p->posted = 1;
		} else {
			check_in_line(p, 0, k);
			in_line = 1;
		}
	}
	if (in_line) {
		pthread_mutex_lock(&rb_mu);
		p->checked = k;
		pthread_mutex_unlock(&rb_mu);
		mr_sig_release_cache();
	}
	return r;
}

/* Returns once the window's read-back is over; its failure into job. */
static void
readback_finish(mr_issue_job *job)
{
	mr_issue_readback *p = &job->rb;

	pthread_mutex_lock(&rb_mu);
	while (p->checked < p->k)
		pthread_cond_wait(&rb_cv, &rb_mu);
	pthread_mutex_unlock(&rb_mu);
	if (p->stop && job->r == MR_OK)
		job->r = mr_diag_set(&job->d, p->stop_err, "%s", mr_diag_text(&p->stop_diag,
		    p->stop_err));
}

/* b. Every signed certificate into certs/<serial>.pem, created (never
 * replaced) with one group commit. Items not stored become abandons. */
static int
store(mr_app *app, mr_issue_item *v, size_t k, mr_diag *d)
{
	mr_file_group g;
	char path[4096], name[64], pem[8192];
	size_t pem_len, done = 0, staged = 0;
	int r = MR_OK;

	mr_file_group_init(&g, 1);
	if (mr_app_path(app, path, sizeof(path), "certs") != MR_OK ||
	    mr_mkdirs(path, 0700, d) != MR_OK)
		r = MR_E_STATE;
	for (size_t i = 0; i < k && r == MR_OK; i++) {
		if (v[i].step != ST_SIGNED)
			continue;
		snprintf(name, sizeof(name), "certs/%s.pem", v[i].is.serial);
		if (mr_pem_write("CERTIFICATE", v[i].is.der, v[i].is.der_len, pem, sizeof(pem),
			&pem_len) != MR_OK)
			r = mr_diag_set(d, MR_E_INTERNAL, "cannot encode PEM");
		else if (mr_app_path(app, path, sizeof(path), name) != MR_OK ||
		    mr_file_group_stage(&g, path, pem, pem_len, 0600, d) != MR_OK)
			r = MR_E_STATE;
	}
	if (r == MR_OK && mr_file_group_commit(&g, &done, d) != MR_OK)
		r = MR_E_STATE;
	mr_file_group_free(&g);
	/* Staging order is item order: the first `done` signed items are stored. */
	for (size_t i = 0; i < k; i++) {
		if (v[i].step != ST_SIGNED)
			continue;
		if (staged++ < done) {
			v[i].step = ST_STORED;
			mr_crashpoint("after-store");
			continue;
		}
		v[i].step = ST_ABANDON;
		v[i].err = MR_E_STATE;
		mr_diag_set(&v[i].diag, MR_E_STATE, "%s", mr_diag_text(d, MR_E_STATE));
	}
	return r;
}

/* c. The issue record (the commit point), kept for the audit proof. */
static int
record_issue(mr_app *app, mr_issue_item *it, mr_issue_arena *arena, mr_diag *d)
{
	uint8_t fp[32], key_hash[32];
	char subject_text[200];
	const mr_cert *c = &it->signed_cert; /* parsed and linted by check_signed */
	mr_record rec, detail;
	const mr_request *rq = it->rq;

	mr_fp_sha256(it->is.der, it->is.der_len, fp);
	mr_fp_sha256(c->spki.whole.p, c->spki.whole.n, key_hash);
	snprintf(subject_text, sizeof(subject_text), "O=%s,L=%s,CN=%s", app->cfg.policy_o,
	    rq->cluster, rq->cluster);
	mr_record_init(&detail);
	mr_record_add(&detail, "subject", subject_text);
	mr_record_add(&detail, "key_type", mr_key_type_name(c->spki.type));
	mr_record_add_hex(&detail, "key", key_hash, 32);
	mr_record_addf(&detail, "not_before", "%lld", (long long)c->not_before);
	mr_record_addf(&detail, "not_after", "%lld", (long long)c->not_after);
	mr_record_add_hex(&detail, "cert", fp, 32);
	mr_record_init(&rec);
	mr_record_add(&rec, "serial", it->is.serial);
	mr_record_add(&rec, "cluster", rq->cluster);
	mr_record_add(&rec, "request", rq->csr_hash_hex);
	mr_record_append(&rec, &detail);
	it->is.audit_index = (long)mr_audit_size(&app->audit);
	if (mr_app_audit(app, "issue", &rec, d) != MR_OK)
		return MR_E_AUDIT;
	char *room = (char *)arena_room(arena, MR_RECORD_MAX + 1);
	if (room != NULL) {
		mr_audit_last(&app->audit, room, MR_RECORD_MAX + 1, &it->is.record_len);
		it->is.record = room;
		arena_keep(arena, it->is.record_len + 1);
	} else {
		it->is.audit_index = -1; /* the proof then searches the log */
	}
	mr_crashpoint("after-audit");
	/* The database line may fail alone: recovery completes it from the
	 * log and the stored certificate at the next start. */
	return mr_db_issue(&app->db, it->is.serial, &detail, d);
}

/* c. durable: log, then database. The log first: a power cut between the
 * two fsyncs must leave records only in the log (the next start completes
 * issued.db from it), never an issue row without its record (manual
 * recovery); tests/integration/powercut_sign.sh cuts there. */
static int
sync_state(mr_app *app, mr_diag *d)
{
	if (mr_audit_sync(&app->audit, d) != MR_OK)
		return MR_E_AUDIT;
	if (mr_db_sync(&app->db, d) != MR_OK)
		return MR_E_DB;
	return MR_OK;
}

/* An item as the caller handed it in: only its request. Its bytes go in
 * the window's arena as they are made. */
static void
item_reset(mr_issue_item *it)
{
	it->err = MR_OK;
	mr_diag_clear(&it->diag);
	it->is.der_len = 0;
	it->is.der = NULL;
	it->is.serial[0] = '\0';
	it->is.already_issued = 0;
	it->is.audit_index = -1;
	it->is.record = "";
	it->is.record_len = 0;
	it->step = ST_NEW;
	it->dup_of = 0;
	memset(it->serial, 0, sizeof(it->serial));
	memset(&it->tbs, 0, sizeof(it->tbs));
}

/* a. Every request built, linted and reserved; then made durable. */
void
mr_issue_begin(mr_issue_job *job, mr_app *app, mr_issue_item *v, size_t k,
    mr_issue_arena *arena)
{
	serial_pool pool;
	int r = MR_OK;

	memset(job, 0, sizeof(*job));
	job->app = app;
	job->v = v;
	job->arena = arena;
	arena->used = 0;
	job->now = time(NULL);
	mr_diag_clear(&job->d);
	if (k > MR_ISSUE_WINDOW) {
		job->r = mr_diag_set(&job->d, MR_E_INTERNAL, "window of %zu requests", k);
		return;
	}
	job->k = k;
	for (size_t i = 0; i < k; i++)
		item_reset(&v[i]);
	memset(&pool, 0, sizeof(pool));
	if (k > 0) {
		mr_diag pd;
		mr_diag_clear(&pd);
		if (mr_token_random(app->tok, pool.bytes, k * 16, &pd) == MR_OK)
			pool.len = k * 16;
	}
	for (size_t i = 0; i < k && r == MR_OK; i++) {
		for (size_t j = 0; j < i; j++)
			if (v[j].step != ST_NEW && v[j].step != ST_DUP &&
			    strcmp(v[j].rq->csr_hash_hex, v[i].rq->csr_hash_hex) == 0) {
				v[i].step = ST_DUP;
				v[i].dup_of = j;
				break;
			}
		if (v[i].step == ST_NEW)
			r = prepare(app, &v[i], arena, &pool, job->now, &job->d);
	}
	if (r == MR_OK)
		r = sync_state(app, &job->d);
	job->r = r;
}

/* b. On the signing thread: the token, the items, the read-back. */
static void
sign_window(mr_issue_job *job)
{
	job->r = sign_all(job);
}

static mr_worker signer = MR_WORKER_INIT("mr-token", mr_cpus_enter_token, NULL);

static void
sign_job(void *arg)
{
	sign_window(arg);
}

void
mr_issue_sign_start(mr_issue_job *job)
{
	job->threaded = 0;
	if (job->k == 0 || job->r != MR_OK) {
		sign_window(job); /* nothing to sign, or only abandons to note */
		return;
	}
	if ((job->ticket = mr_worker_queue(&signer, sign_job, job)) == 0) {
		sign_window(job);
		return;
	}
	job->threaded = 1;
	mr_cpus_enter_rest();
}

int
mr_issue_sign_done(const mr_issue_job *job)
{
	return !job->threaded || mr_worker_job_done(&signer, job->ticket);
}

void
mr_issue_sign_wait(mr_issue_job *job)
{
	if (job->threaded)
		mr_worker_wait_job(&signer, job->ticket);
	job->threaded = 0;
}

/* b. (stored) and c. */
int
mr_issue_finish(mr_issue_job *job, mr_diag *d)
{
	mr_app *app = job->app;
	mr_issue_item *v = job->v;
	size_t k = job->k;
	int r;

	readback_finish(job);
	r = job->r;
	if (store(app, v, k, &job->d) != MR_OK && r == MR_OK)
		r = MR_E_STATE;
	/* c. An audit or database failure stops every later write: recovery
	 * resolves what is left reserved. */
	for (size_t i = 0; i < k; i++) {
		if (v[i].step == ST_STORED) {
			mr_diag e;
			mr_diag_clear(&e);
			int rr = record_issue(app, &v[i], job->arena, &e);
			if (rr != MR_OK) {
				/* Never released; recovery decides from the log. */
				v[i].step = ST_DONE;
				v[i].err = rr;
				mr_diag_set(&v[i].diag, rr, "%s", mr_diag_text(&e, rr));
				if (rr == MR_E_AUDIT || rr == MR_E_DB) {
					r = mr_diag_set(&job->d, rr, "%s", mr_diag_text(&e, rr));
					break;
				}
			} else {
				mr_crashpoint("after-db");
			}
		}
	}
	for (size_t i = 0; i < k && r != MR_E_AUDIT && r != MR_E_DB; i++) {
		if (v[i].step != ST_ABANDON)
			continue;
		v[i].step = ST_DONE;
		int e = v[i].err == MR_E_CANCELLED ? MR_E_STATE : v[i].err;
		if (abandon(app, v[i].rq, v[i].is.serial, e, &v[i].diag) == MR_E_AUDIT) {
			r = mr_diag_set(&job->d, MR_E_AUDIT, "%s", mr_diag_text(&v[i].diag, MR_E_AUDIT));
			break;
		}
	}
	/* Only now: every kept record durable, or none of it released. */
	if (r != MR_E_AUDIT && r != MR_E_DB) {
		int s = sync_state(app, &job->d);
		if (s != MR_OK)
			r = s;
	}
	for (size_t i = 0; i < k; i++) {
		if (v[i].step == ST_STORED) {
			v[i].step = ST_DONE;
			v[i].err = (r == MR_E_AUDIT || r == MR_E_DB) ? r : MR_OK;
			if (v[i].err != MR_OK)
				mr_diag_set(&v[i].diag, r, "not released: %s", mr_diag_text(&job->d, r));
		} else if (v[i].step == ST_NEW || v[i].step == ST_RESERVED || v[i].step == ST_UNCHECKED ||
		    v[i].step == ST_SIGNED || v[i].step == ST_ABANDON) {
			v[i].step = ST_DONE;
			if (v[i].err == MR_OK)
				v[i].err = mr_diag_set(&v[i].diag, MR_E_CANCELLED, "batch stopped");
		}
	}
	for (size_t i = 0; i < k; i++) {
		if (v[i].step != ST_DUP)
			continue;
		v[i].step = ST_DONE;
		v[i].err = v[v[i].dup_of].err;
		v[i].is = v[v[i].dup_of].is;
		v[i].is.already_issued = 1;
		v[i].diag = v[v[i].dup_of].diag;
	}
	if (r != MR_OK)
		mr_diag_set(d, r, "%s", mr_diag_text(&job->d, r));
	return r;
}

#include <wolfssl/options.h>
#include <wolfssl/wolfcrypt/ecc.h>
#include <wolfssl/wolfcrypt/ed25519.h>
#include <wolfssl/wolfcrypt/hash.h>
#include <wolfssl/wolfcrypt/sha256.h>

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mr_base64.h"
#include "mr_checkpoint.h"
#include "mr_pubkey.h"
#include "mr_record.h"

/* Signature lines start with U+2014 EM DASH and a space. */
static const char dash[] = "\xe2\x80\x94 ";
#define DASH_LEN 4

static int
why_set(char *why, size_t cap, int err, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
why_set(char *why, size_t cap, int err, const char *fmt, ...)
{
	va_list ap;

	if (why != NULL && cap > 0) {
		va_start(ap, fmt);
		vsnprintf(why, cap, fmt, ap);
		va_end(ap);
	}
	return err;
}

static int
name_ok_n(const char *s, size_t n)
{
	if (n == 0 || n >= MR_NOTE_NAME_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= 0x20 || (unsigned char)s[i] >= 0x7f || s[i] == '+')
			return 0;
	return 1;
}

int
mr_note_name_ok(const char *name)
{
	return name_ok_n(name, strlen(name));
}

int
mr_note_key_init(mr_note_key *k, const char *name, const uint8_t pub[32])
{
	uint8_t buf[MR_NOTE_NAME_MAX + 2 + 32], h[32];
	size_t n = strlen(name);

	if (!name_ok_n(name, n))
		return MR_E_ARG;
	memcpy(buf, name, n);
	buf[n] = 0x0a;
	buf[n + 1] = MR_NOTE_ED25519;
	memcpy(buf + n + 2, pub, 32);
	wc_Sha256Hash(buf, (word32)(n + 34), h);
	memset(k, 0, sizeof(*k));
	memcpy(k->name, name, n + 1);
	k->type = MR_NOTE_ED25519;
	memcpy(k->pub, pub, 32);
	k->pub_len = 32;
	memcpy(k->id, h, 4);
	return MR_OK;
}

int
mr_note_key_init_ecdsa(mr_note_key *k, const char *name, const uint8_t *spki, size_t spki_len)
{
	mr_spki parsed;
	mr_diag d;
	uint8_t h[32];
	size_t n = strlen(name);

	mr_diag_clear(&d);
	if (!name_ok_n(name, n) || spki_len > MR_NOTE_PUB_MAX ||
	    mr_spki_parse((mr_der){ spki, spki_len }, &parsed, &d) != MR_OK ||
	    parsed.type != MR_KEY_EC_P256 || parsed.whole.n != spki_len)
		return MR_E_ARG;
	/* The witness convention hashes the SPKI alone (no name, no type). */
	wc_Sha256Hash(spki, (word32)spki_len, h);
	memset(k, 0, sizeof(*k));
	memcpy(k->name, name, n + 1);
	k->type = MR_NOTE_ECDSA;
	memcpy(k->pub, spki, spki_len);
	k->pub_len = spki_len;
	memcpy(k->id, h, 4);
	return MR_OK;
}

const char *
mr_note_key_type_name(const mr_note_key *k)
{
	return k->type == MR_NOTE_ECDSA ? "ecdsa-p256" : "ed25519";
}

int
mr_note_vkey_format(const mr_note_key *k, char *out, size_t cap)
{
	uint8_t raw[1 + MR_NOTE_PUB_MAX];
	char enc[4 * (sizeof(raw) + 2) / 3 + 1], id[9];
	int w;

	if (k->pub_len > MR_NOTE_PUB_MAX)
		return MR_E_RANGE;
	raw[0] = k->type;
	memcpy(raw + 1, k->pub, k->pub_len);
	if (mr_base64_encode(raw, 1 + k->pub_len, enc, sizeof(enc)) != MR_OK)
		return MR_E_RANGE;
	mr_hex_encode(k->id, 4, id);
	w = snprintf(out, cap, "%s+%s+%s\n", k->name, id, enc);
	return w < 0 || (size_t)w >= cap ? MR_E_RANGE : MR_OK;
}

int
mr_note_vkey_parse(const char *text, size_t n, mr_note_key *k, char *why, size_t why_cap)
{
	const char *p1, *p2;
	char name[MR_NOTE_NAME_MAX], idhex[9];
	uint8_t raw[1 + MR_NOTE_PUB_MAX + 3], id[4];
	size_t raw_len;
	int r;

	if (n > 0 && text[n - 1] == '\n')
		n--;
	p1 = memchr(text, '+', n);
	if (p1 == NULL || (p2 = memchr(p1 + 1, '+', n - (size_t)(p1 + 1 - text))) == NULL)
		return why_set(why, why_cap, MR_E_DER, "audit key: not NAME+ID+KEY");
	if (!name_ok_n(text, (size_t)(p1 - text)))
		return why_set(why, why_cap, MR_E_DER, "audit key: bad key name");
	memcpy(name, text, (size_t)(p1 - text));
	name[p1 - text] = '\0';
	if (p2 - p1 - 1 != 8)
		return why_set(why, why_cap, MR_E_DER, "audit key: key ID is not 8 hex digits");
	memcpy(idhex, p1 + 1, 8);
	idhex[8] = '\0';
	/* Lowercase only: one spelling per key, as it is published. */
	for (size_t i = 0; i < 8; i++)
		if (idhex[i] >= 'A' && idhex[i] <= 'F')
			return why_set(why, why_cap, MR_E_DER, "audit key: key ID is not 8 hex digits");
	if (mr_hex_decode(idhex, id, 4) != MR_OK)
		return why_set(why, why_cap, MR_E_DER, "audit key: key ID is not 8 hex digits");
	if (mr_base64_decode(p2 + 1, n - (size_t)(p2 + 1 - text), raw, sizeof(raw), &raw_len) !=
	    MR_OK || raw_len < 2)
		return why_set(why, why_cap, MR_E_DER, "audit key: key is not base64");
	if (raw[0] == MR_NOTE_ED25519) {
		if (raw_len != 33)
			return why_set(why, why_cap, MR_E_DER,
			    "audit key: an Ed25519 key is not 32 bytes");
		r = mr_note_key_init(k, name, raw + 1);
	} else if (raw[0] == MR_NOTE_ECDSA) {
		r = mr_note_key_init_ecdsa(k, name, raw + 1, raw_len - 1);
		if (r != MR_OK && mr_note_name_ok(name))
			return why_set(why, why_cap, MR_E_DER,
			    "audit key: an ECDSA key that is not a P-256 SubjectPublicKeyInfo");
	} else
		return why_set(why, why_cap, MR_E_DER, "audit key: signature type 0x%02x, only "
		    "Ed25519 (0x01) and ECDSA P-256 (0x02) are accepted", raw[0]);
	if (r != MR_OK)
		return why_set(why, why_cap, MR_E_DER, "audit key: bad key name");
	if (memcmp(k->id, id, 4) != 0)
		return why_set(why, why_cap, MR_E_DER, "audit key: key ID does not match the key");
	return MR_OK;
}

int
mr_checkpoint_body(const char *origin, uint64_t size, const mr_merkle_hash root,
    const char *time, char *out, size_t cap, size_t *len)
{
	char enc[48];
	int w;

	if (!mr_note_name_ok(origin) || mr_base64_encode(root, 32, enc, sizeof(enc)) != MR_OK)
		return MR_E_ARG;
	if (time != NULL && time[0] != '\0')
		w = snprintf(out, cap, "%s\n%llu\n%s\ntime %s\n", origin, (unsigned long long)size,
		    enc, time);
	else
		w = snprintf(out, cap, "%s\n%llu\n%s\n", origin, (unsigned long long)size, enc);
	if (w < 0 || (size_t)w >= cap)
		return MR_E_RANGE;
	*len = (size_t)w;
	return MR_OK;
}

int
mr_note_sign_input(const mr_note_key *k, const char *body, size_t body_len, uint8_t digest[32],
    const uint8_t **in, size_t *in_len)
{
	if (body_len > 0xffffffffu)
		return MR_E_RANGE;
	if (k->type == MR_NOTE_ED25519) {
		*in = (const uint8_t *)body;
		*in_len = body_len;
		return MR_OK;
	}
	if (k->type != MR_NOTE_ECDSA || wc_Sha256Hash((const uint8_t *)body, (word32)body_len,
	    digest) != 0)
		return MR_E_ARG;
	*in = digest;
	*in_len = 32;
	return MR_OK;
}

int
mr_checkpoint_sign_line(const mr_note_key *k, const uint8_t sig[64], char *out, size_t cap,
    size_t *len)
{
	uint8_t raw[4 + 80];
	word32 sig_len = sizeof(raw) - 4;
	char enc[4 * (sizeof(raw) + 2) / 3 + 1];
	int w;

	memcpy(raw, k->id, 4);
	if (k->type == MR_NOTE_ED25519) {
		memcpy(raw + 4, sig, 64);
		sig_len = 64;
	} else if (k->type != MR_NOTE_ECDSA ||
	    wc_ecc_rs_raw_to_sig(sig, 32, sig + 32, 32, raw + 4, &sig_len) != 0)
		return MR_E_ARG;
	if (mr_base64_encode(raw, 4 + sig_len, enc, sizeof(enc)) != MR_OK || *len >= cap)
		return MR_E_RANGE;
	w = snprintf(out + *len, cap - *len, "\n%s%s %s\n", dash, k->name, enc);
	if (w < 0 || (size_t)w >= cap - *len)
		return MR_E_RANGE;
	*len += (size_t)w;
	return MR_OK;
}

/* Takes the next line of text[*pos..n) without its newline. */
static int
next_line(const char *text, size_t n, size_t *pos, const char **line, size_t *len)
{
	const char *nl;

	if (*pos >= n)
		return 0;
	nl = memchr(text + *pos, '\n', n - *pos);
	if (nl == NULL)
		return 0;
	*line = text + *pos;
	*len = (size_t)(nl - *line);
	*pos += *len + 1;
	return 1;
}

static int
parse_u64(const char *s, size_t n, uint64_t *v)
{
	uint64_t x = 0;

	if (n == 0 || n > 20 || (n > 1 && s[0] == '0'))
		return MR_E_DER;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return MR_E_DER;
		if (x > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return MR_E_RANGE;
		x = x * 10 + (uint64_t)(s[i] - '0');
	}
	*v = x;
	return MR_OK;
}

/* Walks the signature lines after the blank line; for each one calls back
 * with the name and the decoded (id || signature). */
typedef int (*sig_fn)(void *ctx, const char *name, size_t name_len, const uint8_t *raw,
    size_t raw_len);

static int
parse_note(const char *text, size_t n, mr_checkpoint *cp, sig_fn fn, void *ctx, char *why,
    size_t why_cap)
{
	const char *line, *sep = NULL;
	size_t len, pos = 0, body;
	uint8_t raw[128];
	size_t raw_len;

	memset(cp, 0, sizeof(*cp));
	if (n > MR_CHECKPOINT_MAX)
		return why_set(why, why_cap, MR_E_RANGE, "checkpoint longer than %d bytes",
		    MR_CHECKPOINT_MAX);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		/* ASCII but the em dash; no control characters but newline. */
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return why_set(why, why_cap, MR_E_DER, "checkpoint: control character at byte %zu", i);
		if (c >= 0x80 && !(i + 2 < n && memcmp(text + i, dash, 3) == 0 &&
		    (i == 0 || text[i - 1] == '\n')))
			return why_set(why, why_cap, MR_E_DER, "checkpoint: non-ASCII byte at %zu", i);
		if (c >= 0x80)
			i += 2;
	}
	/* The last blank line separates the text from its signatures. */
	for (size_t i = n; i >= 2; i--)
		if (text[i - 1] == '\n' && text[i - 2] == '\n') {
			sep = text + i - 2;
			break;
		}
	if (sep == NULL)
		return why_set(why, why_cap, MR_E_DER, "checkpoint: no blank line before signatures");
	body = (size_t)(sep - text) + 1;
	cp->body_len = body;

	if (!next_line(text, body, &pos, &line, &len) || !name_ok_n(line, len))
		return why_set(why, why_cap, MR_E_DER, "checkpoint: bad origin line");
	memcpy(cp->origin, line, len);
	cp->origin[len] = '\0';
	if (!next_line(text, body, &pos, &line, &len) || parse_u64(line, len, &cp->size) != MR_OK)
		return why_set(why, why_cap, MR_E_DER, "checkpoint: bad tree size line");
	if (!next_line(text, body, &pos, &line, &len) ||
	    mr_base64_decode(line, len, raw, sizeof(raw), &raw_len) != MR_OK || raw_len != 32)
		return why_set(why, why_cap, MR_E_DER, "checkpoint: bad root hash line");
	memcpy(cp->root, raw, 32);
	while (next_line(text, body, &pos, &line, &len)) {
		if (len == 0)
			return why_set(why, why_cap, MR_E_DER, "checkpoint: empty extension line");
		if (len > 5 && memcmp(line, "time ", 5) == 0 && len - 5 < sizeof(cp->time)) {
			memcpy(cp->time, line + 5, len - 5);
			cp->time[len - 5] = '\0';
		}
	}

	pos = body + 1;
	while (pos < n) {
		const char *sp;
		if (!next_line(text, n, &pos, &line, &len))
			return why_set(why, why_cap, MR_E_DER, "checkpoint: signature line without newline");
		if (len < DASH_LEN || memcmp(line, dash, DASH_LEN) != 0)
			return why_set(why, why_cap, MR_E_DER, "checkpoint: line after the blank line is not a signature");
		line += DASH_LEN;
		len -= DASH_LEN;
		sp = memchr(line, ' ', len);
		if (sp == NULL || !name_ok_n(line, (size_t)(sp - line)))
			return why_set(why, why_cap, MR_E_DER, "checkpoint: bad signature line");
		if (mr_base64_decode(sp + 1, len - (size_t)(sp + 1 - line), raw, sizeof(raw),
			&raw_len) != MR_OK || raw_len < 5)
			return why_set(why, why_cap, MR_E_DER, "checkpoint: bad signature encoding");
		if (++cp->nsigs > 100)
			return why_set(why, why_cap, MR_E_RANGE, "checkpoint: too many signatures");
		if (fn != NULL) {
			int r = fn(ctx, line, (size_t)(sp - line), raw, raw_len);
			if (r != MR_OK)
				return why_set(why, why_cap, r,
				    "checkpoint: signature by %.*s does not verify", (int)(sp - line), line);
		}
	}
	if (cp->nsigs == 0)
		return why_set(why, why_cap, MR_E_DER, "checkpoint: no signature");
	return MR_OK;
}

int
mr_checkpoint_parse(const char *text, size_t n, mr_checkpoint *cp, char *why, size_t why_cap)
{
	return parse_note(text, n, cp, NULL, NULL, why, why_cap);
}

typedef struct {
	const mr_note_key *k;
	const uint8_t *msg;
	size_t msg_len;
	int verified;
} verify_ctx;

static int
verify_ed25519(const mr_note_key *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
    size_t sig_len)
{
	ed25519_key key;
	int ok = 0;

	if (sig_len != 64 || wc_ed25519_init(&key) != 0)
		return 0;
	if (wc_ed25519_import_public(k->pub, 32, &key) != 0 ||
	    wc_ed25519_verify_msg(sig, 64, msg, (word32)msg_len, &ok, &key) != 0)
		ok = 0;
	wc_ed25519_free(&key);
	return ok == 1;
}

/* Only the DER encoding wolfSSL itself writes for (r, s) is taken: one
 * signature has one spelling, so an edited encoding cannot pass. */
static int
verify_ecdsa(const mr_note_key *k, const uint8_t *msg, size_t msg_len, const uint8_t *sig,
    size_t sig_len)
{
	/* r and s as large as the whole signature: Debian's wolfSSL 5.5.4
	 * writes an integer of any length the DER claims into them. */
	uint8_t r[80], s[80], again[80];
	word32 rl = sizeof(r), sl = sizeof(s), al = sizeof(again);
	mr_spki key;
	mr_diag d;

	mr_diag_clear(&d);
	if (sig_len > sizeof(again) ||
	    wc_ecc_sig_to_rs(sig, (word32)sig_len, r, &rl, s, &sl) != 0 ||
	    wc_ecc_rs_raw_to_sig(r, rl, s, sl, again, &al) != 0 || al != sig_len ||
	    memcmp(again, sig, sig_len) != 0)
		return 0;
	if (mr_spki_parse((mr_der){ k->pub, k->pub_len }, &key, &d) != MR_OK)
		return 0;
	return mr_sig_verify(&key, MR_SIG_ECDSA_SHA256, msg, msg_len, sig, sig_len, &d) == MR_OK;
}

static int
verify_one(void *vctx, const char *name, size_t name_len, const uint8_t *raw, size_t raw_len)
{
	verify_ctx *c = vctx;
	int ok = 0;

	if (name_len != strlen(c->k->name) || memcmp(name, c->k->name, name_len) != 0 ||
	    memcmp(raw, c->k->id, 4) != 0)
		return MR_OK; /* someone else's signature: not ours to judge */
	if (c->k->type == MR_NOTE_ED25519)
		ok = verify_ed25519(c->k, c->msg, c->msg_len, raw + 4, raw_len - 4);
	else if (c->k->type == MR_NOTE_ECDSA)
		ok = verify_ecdsa(c->k, c->msg, c->msg_len, raw + 4, raw_len - 4);
	if (ok)
		c->verified = 1;
	return ok ? MR_OK : MR_E_SIG;
}

int
mr_checkpoint_open(const char *text, size_t n, const mr_note_key *k, mr_checkpoint *cp,
    char *why, size_t why_cap)
{
	verify_ctx c = { k, (const uint8_t *)text, 0, 0 };
	int r;

	/* The body length is known only after the split: find it first. */
	if ((r = parse_note(text, n, cp, NULL, NULL, why, why_cap)) != MR_OK)
		return r;
	c.msg_len = cp->body_len;
	if ((r = parse_note(text, n, cp, verify_one, &c, why, why_cap)) != MR_OK)
		return r == MR_E_SIG ? MR_E_SIG : r;
	if (!c.verified)
		return why_set(why, why_cap, MR_E_SIG,
		    "checkpoint: no signature by the audit key %s+%02x%02x%02x%02x", k->name,
		    k->id[0], k->id[1], k->id[2], k->id[3]);
	return MR_OK;
}

int
mr_checkpoint_next_note(const char *text, size_t n, size_t *pos, size_t *start, size_t *len)
{
	size_t p = *pos;
	int in_sigs = 0;

	if (p >= n)
		return 0;
	*start = p;
	while (p < n) {
		const char *nl = memchr(text + p, '\n', n - p);
		size_t ll = nl ? (size_t)(nl - (text + p)) : n - p;
		int sig = ll >= 4 && memcmp(text + p, "\xe2\x80\x94 ", 4) == 0;
		if (in_sigs && !sig)
			break;
		if (sig)
			in_sigs = 1;
		p += ll + (nl ? 1 : 0);
	}
	*len = p - *start;
	*pos = p;
	return 1;
}

#include <limits.h>
#include <strings.h>
#include <string.h>

#include "mr_crl.h"
#include "mr_oid.h"

#define ENUMERATED 0x0a

/* 2.5.29.20 cRLNumber, 2.5.29.21 reasonCode (RFC 5280 5.2.3, 5.3.1). */
static const uint8_t oid_crl_number[] = { 0x55, 0x1d, 0x14 };
static const uint8_t oid_reason_code[] = { 0x55, 0x1d, 0x15 };
static const mr_oid OID_CRL_NUMBER = { oid_crl_number, sizeof(oid_crl_number) };
static const mr_oid OID_REASON_CODE = { oid_reason_code, sizeof(oid_reason_code) };

static const struct {
	int code;
	const char *name;
} reasons[] = {
	{ MR_CRL_REASON_UNSPECIFIED, "unspecified" },
	{ MR_CRL_REASON_KEY_COMPROMISE, "keyCompromise" },
	{ MR_CRL_REASON_CA_COMPROMISE, "cACompromise" },
	{ MR_CRL_REASON_AFFILIATION_CHANGED, "affiliationChanged" },
	{ MR_CRL_REASON_SUPERSEDED, "superseded" },
	{ MR_CRL_REASON_CESSATION_OF_OPERATION, "cessationOfOperation" },
	{ MR_CRL_REASON_CERTIFICATE_HOLD, "certificateHold" },
	{ MR_CRL_REASON_REMOVE_FROM_CRL, "removeFromCRL" },
	{ MR_CRL_REASON_PRIVILEGE_WITHDRAWN, "privilegeWithdrawn" },
	{ MR_CRL_REASON_AA_COMPROMISE, "aACompromise" },
};

const char *
mr_crl_reason_name(int reason)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (reasons[i].code == reason)
			return reasons[i].name;
	return NULL;
}

int
mr_crl_reason_parse(const char *name, int *reason)
{
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		if (strcasecmp(name, reasons[i].name) != 0)
			continue;
		/* A hold is reversible and meaningless for an offline root's
		 * intermediates; removeFromCRL exists only in delta CRLs
		 * (5.3.1), which meshroot does not issue. */
		if (reasons[i].code == MR_CRL_REASON_CERTIFICATE_HOLD ||
		    reasons[i].code == MR_CRL_REASON_REMOVE_FROM_CRL)
			return MR_E_ARG;
		*reason = reasons[i].code;
		return MR_OK;
	}
	return MR_E_ARG;
}

static int
reason_ok(int reason)
{
	return reason != MR_CRL_REASON_CERTIFICATE_HOLD &&
	    reason != MR_CRL_REASON_REMOVE_FROM_CRL && mr_crl_reason_name(reason) != NULL;
}

static void
extension(mr_dw *w, const mr_oid *oid, size_t value_mark)
{
	/* Every extension written here is non-critical (5.2.1, 5.2.3, 5.3). */
	mr_dw_wrap(w, MR_DER_OCTET_STRING, value_mark);
	mr_dw_oid(w, oid);
	mr_dw_wrap(w, MR_DER_SEQUENCE, value_mark);
}

int
mr_crl_tbs_build(const mr_crl_params *p, uint8_t *buf, size_t cap, mr_der *out)
{
	mr_dw w;
	size_t exts, m;
	const uint8_t *res;
	size_t n;

	if (p->aki == NULL || p->issuer.n == 0 || p->next_update <= p->this_update ||
	    (p->n_entries > 0 && p->entries == NULL))
		return MR_E_ARG;
	for (size_t i = 0; i < p->n_entries; i++) {
		const mr_crl_entry *e = &p->entries[i];
		if (e->serial_len == 0 || e->serial_len > 20 || (e->serial[0] & 0x80) != 0 ||
		    !reason_ok(e->reason))
			return MR_E_ARG;
	}
	mr_dw_init(&w, buf, cap);

	/* crlExtensions [0] EXPLICIT, written last to first. */
	exts = mr_dw_len(&w);
	m = mr_dw_len(&w);
	mr_dw_uint(&w, p->crl_number);
	extension(&w, &OID_CRL_NUMBER, m);
	m = mr_dw_len(&w);
	mr_dw_tlv(&w, 0x80, p->aki, 20);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, m);
	extension(&w, &MR_OID_CE_AKI, m);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, exts);
	mr_dw_wrap(&w, MR_DER_CONTEXT0, exts);

	if (p->n_entries > 0) {
		size_t list = mr_dw_len(&w);
		for (size_t i = p->n_entries; i-- > 0;) {
			const mr_crl_entry *e = &p->entries[i];
			size_t entry = mr_dw_len(&w);
			if (e->reason != MR_CRL_REASON_UNSPECIFIED) {
				size_t eexts = mr_dw_len(&w);
				uint8_t code = (uint8_t)e->reason;
				m = mr_dw_len(&w);
				mr_dw_tlv(&w, ENUMERATED, &code, 1);
				extension(&w, &OID_REASON_CODE, m);
				mr_dw_wrap(&w, MR_DER_SEQUENCE, eexts);
			}
			mr_dw_time(&w, e->revoked_at);
			mr_dw_uint_bytes(&w, e->serial, e->serial_len);
			mr_dw_wrap(&w, MR_DER_SEQUENCE, entry);
		}
		mr_dw_wrap(&w, MR_DER_SEQUENCE, list);
	}
	mr_dw_time(&w, p->next_update);
	mr_dw_time(&w, p->this_update);
	mr_dw_raw_der(&w, p->issuer);
	mr_dw_sig_alg(&w, p->sig_alg);
	mr_dw_uint(&w, 1); /* v2 */
	mr_dw_wrap(&w, MR_DER_SEQUENCE, 0);
	if (mr_dw_finish(&w, &res, &n) != MR_OK)
		return w.err;
	*out = mr_der_view(res, n);
	return MR_OK;
}

/* One Extension: its OID, criticality and value (OCTET STRING content). */
static int
take_ext(mr_der *exts, mr_der *oid, int *critical, mr_der *value)
{
	mr_der ext;

	*critical = 0;
	if (mr_der_expect(exts, MR_DER_SEQUENCE, &ext, NULL) != MR_OK ||
	    mr_der_expect(&ext, MR_DER_OID, oid, NULL) != MR_OK)
		return MR_E_DER;
	if (mr_der_peek(&ext) == MR_DER_BOOLEAN) {
		mr_der b;
		if (mr_der_expect(&ext, MR_DER_BOOLEAN, &b, NULL) != MR_OK ||
		    mr_der_bool(b, critical) != MR_OK || !*critical)
			return MR_E_DER; /* DER omits the DEFAULT FALSE */
	}
	if (mr_der_expect(&ext, MR_DER_OCTET_STRING, value, NULL) != MR_OK || ext.n != 0)
		return MR_E_DER;
	return MR_OK;
}

static int
take_time(mr_der *in, time_t *t)
{
	int tag = mr_der_peek(in);
	mr_der c;

	if (tag != MR_DER_UTC_TIME && tag != MR_DER_GENERALIZED_TIME)
		return MR_E_DER;
	if (mr_der_expect(in, (uint8_t)tag, &c, NULL) != MR_OK)
		return MR_E_DER;
	return mr_der_time((uint8_t)tag, c, t);
}

int
mr_crl_next(mr_der *revoked, mr_crl_revoked *e, mr_diag *d)
{
	mr_der entry, save = *revoked;

	if (revoked->n == 0)
		return MR_E_NOTFOUND;
	e->reason = -1;
	if (mr_der_expect(revoked, MR_DER_SEQUENCE, &entry, NULL) != MR_OK ||
	    mr_der_expect(&entry, MR_DER_INTEGER, &e->serial, NULL) != MR_OK ||
	    e->serial.n == 0 || e->serial.n > 21 || take_time(&entry, &e->revoked_at) != MR_OK)
		goto bad;
	if (entry.n != 0) {
		mr_der exts;
		int seen_reason = 0;
		if (mr_der_expect(&entry, MR_DER_SEQUENCE, &exts, NULL) != MR_OK || entry.n != 0 ||
		    exts.n == 0)
			goto bad;
		while (exts.n != 0) {
			mr_der oid, value, en;
			int critical;
			if (take_ext(&exts, &oid, &critical, &value) != MR_OK)
				goto bad;
			if (mr_oid_is(oid, &OID_REASON_CODE)) {
				if (seen_reason++ ||
				    mr_der_whole(value.p, value.n, ENUMERATED, &en) != MR_OK ||
				    en.n != 1 || !reason_ok(en.p[0]))
					goto bad;
				e->reason = en.p[0];
			} else if (critical) {
				*revoked = save;
				return mr_diag_set(d, MR_E_CERT,
				    "a CRL entry has an unknown critical extension (RFC 5280 5.3)");
			}
		}
	}
	return MR_OK;
bad:
	*revoked = save;
	return mr_diag_set(d, MR_E_DER, "malformed CRL entry");
}

static int
parse_tbs(mr_crl *c, mr_diag *d)
{
	mr_der tbs, alg, v;
	unsigned long version;
	int r;

	if (mr_der_whole(c->tbs.p, c->tbs.n, MR_DER_SEQUENCE, &tbs) != MR_OK)
		return mr_diag_set(d, MR_E_DER, "malformed TBSCertList");
	/* RFC 5280 5.1.2.1: version MUST be v2 when extensions are used;
	 * meshroot accepts only v2 CRLs. */
	if (mr_der_expect(&tbs, MR_DER_INTEGER, &v, NULL) != MR_OK ||
	    mr_der_uint(v, &version) != MR_OK || version != 1)
		return mr_diag_set(d, MR_E_CERT, "CRL version is not v2");
	if (mr_der_expect(&tbs, MR_DER_SEQUENCE, &alg, NULL) != MR_OK ||
	    mr_sig_alg_parse(alg, &c->tbs_sig_alg) != MR_OK)
		return mr_diag_set(d, MR_E_CERT, "unsupported CRL signature algorithm");
	if (mr_der_expect(&tbs, MR_DER_SEQUENCE, NULL, &c->issuer) != MR_OK ||
	    take_time(&tbs, &c->this_update) != MR_OK)
		return mr_diag_set(d, MR_E_DER, "malformed CRL issuer or thisUpdate");
	if (mr_der_peek(&tbs) == MR_DER_UTC_TIME || mr_der_peek(&tbs) == MR_DER_GENERALIZED_TIME) {
		if (take_time(&tbs, &c->next_update) != MR_OK)
			return mr_diag_set(d, MR_E_DER, "malformed CRL nextUpdate");
		c->has_next_update = 1;
	}
	if (mr_der_peek(&tbs) == MR_DER_SEQUENCE) {
		mr_der list, e;
		mr_crl_revoked rv;
		if (mr_der_expect(&tbs, MR_DER_SEQUENCE, &list, NULL) != MR_OK || list.n == 0)
			return mr_diag_set(d, MR_E_DER,
			    "empty revokedCertificates (RFC 5280 5.1.2.6: MUST be absent)");
		c->revoked = list;
		e = list;
		while ((r = mr_crl_next(&e, &rv, d)) == MR_OK)
			c->n_revoked++;
		if (r != MR_E_NOTFOUND)
			return r;
	}
	if (mr_der_peek(&tbs) == MR_DER_CONTEXT0) {
		mr_der wrap, exts;
		int seen_aki = 0, seen_num = 0;
		if (mr_der_expect(&tbs, MR_DER_CONTEXT0, &wrap, NULL) != MR_OK ||
		    mr_der_whole(wrap.p, wrap.n, MR_DER_SEQUENCE, &exts) != MR_OK || exts.n == 0)
			return mr_diag_set(d, MR_E_DER, "malformed crlExtensions");
		while (exts.n != 0) {
			mr_der oid, value, inner;
			int critical;
			if (take_ext(&exts, &oid, &critical, &value) != MR_OK)
				return mr_diag_set(d, MR_E_DER, "malformed CRL extension");
			if (mr_oid_is(oid, &MR_OID_CE_AKI)) {
				mr_der aki;
				if (seen_aki++ ||
				    mr_der_whole(value.p, value.n, MR_DER_SEQUENCE, &aki) != MR_OK)
					return mr_diag_set(d, MR_E_DER, "malformed CRL AKI");
				if (mr_der_peek(&aki) == 0x80 &&
				    mr_der_expect(&aki, 0x80, &c->aki_key_id, NULL) != MR_OK)
					return mr_diag_set(d, MR_E_DER, "malformed CRL AKI");
				c->has_aki = 1;
			} else if (mr_oid_is(oid, &OID_CRL_NUMBER)) {
				/* 5.2.3: a non-negative INTEGER of at most 20
				 * octets; other CAs use all of them. */
				if (seen_num++ ||
				    mr_der_whole(value.p, value.n, MR_DER_INTEGER, &inner) != MR_OK ||
				    inner.n == 0 || inner.n > 21 || (inner.p[0] & 0x80) != 0 ||
				    (inner.n > 1 && inner.p[0] == 0 && (inner.p[1] & 0x80) == 0) ||
				    (inner.n == 21 && inner.p[0] != 0))
					return mr_diag_set(d, MR_E_DER, "malformed or oversized cRLNumber");
				c->crl_number_der = inner;
				if (mr_der_uint(inner, &c->crl_number) != MR_OK)
					c->crl_number = ULONG_MAX;
				c->has_crl_number = 1;
			} else if (critical) {
				return mr_diag_set(d, MR_E_CERT,
				    "CRL has an unknown critical extension (RFC 5280 5.2)");
			}
		}
	}
	if (tbs.n != 0)
		return mr_diag_set(d, MR_E_DER, "trailing bytes in TBSCertList");
	return MR_OK;
}

int
mr_crl_parse(const uint8_t *der, size_t n, mr_crl *c, mr_diag *d)
{
	mr_der in = mr_der_view(der, n), seq, alg, bits;
	int r;

	memset(c, 0, sizeof(*c));
	if (mr_der_expect(&in, MR_DER_SEQUENCE, &seq, &c->whole) != MR_OK || in.n != 0 ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, NULL, &c->tbs) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, &alg, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_BIT_STRING, &bits, NULL) != MR_OK || seq.n != 0 ||
	    mr_der_bits(bits, &c->sig) != MR_OK)
		return mr_diag_set(d, MR_E_DER, "malformed CRL");
	if (mr_sig_alg_parse(alg, &c->sig_alg) != MR_OK)
		return mr_diag_set(d, MR_E_CERT, "unsupported CRL signature algorithm");
	if ((r = parse_tbs(c, d)) != MR_OK)
		return r;
	/* RFC 5280 5.1.1.2: MUST be the same as the signature field. */
	if (c->sig_alg != c->tbs_sig_alg)
		return mr_diag_set(d, MR_E_CERT, "CRL signatureAlgorithm differs from the TBS field");
	return MR_OK;
}

int
mr_crl_find(const mr_crl *c, mr_der serial, mr_crl_revoked *e)
{
	mr_der list = c->revoked;
	mr_crl_revoked rv;

	while (mr_crl_next(&list, &rv, NULL) == MR_OK) {
		if (mr_der_equal(rv.serial, serial)) {
			if (e != NULL)
				*e = rv;
			return 1;
		}
	}
	return 0;
}

int
mr_crl_verify_signature(const mr_crl *c, const mr_spki *issuer_key, mr_diag *d)
{
	return mr_sig_verify(issuer_key, c->sig_alg, c->tbs.p, c->tbs.n, c->sig.p, c->sig.n, d);
}

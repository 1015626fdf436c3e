#include <string.h>

#include "mr_cert.h"
#include "mr_oid.h"
#include "mr_tbs.h"

static int
printable(const char *s)
{
	for (; *s; s++) {
		char c = *s;
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
			(c >= '0' && c <= '9') || strchr(" '()+,-./:=?", c) != NULL))
			return 0;
	}
	return 1;
}

static void
rdn(mr_dw *w, const mr_oid *type, uint8_t str_tag, const char *value)
{
	size_t set = mr_dw_len(w), atv;

	atv = set;
	mr_dw_tlv(w, str_tag, value, strlen(value));
	mr_dw_oid(w, type);
	mr_dw_wrap(w, MR_DER_SEQUENCE, atv);
	mr_dw_wrap(w, MR_DER_SET, set);
}

int
mr_name_build(const mr_name_fields *f, uint8_t *buf, size_t cap, mr_der *out)
{
	const struct {
		const mr_oid *oid;
		const char *v;
	} rdns[] = {
		{ &MR_OID_AT_C, f->c }, { &MR_OID_AT_O, f->o }, { &MR_OID_AT_OU, f->ou },
		{ &MR_OID_AT_L, f->l }, { &MR_OID_AT_CN, f->cn },
	};
	mr_dw w;
	const uint8_t *p;
	size_t n, count = 0;

	mr_dw_init(&w, buf, cap);
	for (size_t i = sizeof(rdns) / sizeof(rdns[0]); i-- > 0;) {
		const char *v = rdns[i].v;
		if (v == NULL || v[0] == '\0')
			continue;
		count++;
		if (rdns[i].oid == &MR_OID_AT_C) {
			/* RFC 5280 A.1: countryName is a two-letter PrintableString. */
			if (strlen(v) != 2 || !printable(v))
				return MR_E_ARG;
			rdn(&w, rdns[i].oid, MR_DER_PRINTABLE_STRING, v);
		} else {
			/* RFC 5280 A.1: ub-common-name, ub-organization-name and
			 * ub-locality-name are 64; UTF8String per 4.1.2.4. */
			if (strlen(v) > 64)
				return MR_E_RANGE;
			rdn(&w, rdns[i].oid, MR_DER_UTF8_STRING, v);
		}
	}
	if (count == 0)
		return MR_E_ARG; /* RFC 5280 4.1.2.6: a CA's subject is non-empty */
	mr_dw_wrap(&w, MR_DER_SEQUENCE, 0);
	if (mr_dw_finish(&w, &p, &n) != MR_OK)
		return MR_E_RANGE;
	*out = mr_der_view(p, n);
	return MR_OK;
}

static void
extension(mr_dw *w, const mr_oid *oid, int critical, size_t value_mark)
{
	/* The value was written already; wrap it into an OCTET STRING and
	 * put the OID and critical flag in front of it. */
	mr_dw_wrap(w, MR_DER_OCTET_STRING, value_mark);
	if (critical)
		mr_dw_bool(w, 1);
	mr_dw_oid(w, oid);
	mr_dw_wrap(w, MR_DER_SEQUENCE, value_mark);
}

static void
key_usage_bits(mr_dw *w, unsigned ku)
{
	uint8_t bytes[3];
	size_t n = 0;
	unsigned highest = 0, unused;

	for (unsigned b = 0; b < 9; b++)
		if (ku & (1u << b))
			highest = b;
	n = highest / 8 + 1;
	memset(bytes, 0, sizeof(bytes));
	for (unsigned b = 0; b <= highest; b++)
		if (ku & (1u << b))
			bytes[1 + b / 8] |= (uint8_t)(0x80u >> (b % 8));
	/* DER (X.690 11.2.2, RFC 5280 4.2.1.3 note): trailing zero bits are
	 * removed, so the unused-bit count covers everything past the highest
	 * set bit. */
	unused = 7 - highest % 8;
	bytes[0] = (uint8_t)unused;
	mr_dw_tlv(w, MR_DER_BIT_STRING, bytes, n + 1);
}

int
mr_tbs_build(const mr_tbs_params *p, uint8_t *buf, size_t cap, mr_der *out)
{
	mr_dw w;
	size_t exts, m;
	const uint8_t *res;
	size_t n;

	if (p->serial_len == 0 || p->serial_len > 20 || (p->serial[0] & 0x80) != 0 ||
	    p->ski == NULL || p->aki == NULL || p->key_usage == 0 || p->key_usage > 0x1ff)
		return MR_E_ARG;
	mr_dw_init(&w, buf, cap);

	/* [3] EXPLICIT Extensions, written last to first. */
	exts = mr_dw_len(&w);

	if ((p->nc_uri_host != NULL && p->nc_uri_host[0] != '\0') || p->n_nc_dns > 0) {
		/* nameConstraints: RFC 5280 4.2.1.10 "Conforming CAs MUST mark
		 * this extension as critical"; permittedSubtrees [0] of
		 * GeneralSubtree { base } (minimum 0 and no maximum: DEFAULTs,
		 * omitted in DER). */
		size_t nc = mr_dw_len(&w), subtrees;
		m = nc;
		subtrees = mr_dw_len(&w);
		for (size_t i = p->n_nc_dns; i-- > 0;) {
			size_t st = mr_dw_len(&w);
			mr_dw_tlv(&w, 0x82, p->nc_dns[i], strlen(p->nc_dns[i])); /* [2] dNSName */
			mr_dw_wrap(&w, MR_DER_SEQUENCE, st);
		}
		if (p->nc_uri_host != NULL && p->nc_uri_host[0] != '\0') {
			size_t st = mr_dw_len(&w);
			/* [6] uniformResourceIdentifier: for a URI constraint the
			 * value is a host, matched against the URI's host part. */
			mr_dw_tlv(&w, 0x86, p->nc_uri_host, strlen(p->nc_uri_host));
			mr_dw_wrap(&w, MR_DER_SEQUENCE, st);
		}
		mr_dw_wrap(&w, MR_DER_CONTEXT0, subtrees);
		mr_dw_wrap(&w, MR_DER_SEQUENCE, m);
		extension(&w, &MR_OID_CE_NAME_CONSTRAINTS, 1, nc);
	}

	m = mr_dw_len(&w); /* authorityKeyIdentifier: [0] keyIdentifier */
	mr_dw_tlv(&w, 0x80, p->aki, 20);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, m);
	extension(&w, &MR_OID_CE_AKI, 0, m);

	m = mr_dw_len(&w); /* subjectKeyIdentifier */
	mr_dw_tlv(&w, MR_DER_OCTET_STRING, p->ski, 20);
	extension(&w, &MR_OID_CE_SKI, 0, m);

	m = mr_dw_len(&w); /* keyUsage: RFC 5280 4.2.1.3 "SHOULD mark critical" */
	key_usage_bits(&w, p->key_usage);
	extension(&w, &MR_OID_CE_KEY_USAGE, 1, m);

	m = mr_dw_len(&w); /* basicConstraints: 4.2.1.9 "MUST ... critical" in CAs */
	if (p->path_len >= 0)
		mr_dw_uint(&w, (unsigned long)p->path_len);
	mr_dw_bool(&w, 1);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, m);
	extension(&w, &MR_OID_CE_BASIC_CONSTRAINTS, 1, m);

	mr_dw_wrap(&w, MR_DER_SEQUENCE, exts);
	mr_dw_wrap(&w, MR_DER_CONTEXT3, exts);

	mr_dw_raw_der(&w, p->spki);
	mr_dw_raw_der(&w, p->subject);
	m = mr_dw_len(&w);
	mr_dw_time(&w, p->not_after);
	mr_dw_time(&w, p->not_before);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, m);
	mr_dw_raw_der(&w, p->issuer);
	mr_dw_sig_alg(&w, p->sig_alg);
	mr_dw_uint_bytes(&w, p->serial, p->serial_len);
	m = mr_dw_len(&w); /* version [0] EXPLICIT v3(2) */
	mr_dw_uint(&w, 2);
	mr_dw_wrap(&w, MR_DER_CONTEXT0, m);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, 0);
	if (mr_dw_finish(&w, &res, &n) != MR_OK)
		return w.err;
	*out = mr_der_view(res, n);
	return MR_OK;
}

int
mr_cert_assemble(mr_der tbs, mr_sig_alg alg, const uint8_t *sig, size_t sig_len,
    uint8_t *buf, size_t cap, mr_der *out)
{
	mr_dw w;
	const uint8_t *res;
	size_t n;

	mr_dw_init(&w, buf, cap);
	mr_dw_bits(&w, sig, sig_len);
	mr_dw_sig_alg(&w, alg);
	mr_dw_raw_der(&w, tbs);
	mr_dw_wrap(&w, MR_DER_SEQUENCE, 0);
	if (mr_dw_finish(&w, &res, &n) != MR_OK)
		return w.err;
	*out = mr_der_view(res, n);
	return MR_OK;
}

#include <stdio.h>
#include <string.h>

#include "mr_cert.h"
#include "mr_oid.h"

static int
parse_bc(mr_der v, mr_exts *e)
{
	mr_der seq, c;

	if (mr_der_whole(v.p, v.n, MR_DER_SEQUENCE, &seq) != MR_OK)
		return MR_E_DER;
	e->bc_ca = 0;
	e->bc_pathlen = -1;
	if (mr_der_peek(&seq) == MR_DER_BOOLEAN) {
		if (mr_der_expect(&seq, MR_DER_BOOLEAN, &c, NULL) != MR_OK ||
		    mr_der_bool(c, &e->bc_ca) != MR_OK || !e->bc_ca)
			return MR_E_DER; /* FALSE is the DEFAULT: DER omits it */
	}
	if (seq.n != 0) {
		unsigned long pl;
		if (mr_der_expect(&seq, MR_DER_INTEGER, &c, NULL) != MR_OK ||
		    mr_der_uint(c, &pl) != MR_OK || pl > 255 || seq.n != 0)
			return MR_E_DER;
		e->bc_pathlen = (long)pl;
	}
	return MR_OK;
}

static int
parse_ku(mr_der v, mr_exts *e)
{
	mr_der bits;
	unsigned unused;

	if (mr_der_whole(v.p, v.n, MR_DER_BIT_STRING, &bits) != MR_OK || bits.n < 2 ||
	    bits.n > 3 || bits.p[0] > 7)
		return MR_E_DER;
	unused = bits.p[0];
	/* DER (X.690 11.2.2): unused bits are zero. */
	if ((bits.p[bits.n - 1] & ((1u << unused) - 1)) != 0)
		return MR_E_DER;
	e->ku = 0;
	for (size_t i = 1; i < bits.n; i++)
		for (unsigned b = 0; b < 8; b++)
			if (bits.p[i] & (0x80u >> b))
				e->ku |= 1u << ((i - 1) * 8 + b);
	return MR_OK;
}

static int
parse_ski(mr_der v, mr_exts *e)
{
	return mr_der_whole(v.p, v.n, MR_DER_OCTET_STRING, &e->ski);
}

static int
parse_aki(mr_der v, mr_exts *e)
{
	mr_der seq, id;

	if (mr_der_whole(v.p, v.n, MR_DER_SEQUENCE, &seq) != MR_OK)
		return MR_E_DER;
	e->aki_key_id = mr_der_view(NULL, 0);
	/* keyIdentifier [0] IMPLICIT OCTET STRING (primitive: tag 0x80). */
	if (mr_der_peek(&seq) == 0x80 &&
	    mr_der_expect(&seq, 0x80, &id, NULL) == MR_OK)
		e->aki_key_id = id;
	return MR_OK; /* issuer/serial forms may follow; we ignore them */
}

static int
parse_eku(mr_der v, mr_exts *e)
{
	mr_der seq, oid;

	if (mr_der_whole(v.p, v.n, MR_DER_SEQUENCE, &seq) != MR_OK || seq.n == 0)
		return MR_E_DER;
	while (seq.n != 0) {
		if (mr_der_expect(&seq, MR_DER_OID, &oid, NULL) != MR_OK)
			return MR_E_DER;
		if (mr_oid_is(oid, &MR_OID_KP_SERVER_AUTH))
			e->eku_server_auth = 1;
	}
	return MR_OK;
}

int
mr_exts_parse(mr_der seq, mr_exts *e, mr_diag *d)
{
	memset(e, 0, sizeof(*e));
	e->bc_pathlen = -1;
	while (seq.n != 0) {
		mr_der ext, oid, c, value;
		int critical = 0, *seen = NULL, *crit = NULL, rc = MR_OK;

		if (mr_der_expect(&seq, MR_DER_SEQUENCE, &ext, NULL) != MR_OK ||
		    mr_der_expect(&ext, MR_DER_OID, &oid, NULL) != MR_OK)
			return mr_diag_set(d, MR_E_DER, "malformed extension");
		if (mr_der_peek(&ext) == MR_DER_BOOLEAN) {
			if (mr_der_expect(&ext, MR_DER_BOOLEAN, &c, NULL) != MR_OK ||
			    mr_der_bool(c, &critical) != MR_OK || !critical)
				return mr_diag_set(d, MR_E_DER,
				    "extension with an explicit critical FALSE (not DER)");
		}
		if (mr_der_expect(&ext, MR_DER_OCTET_STRING, &value, NULL) != MR_OK ||
		    ext.n != 0)
			return mr_diag_set(d, MR_E_DER, "malformed extension value");
		e->count++;
		if (mr_oid_is(oid, &MR_OID_CE_BASIC_CONSTRAINTS)) {
			seen = &e->has_bc, crit = &e->bc_critical;
			if (!*seen)
				rc = parse_bc(value, e);
		} else if (mr_oid_is(oid, &MR_OID_CE_KEY_USAGE)) {
			seen = &e->has_ku, crit = &e->ku_critical;
			if (!*seen)
				rc = parse_ku(value, e);
		} else if (mr_oid_is(oid, &MR_OID_CE_SKI)) {
			seen = &e->has_ski, crit = &e->ski_critical;
			if (!*seen)
				rc = parse_ski(value, e);
		} else if (mr_oid_is(oid, &MR_OID_CE_AKI)) {
			seen = &e->has_aki, crit = &e->aki_critical;
			if (!*seen)
				rc = parse_aki(value, e);
		} else if (mr_oid_is(oid, &MR_OID_CE_EKU)) {
			seen = &e->has_eku;
			if (!*seen)
				rc = parse_eku(value, e);
		} else if (mr_oid_is(oid, &MR_OID_CE_SAN)) {
			seen = &e->has_san;
		} else if (mr_oid_is(oid, &MR_OID_CE_NAME_CONSTRAINTS)) {
			seen = &e->has_name_constraints;
		} else {
			e->unknown++;
			if (critical)
				e->unknown_critical++;
		}
		if (rc != MR_OK)
			return mr_diag_set(d, MR_E_DER, "malformed extension value");
		if (seen != NULL) {
			if (*seen)
				return mr_diag_set(d, MR_E_DER, "duplicate extension");
			*seen = 1;
			if (crit != NULL)
				*crit = critical;
		}
	}
	return MR_OK;
}

static int
parse_validity(mr_der v, mr_cert *c)
{
	mr_der seq, t;
	uint8_t tag;

	if (mr_der_whole(v.p, v.n, MR_DER_SEQUENCE, &seq) != MR_OK ||
	    mr_der_next(&seq, &tag, &t, NULL) != MR_OK ||
	    mr_der_time(tag, t, &c->not_before) != MR_OK ||
	    mr_der_next(&seq, &tag, &t, NULL) != MR_OK ||
	    mr_der_time(tag, t, &c->not_after) != MR_OK || seq.n != 0)
		return MR_E_DER;
	return MR_OK;
}

int
mr_tbs_parse(mr_der tbs, mr_cert *c, mr_diag *d)
{
	mr_der in = tbs, seq, v, ver, alg, spki;

	if (mr_der_expect(&in, MR_DER_SEQUENCE, &seq, &c->tbs) != MR_OK || in.n != 0)
		return mr_diag_set(d, MR_E_DER, "malformed TBSCertificate");
	c->version = 0;
	if (mr_der_peek(&seq) == MR_DER_CONTEXT0) {
		if (mr_der_expect(&seq, MR_DER_CONTEXT0, &v, NULL) != MR_OK ||
		    mr_der_expect(&v, MR_DER_INTEGER, &ver, NULL) != MR_OK || v.n != 0 ||
		    mr_der_uint(ver, &c->version) != MR_OK)
			return mr_diag_set(d, MR_E_DER, "malformed certificate version");
	}
	if (mr_der_expect(&seq, MR_DER_INTEGER, &c->serial, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, &alg, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, NULL, &c->issuer) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, NULL, &v) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, NULL, &c->subject) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, NULL, &spki) != MR_OK)
		return mr_diag_set(d, MR_E_DER, "malformed TBSCertificate");
	if (c->serial.n == 0)
		return mr_diag_set(d, MR_E_DER, "empty serial number");
	if (mr_sig_alg_parse(alg, &c->tbs_sig_alg) != MR_OK)
		return mr_diag_set(d, MR_E_CERT, "unsupported signature algorithm");
	if (parse_validity(v, c) != MR_OK)
		return mr_diag_set(d, MR_E_DER, "malformed validity");
	if (mr_spki_parse(spki, &c->spki, d) != MR_OK)
		return MR_E_CERT;
	memset(&c->ext, 0, sizeof(c->ext));
	c->ext.bc_pathlen = -1;
	/* issuerUniqueID [1] and subjectUniqueID [2] are not for CAs that
	 * follow RFC 5280 4.1.2.8; we neither write nor accept them. */
	if (mr_der_peek(&seq) == MR_DER_CONTEXT3) {
		mr_der exts;
		if (mr_der_expect(&seq, MR_DER_CONTEXT3, &v, NULL) != MR_OK ||
		    mr_der_expect(&v, MR_DER_SEQUENCE, &exts, NULL) != MR_OK || v.n != 0)
			return mr_diag_set(d, MR_E_DER, "malformed extensions");
		if (mr_exts_parse(exts, &c->ext, d) != MR_OK)
			return MR_E_DER;
	}
	if (seq.n != 0)
		return mr_diag_set(d, MR_E_DER, "unexpected fields in TBSCertificate");
	return MR_OK;
}

int
mr_cert_parse(const uint8_t *der, size_t n, mr_cert *c, mr_diag *d)
{
	mr_der in = mr_der_view(der, n), seq, tbs, alg, bits;

	memset(c, 0, sizeof(*c));
	if (mr_der_expect(&in, MR_DER_SEQUENCE, &seq, &c->whole) != MR_OK || in.n != 0 ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, NULL, &tbs) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, &alg, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_BIT_STRING, &bits, NULL) != MR_OK || seq.n != 0 ||
	    mr_der_bits(bits, &c->sig) != MR_OK)
		return mr_diag_set(d, MR_E_DER, "malformed certificate");
	if (mr_sig_alg_parse(alg, &c->sig_alg) != MR_OK)
		return mr_diag_set(d, MR_E_CERT, "unsupported signature algorithm");
	if (mr_tbs_parse(tbs, c, d) != MR_OK)
		return MR_E_CERT;
	/* RFC 5280 4.1.1.2: the two algorithm fields MUST be identical. */
	if (c->sig_alg != c->tbs_sig_alg)
		return mr_diag_set(d, MR_E_CERT, "signatureAlgorithm differs from the TBS signature field");
	return MR_OK;
}

int
mr_cert_verify_signature(const mr_cert *c, const mr_spki *issuer_key, mr_diag *d)
{
	return mr_sig_verify(issuer_key, c->sig_alg, c->tbs.p, c->tbs.n, c->sig.p,
	    c->sig.n, d);
}

void
mr_cert_serial_hex(const mr_cert *c, char *out, size_t cap)
{
	size_t o = 0;

	if (cap == 0)
		return;
	for (size_t i = 0; i < c->serial.n && o + 2 < cap; i++) {
		snprintf(out + o, cap - o, "%02x", c->serial.p[i]);
		o += 2;
	}
	out[o] = '\0';
}

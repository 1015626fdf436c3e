#include <stdio.h>
#include <string.h>

#include "mr_csr.h"
#include "mr_oid.h"

static int
parse_attributes(mr_der attrs, mr_csr *c, mr_diag *d)
{
	while (attrs.n != 0) {
		mr_der attr, oid, values, exts;

		if (mr_der_expect(&attrs, MR_DER_SEQUENCE, &attr, NULL) != MR_OK ||
		    mr_der_expect(&attr, MR_DER_OID, &oid, NULL) != MR_OK ||
		    mr_der_expect(&attr, MR_DER_SET, &values, NULL) != MR_OK || attr.n != 0)
			return mr_diag_set(d, MR_E_CSR, "malformed CSR attribute");
		if (!mr_oid_is(oid, &MR_OID_EXTENSION_REQUEST)) {
			c->other_attributes++;
			continue;
		}
		if (c->has_ext_request)
			return mr_diag_set(d, MR_E_CSR, "CSR has two extensionRequest attributes");
		c->has_ext_request = 1;
		if (mr_der_expect(&values, MR_DER_SEQUENCE, &exts, NULL) != MR_OK ||
		    values.n != 0)
			return mr_diag_set(d, MR_E_CSR, "malformed extensionRequest");
		if (mr_exts_parse(exts, &c->requested, d) != MR_OK) {
			mr_diag_prefix(d, "CSR extensionRequest");
			return MR_E_CSR;
		}
	}
	return MR_OK;
}

int
mr_csr_parse_unverified(const uint8_t *der, size_t n, mr_csr *c, mr_diag *d)
{
	mr_der in = mr_der_view(der, n), seq, info, alg, bits, ver, spki, attrs;
	unsigned long version;

	memset(c, 0, sizeof(*c));
	c->requested.bc_pathlen = -1;
	if (n > MR_CSR_MAX_DER)
		return mr_diag_set(d, MR_E_CSR, "CSR larger than %u bytes", MR_CSR_MAX_DER);
	if (mr_der_expect(&in, MR_DER_SEQUENCE, &seq, &c->whole) != MR_OK || in.n != 0 ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, &info, &c->info) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_SEQUENCE, &alg, NULL) != MR_OK ||
	    mr_der_expect(&seq, MR_DER_BIT_STRING, &bits, NULL) != MR_OK || seq.n != 0 ||
	    mr_der_bits(bits, &c->sig) != MR_OK)
		return mr_diag_set(d, MR_E_CSR, "not a DER certificate request");
	if (mr_der_expect(&info, MR_DER_INTEGER, &ver, NULL) != MR_OK ||
	    mr_der_uint(ver, &version) != MR_OK || version != 0)
		return mr_diag_set(d, MR_E_CSR, "CSR version is not v1");
	if (mr_der_expect(&info, MR_DER_SEQUENCE, NULL, &c->subject) != MR_OK ||
	    mr_der_expect(&info, MR_DER_SEQUENCE, NULL, &spki) != MR_OK)
		return mr_diag_set(d, MR_E_CSR, "malformed CertificationRequestInfo");
	/* attributes [0] IMPLICIT SET OF: required by RFC 2986, though some
	 * tools omit it when empty; accept that. */
	if (info.n != 0) {
		if (mr_der_expect(&info, MR_DER_CONTEXT0, &attrs, NULL) != MR_OK || info.n != 0)
			return mr_diag_set(d, MR_E_CSR, "malformed CSR attributes");
		if (parse_attributes(attrs, c, d) != MR_OK)
			return MR_E_CSR;
	}
	if (mr_spki_parse(spki, &c->spki, d) != MR_OK) {
		mr_diag_prefix(d, "CSR public key");
		return MR_E_CSR;
	}
	if (mr_sig_alg_parse(alg, &c->sig_alg) != MR_OK)
		return mr_diag_set(d, MR_E_CSR, "CSR signature algorithm not supported");
	return MR_OK;
}

int
mr_csr_parse(const uint8_t *der, size_t n, mr_csr *c, mr_diag *d)
{
	int r;

	if ((r = mr_csr_parse_unverified(der, n, c, d)) != MR_OK)
		return r;
	return mr_csr_verify(c, d);
}

int
mr_csr_verify(const mr_csr *c, mr_diag *d)
{
	/* Proof of possession: without it anyone could get a CA certificate
	 * for a key they do not hold. */
	if (mr_sig_verify(&c->spki, c->sig_alg, c->info.p, c->info.n, c->sig.p, c->sig.n,
		d) != MR_OK) {
		mr_diag_prefix(d, "CSR self-signature");
		return MR_E_SIG;
	}
	return MR_OK;
}

static void
append(char *out, size_t cap, const char *what)
{
	size_t o = strlen(out);

	if (o + 1 >= cap)
		return;
	snprintf(out + o, cap - o, "%s%s", o ? ", " : "", what);
}

void
mr_csr_ignored(const mr_csr *c, char *out, size_t cap)
{
	const mr_exts *e = &c->requested;
	char tmp[64];

	if (cap == 0)
		return;
	out[0] = '\0';
	if (e->has_bc) {
		if (e->bc_pathlen >= 0)
			snprintf(tmp, sizeof(tmp), "basicConstraints pathlen %ld", e->bc_pathlen);
		else
			snprintf(tmp, sizeof(tmp), "basicConstraints");
		append(out, cap, tmp);
	}
	if (e->has_ku)
		append(out, cap, "keyUsage");
	if (e->has_eku)
		append(out, cap, "extendedKeyUsage");
	if (e->has_san)
		append(out, cap, "subjectAltName");
	if (e->has_name_constraints)
		append(out, cap, "nameConstraints");
	if (e->has_ski)
		append(out, cap, "subjectKeyIdentifier");
	if (e->has_aki)
		append(out, cap, "authorityKeyIdentifier");
	if (e->unknown) {
		snprintf(tmp, sizeof(tmp), "%u other extension(s)", e->unknown);
		append(out, cap, tmp);
	}
	if (c->other_attributes) {
		snprintf(tmp, sizeof(tmp), "%u other attribute(s)", c->other_attributes);
		append(out, cap, tmp);
	}
}

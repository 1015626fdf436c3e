#include <string.h>

#include "mr_lint.h"

#define FAIL(...) return mr_diag_set(d, MR_E_LINT, __VA_ARGS__)

static int
lint_common(const mr_cert *c, mr_diag *d)
{
	const mr_exts *e = &c->ext;

	/* RFC 5280 4.1.2.1: extensions require v3. */
	if (c->version != 2)
		FAIL("RFC 5280 4.1.2.1: certificate is not v3");
	/* RFC 5280 4.1.2.2: positive, at most 20 octets; CA/B BR 7.1: at
	 * least 64 bits of CSPRNG output (9 octets with the sign byte). */
	if (c->serial.n > 20)
		FAIL("RFC 5280 4.1.2.2: serial number longer than 20 octets");
	if ((c->serial.p[0] & 0x80) != 0)
		FAIL("RFC 5280 4.1.2.2: serial number is negative");
	if (c->serial.n < 9)
		FAIL("serial number has fewer than 64 random bits");
	/* RFC 5280 4.1.2.4/4.1.2.6: a CA has non-empty issuer and subject. */
	if (c->issuer.n <= 2 || c->subject.n <= 2)
		FAIL("RFC 5280 4.1.2.6: empty issuer or subject name");
	if (c->not_after <= c->not_before)
		FAIL("RFC 5280 4.1.2.5: notAfter is not after notBefore");
	if (c->spki.type == MR_KEY_UNKNOWN || c->spki.type == MR_KEY_RSA_2048)
		FAIL("subject key type %s is not allowed", mr_key_type_name(c->spki.type));
	/* RFC 5280 4.2.1.9: CAs MUST include basicConstraints, critical, cA TRUE. */
	if (!e->has_bc || !e->bc_ca)
		FAIL("RFC 5280 4.2.1.9: basicConstraints cA is not TRUE");
	if (!e->bc_critical)
		FAIL("RFC 5280 4.2.1.9: basicConstraints is not critical");
	/* RFC 5280 4.2.1.3: keyUsage with keyCertSign, SHOULD be critical;
	 * cRLSign so the CA can sign its CRLs. */
	if (!e->has_ku || !e->ku_critical)
		FAIL("RFC 5280 4.2.1.3: keyUsage missing or not critical");
	if (!(e->ku & MR_KU_KEY_CERT_SIGN) || !(e->ku & MR_KU_CRL_SIGN))
		FAIL("RFC 5280 4.2.1.3: keyUsage lacks keyCertSign or cRLSign");
	if (e->ku & (MR_KU_KEY_ENCIPHERMENT | MR_KU_DATA_ENCIPHERMENT |
			MR_KU_KEY_AGREEMENT | MR_KU_ENCIPHER_ONLY | MR_KU_DECIPHER_ONLY))
		FAIL("keyUsage allows encryption or key agreement on a CA key");
	/* RFC 5280 4.2.1.2: CAs MUST include SKI, non-critical. */
	if (!e->has_ski || e->ski_critical || e->ski.n == 0)
		FAIL("RFC 5280 4.2.1.2: subjectKeyIdentifier missing or critical");
	if (e->has_aki && (e->aki_critical || e->aki_key_id.n == 0))
		FAIL("RFC 5280 4.2.1.1: authorityKeyIdentifier critical or without keyIdentifier");
	/* Istio loads the CA with Go's x509.Verify and its default usage:
	 * an EKU without serverAuth makes istiod reject the certificate. */
	if (e->has_eku && !e->eku_server_auth)
		FAIL("Istio: extendedKeyUsage without serverAuth is rejected by istiod");
	/* RFC 5280 4.2: an unknown critical extension makes verifiers fail. */
	if (e->unknown_critical)
		FAIL("RFC 5280 4.2: unknown critical extension");
	if (e->has_san)
		FAIL("policy: CA certificates carry no subjectAltName");
	return MR_OK;
}

int
mr_lint_ca(const mr_cert *c, mr_lint_kind kind, const mr_cert *issuer, time_t now,
    mr_diag *d)
{
	const mr_exts *e = &c->ext;
	uint8_t id[20];

	if (lint_common(c, d) != MR_OK)
		return MR_E_LINT;
	mr_spki_key_id(&c->spki, id);
	if (e->ski.n != 20 || memcmp(e->ski.p, id, 20) != 0)
		FAIL("subjectKeyIdentifier does not match the subject public key");
	if (kind == MR_LINT_ROOT) {
		if (!mr_der_equal(c->issuer, c->subject))
			FAIL("root: issuer differs from subject");
		if (!mr_sig_alg_fits_key(c->tbs_sig_alg, c->spki.type))
			FAIL("root: signature algorithm does not fit its own key");
		return MR_OK;
	}
	if (issuer == NULL)
		FAIL("intermediate linted without its issuer");
	/* RFC 5280 4.1.2.4: issuer is the issuer's subject, byte for byte
	 * (so name chaining works with any verifier). */
	if (!mr_der_equal(c->issuer, issuer->subject))
		FAIL("RFC 5280 4.1.2.4: issuer is not the root's subject");
	if (mr_der_equal(c->subject, issuer->subject))
		FAIL("intermediate subject equals the root subject");
	if (!mr_sig_alg_fits_key(c->tbs_sig_alg, issuer->spki.type))
		FAIL("signature algorithm does not fit the root key");
	/* RFC 5280 4.2.1.1: AKI MUST be present in non-self-signed certs,
	 * and it names the issuer's SKI. */
	if (!e->has_aki || !issuer->ext.has_ski ||
	    !mr_der_equal(e->aki_key_id, issuer->ext.ski))
		FAIL("RFC 5280 4.2.1.1: authorityKeyIdentifier does not match the root SKI");
	/* Istio's plug-in CA issues workload certificates only; an
	 * intermediate that could create further CAs is never needed. */
	if (e->bc_pathlen != 0)
		FAIL("policy: intermediate pathLenConstraint is not 0");
	if (!(e->ku & MR_KU_DIGITAL_SIGNATURE))
		FAIL("policy: intermediate keyUsage lacks digitalSignature");
	/* RFC 5280 6.1.3 (a)(2): a chain is valid only within every
	 * certificate's validity; a longer intermediate would silently die
	 * with the root. */
	if (c->not_after > issuer->not_after)
		FAIL("intermediate notAfter is after the root's notAfter");
	if (c->not_before < issuer->not_before)
		FAIL("intermediate notBefore is before the root's notBefore");
	if (c->not_after <= now)
		FAIL("intermediate would already be expired");
	return MR_OK;
}

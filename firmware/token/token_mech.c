/*
 * Mechanisms by capability (see token_p11.h): before anything is generated
 * the token is asked whether it can make and use a key type, so that a
 * ceremony is refused with a reason instead of failing half way (an
 * rsa-4096 request on a token whose CKM_RSA_PKCS_KEY_PAIR_GEN stops at
 * 3072 bits, an EC key on a token without CKM_EC_KEY_PAIR_GEN).
 */
#include <stdlib.h>
#include <string.h>

#include "token_p11.h"

#define MECHS_MAX 4096

static const char *
mech_name(CK_MECHANISM_TYPE m)
{
	switch (m) {
	case CKM_EC_KEY_PAIR_GEN: return "CKM_EC_KEY_PAIR_GEN";
	case CKM_EC_EDWARDS_KEY_PAIR_GEN: return "CKM_EC_EDWARDS_KEY_PAIR_GEN";
	case CKM_RSA_PKCS_KEY_PAIR_GEN: return "CKM_RSA_PKCS_KEY_PAIR_GEN";
	case CKM_ECDSA: return "CKM_ECDSA";
	case CKM_EDDSA: return "CKM_EDDSA";
	case CKM_RSA_PKCS: return "CKM_RSA_PKCS";
	}
	return "mechanism";
}

static int
load(mr_token_mechs *m, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, mr_diag *d)
{
	int r = MR_E_INTERNAL;
	CK_ULONG n = 0;
	CK_RV rv;

	if (m->loaded) {
		r = MR_OK;
		goto out;
	}
	if ((rv = f->C_GetMechanismList(slot, NULL, &n)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetMechanismList", rv);
		goto out;
	}
	if (n > MECHS_MAX) {
		r = mr_diag_set(d, MR_E_TOKEN, "C_GetMechanismList: %lu mechanisms", (unsigned long)n);
		goto out;
	}
	if (n > 0 && (m->list = calloc(n, sizeof(*m->list))) == NULL) {
		r = MR_E_NOMEM;
		goto out;
	}
	if (n > 0 && (rv = f->C_GetMechanismList(slot, m->list, &n)) != CKR_OK) {
		r = mr_token_rv_diag(d, "C_GetMechanismList", rv);
		free(m->list);
		m->list = NULL;
		goto out;
	}
	m->n = n;
	m->loaded = 1;
	r = MR_OK;
out:
	return r;
}

/* 1 and the info when the token lists `mech` and describes it. */
static int
info(const mr_token_mechs *m, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot, CK_MECHANISM_TYPE mech,
    CK_MECHANISM_INFO *out)
{
	for (CK_ULONG i = 0; i < m->n; i++)
		if (m->list[i] == mech)
			return f->C_GetMechanismInfo(slot, mech, out) == CKR_OK;
	return 0;
}

static int
can_sign(const mr_token_mechs *m, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot,
    const CK_MECHANISM_TYPE *mechs, size_t n)
{
	CK_MECHANISM_INFO mi;

	for (size_t i = 0; i < n; i++)
		if (info(m, f, slot, mechs[i], &mi) && (mi.flags & CKF_SIGN) != 0)
			return 1;
	return 0;
}

int
mr_token_mechs_can_make(mr_token_mechs *m, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot,
    mr_key_type type, mr_diag *d)
{
	static const CK_MECHANISM_TYPE ec_sign[] = { CKM_ECDSA, CKM_ECDSA_SHA256, CKM_ECDSA_SHA384 };
	static const CK_MECHANISM_TYPE ed_sign[] = { CKM_EDDSA };
	static const CK_MECHANISM_TYPE rsa_sign[] = { CKM_RSA_PKCS, CKM_SHA256_RSA_PKCS,
		CKM_SHA384_RSA_PKCS };
	/* CKF_EC_ECPARAMETERS (1 << 22) and CKF_EC_OID (1 << 23, CKF_EC_NAMEDCURVE
	 * in 2.40): how a token takes CKA_EC_PARAMS. We send an OID. */
	const CK_FLAGS ec_params_flags = (1UL << 22) | CKF_EC_NAMEDCURVE;
	int r = MR_E_INTERNAL;
	CK_MECHANISM_TYPE gen, sign_raw;
	const CK_MECHANISM_TYPE *sign;
	size_t nsign;
	CK_MECHANISM_INFO mi;
	CK_ULONG bits = mr_key_type_bits(type);
	const char *name = mr_key_type_name(type);

	if (type == MR_KEY_ED25519) {
		gen = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		sign = ed_sign;
		nsign = 1;
	} else if (mr_key_type_is_ec(type)) {
		gen = CKM_EC_KEY_PAIR_GEN;
		sign = ec_sign;
		nsign = sizeof(ec_sign) / sizeof(ec_sign[0]);
	} else if (type == MR_KEY_RSA_2048 || type == MR_KEY_RSA_3072 || type == MR_KEY_RSA_4096) {
		gen = CKM_RSA_PKCS_KEY_PAIR_GEN;
		sign = rsa_sign;
		nsign = sizeof(rsa_sign) / sizeof(rsa_sign[0]);
	} else {
		r = mr_diag_set(d, MR_E_ARG, "unsupported key type %s", name);
		goto out;
	}
	sign_raw = sign[0];
	if ((r = load(m, f, slot, d)) != MR_OK)
		goto out;
	r = MR_E_TOKEN;
	if (!info(m, f, slot, gen, &mi)) {
		mr_diag_set(d, r, "the token cannot make %s keys: it has no %s", name, mech_name(gen));
		goto out;
	}
	if ((mi.flags & CKF_GENERATE_KEY_PAIR) == 0) {
		mr_diag_set(d, r, "the token cannot make %s keys: %s lacks CKF_GENERATE_KEY_PAIR",
		    name, mech_name(gen));
		goto out;
	}
	if (gen == CKM_RSA_PKCS_KEY_PAIR_GEN && ((mi.ulMaxKeySize != 0 && bits > mi.ulMaxKeySize) ||
	    bits < mi.ulMinKeySize)) {
		mr_diag_set(d, r, "the token cannot make %s keys: %s allows %lu to %lu bits", name,
		    mech_name(gen), (unsigned long)mi.ulMinKeySize, (unsigned long)mi.ulMaxKeySize);
		goto out;
	}
	/* Some EC tokens give the sizes in bytes: only a maximum that is
	 * plainly in bits (at least 160) and below the curve refuses. */
	if (gen == CKM_EC_KEY_PAIR_GEN && mi.ulMaxKeySize >= 160 && bits > mi.ulMaxKeySize) {
		mr_diag_set(d, r, "the token cannot make %s keys: %s allows at most %lu bits", name,
		    mech_name(gen), (unsigned long)mi.ulMaxKeySize);
		goto out;
	}
	/* The curve flags are optional (PKCS#11 2.40 2.3.1): absent, nothing
	 * is concluded; present, they must include prime curves and OIDs. */
	if (gen == CKM_EC_KEY_PAIR_GEN && (mi.flags & (CKF_EC_F_P | (1UL << 21))) != 0 &&
	    (mi.flags & CKF_EC_F_P) == 0) {
		mr_diag_set(d, r, "the token cannot make %s keys: %s has no prime curves "
		    "(CKF_EC_F_P)", name, mech_name(gen));
		goto out;
	}
	if (gen == CKM_EC_KEY_PAIR_GEN && (mi.flags & ec_params_flags) != 0 &&
	    (mi.flags & CKF_EC_NAMEDCURVE) == 0) {
		mr_diag_set(d, r, "the token cannot make %s keys: %s takes no curve OID "
		    "(CKF_EC_OID)", name, mech_name(gen));
		goto out;
	}
	if (!can_sign(m, f, slot, sign, nsign)) {
		mr_diag_set(d, r, "the token cannot sign with %s keys: no %s%s with CKF_SIGN", name,
		    mech_name(sign_raw), nsign > 1 ? " or hash-and-sign mechanism" : "");
		goto out;
	}
	r = MR_OK;
out:
	return r;
}

CK_MECHANISM_TYPE
mr_token_mechs_hash_sign(mr_token_mechs *m, CK_FUNCTION_LIST_PTR f, CK_SLOT_ID slot,
    mr_key_type type, size_t digest_len)
{
	CK_MECHANISM_TYPE mech = CKM_VENDOR_DEFINED;
	CK_MECHANISM_INFO mi;
	mr_diag ignored;

	if (type == MR_KEY_ED25519 || (digest_len != 32 && digest_len != 48))
		goto out;
	if (mr_key_type_is_ec(type))
		mech = digest_len == 32 ? CKM_ECDSA_SHA256 : CKM_ECDSA_SHA384;
	else
		mech = digest_len == 32 ? CKM_SHA256_RSA_PKCS : CKM_SHA384_RSA_PKCS;
	mr_diag_clear(&ignored);
	/* A token that cannot list its mechanisms is signed with the raw
	 * mechanism, as before: the list matters only for the choice. */
	if (load(m, f, slot, &ignored) != MR_OK || !info(m, f, slot, mech, &mi) ||
	    (mi.flags & CKF_SIGN) == 0)
		mech = CKM_VENDOR_DEFINED;
out:
	return mech;
}

void
mr_token_mechs_free(mr_token_mechs *m)
{
	free(m->list);
	memset(m, 0, sizeof(*m));
}

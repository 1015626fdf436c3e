/*
 * The one path from a TBS the appliance built to signed bytes, used for
 * the root, cross-certificates, intermediates and CRLs alike.
 *
 * mr_sign_tbs hashes the TBS with alg's hash, has the token sign the
 * digest through the wolfSSL crypto-callback device dev_id (the key whose
 * public half is `issuer`), assembles SEQUENCE { tbs, alg, signature }
 * (the outer shape of both certificates, RFC 5280 4.1, and CRLs, 5.1) at
 * the start of out, then reads the result back: its first element MUST be
 * byte for byte the TBS that was built, its algorithm MUST be alg, and the
 * signature MUST verify under `issuer`. Nothing is returned otherwise.
 * Callers parse and lint the result before releasing it.
 */
#ifndef MR_SIGNER_H
#define MR_SIGNER_H

#include <stddef.h>
#include <stdint.h>

#include "mr_der.h"
#include "mr_diag.h"
#include "mr_pubkey.h"

int mr_sign_tbs(int dev_id, const mr_spki *issuer, mr_sig_alg alg, mr_der tbs, uint8_t *out,
    size_t cap, size_t *out_len, mr_diag *d) MR_MUST_CHECK;

/*
 * mr_sign_tbs in two halves, for a pipeline that reads back one object
 * while the token signs the next: mr_sign_tbs_token signs and assembles
 * (the token's part); mr_sign_tbs_check is the read-back above, and
 * nothing may be released before it returned MR_OK. The check touches
 * neither the token nor any shared state: it may run on another thread.
 */
int mr_sign_tbs_token(int dev_id, const mr_spki *issuer, mr_sig_alg alg, mr_der tbs,
    uint8_t *out, size_t cap, size_t *out_len, mr_diag *d) MR_MUST_CHECK;
int mr_sign_tbs_check(const uint8_t *der, size_t n, mr_der tbs, mr_sig_alg alg,
    const mr_spki *issuer, mr_diag *d) MR_MUST_CHECK;

#endif

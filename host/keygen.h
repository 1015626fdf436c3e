/*
 * Intermediate key pairs and their CSRs, made on the admin host with
 * wolfSSL. The private key is returned as PEM (SEC1 "EC PRIVATE KEY" or
 * PKCS#1 "RSA PRIVATE KEY", both of which istiod loads); the caller writes
 * it 0600 and wipes the buffer.
 */
#ifndef MR_HOST_KEYGEN_H
#define MR_HOST_KEYGEN_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_keytype.h"

typedef struct {
	char key_pem[8192];
	size_t key_pem_len;
	uint8_t csr_der[4096];
	size_t csr_der_len;
} mr_keygen_result;

/* A fresh key of `type` and a CSR with subject CN=<cluster> signed by it. */
int mr_keygen_cluster(mr_key_type type, const char *cluster, mr_keygen_result *out,
    mr_diag *d) MR_MUST_CHECK;

#endif

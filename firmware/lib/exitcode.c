#include "mr_err.h"
#include "mr_exitcode.h"

int
mr_exit_code(int err)
{
	switch (err) {
	case MR_OK:
		return MR_EXIT_OK;
	/* Bad input: what the operator handed us does not parse or is not
	 * there (a file, a request, the config, media not mounted). */
	case MR_E_ARG: case MR_E_NOTFOUND: case MR_E_DER: case MR_E_PEM: case MR_E_CSR:
	case MR_E_CONFIG: case MR_E_MEDIA: case MR_E_CERT:
		return MR_EXIT_INPUT;
	/* Refused: the policy, the lint rules, a request already answered, or
	 * the operator at the prompt (a decision, not a fault). */
	case MR_E_POLICY: case MR_E_LINT: case MR_E_DUPLICATE: case MR_E_CANCELLED:
		return MR_EXIT_REFUSED;
	/* The token: a PKCS#11 call failed, the PIN, or a token key that is
	 * not the one the state dir names. */
	case MR_E_TOKEN: case MR_E_PIN: case MR_E_KEY_MISMATCH:
		return MR_EXIT_TOKEN;
	/* The USB link or socket. */
	case MR_E_PROTO: case MR_E_VERSION: case MR_E_UNSUPPORTED: case MR_E_SEQUENCE:
	case MR_E_BUSY: case MR_E_TIMEOUT: case MR_E_GONE: case MR_E_ACCESS:
		return MR_EXIT_LINK;
	case MR_E_SIG:
		return MR_EXIT_VERIFY;
	case MR_E_IN_USE:
		return MR_EXIT_IN_USE;
	}
	return MR_EXIT_FAIL; /* internal, memory, I/O, state, audit, database */
}

#include "mr_err.h"

const char *
mr_strerror(int err)
{
	switch (err) {
	case MR_OK: return "success";
	case MR_E_INTERNAL: return "internal error";
	case MR_E_NOMEM: return "out of memory";
	case MR_E_ARG: return "invalid argument";
	case MR_E_IO: return "input/output error";
	case MR_E_RANGE: return "value out of range";
	case MR_E_EXISTS: return "already exists";
	case MR_E_NOTFOUND: return "not found";
	case MR_E_CANCELLED: return "cancelled by the operator";
	case MR_E_IN_USE: return "in use by another process";
	case MR_E_DER: return "malformed DER";
	case MR_E_PEM: return "malformed PEM";
	case MR_E_CSR: return "unacceptable certificate request";
	case MR_E_SIG: return "signature does not verify";
	case MR_E_CONFIG: return "invalid ceremony config";
	case MR_E_MEDIA: return "invalid media layout";
	case MR_E_CERT: return "unacceptable certificate";
	case MR_E_POLICY: return "refused by policy";
	case MR_E_LINT: return "certificate lint failed";
	case MR_E_DUPLICATE: return "duplicate";
	case MR_E_TOKEN: return "token error";
	case MR_E_PIN: return "PIN error";
	case MR_E_KEY_MISMATCH: return "key mismatch";
	case MR_E_STATE: return "appliance state error";
	case MR_E_AUDIT: return "audit log write failed";
	case MR_E_DB: return "issuance database error";
	case MR_E_PROTO: return "malformed frame";
	case MR_E_VERSION: return "unsupported protocol version";
	case MR_E_UNSUPPORTED: return "unknown operation";
	case MR_E_SEQUENCE: return "request out of order";
	case MR_E_BUSY: return "busy";
	case MR_E_TIMEOUT: return "timed out";
	case MR_E_GONE: return "device gone";
	case MR_E_ACCESS: return "permission denied";
	}
	return "unknown error";
}

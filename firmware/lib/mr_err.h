/*
 * meshroot error codes: one enum for the whole project, OK = 0, negative
 * ranges per area. Functions that can fail return int (an mr_err) and are
 * marked MR_MUST_CHECK. The human detail of an error (the rule a certificate
 * broke, the CK_RV a token returned) travels separately: see mr_diag.h.
 */
#ifndef MR_ERR_H
#define MR_ERR_H

#define MR_MUST_CHECK __attribute__((warn_unused_result))

typedef enum {
	MR_OK = 0,

	/* generic */
	MR_E_INTERNAL = -1,  /* a broken invariant of our own: fail closed */
	MR_E_NOMEM = -2,
	MR_E_ARG = -3,       /* bad argument from the caller */
	MR_E_IO = -4,        /* a file or device operation failed */
	MR_E_RANGE = -5,     /* a value or size beyond its limit */
	MR_E_EXISTS = -6,    /* refusing to overwrite */
	MR_E_NOTFOUND = -7,
	MR_E_CANCELLED = -8, /* the operator declined */
	MR_E_IN_USE = -9,    /* the state dir or workspace is owned by another process */

	/* parsing untrusted bytes */
	MR_E_DER = -20,      /* malformed DER */
	MR_E_PEM = -21,      /* malformed PEM */
	MR_E_CSR = -22,      /* a CSR we do not accept */
	MR_E_SIG = -23,      /* a signature that does not verify */
	MR_E_CONFIG = -24,   /* the ceremony config */
	MR_E_MEDIA = -25,    /* the media layout */
	MR_E_CERT = -26,     /* a certificate we do not accept */

	/* policy */
	MR_E_POLICY = -40,   /* the request breaks the issuing policy */
	MR_E_LINT = -41,     /* a certificate we built breaks a lint rule */
	MR_E_DUPLICATE = -42,

	/* token */
	MR_E_TOKEN = -60,    /* a PKCS#11 call failed (detail: function and CK_RV) */
	MR_E_PIN = -61,      /* wrong, locked or missing PIN */
	MR_E_KEY_MISMATCH = -62,

	/* appliance state */
	MR_E_STATE = -80,    /* state dir missing, corrupt or in the wrong phase */
	MR_E_AUDIT = -81,    /* the audit log could not be written: nothing is released */
	MR_E_DB = -82,       /* the issuance database */

	/* the appliance link (docs/protocol.md) */
	MR_E_PROTO = -100,   /* malformed frame or payload */
	MR_E_VERSION = -101, /* protocol version not spoken */
	MR_E_UNSUPPORTED = -102, /* unknown operation */
	MR_E_SEQUENCE = -103, /* request out of order */
	MR_E_BUSY = -104,    /* device or queue busy */
	MR_E_TIMEOUT = -105,
	MR_E_GONE = -106,    /* device unplugged or connection closed */
	MR_E_ACCESS = -107,  /* permission denied on the device */
} mr_err;

/* A short constant description, never NULL. */
const char *mr_strerror(int err);

#endif

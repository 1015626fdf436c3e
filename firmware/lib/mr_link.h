/*
 * The appliance link protocol (docs/protocol.md): frames carried over the
 * USB bulk pipe pair, or a unix socket on the sim board. Pure code: no I/O,
 * no globals; the appliance, the host and the tests link it.
 *
 * A frame is a 12-byte header and a payload of at most MR_LINK_MAX_PAYLOAD
 * bytes. The header's length is checked against that limit (and against
 * the bytes at hand) before anything is copied. A payload is a sequence of
 * items tag(1) length(2, big endian) value; every decoder takes items off a
 * bounded reader that leaves its cursor unchanged on failure, and rejects
 * unknown tags, missing tags, oversized values and trailing bytes.
 *
 * Nothing in the protocol reads a key, a PIN or changes policy: the four
 * operations below are the whole surface.
 */
#ifndef MR_LINK_H
#define MR_LINK_H

#include <stddef.h>
#include <stdint.h>

#include "mr_der.h"
#include "mr_err.h"

#define MR_LINK_VERSION 2
#define MR_LINK_VERSION_ONLY "protocol version 2 only"
#define MR_LINK_HDR_LEN 12
#define MR_LINK_MAX_FRAME 65536u
#define MR_LINK_MAX_PAYLOAD (MR_LINK_MAX_FRAME - MR_LINK_HDR_LEN)
#define MR_LINK_MAX_BATCH 32    /* CSRs in one SUBMIT (and what fits the frame) */
/* Hashes in one RESULT. The reply answers as many of them, in order, as
 * fit one frame (at least one: a certificate and its audit proof always
 * fit); the host asks again for the rest. */
#define MR_LINK_MAX_RESULTS 64
#define MR_LINK_MAX_ROOTS 4     /* root certificates in one INFO reply */
/* Reason / error text: a whole mr_diag line, so no appliance message is
 * ever cut on its way to the host. */
#define MR_LINK_MAX_MESSAGE 319

/* USB identity: pid.codes test VID/PID until a real PID is assigned. */
#define MR_USB_VID 0x1209
#define MR_USB_PID 0x0001

/* Operations (requests); a reply carries op | MR_OP_REPLY. */
enum {
	MR_OP_INFO = 0x01,
	MR_OP_SUBMIT = 0x02,
	MR_OP_RESULT = 0x03,
	MR_OP_AUDIT = 0x04,
	MR_OP_REPLY = 0x80,
};

/* Wire status codes: fixed numbers, independent of mr_err's values. */
enum {
	MR_ST_OK = 0,
	MR_ST_PROTO = 1,       /* malformed frame or payload */
	MR_ST_VERSION = 2,     /* protocol version not spoken */
	MR_ST_TOO_LARGE = 3,   /* length beyond the protocol limit */
	MR_ST_UNKNOWN_OP = 4,
	MR_ST_SEQUENCE = 5,    /* out of order: INFO first, then seq + 1 */
	MR_ST_BUSY = 6,        /* queue full: fetch results first */
	MR_ST_INTERNAL = 7,
	MR_ST_STATE = 8,       /* appliance state, audit or token failure */
	MR_ST_NOTFOUND = 9,
	MR_ST_RANGE = 10,
};

/* Per-request state in SUBMIT and RESULT replies. */
enum {
	MR_RS_UNKNOWN = 0,  /* the appliance holds nothing for this hash */
	MR_RS_PENDING = 1,  /* waiting for the operator */
	MR_RS_ISSUED = 2,   /* cert follows */
	MR_RS_REFUSED = 3,  /* reason follows */
};

/* Item tags. */
enum {
	MR_T_MESSAGE = 0x01,  /* UTF-8/ASCII text: error text */
	MR_T_FIRMWARE = 0x02,
	MR_T_BOARD = 0x03,
	MR_T_TOKEN_LABEL = 0x04,
	MR_T_TOKEN_SERIAL = 0x05,
	MR_T_DEVICE_SERIAL = 0x06,
	MR_T_AUDIT_COUNT = 0x07, /* u32 */
	MR_T_ROOT = 0x08,        /* certificate DER, repeated */
	MR_T_AUDIT_KEY = 0x09,   /* the audit log's verifier key (text), optional */
	MR_T_QUEUE = 0x0a,       /* u32: requests the approval queue holds */
	MR_T_CLUSTER = 0x10,
	MR_T_CSR = 0x11,         /* CSR DER */
	MR_T_HASH = 0x12,        /* 32 bytes: SHA-256 of the CSR DER */
	MR_T_STATE = 0x13,       /* u8 MR_RS_* */
	MR_T_CERT = 0x14,        /* certificate DER */
	MR_T_REASON = 0x15,
	MR_T_SERIAL = 0x16,      /* certificate serial, hex */
	MR_T_AUDIT_PROOF = 0x17, /* the issue record's inclusion proof (text), optional */
	MR_T_FREE = 0x18,        /* u32: free queue slots, ends SUBMIT and RESULT replies */
	MR_T_INDEX = 0x20,       /* u32 */
	MR_T_TOTAL = 0x21,       /* u32 */
	MR_T_RECORDS = 0x22,     /* audit log lines */
};

typedef struct {
	uint8_t version;
	uint8_t op;
	uint16_t seq;
	uint16_t status;
	uint32_t len;
} mr_link_hdr;

/* Decodes a header from p[0..n) (n >= MR_LINK_HDR_LEN). MR_E_PROTO for a
 * bad magic or n too short, MR_E_VERSION for another version, MR_E_RANGE
 * when len exceeds MR_LINK_MAX_PAYLOAD. h is filled in every case where
 * the magic matched, so an error reply can echo seq and op. */
int mr_link_hdr_decode(const uint8_t *p, size_t n, mr_link_hdr *h) MR_MUST_CHECK;
void mr_link_hdr_encode(const mr_link_hdr *h, uint8_t out[MR_LINK_HDR_LEN]);

/* Decodes one whole frame buf[0..n): the header, then exactly h->len bytes
 * of payload (a view into buf). MR_E_PROTO when n does not match. */
int mr_link_frame_decode(const uint8_t *buf, size_t n, mr_link_hdr *h, mr_der *payload)
    MR_MUST_CHECK;

/* Payload writer: sticky error, MR_E_RANGE at finish when anything did
 * not fit or an item was longer than 65535 bytes. */
typedef struct {
	uint8_t *p;
	size_t cap, len;
	int err;
} mr_link_w;

void mr_link_w_init(mr_link_w *w, uint8_t *buf, size_t cap);
void mr_link_put(mr_link_w *w, uint8_t tag, const void *v, size_t n);
void mr_link_put_str(mr_link_w *w, uint8_t tag, const char *s);
void mr_link_put_u32(mr_link_w *w, uint8_t tag, uint32_t v);
void mr_link_put_u8(mr_link_w *w, uint8_t tag, uint8_t v);

/* Builds a whole frame into out (header + w's payload); *len is its size. */
int mr_link_frame_encode(uint8_t op, uint16_t seq, uint16_t status, const uint8_t *payload,
    size_t payload_len, uint8_t *out, size_t cap, size_t *len) MR_MUST_CHECK;

/* Payload reader: mr_link_next takes one item; the view is unchanged on
 * failure. MR_E_NOTFOUND at the end, MR_E_PROTO for a truncated item. */
int mr_link_next(mr_der *in, uint8_t *tag, mr_der *value) MR_MUST_CHECK;

/* Text values: printable ASCII only, copied NUL-terminated. */
int mr_link_get_str(mr_der v, char *out, size_t cap) MR_MUST_CHECK;
int mr_link_get_u32(mr_der v, uint32_t *out) MR_MUST_CHECK;

/* ---- messages ---- */

typedef struct {
	char firmware[32], board[32], token_label[33], token_serial[17], device_serial[33];
	char audit_key[256];  /* empty when the appliance has none */
	uint32_t audit_count;
	uint32_t queue;      /* requests the approval queue holds */
	mr_der roots[MR_LINK_MAX_ROOTS];
	size_t n_roots;
} mr_link_info;

typedef struct {
	char cluster[64];
	mr_der csr;
} mr_link_csr;

typedef struct {
	uint8_t hash[32];
	uint8_t state;       /* MR_RS_* */
	mr_der cert;         /* MR_RS_ISSUED */
	char serial[41];
	mr_der proof;        /* MR_RS_ISSUED: audit inclusion proof (may be empty) */
	char reason[MR_LINK_MAX_MESSAGE + 1]; /* MR_RS_REFUSED */
} mr_link_result;

typedef struct {
	uint32_t index, total;
	mr_der records;      /* whole lines, '\n'-terminated */
} mr_link_audit;

int mr_link_info_encode(mr_link_w *w, const mr_link_info *in);
int mr_link_info_decode(mr_der payload, mr_link_info *out) MR_MUST_CHECK;

/* SUBMIT request: 1..MR_LINK_MAX_BATCH (cluster, csr) pairs. */
int mr_link_submit_decode(mr_der payload, mr_link_csr *out, size_t max, size_t *n)
    MR_MUST_CHECK;
void mr_link_submit_put(mr_link_w *w, const char *cluster, const uint8_t *csr, size_t n);

/* RESULT request: 1..MR_LINK_MAX_RESULTS hashes. */
int mr_link_hashes_decode(mr_der payload, uint8_t (*out)[32], size_t max, size_t *n)
    MR_MUST_CHECK;

/* SUBMIT and RESULT replies: a list of results, each starting with HASH,
 * then FREE (the queue's free slots after the request), last. */
void mr_link_result_put(mr_link_w *w, const mr_link_result *r);
int mr_link_results_decode(mr_der payload, mr_link_result *out, size_t max, size_t *n,
    uint32_t *free_slots) MR_MUST_CHECK;

/* AUDIT request: INDEX (first record wanted, 1-based). */
int mr_link_audit_req_decode(mr_der payload, uint32_t *index) MR_MUST_CHECK;
int mr_link_audit_decode(mr_der payload, mr_link_audit *out) MR_MUST_CHECK;

/* Error reply payload: MESSAGE (optional). */
int mr_link_error_decode(mr_der payload, char *msg, size_t cap) MR_MUST_CHECK;

/* Status <-> mr_err. Unknown wire codes map to MR_E_PROTO. */
uint16_t mr_link_status_from_err(int err);
int mr_link_err_from_status(uint16_t status);
const char *mr_link_status_name(uint16_t status);

#endif

/*
 * The appliance audit log: an append-only file of line records, each
 * carrying its sequence number, UTC time, event name, the event's fields,
 * and prev=<SHA-256 of the previous line> so that any edit, removal or
 * reordering breaks the chain. Every record is fsync'ed before
 * mr_audit_append returns; callers append BEFORE they release a result,
 * so a result exists only if its record does (fail closed).
 *
 * Opening the log verifies the whole chain. A final line without its
 * newline is the trace of a crash during an append (the record was never
 * acknowledged): it is cut off and the repair itself is logged.
 */
#ifndef MR_AUDIT_H
#define MR_AUDIT_H

#include <stdint.h>

#include "mr_diag.h"
#include "mr_record.h"

#define MR_AUDIT_MAX_BYTES (64u << 20)

typedef struct {
	char path[4096];
	unsigned long next_seq;
	uint8_t last_hash[32];
} mr_audit;

int mr_audit_open(mr_audit *a, const char *path, mr_diag *d) MR_MUST_CHECK;

/* Appends one record: event plus the fields already in rec (which must
 * not be finished yet). */
int mr_audit_append(mr_audit *a, const char *event, mr_record *fields, mr_diag *d) MR_MUST_CHECK;

/* 1 if a record with this event has field key equal to value. */
int mr_audit_has(const mr_audit *a, const char *event, const char *key, const char *value);

#endif

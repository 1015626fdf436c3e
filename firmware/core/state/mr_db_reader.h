/*
 * The issuance database read on a thread of its own (db_reader.c), for
 * the start: begun as soon as the state dir is locked, taken once the
 * log's checks have passed, so that an error of the log is still the one
 * said first.
 */
#ifndef MR_DB_READER_H
#define MR_DB_READER_H

#include <stdint.h>

#include "mr_db.h"
#include "mr_task.h"

typedef struct {
	mr_task task;   /* the read (in line at the end without a thread) */
	mr_db *db;
	const char *path;
	uint64_t good_bytes, total;
	int r;
	mr_diag d;
} mr_db_reader;

/* Starts mr_db_read(db, path) on a thread; path must outlive the read.
 * db is the reader's until mr_db_reader_end or mr_db_reader_drop. */
void mr_db_reader_begin(mr_db_reader *rd, mr_db *db, const char *path);
/* Waits for the read: mr_db_read's result (its message in d), and where
 * the file's complete lines end and its length, for mr_db_cut_torn. */
int mr_db_reader_end(mr_db_reader *rd, uint64_t *good_bytes, uint64_t *total,
    mr_diag *d) MR_MUST_CHECK;
/* Waits for the read and closes what it loaded: for a start that stops
 * before it takes the database. */
void mr_db_reader_drop(mr_db_reader *rd);

#endif

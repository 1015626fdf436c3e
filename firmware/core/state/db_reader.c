/*
 * The issuance database read on a thread of its own while the start
 * checks the rest of the state (the root, the audit log and its
 * checkpoint). The two files are independent until the log and the
 * database are compared, and the database's parse is a quarter of a start
 * on a long history (67 ms of 300 at 20,000 issued). The thread only
 * reads: a torn final line it finds is cut, and the cut audited, by the
 * caller once the log is open (mr_db_cut_torn), as without the thread.
 */
#include <pthread.h>
#include <stdlib.h>

#include "mr_db_reader.h"

static void *
read_db(void *arg)
{
	mr_db_reader *rd = arg;

	mr_diag_clear(&rd->d);
	rd->r = mr_db_read(rd->db, rd->path, &rd->good_bytes, &rd->total, &rd->d);
	return NULL;
}

void
mr_db_reader_begin(mr_db_reader *rd, mr_db *db, const char *path)
{
	rd->db = db;
	rd->path = path;
	rd->r = MR_OK;
	rd->good_bytes = rd->total = 0;
	rd->pending = 1;
	rd->threaded = pthread_create(&rd->th, NULL, read_db, rd) == 0;
}

int
mr_db_reader_end(mr_db_reader *rd, uint64_t *good_bytes, uint64_t *total, mr_diag *d)
{
	if (!rd->pending)
		return mr_diag_set(d, MR_E_INTERNAL, "no database read was begun");
	if (rd->threaded)
		pthread_join(rd->th, NULL);
	else
		read_db(rd); /* no thread: in line, as before */
	rd->pending = 0;
	if (rd->r != MR_OK) {
		if (d != NULL)
			*d = rd->d;
		return rd->r;
	}
	*good_bytes = rd->good_bytes;
	*total = rd->total;
	return MR_OK;
}

void
mr_db_reader_drop(mr_db_reader *rd)
{
	if (!rd->pending)
		return;
	if (rd->threaded)
		pthread_join(rd->th, NULL);
	rd->pending = 0;
	if (rd->threaded && rd->r == MR_OK)
		mr_db_close(rd->db);
}

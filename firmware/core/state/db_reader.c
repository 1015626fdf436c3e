/*
 * The issuance database read on a thread of its own while the start
 * checks the rest of the state (the root, the audit log and its
 * checkpoint). The two files are independent until the log and the
 * database are compared, and the database's parse is a quarter of a start
 * on a long history (67 ms of 300 at 20,000 issued). The thread only
 * reads: a torn final line it finds is cut, and the cut audited, by the
 * caller once the log is open (mr_db_cut_torn), as without the thread.
 */
#include "mr_db_reader.h"

static void
read_db(void *arg)
{
	mr_db_reader *rd = arg;

	mr_diag_clear(&rd->d);
	rd->r = mr_db_read(rd->db, rd->path, &rd->good_bytes, &rd->total, &rd->d);
}

void
mr_db_reader_begin(mr_db_reader *rd, mr_db *db, const char *path)
{
	rd->db = db;
	rd->path = path;
	rd->r = MR_OK;
	rd->good_bytes = rd->total = 0;
	mr_task_begin(&rd->task, read_db, rd);
}

int
mr_db_reader_end(mr_db_reader *rd, uint64_t *good_bytes, uint64_t *total, mr_diag *d)
{
	if (!mr_task_pending(&rd->task))
		return mr_diag_set(d, MR_E_INTERNAL, "no database read was begun");
	mr_task_end(&rd->task);
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
	/* A read that failed closed db itself. */
	if (mr_task_drop(&rd->task) && rd->r == MR_OK)
		mr_db_close(rd->db);
}

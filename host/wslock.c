#include "mr_fileio.h"
#include "wslock.h"

int
mr_wslock_take(const char *workspace, int create, const char *what, mr_dirlock *out,
    mr_diag *d)
{
	int r;

	mr_dirlock_init(out);
	if (create && (r = mr_mkdirs(workspace, 0700, d)) != MR_OK)
		return r;
	r = mr_dirlock_take(out, workspace, "workspace", what, d);
	if (r == MR_E_NOTFOUND && !create) {
		mr_diag_clear(d);
		r = MR_OK;
	}
	/* The writer: what a killed writer left under a temp name goes (a
	 * cluster's own directory is swept when an answer is written there). */
	if (r == MR_OK && out->fd >= 0)
		r = mr_file_sweep_temps(workspace, NULL, d);
	return r;
}

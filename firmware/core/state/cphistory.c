#define _GNU_SOURCE /* memmem */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr_checkpoint.h"
#include "mr_cphistory.h"
#include "mr_fileio.h"

int
mr_cphistory_append(const char *path, const char *note, size_t n, mr_diag *d)
{
	mr_file_log log = { 0, -1 };
	struct stat st;
	off_t before = stat(path, &st) == 0 ? st.st_size : 0;
	int r = mr_file_log_append(&log, path, note, n, 1, d);

	mr_file_log_close(&log);
	if (r != MR_OK) {
		/* If even the cut fails, the process stops all the same (no
		 * checkpoint, no answer) and the next start trims the history. */
		int cut = truncate(path, before);
		(void)cut;
	}
	return r;
}

/* The last copy of needle in hay, or NULL. */
static const char *
last_copy(const char *hay, size_t n, const char *needle, size_t k)
{
	const char *found = NULL, *p = hay;

	while (p != NULL && (size_t)(p - hay) + k <= n) {
		p = memmem(p, n - (size_t)(p - hay), needle, k);
		if (p != NULL)
			found = p++;
	}
	return found;
}

size_t
mr_cphistory_end(const char *hist, size_t n, const char *latest, size_t latest_len)
{
	const char *at = last_copy(hist, n, latest, latest_len);

	return at == NULL ? SIZE_MAX : (size_t)(at - hist) + latest_len;
}

int
mr_cphistory_trim(const char *path, const char *latest, size_t latest_len, size_t *cut,
    mr_diag *d)
{
	/* The latest note, and at most one note (whole or torn) after it. */
	size_t window = latest_len + MR_CHECKPOINT_MAX, got = 0;
	const char *at;
	struct stat st;
	off_t from;
	char *tail;
	int fd, r = MR_OK;

	*cut = 0;
	/* Read-only until a cut is due: a start on a read-only state dir
	 * fails where it writes first, with that file's name. */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return MR_OK;
		return mr_diag_set(d, MR_E_AUDIT, "%s: %s", path, strerror(errno));
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return mr_diag_set(d, MR_E_AUDIT, "%s: not a regular file", path);
	}
	if ((size_t)st.st_size < window)
		window = (size_t)st.st_size;
	from = st.st_size - (off_t)window;
	if ((tail = malloc(window + 1)) == NULL) {
		close(fd);
		return mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", path);
	}
	while (got < window) {
		ssize_t k = pread(fd, tail + got, window - got, from + (off_t)got);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		got += (size_t)k;
	}
	if (got < window)
		r = mr_diag_set(d, MR_E_AUDIT, "%s: cannot read its end", path);
	else if ((at = last_copy(tail, window, latest, latest_len)) == NULL)
		r = mr_diag_set(d, MR_E_AUDIT, "%s does not end with the latest checkpoint "
		    "(audit.checkpoint): refusing to continue", path);
	else {
		off_t end = from + (off_t)(at - tail) + (off_t)latest_len;
		if (end < st.st_size) {
			int wfd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
			int bad = wfd < 0 || ftruncate(wfd, end) != 0 || fsync(wfd) != 0;
			if (wfd >= 0)
				close(wfd);
			if (bad)
				r = mr_diag_set(d, MR_E_AUDIT, "%s: cannot cut what follows the latest "
				    "checkpoint: %s", path, strerror(errno));
			else
				*cut = (size_t)(st.st_size - end);
		}
	}
	free(tail);
	close(fd);
	return r;
}

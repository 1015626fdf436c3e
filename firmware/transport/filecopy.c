#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr_filecopy.h"
#include "mr_fileio.h"

/* As mr_file_lines: many records a read, small beside the memory target. */
#define PIECE (64u * 1024u)

/* The first max bytes of in to out. */
static int
copy_bytes(int in, int out, uint64_t max, const char *from, const char *tmp, mr_diag *d)
{
	uint64_t done = 0;
	uint8_t *buf = malloc(PIECE);
	int r = MR_OK;

	if (buf == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", from);
	while (done < max) {
		size_t want = max - done < PIECE ? (size_t)(max - done) : PIECE;
		ssize_t k = read(in, buf, want);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = mr_diag_set(d, MR_E_IO, "%s: %s", from, strerror(errno));
			break;
		}
		if (k == 0) {
			if (max != MR_FILE_COPY_ALL)
				r = mr_diag_set(d, MR_E_IO, "%s: shorter than %llu bytes (changed "
				    "while read)", from, (unsigned long long)max);
			break;
		}
		if (mr_file_write_all(out, buf, (size_t)k) != 0) {
			r = mr_diag_set(d, MR_E_IO, "%s: %s", tmp, strerror(errno));
			break;
		}
		done += (uint64_t)k;
	}
	free(buf);
	return r;
}

int
mr_file_copy_atomic(const char *from, const char *to, uint64_t max, mode_t mode, mr_diag *d)
{
	const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW;
	char tmp[4200];
	int in = -1, out = -1, made = 0, k, r;

	if ((r = mr_file_open_regular(from, &in, d)) != MR_OK)
		return r;
	/* mr_file_write_atomic's name, so that mr_file_sweep_temps removes
	 * what a process that died here leaves. */
	k = snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", to, (long)getpid());
	if (k < 0 || (size_t)k >= sizeof(tmp)) {
		r = mr_diag_set(d, MR_E_RANGE, "%s: path too long", to);
		goto out;
	}
	out = open(tmp, flags, mode);
	/* Only a process that had our pid before, and died between create
	 * and rename, can have left this name: removed and made afresh. */
	if (out < 0 && errno == EEXIST && unlink(tmp) == 0)
		out = open(tmp, flags, mode);
	if (out < 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	made = 1;
	/* The umask neither widens nor narrows the mode. */
	if (fchmod(out, mode) != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: %s", to, strerror(errno));
		goto out;
	}
	if ((r = copy_bytes(in, out, max, from, tmp, d)) != MR_OK)
		goto out;
	if (fsync(out) != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: %s", to, strerror(errno));
		goto out;
	}
	k = close(out);
	out = -1;
	if (k != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: %s", to, strerror(errno));
		goto out;
	}
	if (rename(tmp, to) != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: %s", to, strerror(errno));
		goto out;
	}
	made = 0; /* renamed: nothing to remove */
	if (mr_file_fsync_dir_of(to) != 0)
		r = mr_diag_set(d, MR_E_IO, "%s: fsync of directory: %s", to, strerror(errno));
out:
	if (out >= 0)
		close(out);
	if (made)
		unlink(tmp);
	close(in);
	return r;
}

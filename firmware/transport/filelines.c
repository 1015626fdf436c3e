#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mr_fileio.h"
#include "mr_filelines.h"

/* Big enough that a read brings many records; small beside the memory
 * target. */
#define PIECE (64u * 1024u)

static ssize_t
read_some(int fd, uint8_t *buf, size_t cap)
{
	ssize_t k;

	do
		k = read(fd, buf, cap);
	while (k < 0 && errno == EINTR);
	return k;
}

int
mr_file_lines(const char *path, size_t max_line, mr_file_line_fn fn, void *ctx,
    uint64_t *complete, uint64_t *total, mr_diag *d)
{
	size_t cap = PIECE + max_line, have = 0, number = 0;
	uint64_t base = 0; /* file offset of buf[0] */
	uint8_t *buf;
	int fd, r;

	if (complete != NULL)
		*complete = 0;
	if (total != NULL)
		*total = 0;
	if ((r = mr_file_open_regular(path, &fd, d)) != MR_OK)
		return r;
	if ((buf = malloc(cap)) == NULL) {
		close(fd);
		return mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", path);
	}
	r = MR_OK;
	for (;;) {
		ssize_t k = read_some(fd, buf + have, cap - have);
		size_t pos = 0;

		if (k < 0) {
			r = mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
			break;
		}
		have += (size_t)k;
		while (r == MR_OK) {
			uint8_t *nl = memchr(buf + pos, '\n', have - pos);
			size_t n;

			if (nl == NULL)
				break;
			n = (size_t)(nl - (buf + pos)) + 1;
			if (n > max_line) {
				r = mr_diag_set(d, MR_E_RANGE, "%s: line %zu is longer than %zu bytes",
				    path, number + 1, max_line);
				break;
			}
			r = fn(ctx, (const char *)buf + pos, n, number, base + pos);
			number++;
			pos += n;
			if (complete != NULL)
				*complete = base + pos;
		}
		if (r != MR_OK)
			break;
		/* The start of a line that goes on in the next piece. */
		if (have - pos > max_line) {
			r = mr_diag_set(d, MR_E_RANGE, "%s: line %zu is longer than %zu bytes", path,
			    number + 1, max_line);
			break;
		}
		memmove(buf, buf + pos, have - pos);
		base += pos;
		have -= pos;
		if (k == 0)
			break; /* what is left is a torn final line */
	}
	if (total != NULL)
		*total = base + have;
	free(buf);
	close(fd);
	return r;
}

int
mr_file_line_at(const char *path, uint64_t offset, size_t n, char *buf, size_t cap,
    mr_diag *d)
{
	size_t got = 0;
	int fd, r;

	if (n >= cap) /* n + 1 > cap, without the wrap at SIZE_MAX */
		return mr_diag_set(d, MR_E_RANGE, "%s: a line of %zu bytes does not fit", path, n);
	if ((r = mr_file_open_regular(path, &fd, d)) != MR_OK)
		return r;
	while (got < n) {
		ssize_t k = pread(fd, buf + got, n - got, (off_t)(offset + got));
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = mr_diag_set(d, MR_E_IO, "%s: %zu bytes at offset %llu: %s", path, n,
			    (unsigned long long)offset, k < 0 ? strerror(errno) : "file too short");
			break;
		}
		got += (size_t)k;
	}
	close(fd);
	buf[got] = '\0';
	return r;
}

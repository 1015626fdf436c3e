#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mr_cluster.h"
#include "mr_fileio.h"
#include "mr_media.h"

int
mr_media_path(char *out, size_t cap, const char *media, const char *subdir,
    const char *cluster, const char *ext)
{
	int k = snprintf(out, cap, "%s/%s/%s%s", media, subdir, cluster, ext);

	return (k < 0 || (size_t)k >= cap) ? MR_E_RANGE : MR_OK;
}

/* Sifts v[i] down the max-heap of the first n items (ordered by name). */
static void
sift_down(mr_media_item *v, size_t i, size_t n)
{
	for (;;) {
		size_t big = i, l = 2 * i + 1, r = l + 1;
		mr_media_item t;

		if (l < n && strcmp(v[l].name, v[big].name) > 0)
			big = l;
		if (r < n && strcmp(v[r].name, v[big].name) > 0)
			big = r;
		if (big == i)
			return;
		t = v[i];
		v[i] = v[big];
		v[big] = t;
		i = big;
	}
}

/* Heapsort by name, not qsort: glibc's qsort calls sysinfo(2) the first
 * time it sorts more than about 1 KiB, and this runs in the request
 * parser under a seccomp allowlist that kills it for that (a batch of 34
 * requests or more). No allocation, no system call. */
static void
sort_by_name(mr_media_item *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, i, n);
	for (size_t end = n; end > 1; end--) {
		mr_media_item t = v[0];

		v[0] = v[end - 1];
		v[end - 1] = t;
		sift_down(v, 0, end - 1);
	}
}

int
mr_media_name_cluster(const char *name, const char *ext, char *cluster, size_t cap)
{
	size_t nl = strlen(name), el = strlen(ext);

	if (nl <= el || strcmp(name + nl - el, ext) != 0 ||
	    !mr_cluster_name_ok_n(name, nl - el) || nl - el >= cap)
		return 0;
	memcpy(cluster, name, nl - el);
	cluster[nl - el] = '\0';
	return 1;
}

static void
classify(int dirfd, const char *ext, mr_media_item *it)
{
	char cluster[sizeof(it->cluster)];
	struct stat st;

	if (!mr_media_name_cluster(it->name, ext, cluster, sizeof(cluster))) {
		snprintf(it->why, sizeof(it->why),
		    "unexpected file name (want <cluster>%s, cluster [a-z0-9-]{1,63})", ext);
		return;
	}
	if (fstatat(dirfd, it->name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
		snprintf(it->why, sizeof(it->why), "cannot stat");
		return;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(it->why, sizeof(it->why), "symbolic link refused");
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(it->why, sizeof(it->why), "not a regular file");
		return;
	}
	if ((uintmax_t)st.st_size > MR_MEDIA_MAX_FILE) {
		snprintf(it->why, sizeof(it->why), "oversized (%jd bytes, limit %u)",
		    (intmax_t)st.st_size, MR_MEDIA_MAX_FILE);
		return;
	}
	memcpy(it->cluster, cluster, sizeof(it->cluster));
	it->ok = 1;
}

int
mr_media_open_dir(const char *media, const char *subdir, int *dirfd, char *shown,
    size_t shown_cap, mr_diag *d)
{
	struct stat st;
	int fd;

	*dirfd = -1;
	if (snprintf(shown, shown_cap, "%s/%s", media, subdir) >= (int)shown_cap)
		return mr_diag_set(d, MR_E_RANGE, "media path too long");
	if (lstat(shown, &st) != 0)
		return mr_diag_set(d, MR_E_NOTFOUND, "%s: %s", shown, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return mr_diag_set(d, MR_E_MEDIA, "%s: not a directory (symlinks refused)", shown);
	/* O_NOFOLLOW: the lstat above and this open see the same directory
	 * even if the last component is swapped for a link in between. */
	if ((fd = open(shown, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) < 0)
		return mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
	*dirfd = fd;
	return MR_OK;
}

int
mr_media_list_at(int dirfd, const char *shown, const char *ext, mr_media_item **items,
    size_t *n, mr_diag *d)
{
	DIR *dp;
	struct dirent *de;
	mr_media_item *v = NULL;
	size_t count = 0;
	int fd;

	*items = NULL;
	*n = 0;
	/* fdopendir owns what it is given: a duplicate keeps dirfd usable. */
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
	}
	v = calloc(MR_MEDIA_MAX_ENTRIES, sizeof(*v));
	if (v == NULL) {
		closedir(dp);
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	}
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (count == MR_MEDIA_MAX_ENTRIES) {
			closedir(dp);
			free(v);
			return mr_diag_set(d, MR_E_MEDIA, "%s: more than %u entries", shown,
			    MR_MEDIA_MAX_ENTRIES);
		}
		snprintf(v[count].name, sizeof(v[count].name), "%s", de->d_name);
		classify(dirfd, ext, &v[count]);
		count++;
	}
	closedir(dp);
	sort_by_name(v, count);
	*items = v;
	*n = count;
	return MR_OK;
}

int
mr_media_list(const char *media, const char *subdir, const char *ext,
    mr_media_item **items, size_t *n, mr_diag *d)
{
	char dir[4096];
	int fd, r;

	*items = NULL;
	*n = 0;
	if ((r = mr_media_open_dir(media, subdir, &fd, dir, sizeof(dir), d)) != MR_OK)
		return r;
	r = mr_media_list_at(fd, dir, ext, items, n, d);
	close(fd);
	return r;
}

int
mr_media_sweep_temps(const char *media, mr_diag *d)
{
	static const char *const dirs[] = { MR_MEDIA_TOP, MR_MEDIA_ANSWERS };
	char path[4096];
	int r = MR_OK;

	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && r == MR_OK; i++) {
		if (mr_path_join(path, sizeof(path), media, dirs[i]) != MR_OK)
			return mr_diag_set(d, MR_E_RANGE, "media path too long");
		r = mr_file_sweep_temps(path, NULL, d);
	}
	return r;
}

int
mr_media_write(const char *media, const char *subdir, const char *cluster,
    const char *ext, const void *data, size_t len, mr_diag *d)
{
	char path[4096];

	if (!mr_cluster_name_ok(cluster))
		return mr_diag_set(d, MR_E_ARG, "invalid cluster name");
	if (snprintf(path, sizeof(path), "%s/%s", media, subdir) >= (int)sizeof(path) ||
	    mr_mkdirs(path, 0755, d) != MR_OK)
		return mr_diag_set(d, MR_E_IO, "%s: cannot create", path);
	if (mr_media_path(path, sizeof(path), media, subdir, cluster, ext) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "media path too long");
	return mr_file_write_atomic(path, data, len, 0644, d);
}

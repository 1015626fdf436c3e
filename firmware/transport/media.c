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
#include "mr_sort.h"

int
mr_media_path(char *out, size_t cap, const char *media, const char *subdir,
    const char *cluster, const char *ext)
{
	int k = snprintf(out, cap, "%s/%s/%s%s", media, subdir, cluster, ext);

	return (k < 0 || (size_t)k >= cap) ? MR_E_RANGE : MR_OK;
}

static int
by_name(const void *a, const void *b, void *ctx)
{
	const char *text = ctx;

	return strcmp(text + *(const size_t *)a, text + *(const size_t *)b);
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

void
mr_media_classify_at(int dirfd, const char *name, const char *ext, mr_media_item *it)
{
	char cluster[sizeof(it->cluster)];
	struct stat st;

	memset(it, 0, sizeof(*it));
	snprintf(it->name, sizeof(it->name), "%s", name);

	if (!mr_media_name_cluster(it->name, ext, cluster, sizeof(cluster))) {
		snprintf(it->why, sizeof(it->why),
		    "unexpected file name (want <cluster>%s, cluster [a-z0-9-]{1,63}, not starting with -)", ext);
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
mr_media_check(const char *media, mr_diag *d)
{
	char top[4096];
	struct stat st;

	/* A stick that is not mounted leaves an empty mount point or none:
	 * say that, not which file deep inside was missing. */
	if (stat(media, &st) != 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return mr_diag_set(d, MR_E_MEDIA, "%s: not mounted (no such directory)", media);
		return mr_diag_set(d, MR_E_MEDIA, "%s: %s", media, strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return mr_diag_set(d, MR_E_MEDIA, "%s: not a directory", media);
	if (mr_path_join(top, sizeof(top), media, MR_MEDIA_TOP) != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "media path too long");
	if (lstat(top, &st) != 0 || !S_ISDIR(st.st_mode))
		return mr_diag_set(d, MR_E_MEDIA,
		    "%s: not a meshroot medium (no %s/ directory)", media, MR_MEDIA_TOP);
	return MR_OK;
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
mr_media_is_metadata(const char *name)
{
	return strncmp(name, "._", 2) == 0 || strcmp(name, ".DS_Store") == 0 ||
	    strcmp(name, "Thumbs.db") == 0 || strcmp(name, "desktop.ini") == 0;
}

void
mr_media_ignored_note(size_t n, char *out, size_t cap)
{
	snprintf(out, cap, "note: ignored %zu macOS/Windows metadata file%s (._*, .DS_Store, "
	    "Thumbs.db, desktop.ini)", n, n == 1 ? "" : "s");
}

void
mr_media_names_free(mr_media_names *nm)
{
	free(nm->text);
	free(nm->off);
	memset(nm, 0, sizeof(*nm));
}

/* Appends one name; MR_E_NOMEM or MR_OK. */
static int
add_name(mr_media_names *nm, const char *name)
{
	size_t k = strlen(name) + 1;

	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 64;
		size_t *off = realloc(nm->off, cap * sizeof(*off));
		if (off == NULL)
			return MR_E_NOMEM;
		nm->off = off;
		nm->cap = cap;
	}
	if (nm->text_len + k > nm->text_cap) {
		size_t cap = nm->text_cap ? nm->text_cap : 1024;
		char *text;
		while (cap < nm->text_len + k)
			cap *= 2;
		if ((text = realloc(nm->text, cap)) == NULL)
			return MR_E_NOMEM;
		nm->text = text;
		nm->text_cap = cap;
	}
	memcpy(nm->text + nm->text_len, name, k);
	nm->off[nm->n++] = nm->text_len;
	nm->text_len += k;
	return MR_OK;
}

int
mr_media_names_at(int dirfd, const char *shown, mr_media_names *out, mr_diag *d)
{
	DIR *dp;
	struct dirent *de;
	int fd, r = MR_OK;

	memset(out, 0, sizeof(*out));
	/* fdopendir owns what it is given: a duplicate keeps dirfd usable. */
	if ((fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 0)) < 0)
		return mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
	if ((dp = fdopendir(fd)) == NULL) {
		close(fd);
		return mr_diag_set(d, MR_E_IO, "%s: %s", shown, strerror(errno));
	}
	/* The duplicate shares dirfd's offset: a second listing starts over. */
	rewinddir(dp);
	while ((de = readdir(dp)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (mr_media_is_metadata(de->d_name)) {
			out->ignored++;
			continue;
		}
		if (out->n == MR_MEDIA_MAX_ENTRIES) {
			r = mr_diag_set(d, MR_E_MEDIA, "%s: more than %u entries", shown,
			    MR_MEDIA_MAX_ENTRIES);
			break;
		}
		if (add_name(out, de->d_name) != MR_OK) {
			r = mr_diag_set(d, MR_E_NOMEM, "%s: out of memory", shown);
			break;
		}
	}
	closedir(dp);
	if (r != MR_OK) {
		mr_media_names_free(out);
		return r;
	}
	mr_sort(out->off, out->n, sizeof(out->off[0]), by_name, out->text);
	return MR_OK;
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


int
mr_media_sweep_temps(const char *media, size_t *removed, mr_diag *d)
{
	static const char *const dirs[] = { MR_MEDIA_TOP, MR_MEDIA_ANSWERS };
	char path[4096];
	size_t k = 0;
	int r = MR_OK;

	*removed = 0;
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && r == MR_OK; i++) {
		if (mr_path_join(path, sizeof(path), media, dirs[i]) != MR_OK)
			return mr_diag_set(d, MR_E_RANGE, "media path too long");
		r = mr_file_sweep_temps(path, &k, d);
		*removed += k;
	}
	return r;
}

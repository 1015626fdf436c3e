/*
 * The sneakernet media layout (docs/media.md), shared by the appliance and
 * the host. Everything lives under one directory on the stick:
 *
 *   meshroot/root-cert.pem              the appliance's root (written by it)
 *   meshroot/root.crl.pem               the root's latest CRL (`crl --media`)
 *   meshroot/requests/<cluster>.csr     PEM CSRs (written by the host)
 *   meshroot/answers/<cluster>.pem      issued certificate then the root
 *   meshroot/answers/<cluster>.refused  one line: why the request was refused
 *
 * Names are lower case and [a-z0-9-] so they survive FAT's case folding;
 * no permissions, symlinks or timestamps carry meaning. Anything else in
 * requests/ is reported and skipped, never opened.
 */
#ifndef MR_MEDIA_H
#define MR_MEDIA_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"

#define MR_MEDIA_TOP "meshroot"
#define MR_MEDIA_REQUESTS "meshroot/requests"
#define MR_MEDIA_ANSWERS "meshroot/answers"
#define MR_MEDIA_ROOT "meshroot/root-cert.pem"
/* The root's latest CRL, written by `meshroot-appliance crl --media`. */
#define MR_MEDIA_CRL "meshroot/root.crl.pem"
#define MR_MEDIA_MAX_FILE 65536u
/* A FAT directory holds at most 65,536 slots, fewer with long names:
 * no medium gives more entries than this. */
#define MR_MEDIA_MAX_ENTRIES 65536u

typedef struct {
	char name[256];    /* the directory entry as found */
	char cluster[64];  /* valid only when ok */
	int ok;            /* a well-formed, regular, small enough request file */
	char why[160];     /* why not, when !ok */
} mr_media_item;

/* The name check of a requests listing, pure: 1 and the cluster (NUL-terminated
 * in cap bytes) when name is exactly <cluster><ext> with a valid cluster
 * name, else 0. */
int mr_media_name_cluster(const char *name, const char *ext, char *cluster, size_t cap);

/* The entry names of a directory, sorted (byte order), in one block of
 * memory: n offsets into text. Memory grows with the names only, never
 * with the files behind them. */
typedef struct {
	char *text;        /* the names, each NUL-terminated */
	size_t text_len, text_cap;
	size_t *off;       /* off[i]: the i-th name, sorted */
	size_t n, cap;
	size_t ignored;    /* metadata files left out (mr_media_is_metadata) */
} mr_media_names;

/* 1 for the files other systems leave beside ours, which are never
 * requests or answers and are not worth a line each: macOS AppleDouble
 * "._*" and ".DS_Store", Windows "Thumbs.db" and "desktop.ini". */
int mr_media_is_metadata(const char *name);

/* The note for n ignored metadata files, one line without '\n'. */
void mr_media_ignored_note(size_t n, char *out, size_t cap);

/* Reads the names in dirfd (not "." and "..", and not metadata files:
 * those are counted in ->ignored), sorts them with mr_sort
 * (no libc qsort: see mr_sort.h). At most MR_MEDIA_MAX_ENTRIES, else
 * MR_E_MEDIA. Free with mr_media_names_free. */
int mr_media_names_at(int dirfd, const char *shown, mr_media_names *out, mr_diag *d)
    MR_MUST_CHECK;
void mr_media_names_free(mr_media_names *nm);

static inline const char *
mr_media_name(const mr_media_names *nm, size_t i)
{
	return nm->text + nm->off[i];
}

/* One entry of dirfd, examined with fstatat (never followed): it->ok, or
 * it->why says why it may not be opened. */
void mr_media_classify_at(int dirfd, const char *name, const char *ext, mr_media_item *it);

/* Is media a mounted meshroot medium? MR_E_MEDIA with one line that says
 * which it is not: "DIR: not mounted (no such directory)", "DIR: not a
 * directory", "DIR: not a meshroot medium (no meshroot/ directory)". */
int mr_media_check(const char *media, mr_diag *d) MR_MUST_CHECK;

/* Opens media/<subdir> (a directory, not a symlink) into *dirfd (the caller
 * closes it); its path goes to shown. MR_E_NOTFOUND when it does not exist,
 * MR_E_MEDIA when it is not a directory. */
int mr_media_open_dir(const char *media, const char *subdir, int *dirfd, char *shown,
    size_t shown_cap, mr_diag *d) MR_MUST_CHECK;


/* Atomically writes media/<subdir>/<cluster><ext>. */
int mr_media_write(const char *media, const char *subdir, const char *cluster,
    const char *ext, const void *data, size_t len, mr_diag *d) MR_MUST_CHECK;

/* Removes the temp files a killed run of the appliance left where it
 * writes on the media (meshroot/ and meshroot/answers/): see
 * mr_file_sweep_temps. *removed counts them. */
int mr_media_sweep_temps(const char *media, size_t *removed, mr_diag *d) MR_MUST_CHECK;

/* Path of media/<subdir>/<cluster><ext>. */
int mr_media_path(char *out, size_t cap, const char *media, const char *subdir,
    const char *cluster, const char *ext) MR_MUST_CHECK;

#endif

/*
 * Line files read in pieces: the appliance's append-only state (audit.log,
 * issued.db) grows with every certificate it ever issued, so reading one
 * whole into memory makes each start cost as much memory as the history.
 * mr_file_lines reads through one buffer of fixed size instead: memory
 * stays the same however long the file.
 *
 * mr_file_line_at reads back one line whose place a reader noted, so an
 * old record can be fetched without reading what comes before it.
 */
#ifndef MR_FILELINES_H
#define MR_FILELINES_H

#include <stddef.h>
#include <stdint.h>

#include "mr_diag.h"
#include "mr_err.h"

/* One complete line, newline included (line[n - 1] == '\n'), its 0-based
 * number and the offset of its first byte. Non-zero stops the read. */
typedef int (*mr_file_line_fn)(void *ctx, const char *line, size_t n, size_t number,
    uint64_t offset);

/*
 * Calls fn for each complete line of path, in order, until fn returns
 * non-zero (that value is returned; MR_OK after the last line). A final
 * line without its newline (a torn append) is not passed: *complete, if
 * not NULL, gets the bytes of the complete lines, and *total, if not
 * NULL, the bytes read (more than *complete when the last line is torn).
 * MR_E_NOTFOUND when path is absent; MR_E_IO for a
 * symlink, a file that is not regular, or a read error; MR_E_RANGE for a
 * line longer than max_line bytes (the diag names its number).
 */
int mr_file_lines(const char *path, size_t max_line, mr_file_line_fn fn, void *ctx,
    uint64_t *complete, uint64_t *total, mr_diag *d) MR_MUST_CHECK;

/* Reads the n bytes at offset of path into buf (cap >= n + 1, NUL added):
 * MR_E_IO when fewer are there (the file was cut or replaced). */
int mr_file_line_at(const char *path, uint64_t offset, size_t n, char *buf, size_t cap,
    mr_diag *d) MR_MUST_CHECK;

#endif

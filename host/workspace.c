#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mr_cluster.h"
#include "mr_fileio.h"
#include "mr_pem.h"
#include "workspace.h"

int
mr_ws_path(const mr_host_opts *o, const char *name, const char *file, char *out, size_t cap)
{
	int k;

	if (!mr_cluster_name_ok(name))
		return MR_E_ARG;
	if (file == NULL)
		k = snprintf(out, cap, "%s/clusters/%s", o->workspace, name);
	else
		k = snprintf(out, cap, "%s/clusters/%s/%s", o->workspace, name, file);
	return (k < 0 || (size_t)k >= cap) ? MR_E_RANGE : MR_OK;
}

static int
read_pem(const char *path, const char *label, uint8_t *der, size_t cap, size_t *len,
    mr_diag *d)
{
	return mr_file_read_pem(path, 1u << 20, label, der, cap, len, d);
}

int
mr_ws_read_cert(const char *path, uint8_t *der, size_t cap, size_t *len, mr_cert *c,
    mr_diag *d)
{
	int r;

	if ((r = read_pem(path, "CERTIFICATE", der, cap, len, d)) != MR_OK)
		return r;
	if (mr_cert_parse(der, *len, c, d) != MR_OK) {
		mr_diag_prefix(d, "%s", path);
		return MR_E_CERT;
	}
	return MR_OK;
}

static int
read_csr(const char *path, uint8_t *der, size_t cap, size_t *len, mr_csr *c, int verify,
    mr_diag *d)
{
	int r;

	if ((r = read_pem(path, "CERTIFICATE REQUEST", der, cap, len, d)) != MR_OK)
		return r;
	r = verify ? mr_csr_parse(der, *len, c, d) : mr_csr_parse_unverified(der, *len, c, d);
	if (r != MR_OK)
		mr_diag_prefix(d, "%s", path);
	return r;
}

int
mr_ws_read_csr(const char *path, uint8_t *der, size_t cap, size_t *len, mr_csr *c,
    mr_diag *d)
{
	return read_csr(path, der, cap, len, c, 1, d);
}

int
mr_ws_read_csr_key(const char *path, uint8_t *der, size_t cap, size_t *len, mr_csr *c,
    mr_diag *d)
{
	return read_csr(path, der, cap, len, c, 0, d);
}

int
mr_ws_read_root(const mr_host_opts *o, uint8_t *der, size_t cap, size_t *len, mr_cert *c,
    mr_diag *d)
{
	char path[4096];

	if (mr_path_join(path, sizeof(path), o->workspace, "root-cert.pem") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "workspace path too long");
	if (!mr_path_exists(path))
		return MR_E_NOTFOUND;
	return mr_ws_read_cert(path, der, cap, len, c, d);
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Appends name to the block (offsets, not pointers: the block moves as it
 * grows). Doubling keeps the whole walk linear. */
static int
list_add(const char *name, char **block, size_t *used, size_t *cap, size_t **off,
    size_t n, size_t *off_cap)
{
	size_t len = strlen(name) + 1;

	if (*used + len > *cap) {
		size_t c = *cap == 0 ? 4096 : *cap * 2;
		char *b = realloc(*block, c);
		if (b == NULL)
			return MR_E_NOMEM;
		*block = b;
		*cap = c;
	}
	if (n == *off_cap) {
		size_t c = *off_cap == 0 ? 256 : *off_cap * 2;
		size_t *v = realloc(*off, c * sizeof(*v));
		if (v == NULL)
			return MR_E_NOMEM;
		*off = v;
		*off_cap = c;
	}
	memcpy(*block + *used, name, len);
	(*off)[n] = *used;
	*used += len;
	return MR_OK;
}

int
mr_ws_list_read(const mr_host_opts *o, mr_ws_list *l, mr_diag *d)
{
	char path[4096];
	DIR *dp = NULL;
	struct dirent *de;
	size_t used = 0, cap = 0, off_cap = 0, n = 0, *off = NULL;
	char *block = NULL;
	int r = MR_E_INTERNAL;

	memset(l, 0, sizeof(*l));
	if (mr_path_join(path, sizeof(path), o->workspace, "clusters") != MR_OK)
		return mr_diag_set(d, MR_E_RANGE, "workspace path too long");
	if ((dp = opendir(path)) == NULL) {
		if (errno == ENOENT)
			return MR_OK;
		return mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
	}
	errno = 0;
	while ((de = readdir(dp)) != NULL) {
		if (!mr_cluster_name_ok(de->d_name))
			continue;
		if (n == MR_WS_LIST_MAX) {
			r = mr_diag_set(d, MR_E_RANGE, "%s: more than %u clusters (the limit of one "
			    "workspace): split the fleet into several workspaces", path, MR_WS_LIST_MAX);
			goto out;
		}
		if (list_add(de->d_name, &block, &used, &cap, &off, n, &off_cap) != MR_OK) {
			r = mr_diag_set(d, MR_E_NOMEM, "out of memory listing %s", path);
			goto out;
		}
		n++;
		errno = 0;
	}
	if (errno != 0) {
		r = mr_diag_set(d, MR_E_IO, "%s: %s", path, strerror(errno));
		goto out;
	}
	if (n > 0 && (l->names = malloc(n * sizeof(*l->names))) == NULL) {
		r = mr_diag_set(d, MR_E_NOMEM, "out of memory listing %s", path);
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		l->names[i] = block + off[i];
	qsort(l->names, n, sizeof(*l->names), by_name);
	l->n = n;
	l->block = block;
	block = NULL;
	r = MR_OK;
out:
	closedir(dp);
	free(off);
	free(block);
	return r;
}

void
mr_ws_list_free(mr_ws_list *l)
{
	free(l->names);
	free(l->block);
	memset(l, 0, sizeof(*l));
}

int
mr_ws_clusters(const mr_host_opts *o, char names[][64], size_t max, size_t *n, mr_diag *d)
{
	mr_ws_list l;
	int r;

	*n = 0;
	if ((r = mr_ws_list_read(o, &l, d)) != MR_OK)
		return r;
	if (l.n > max) {
		mr_ws_list_free(&l);
		return mr_diag_set(d, MR_E_RANGE, "more than %zu clusters", max);
	}
	/* mr_cluster_name_ok bounds each name to 63 bytes. */
	for (size_t i = 0; i < l.n; i++)
		memcpy(names[i], l.names[i], strlen(l.names[i]) + 1);
	*n = l.n;
	mr_ws_list_free(&l);
	return MR_OK;
}

int
mr_ws_cluster_issued(const mr_host_opts *o, const char *name)
{
	char path[4096];
	uint8_t cert_der[MR_WS_CERT_MAX], csr_der[MR_CSR_MAX_DER];
	size_t cl, rl;
	mr_cert c;
	mr_csr q;

	if (mr_ws_path(o, name, "ca-cert.pem", path, sizeof(path)) != MR_OK ||
	    !mr_path_exists(path) ||
	    mr_ws_read_cert(path, cert_der, sizeof(cert_der), &cl, &c, NULL) != MR_OK ||
	    mr_ws_path(o, name, "csr.pem", path, sizeof(path)) != MR_OK ||
	    mr_file_read_pem(path, 1u << 20, "CERTIFICATE REQUEST", csr_der, sizeof(csr_der), &rl,
		NULL) != MR_OK ||
	    mr_csr_parse_unverified(csr_der, rl, &q, NULL) != MR_OK)
		return 0;
	/* Only the keys are compared: the request's self-signature is checked
	 * where it matters (export, submit, an answer's acceptance), not for
	 * every cluster of every status. */
	return mr_der_equal(c.spki.whole, q.spki.whole);
}

int
mr_ws_write_pem(const char *path, const char *label, const uint8_t *der, size_t len,
    unsigned mode, mr_diag *d)
{
	size_t cap = mr_pem_size(label, len), n;
	char *pem = malloc(cap);
	int r;

	if (pem == NULL)
		return mr_diag_set(d, MR_E_NOMEM, "out of memory");
	r = mr_pem_write(label, der, len, pem, cap, &n);
	if (r == MR_OK)
		r = mr_file_write_atomic(path, pem, n, (mode_t)mode, d);
	explicit_bzero(pem, cap);
	free(pem);
	return r;
}

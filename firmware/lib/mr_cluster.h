/*
 * Cluster names: the one piece of a request that reaches a certificate
 * (CN and L of the intermediate) and a file name (media, workspace).
 * Allowlist: [a-z0-9-]{1,63}, not starting with '-'. That excludes '/',
 * '.', upper case (FAT names are case-insensitive), an option look-alike
 * and anything a shell or YAML would treat specially.
 */
#ifndef MR_CLUSTER_H
#define MR_CLUSTER_H

#include <stddef.h>

#define MR_CLUSTER_MAX 63

/* 1 if s is a valid cluster name. */
int mr_cluster_name_ok(const char *s);
/* As above for s[0..n) (not NUL-terminated). */
int mr_cluster_name_ok_n(const char *s, size_t n);
/* Why s is not a valid cluster name, to follow `cluster name "S" ` in a
 * message ("must not start with \"-\"", "is not [a-z0-9-]{1,63}"); NULL
 * when it is valid. */
const char *mr_cluster_name_why(const char *s);

#endif

#include <string.h>

#include "mr_cluster.h"

int
mr_cluster_name_ok_n(const char *s, size_t n)
{
	if (n == 0 || n > MR_CLUSTER_MAX || s[0] == '-')
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

const char *
mr_cluster_name_why(const char *s)
{
	/* A leading '-' would be read as an option by every tool a name is
	 * later given to (kubectl, openssl, a shell's file commands). */
	if (s[0] == '-')
		return "must not start with \"-\"";
	if (!mr_cluster_name_ok(s))
		return "is not [a-z0-9-]{1,63}";
	return NULL;
}

int
mr_cluster_name_ok(const char *s)
{
	return mr_cluster_name_ok_n(s, strnlen(s, MR_CLUSTER_MAX + 1));
}

#include <string.h>

#include "mr_cluster.h"

int
mr_cluster_name_ok_n(const char *s, size_t n)
{
	if (n == 0 || n > MR_CLUSTER_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'))
			return 0;
	}
	return 1;
}

int
mr_cluster_name_ok(const char *s)
{
	return mr_cluster_name_ok_n(s, strnlen(s, MR_CLUSTER_MAX + 1));
}

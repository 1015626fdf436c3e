/* Media and cluster names (firmware/lib/cluster.c, the name check of
 * firmware/transport/media.c): whatever a directory entry is called, an
 * accepted cluster is [a-z0-9-]{1,63} and the file name is exactly
 * <cluster><ext>. Byte 0 picks the extension. */
#include <string.h>

#include "fuzz.h"
#include "mr_cluster.h"
#include "mr_media.h"

static const char *const exts[] = { ".csr", ".pem", ".refused", "" };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[256], cluster[64];
	const char *ext;
	size_t n, i;

	if (size < 1)
		return 0;
	ext = exts[data[0] % (sizeof(exts) / sizeof(exts[0]))];
	n = size - 1 < sizeof(name) - 1 ? size - 1 : sizeof(name) - 1;
	memcpy(name, data + 1, n);
	name[n] = '\0';

	if (mr_cluster_name_ok_n((const char *)data + 1, size - 1) !=
	    (memchr(data + 1, '\0', size - 1) == NULL && size - 1 <= MR_CLUSTER_MAX &&
	     size - 1 == n && mr_cluster_name_ok(name)))
		__builtin_trap();
	if (mr_cluster_name_ok(name)) {
		size_t len = strlen(name);

		if (len == 0 || len > MR_CLUSTER_MAX)
			__builtin_trap();
		for (i = 0; i < len; i++)
			if (!((name[i] >= 'a' && name[i] <= 'z') ||
			    (name[i] >= '0' && name[i] <= '9') || name[i] == '-'))
				__builtin_trap();
	}
	if (mr_media_name_cluster(name, ext, cluster, sizeof(cluster))) {
		size_t cl = strlen(cluster);

		if (!mr_cluster_name_ok(cluster) || strlen(name) != cl + strlen(ext) ||
		    memcmp(name, cluster, cl) != 0 || strcmp(name + cl, ext) != 0)
			__builtin_trap();
	}
	return 0;
}

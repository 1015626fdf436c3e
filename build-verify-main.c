/* TEMPORARY: manual runs of cmd_verify until host/main.c exists. Not part of the build. */
#include <stdio.h>
#include <string.h>
#include "cmd.h"
int
main(int argc, char **argv)
{
	mr_host_opts o = { "./meshroot-workspace" };
	if (argc < 2 || strcmp(argv[1], "verify") != 0) {
		fprintf(stderr, "error: only verify in this build\n");
		return 2;
	}
	return cmd_verify(&o, argc - 1, argv + 1);
}

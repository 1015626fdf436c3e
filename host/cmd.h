/*
 * The meshroot host commands, one file each (cmd_<name>.c). Each takes the
 * arguments after its own name (argv[0] is the command name) and the parsed
 * global options, returns the process exit status, and prints its own
 * one-line "error: ..." on failure.
 */
#ifndef MR_HOST_CMD_H
#define MR_HOST_CMD_H

typedef struct {
	const char *workspace; /* --workspace, default "./meshroot-workspace" or $MESHROOT_WORKSPACE */
} mr_host_opts;

int cmd_cluster(const mr_host_opts *o, int argc, char **argv);
int cmd_media(const mr_host_opts *o, int argc, char **argv);
int cmd_bundle(const mr_host_opts *o, int argc, char **argv);
int cmd_verify(const mr_host_opts *o, int argc, char **argv);
int cmd_status(const mr_host_opts *o, int argc, char **argv);
int cmd_root(const mr_host_opts *o, int argc, char **argv);
int cmd_audit(const mr_host_opts *o, int argc, char **argv);
int cmd_submit(const mr_host_opts *o, int argc, char **argv);
int cmd_device(const mr_host_opts *o, int argc, char **argv);

#endif

/*
 * The command table of meshroot. A command's options here MUST match its
 * getopt table in cmd_<name>.c: man/check.sh compares both with
 * man/meshroot.1, and the completions read `meshroot --help-commands`.
 */
#include "cmdtab.h"
#include "mr_err.h"

#define WS "--workspace"
#define O_EXPECT { "--expect-root", "SHA256", "the root's SHA-256 when none is pinned yet (first use)" }
#define O_USB { "--usb", "[SERIAL]", "the appliance on USB (the one with SERIAL)" }
#define O_CONNECT { "--connect", "unix:PATH", "the simulated appliance's socket" }
#define O_AUDIT_KEY { "--key", "AUDITKEY", "the audit key (default: the one pinned in the workspace)" }

#define O_JSON { "--json", NULL, "one JSON document on stdout (docs/json.md); the rest on stderr" }

static const mr_cli_cmd cmds[] = {
	{ "cluster", "new", "NAME [--key TYPE]",
	  "make the cluster's intermediate key (0600) and CSR",
	  { { "--key", "TYPE", "ec-p256 (default), ec-p384, rsa-3072 or rsa-4096" } },
	  "meshroot cluster new east --key ec-p384" },
	{ "cluster", "import", "NAME --csr FILE",
	  "take a CSR whose key was made elsewhere (the file set lacks ca-key.pem)",
	  { { "--csr", "FILE", "the PEM or DER certificate request" } },
	  "meshroot cluster import west --csr west.csr" },
	{ "cluster", "renew", "NAME [--key TYPE]",
	  "new key and request; the old pair serves until the import",
	  { { "--key", "TYPE", "the new key's type (default: the current one's)" } },
	  "meshroot cluster renew east" },
	{ "media", "export", "--to DIR [NAME...]",
	  "write the waiting requests (or NAME's) onto the media",
	  { { "--to", "DIR", "the mounted media" } },
	  "meshroot media export --to /media/stick" },
	{ "media", "import", "--from DIR [--expect-root SHA256] [--json]",
	  "check and take back the appliance's answers (exit 8: none taken)",
	  { { "--from", "DIR", "the mounted media" }, O_EXPECT, O_JSON },
	  "meshroot media import --from /media/stick\nmeshroot media import --from /media/stick --json" },
	{ "submit", NULL, "(--usb [SERIAL] | --connect unix:PATH) [--expect-root SHA256]\n"
	  "                [--no-wait] [--wait SECONDS] [--poll-ms MS] [--json] [NAME...]",
	  "send the waiting requests over the link, wait, check the answers",
	  { O_USB, O_CONNECT, O_EXPECT,
	    { "--no-wait", NULL, "queue the requests and return" },
	    { "--wait", "SECONDS", "give up waiting for approval after SECONDS" },
	    { "--poll-ms", "MS", "poll interval, 10..60000 (default 1000)" }, O_JSON },
	  "meshroot submit --usb\nmeshroot submit --connect unix:/run/meshroot.sock east" },
	{ "device", NULL, "(--usb [SERIAL] | --connect unix:PATH) [--audit-from N] [--json]",
	  "the appliance's identity and root (and its audit log from record N)",
	  { O_USB, O_CONNECT, O_EXPECT,
	    { "--audit-from", "N", "also fetch the audit log from record N" }, O_JSON },
	  "meshroot device --usb" },
	{ "bundle", NULL, "(NAME... | --all) [--out DIR] [--secret-yaml] [--kustomize]\n"
	  "                [--format cacerts|tls] [--crl [--crl-days N]]",
	  "write the Istio cacerts file set (default out/NAME/)",
	  { { "--all", NULL, "every cluster that has its certificate" },
	    { "--out", "DIR", "where the file sets go (default out)" },
	    { "--secret-yaml", NULL, "also a cacerts Secret manifest for istio-system" },
	    { "--kustomize", NULL, "also kustomization.yaml: a secretGenerator for the same Secret (docs/gitops.md)" },
	    { "--format", "cacerts|tls", "Istio's cacerts names (default) or tls.crt/tls.key/ca.crt" },
	    { "--crl", NULL, "add ca-crl.pem, the root's CRL" },
	    { "--crl-days", "N", "the CRL must be valid N more days (1..3653, default 30)" } },
	  "meshroot bundle east --secret-yaml\nmeshroot bundle --all --out /srv/gitops --kustomize" },
	{ "verify", NULL, "[--at TIME] [--json] DIR...",
	  "check cacerts directories as istiod would, plus hygiene (exit 7: problems)",
	  { { "--at", "TIME", "judge validity at TIME (YYYY-MM-DD[THH:MM:SSZ], UTC)" }, O_JSON },
	  "meshroot verify out/east" },
	{ "status", NULL, "[--warn-days N] [--root-warn-days N] [--crl-warn-days N] [--json]",
	  "each cluster's state and days left; exit 0 fine, 1 warning, 2 critical, 3 unknown",
	  { { "--warn-days", "N", "warn when an intermediate has under N days (30)" },
	    { "--root-warn-days", "N", "warn when the root has under N days (730)" },
	    { "--crl-warn-days", "N", "warn when the CRL has under N days (14)" }, O_JSON },
	  "meshroot status --warn-days 45\nmeshroot status --json" },
	{ "root", "rotate", "--from DIR [--expect-root SHA256]",
	  "pin the appliance's new root through its cross-certificate",
	  { { "--from", "DIR", "the media with the rotation answers" }, O_EXPECT },
	  "meshroot root rotate --from /media/stick" },
	{ "root", "finish", "",
	  "end the transition (no cluster left on the old root)",
	  { { NULL, NULL, NULL } },
	  "meshroot root finish" },
	{ "audit", "verify", "DIR [--key AUDITKEY] [--previous CHECKPOINT|DIR] [--issued CERTDIR]",
	  "check an audit export: chain, tree root, signature, consistency (exit 7: fails)",
	  { O_AUDIT_KEY,
	    { "--previous", "CHECKPOINT|DIR", "the checkpoint of the last review" },
	    { "--issued", "CERTDIR", "also prove these certificates are in the log" } },
	  "meshroot audit verify /media/stick/audit --previous last-review/checkpoint" },
	{ "audit", "show", "DIR [--key AUDITKEY] [--since TIME] [--until TIME] [--event EVENT]\n"
	  "                [--cluster NAME] [--json]",
	  "print the verified records",
	  { O_AUDIT_KEY,
	    { "--since", "TIME", "records from TIME" },
	    { "--until", "TIME", "records up to TIME" },
	    { "--event", "EVENT", "records of one event (issue, refuse, ...)" },
	    { "--cluster", "NAME", "records about one cluster" },
	    { "--json", NULL, "one JSON object a record" } },
	  "meshroot audit show /media/stick/audit --event issue" },
	{ "audit", "report", "DIR --html FILE [--key AUDITKEY]",
	  "write a self-contained HTML report of the verified log",
	  { { "--html", "FILE", "the report to write" }, O_AUDIT_KEY },
	  "meshroot audit report /media/stick/audit --html review.html" },
};

const mr_cli_table mr_host_cli = {
	"meshroot", "[--workspace DIR]",
	{ { WS, "DIR", "the workspace (default $MESHROOT_WORKSPACE, else ./meshroot-workspace)" },
	  { "--help", NULL, "this text; COMMAND --help for a command's" },
	  { "--version", NULL, "print the program name and version" } },
	cmds, sizeof(cmds) / sizeof(cmds[0]),
	"Commands that write the workspace own it while they run (a lock on\n"
	"DIR/lock): a second one exits 75 at once, naming the owner, and changes\n"
	"nothing. status, verify, audit and media export only read it.\n"
	"Exit status: 0 success, 1 failure, 2 usage, 3 bad input, 4 refused,\n"
	"6 device/link, 7 verification failed, 8 nothing imported, 75 workspace\n"
	"in use, 130 interrupted; status: 0 fine, 1 warning, 2 critical, 3 unknown\n"
	"(meshroot(1), docs/exit-codes.md).\n",
};

int
mr_host_exit(int err)
{
	return err == MR_E_KEY_MISMATCH ? MR_EXIT_VERIFY : mr_exit_code(err);
}

/*
 * The command table of meshroot-appliance. A command's options here MUST
 * match its getopt table (cmd_<name>.c, ceremony/): man/check.sh compares
 * both with man/meshroot-appliance.8, and the completions read
 * `meshroot-appliance --help-commands`.
 */
#include "mr_cmdtab.h"

#define O_YES { "--yes", NULL, "approve without asking (tests and demos; audited as such)" }
#define O_OPERATOR { "--operator", "NAME", "the operator, for the transcript" }
#define O_WITNESS { "--witness", "NAME", "a witness, for the transcript (repeatable)" }
#define O_SHARES_DIR { "--shares-dir", "DIR", "write the custody shares as files in DIR" }
#define P "meshroot-appliance --state /var/lib/meshroot --token my-hsm "

static const mr_cli_cmd cmds[] = {
	{ "ceremony", "template", "",
	  "print a commented default ceremony config (meshroot-config(5))",
	  { { NULL, NULL, NULL } },
	  "meshroot-appliance ceremony template > ceremony.conf" },
	{ "ceremony", "init", "--config FILE [--yes] [--shares-dir DIR] [--media DIR]\n"
	  "                [--operator NAME] [--witness NAME]...",
	  "the root key ceremony (once per state dir)",
	  { { "--config", "FILE", "the reviewed ceremony config" }, O_YES, O_SHARES_DIR,
	    { "--media", "DIR", "also write the transcript and root onto DIR" },
	    O_OPERATOR, O_WITNESS },
	  P "ceremony init --config ceremony.conf --operator alice --witness bob" },
	{ "ceremony", "rotate", "--key-label LABEL [--common-name CN] [--media DIR] [--yes]\n"
	  "                [--operator NAME] [--witness NAME]...",
	  "new root key and root, cross-certificates both ways",
	  { { "--key-label", "LABEL", "the new root key's label in the token" },
	    { "--common-name", "CN", "the new root's common name" },
	    { "--media", "DIR", "write the new root and cross-certificates onto DIR" },
	    O_YES, O_OPERATOR, O_WITNESS },
	  P "ceremony rotate --key-label root-2 --media /media/stick" },
	{ "ceremony", "reshare", "[--shares N --threshold M] [--shares-dir DIR] [--media DIR]\n"
	  "                [--yes] [--operator NAME] [--witness NAME]...",
	  "new custody shares and PIN from M current shares",
	  { { "--shares", "N", "how many shares" },
	    { "--threshold", "M", "how many shares open the token" },
	    O_SHARES_DIR,
	    { "--media", "DIR", "also write the transcript onto DIR" },
	    O_YES, O_OPERATOR, O_WITNESS },
	  "meshroot-appliance --state /var/lib/meshroot ceremony reshare --threshold 3 --shares 5" },
	{ "sign", NULL, "--media DIR [--review each|batch] [--yes] [--json]",
	  "sign the requests on mounted media, each after the operator's approval",
	  { { "--media", "DIR", "the mounted media" },
	    { "--review", "each|batch", "one confirmation per request (default) or per batch" },
	    O_YES,
	    { "--json", NULL, "the summary as one JSON document on stdout (docs/json.md); the rest, prompts too, on stderr" } },
	  P "sign --media /media/stick\n" P "sign --media /media/stick --review batch" },
	{ "status", NULL, "[--json]",
	  "root, policy, issued count, audit position; the token when one is named",
	  { { "--json", NULL, "one JSON document on stdout (docs/json.md)" } },
	  "meshroot-appliance --state /var/lib/meshroot status" },
	{ "revoke", NULL, "SERIAL --reason REASON [--yes]",
	  "revoke an issued intermediate (audited); then `crl`",
	  { { "--reason", "REASON", "keyCompromise, cACompromise, affiliationChanged, superseded,"
	      " cessationOfOperation, privilegeWithdrawn or unspecified" }, O_YES },
	  P "revoke 4f:1a:09 --reason keyCompromise" },
	{ "crl", NULL, "[--media DIR]",
	  "sign the root's next CRL (state dir, and DIR/meshroot/root.crl.pem)",
	  { { "--media", "DIR", "also write the CRL onto DIR" } },
	  P "crl --media /media/stick" },
	{ "state", "check", "[--repair [--yes]]",
	  "check the state dir and token; exit 0 healthy, 3 repairable, 4 manual",
	  { { "--repair", NULL, "make the provably safe repairs (audited)" }, O_YES },
	  P "state check\n" P "state check --repair" },
	{ "audit", "export", "--to DIR",
	  "the audit log, signed checkpoint and audit key (docs/audit.md)",
	  { { "--to", "DIR", "where the export goes" } },
	  P "audit export --to /media/stick/audit" },
	{ "serve", NULL, "(--usb [--ffs DIR] | --listen unix:PATH) [--approve console|button|auto]",
	  "answer the host over the USB link or a socket (docs/protocol.md)",
	  { { "--usb", NULL, "the USB gadget link (FunctionFS)" },
	    { "--ffs", "DIR", "the FunctionFS mount (default /dev/ffs-meshroot)" },
	    { "--listen", "unix:PATH", "a Unix socket (the simulated appliance)" },
	    { "--approve", "console|button|auto", "who approves requests (default console)" } },
	  P "serve --usb --approve button" },
};

const mr_cli_table mr_app_cli = {
	"meshroot-appliance",
	"[--state DIR] [--module PKCS11_SO] [--module-args STRING]\n"
	"                          [--token LABEL|URI] [--pin-file FILE | --shares-from DIR]",
	{ { "--state", "DIR", "the state dir (default $MESHROOT_STATE)" },
	  { "--module", "PKCS11_SO", "the PKCS#11 module (default $MESHROOT_MODULE)" },
	  { "--module-args", "STRING", "passed to the module's C_Initialize in pReserved (NSS softoken's configdir=...; default $MESHROOT_MODULE_ARGS)" },
	  { "--token", "LABEL|URI", "token label or pkcs11: URI (default $MESHROOT_TOKEN)" },
	  { "--pin-file", "FILE", "read the user PIN from FILE (automation)" },
	  { "--shares-from", "DIR", "read custody shares from files in DIR" },
	  { "--help", NULL, "this text; COMMAND --help for a command's" },
	  { "--version", NULL, "print the program name and version" } },
	cmds, sizeof(cmds) / sizeof(cmds[0]),
	"The user PIN is read from the console, or from --pin-file for automation.\n"
	"With split custody ([custody] split = on) custodians enter their shares at\n"
	"the console instead, or --shares-from DIR reads them from files.\n"
	"--module-args STRING is passed to the module's C_Initialize (pReserved),\n"
	"e.g. NSS softoken's \"configdir='sql:DIR' ...\"; the ceremony config's\n"
	"[token] module_args is the default for a state dir.\n"
	"Environment: MESHROOT_STATE, MESHROOT_MODULE, MESHROOT_MODULE_ARGS and\n"
	"MESHROOT_TOKEN give defaults.\n"
	"\n"
	"One process at a time owns a state dir (a lock on DIR/lock): a command\n"
	"on a state dir in use exits 75 at once, naming the owner, and changes\n"
	"nothing. Exit status: 0 success, 1 failure, 2 usage, 3 bad input,\n"
	"4 refused, 5 token, 6 device/link, 75 state dir in use, 130 interrupted\n"
	"(docs/exit-codes.md, meshroot-appliance(8)).\n",
};

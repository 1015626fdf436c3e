#!/usr/bin/env bash
# docs/revocation.md, word for word (lib/docs_run.sh), after a ceremony and
# two issued clusters.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
# shellcheck source=lib/docs_run.sh
. "$MESHROOT_SRC/tests/integration/lib/docs_run.sh"

ceremony
host cluster new east >/dev/null
host cluster new west >/dev/null
host media export --to "$T/usb" >/dev/null
app sign --media "$T/usb" --yes >/dev/null || fail "sign"
host media import --from "$T/usb" >/dev/null
export MESHROOT_STATE="$T/state" MESHROOT_TOKEN=meshroot-test MESHROOT_WORKSPACE="$T/ws"
# The PIN at the console: stdin of each command is the confirmation word,
# so the token PIN comes from the file as in every other test.
meshroot-appliance() { "$APPLIANCE" --pin-file "$T/user.pin" "$@"; }
run_doc "$MESHROOT_SRC/docs/revocation.md"
grep -q 'event=revoke .*cluster=west reason=keyCompromise' "$T/state/audit.log" || fail "west not revoked"
[ -f "$T/usb/out/east/ca-crl.pem" ] && [ -f "$T/usb/tls/east/tls.crt" ] || fail "doc outputs missing"
grep -q 'exit status 2' "$T/doc.log" || fail "status did not report the revoked cluster as critical"
echo "ok: docs/revocation.md runs as written"

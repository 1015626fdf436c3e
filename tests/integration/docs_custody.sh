#!/usr/bin/env bash
# docs/custody.md's rehearsal, word for word (lib/docs_run.sh).
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
# shellcheck source=lib/docs_run.sh
. "$MESHROOT_SRC/tests/integration/lib/docs_run.sh"

softhsm2-util --init-token --free --label rehearsal --pin 4321 --so-pin 8765 >/dev/null
mkdir -p "$T/custody"
echo 4321 >"$T/custody/operator.pin"; chmod 600 "$T/custody/operator.pin"
export MESHROOT_STATE="$T/rehearsal-state"
run_doc "$MESHROOT_SRC/docs/custody.md"
grep -q 'event=custody-reshare' "$MESHROOT_STATE/audit.log" || fail "no reshare in the audit log"
echo "ok: docs/custody.md rehearsal runs as written"

#!/usr/bin/env bash
# Every exit status of docs/exit-codes.md, each triggered for real with
# its exact message: 0, 1, 2, 3 bad input, 4 refused, 5 token, 6 link,
# 7 verification failed, 8 nothing to import, 75 in use, 130 interrupted.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/appliance_env.sh
. "$here/lib/appliance_env.sh"
# shellcheck source=lib/serve.sh
. "$here/lib/serve.sh"
ceremony

# 0
host --version >"$T/v" && grep -qx "meshroot [0-9.]*" "$T/v" || fail "meshroot --version"
host cluster new east >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null
host media import --from "$T/media" >"$T/import.out" || fail "import: $(cat "$T/import.out")"

# 1: another failure.
expect_fail 1 "^error: cluster east already exists in $T/ws\$" host cluster new east

# 2: usage, in both programs.
expect_fail 2 "^error: unknown option '--nosuch' (see meshroot bundle --help)\$" host bundle --nosuch
expect_fail 2 "^error: sign needs --media DIR (see meshroot-appliance sign --help)\$" app sign

# 3: bad input: a request that is none, a medium that is none, a config.
echo "not a request" >"$T/g.csr"
expect_fail 3 "^error: $T/g.csr: no PEM CERTIFICATE REQUEST block\$" host cluster import west --csr "$T/g.csr"
mkdir "$T/empty"
expect_fail 3 "^error: $T/empty: not a meshroot medium (no meshroot/ directory)\$" host media import --from "$T/empty"
"$APPLIANCE" ceremony template | sed 's/^key_type = /key_typo = /' >"$T/bad.conf"
expect_fail 3 '^error: .*line [0-9]*: unknown key key_typo in \[root\]$' "$APPLIANCE" --state "$T/state2" --token meshroot-test \
  --pin-file "$T/user.pin" ceremony init --config "$T/bad.conf" --yes

# 8: nothing to import: north waits, the medium has no answer for it.
host cluster new north >/dev/null
host media export --to "$T/media" north >/dev/null
expect_fail 8 "^error: nothing to import: no answer on $T/media for the 1 waiting cluster(s); its 1 other answer(s) are already imported\$" \
  host media import --from "$T/media"

# 4: refused. The operator declines north on the appliance; the host
# reads the refusal. And a request the policy refuses (RSA-2048).
echo n | app sign --media "$T/media" >"$T/declined.out" 2>&1 && fail "a declined batch exited 0"
expect_fail 4 "^error: cluster north: refused by the appliance: " host media import --from "$T/media"
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/weak.key" -subj /CN=weak -out \
  "$T/media/meshroot/requests/weak.csr" 2>/dev/null
expect_fail 4 '^error: 1 of [0-9]* request file(s) not signed$' app sign --media "$T/media" --yes
grep -q "^request weak.csr: refused: " "$T/expect.out" || fail "no refusal line for weak.csr"

# 5: the token: a wrong PIN.
echo 0000 >"$T/wrong.pin"; chmod 600 "$T/wrong.pin"
expect_fail 5 '^error: .*\(CKR_PIN_INCORRECT\|wrong PIN\)' \
  "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/wrong.pin" crl

# 6: the link: no appliance on the socket.
expect_fail 6 "^error: no appliance serving on $T/nosock\$" host submit --connect "unix:$T/nosock"

# 7: verification failed: a file set without its key.
host bundle east --out "$T/out" >/dev/null
rm "$T/out/east/ca-key.pem"
expect_fail 7 "^$T/out/east: problem: ca-key.pem missing" host verify "$T/out/east"

# 75: the workspace in use: this shell holds its lock.
exec 8<>"$T/ws/lock"
flock -n 8 || fail "cannot take the workspace lock"
expect_fail 75 "^error: workspace $T/ws is in use by another process; nothing was changed\$" \
  host cluster new south
exec 8>&-

# 130: Ctrl-C while submit waits for an approval that never comes.
mkfifo "$T/button"
exec 7<>"$T/button" # the approval button: never pressed
start_serve button "$T/button"
host cluster new west >/dev/null
"$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 50 west >"$T/submit.out" 2>&1 &
sub=$!
for _ in $(seq 300); do grep -q '^waiting for the operator' "$T/submit.out" && break; sleep 0.05; done
grep -q '^waiting for the operator' "$T/submit.out" || fail "submit did not wait: $(cat "$T/submit.out")"
kill -INT "$sub"
rc=0; wait "$sub" || rc=$?
[ "$rc" -eq 130 ] || { cat "$T/submit.out"; fail "interrupted submit: exit $rc, expected 130"; }
grep -q "^interrupted: 1 request(s) stay queued on the appliance" "$T/submit.out" ||
  fail "interrupted submit: $(cat "$T/submit.out")"
echo "PASS: exit statuses 0 1 2 3 4 5 6 7 8 75 130"

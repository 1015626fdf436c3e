#!/usr/bin/env bash
# `sign --media DIR --review batch`: the batch shown as one table and
# approved with one confirmation, recorded with the batch's SHA-256 (which
# this test computes on its own from the CSRs); a request changed on the
# media after the review is refused, never signed unseen; a declined batch
# signs nothing and writes no answer.
set -euo pipefail
. "$(dirname "$0")/lib/appliance_env.sh"
FIXTURE="$MESHROOT_BIN/tests/fleet_fixture"
ceremony
"$FIXTURE" requests "$T/ws" 5 >/dev/null
host media export --to "$T/m" >/dev/null 2>&1

# The batch hash, independently: one line "<cluster> <SHA-256 of the CSR
# DER>" per request, in file-name order.
for f in $(ls "$T/m/meshroot/requests" | sort); do
  printf '%s %s\n' "${f%.csr}" \
    "$(openssl req -in "$T/m/meshroot/requests/$f" -outform DER | sha256sum | cut -d' ' -f1)"
done > "$T/lines"
want=$(sha256sum < "$T/lines" | cut -d' ' -f1)

# Approve on the console, through a FIFO: the test waits for the question,
# changes one request on the media, then answers.
mkfifo "$T/in"
app sign --media "$T/m" --review batch < "$T/in" > "$T/out" 2> "$T/err" &
pid=$!
exec 3> "$T/in"
for _ in $(seq 1 600); do
  grep -q "Approve all 5 intermediate CA(s) in this table?" "$T/out" 2>/dev/null && break
  sleep 0.1
done
grep -q "Approve all 5 intermediate CA(s) in this table?" "$T/out" || { cat "$T/out" "$T/err"; fail "no question"; }
grep -qx "batch SHA-256: $want" "$T/out" || { cat "$T/out"; fail "batch hash differs from $want"; }
for c in c00000 c00001 c00002 c00003 c00004; do
  grep -Eq "^ +[0-9]+  $c +ec-p256 +[a-z]+ [a-z]+ [a-z]+ [a-z]+ +[0-9]{4}-[0-9]{2}-[0-9]{2}" "$T/out" ||
    { cat "$T/out"; fail "no table row for $c"; }
done
# Not one request was shown on its own.
if grep -q "^request c0000[0-9].csr:$" "$T/out"; then fail "one-by-one review shown"; fi
"$FIXTURE" requests "$T/ws2" 3 >/dev/null
cp "$T/ws2/clusters/c00002/csr.pem" "$T/m/meshroot/requests/c00002.csr"
echo yes >&3
exec 3>&-
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" = 4 ] || { cat "$T/out" "$T/err"; fail "exit $rc, want 4 (one request refused)"; }
grep -qx "error: 1 of 5 request file(s) not signed" "$T/err" || { cat "$T/err"; fail "error line"; }
grep -qx "request c00002.csr: refused: not the request approved in the batch review (the media changed since): not signed" "$T/out" ||
  { cat "$T/out"; fail "changed request not refused"; }
grep -qx "summary: 4 signed, 0 answered from earlier runs, 1 refused, 0 skipped" "$T/out" || fail "summary"
grep -q " event=approve-batch count=5 batch=$want by=operator " "$T/state/audit.log" || fail "approve-batch record"
[ "$(grep -c " event=approve .* by=operator batch=$want " "$T/state/audit.log")" = 4 ] || fail "approve records"
[ -e "$T/m/meshroot/answers/c00002.refused" ] || fail "no refusal answer for c00002"
[ ! -e "$T/m/meshroot/answers/c00002.pem" ] || fail "changed request signed"

# Declined: nothing signed, no answer, the refusal recorded.
rm -rf "$T/m2"; mkdir -p "$T/m2/meshroot/requests"
cp "$T/ws2/clusters/c00000/csr.pem" "$T/m2/meshroot/requests/d00000.csr"
n_before=$(grep -c ' event=issue ' "$T/state/audit.log")
set +e; echo no | app sign --media "$T/m2" --review batch > "$T/out2" 2> "$T/err2"; rc=$?; set -e
[ "$rc" = 4 ] || { cat "$T/out2" "$T/err2"; fail "declined: exit $rc, want 4 (refused)"; }
grep -qx "error: batch declined by the operator: nothing signed" "$T/err2" || { cat "$T/err2"; fail "declined: error line"; }
grep -q " event=refuse-batch count=1 batch=[0-9a-f]* by=operator reason=declined " "$T/state/audit.log" ||
  fail "refuse-batch record"
[ "$(grep -c ' event=issue ' "$T/state/audit.log")" = "$n_before" ] || fail "declined batch signed"
[ ! -d "$T/m2/meshroot/answers" ] || [ -z "$(ls "$T/m2/meshroot/answers")" ] || fail "declined batch answered"
echo PASS

#!/usr/bin/env bash
# The read-back of a window may end after the token has gone on to the
# next one (firmware/core/engine/issue.c). A token signature that does not
# verify, at each of the signatures around the edge of the first window of
# 32 in a batch of 40 (p11fault.so corrupts the 30th to the 34th C_Sign of
# the run; one checkpoint signature comes first):
#   - the run stops with exit 1 and the read-back's error line;
#   - nothing on the media fails to verify against the root, and the
#     corrupted certificate is not on it;
#   - `state check` finds the state consistent (every signature the next
#     window made before the stop is recorded or abandoned, none lost);
#   - a rerun with a healthy token issues every request exactly once.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
FAULT="$MESHROOT_BIN/tests/fault/p11fault.so"
FIXTURE="$MESHROOT_BIN/tests/fleet_fixture"
[ -f "$FAULT" ] || fail "missing $FAULT"
export P11FAULT_MODULE=/usr/lib/softhsm/libsofthsm2.so
N=40

ceremony
"$FIXTURE" requests "$T/ws" "$N" >/dev/null || fail "fixture"
host media export --to "$T/media" >/dev/null 2>&1 || fail "media export"
mkdir -p "$T/snap"
cp -a "$T/state" "$T/tokens" "$T/media" "$T/snap/"
restore() {
  rm -rf "$T/state" "$T/tokens" "$T/media"
  cp -a "$T/snap/state" "$T/snap/tokens" "$T/snap/media" "$T/"
}

# A clean run through the wrapper first: the run itself works there.
restore
P11FAULT_TRACE="$T/trace" app --module "$FAULT" sign --media "$T/media" --yes >"$T/clean.out" 2>&1 ||
  { cat "$T/clean.out"; fail "clean run through p11fault failed"; }
grep -q "summary: $N signed" "$T/clean.out" || { cat "$T/clean.out"; fail "clean run did not sign $N"; }

for k in 30 31 32 33 34; do
  restore
  set +e
  P11FAULT_AT="C_Sign:$k" P11FAULT_DO=corrupt P11FAULT_TRACE="$T/ftrace" \
    app --module "$FAULT" sign --media "$T/media" --yes >"$T/out" 2>&1
  rc=$?
  set -e
  grep -q ' C_Sign corrupted$' "$T/ftrace" || fail "C_Sign:$k: nothing was corrupted"
  [ "$rc" -eq 1 ] || { cat "$T/out"; fail "C_Sign:$k: exit $rc, want 1"; }
  grep -Eq "^error: request c[0-9]{5}\.csr: token signature rejected: ecdsa-with-SHA384 signature does not verify$" "$T/out" ||
    { cat "$T/out"; fail "C_Sign:$k: no read-back error line"; }
  answers=("$T/media/meshroot/answers"/*.pem)
  if [ -e "${answers[0]}" ]; then
    openssl verify -CAfile "$T/state/root-cert.pem" "${answers[@]}" >"$T/verify.out" 2>&1 ||
      { cat "$T/verify.out"; fail "C_Sign:$k: a certificate on the media does not verify"; }
  fi
  app state check >"$T/check.out" 2>&1 || { cat "$T/check.out"; fail "C_Sign:$k: state check"; }
  app sign --media "$T/media" --yes >"$T/rerun.out" 2>&1 || { cat "$T/rerun.out"; fail "C_Sign:$k: rerun"; }
  issued=$(grep -c '^op=issue ' "$T/state/issued.db")
  [ "$issued" -eq "$N" ] || fail "C_Sign:$k: $issued issued after the rerun, want $N"
  dups=$(grep -o '^op=issue .*cluster=[^ ]*' "$T/state/issued.db" | grep -o 'cluster=[^ ]*' | sort | uniq -d)
  [ -z "$dups" ] || fail "C_Sign:$k: issued twice: $dups"
  [ "$(ls "$T/media/meshroot/answers"/*.pem | wc -l)" -eq "$N" ] || fail "C_Sign:$k: not every request answered"
  openssl verify -CAfile "$T/state/root-cert.pem" "$T/media/meshroot/answers"/*.pem >"$T/verify.out" 2>&1 ||
    { cat "$T/verify.out"; fail "C_Sign:$k: after the rerun, a certificate does not verify"; }
  echo "C_Sign:$k corrupted: $(grep -m1 '^error: request' "$T/out"); $(grep '^summary:' "$T/out")"
done
echo "PASS: a bad signature at the 30th to the 34th C_Sign stops the batch; the rest issued once on rerun"

#!/usr/bin/env bash
# Token faults in the middle of a batch. The appliance runs against
# p11fault.so (tests/fault), which wraps SoftHSM2 and fails one PKCS#11 call:
# first every call of a clean `sign` run in turn (the N-th call), each with
# one of the CK_RVs a real token returns, then C_Sign with every CK_RV, a
# corrupted signature and a stall, and C_Login with PIN errors. After each:
#   - the run fails with an error naming the function and the CK_RV (or,
#     for a call whose failure cannot matter, finishes the batch correctly);
#   - every certificate on the media verifies against the root: none is
#     released with a bad signature;
#   - the audit chain is intact (the appliance verifies it on open) and the
#     database and the audit log agree;
#   - a rerun with a healthy token completes the batch, every request issued
#     exactly once.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
FAULT="$MESHROOT_BIN/tests/fault/p11fault.so"
[ -f "$FAULT" ] || fail "missing $FAULT"
export P11FAULT_MODULE=/usr/lib/softhsm/libsofthsm2.so

clusters="alpha bravo charlie"
ceremony
for c in $clusters; do host cluster new "$c" >/dev/null; done
host media export --to "$T/media" >/dev/null
mkdir -p "$T/snap"
cp -a "$T/state" "$T/tokens" "$T/media" "$T/ws" "$T/snap/"

restore() {
  rm -rf "$T/state" "$T/tokens" "$T/media" "$T/ws"
  cp -a "$T/snap/state" "$T/snap/tokens" "$T/snap/media" "$T/snap/ws" "$T/"
}
faulty() { app --module "$FAULT" "$@"; }

# The clean run's calls are the injection points.
restore
P11FAULT_TRACE="$T/trace" faulty sign --media "$T/media" --yes >"$T/clean.out" 2>&1 \
  || { cat "$T/clean.out"; fail "clean run through p11fault failed"; }
total=$(wc -l <"$T/trace")
[ "$total" -gt 10 ] || fail "only $total PKCS#11 calls traced"

rvs=(CKR_DEVICE_ERROR CKR_DEVICE_REMOVED CKR_SESSION_HANDLE_INVALID CKR_USER_NOT_LOGGED_IN
     CKR_PIN_INCORRECT CKR_PIN_LOCKED CKR_FUNCTION_FAILED)

# check NAME FN WHAT: the state after a faulted run, then the healthy rerun.
check() {
  local name=$1 fn=$2 what=$3 rc=$4 out=$5
  local db="$T/state/issued.db" c
  if [ "$rc" -ne 0 ]; then
    case "$what" in
      CKR_*) grep -qE "$fn(\([A-Za-z_]+\))?: $what" "$out" \
               || { cat "$out"; fail "$name: error does not name '$fn: $what'"; } ;;
      corrupt) grep -qi "signature" "$out" \
               || { cat "$out"; fail "$name: corrupted signature not reported as such"; } ;;
    esac
    failed=$((failed + 1))
  else
    # A wrong signature, whatever it was for, must never pass unnoticed.
    [ "$what" != corrupt ] || { cat "$out"; fail "$name: corrupted signature not detected"; }
    tolerated=$((tolerated + 1))
  fi
  # Audit chain (verified on open by status) and database agree.
  app status >"$T/status.out" 2>&1 || { cat "$T/status.out"; fail "$name: status after the fault"; }
  agree "$name"
  # A healthy rerun completes the batch.
  app sign --media "$T/media" --yes >"$T/rerun.out" 2>&1 \
    || { cat "$out" "$T/rerun.out"; fail "$name: the rerun failed"; }
  for c in $clusters; do
    [ -f "$T/media/meshroot/answers/$c.pem" ] || fail "$name: rerun left $c unanswered"
    [ "$(grep -c "^op=issue .*cluster=$c " "$db" || true)" = 1 ] \
      || fail "$name: $c issued $(grep -c "^op=issue .*cluster=$c " "$db" || true) times"
  done
  agree "$name"
  points=$((points + 1))
}

agree() {
  local db="$T/db.txt" log="$T/state/audit.log"
  cat "$T/state/issued.db" >"$db" 2>/dev/null || : >"$db"
  diff <(grep -o '^op=issue serial=[0-9a-f]*' "$db" | cut -d= -f3 | sort) \
       <(grep -o 'event=issue serial=[0-9a-f]*' "$log" | cut -d= -f3 | sort) >/dev/null \
    || fail "$1: issued serials differ between database and audit log"
  diff <(grep -o '^op=abandon serial=[0-9a-f]*' "$db" | cut -d= -f3 | sort) \
       <(grep -o 'event=abandon serial=[0-9a-f]*' "$log" | cut -d= -f3 | sort) >/dev/null \
    || fail "$1: abandoned serials differ between database and audit log"
  local dup
  dup=$(grep -o '^op=reserve serial=[0-9a-f]*' "$db" | sort | uniq -d || true)
  [ -z "$dup" ] || fail "$1: serial reserved twice: $dup"
  [ -z "$(find "$T/media" "$T/state" -name '*.tmp.*')" ] || fail "$1: temp files left"
  # Nothing released with a bad signature: whatever is on the media verifies.
  local answers=("$T/media/meshroot/answers"/*.pem)
  if [ -e "${answers[0]}" ]; then
    openssl verify -CAfile "$T/state/root-cert.pem" "${answers[@]}" >"$T/verify.out" 2>&1 \
      || { cat "$T/verify.out"; fail "$1: a certificate on the media does not verify"; }
  fi
}

# inject AT DO: one faulted run from the snapshot, then check.
inject() {
  local at=$1 what=$2 fn rc
  restore
  rm -f "$T/ftrace"
  set +e
  P11FAULT_AT="$at" P11FAULT_DO="$what" P11FAULT_TRACE="$T/ftrace" \
    faulty sign --media "$T/media" --yes >"$T/fault.out" 2>&1
  rc=$?
  set -e
  fn=$(sed -n 's/^[0-9]* \(C_[A-Za-z]*\) injected$/\1/p' "$T/ftrace" | head -1)
  [ -n "$fn" ] || fn=$(sed -n 's/^[0-9]* \(C_[A-Za-z]*\) corrupted$/\1/p' "$T/ftrace" | head -1)
  [ -n "$fn" ] || fail "$at/$what: nothing was injected"
  [ "$rc" -lt 128 ] || { cat "$T/fault.out"; fail "$at/$what: crashed (exit $rc)"; }
  check "$at($fn)/$what" "$fn" "$what" "$rc" "$T/fault.out"
  [ "$rc" -ne 0 ] || echo "note: $at($fn)/$what tolerated (batch completed)"
}

points=0 failed=0 tolerated=0
for n in $(seq 1 "$total"); do
  inject "$n" "${rvs[$((n % ${#rvs[@]}))]}"
done
nsign=$(grep -c ' C_Sign$' "$T/trace")
for rv in "${rvs[@]}"; do
  inject "C_Sign:$nsign" "$rv"
done
for k in $(seq 1 "$nsign"); do
  inject "C_Sign:$k" corrupt
done
inject "C_Sign:2" stall:500
inject "C_Login" CKR_PIN_INCORRECT
inject "C_Login" CKR_PIN_LOCKED
echo "PASS: $points injection points ($total calls of a 3-request batch x one CK_RV each," \
  "C_Sign x ${#rvs[@]} CK_RVs, corrupted signatures, a stall, PIN errors):" \
  "$failed stopped with a named error, $tolerated completed correctly"

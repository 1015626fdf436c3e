#!/usr/bin/env bash
# The user PIN's retry state (CKF_USER_PIN_COUNT_LOW / _FINAL_TRY / _LOCKED)
# is shown, a locked PIN is never tried, and the final try is never spent
# without typing "final try" at the console: not with --yes, not with
# --pin-file. SoftHSM2 never sets these flags; p11fault.so reports them.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
FAULT="$MESHROOT_BIN/tests/fault/p11fault.so"
export P11FAULT_MODULE=/usr/lib/softhsm/libsofthsm2.so
ceremony
host cluster new alpha >/dev/null
host media export --to "$T/media" >/dev/null

run() { # run PINFLAGS STDIN [extra env...]: sign through p11fault, trace in $T/trace
  local flags=$1 input=$2
  shift 2
  rm -f "$T/trace"
  set +e
  printf '%s' "$input" | env P11FAULT_PINFLAGS="$flags" P11FAULT_TRACE="$T/trace" "$@" \
    "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" \
    --module "$FAULT" sign --media "$T/media" --yes >"$T/out" 2>&1
  rc=$?
  set -e
}
logins() { grep -c ' C_Login' "$T/trace" || true; }

run locked ""
[ "$rc" -eq 5 ] || { cat "$T/out"; fail "a locked PIN: exit $rc, want 5"; }
grep -qxF "error: token meshroot-test: the token's user PIN is locked: only its security officer can unlock it (C_InitPIN with the SO PIN); no PIN was tried" "$T/out" ||
	{ cat "$T/out"; fail "locked state not shown"; }
[ "$(logins)" = 0 ] || fail "a locked PIN was tried"

run final ""
[ "$rc" -ne 0 ] || fail "final try without confirmation: the run succeeded"
grep -qF "WARNING: token meshroot-test: the next wrong PIN locks the token (CKF_USER_PIN_FINAL_TRY)." "$T/out" ||
	{ cat "$T/out"; fail "final-try state not shown"; }
grep -q "final PIN try not confirmed" "$T/out" || { cat "$T/out"; fail "no refusal"; }
[ "$(logins)" = 0 ] || fail "the final try was spent with --yes and --pin-file only"

run final "yes
"
[ "$rc" -ne 0 ] && [ "$(logins)" = 0 ] || fail "final try spent on a 'yes'"

run final "final try
"
[ "$rc" -eq 0 ] || { cat "$T/out"; fail "confirmed final try: the run failed"; }
[ "$(logins)" = 1 ] || fail "confirmed final try: $(logins) logins"

# Before the login a warning, after it one error line: "wrong PIN" and
# what the token says about the tries left, the CK_RV last; exit 5.
run low "" P11FAULT_AT=C_Login P11FAULT_DO=CKR_PIN_INCORRECT
[ "$rc" -eq 5 ] || { cat "$T/out"; fail "wrong PIN: exit $rc, want 5"; }
grep -qxF "warning: token meshroot-test: few tries left: a wrong PIN was given since the last good login" "$T/out" ||
	{ cat "$T/out"; fail "low count not shown before the login"; }
grep -qxF "error: wrong PIN for token meshroot-test: few tries left (C_Login: CKR_PIN_INCORRECT)" "$T/out" ||
	{ cat "$T/out"; fail "wrong PIN not named"; }
[ "$(grep -c '^error:' "$T/out")" = 1 ] || { cat "$T/out"; fail "wrong PIN: not one error line"; }
run final "final try
" P11FAULT_AT=C_Login P11FAULT_DO=CKR_PIN_INCORRECT
[ "$rc" -eq 5 ] || { cat "$T/out"; fail "wrong final PIN: exit $rc, want 5"; }
grep -qxF "error: wrong PIN for token meshroot-test: the next wrong PIN locks the token (C_Login: CKR_PIN_INCORRECT)" "$T/out" ||
	{ cat "$T/out"; fail "wrong final PIN not named"; }

# The audit log records every refused login, and its chain still verifies.
[ "$(grep -c 'event=login-failed' "$T/state/audit.log")" -ge 4 ] || fail "refused logins not audited"
app status >/dev/null || fail "status after the refused logins"
echo "PASS: PIN retry states shown; locked PIN and unconfirmed final try never tried"

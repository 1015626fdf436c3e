#!/usr/bin/env bash
# audit.checkpoints, the history of every signed checkpoint, is appended to
# (mr_cphistory.h): 1. the note is appended and fsync'ed, 2. audit.checkpoint
# is replaced by it. A start cuts what follows the latest note, records the
# cut and says so; a history without the latest note stops the start.
#   a) a properly signed older note and a torn half note appended to the
#      history: `status` cuts exactly those bytes (the stderr line, the
#      state-repair record), the history ends with audit.checkpoint, and
#      `state check` is healthy (before the start, it names the bytes as
#      repairable, exit 3);
#   b) a history whose end was replaced (every copy of the latest note
#      gone, an older one in its place): `status` and `sign` stop with
#      exit 1 and the one-line error, and change nothing;
#   c) a real SIGKILL (strace fault injection) of `sign --media` at each
#      rename of audit.checkpoint.tmp.PID, right after the history's append
#      was fsync'ed: the rerun cuts the unreleased note and completes;
#      every request answered and issued exactly once, the history ends
#      with audit.checkpoint, `state check` healthy.
# c needs strace (lib/killpoints.sh): without it, a ctest SKIP (exit 77)
# after a and b have run, never a pass.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/batch_checks.sh"

H=$T/state/audit.checkpoints
CP=$T/state/audit.checkpoint
# The lock file names its last owner: not part of the state.
digest() { (cd "$1" && find . -type f ! -path ./lock -print0 | sort -z | xargs -0 sha256sum) | sha256sum; }
# ends_with_latest NAME: the history's last bytes are audit.checkpoint's.
ends_with_latest() {
  local n
  n=$(stat -c %s "$CP")
  cmp -s <(tail -c "$n" "$H") "$CP" || fail "$1: audit.checkpoints does not end with audit.checkpoint"
}
# first_note FILE: the first note of a history (up to its signature line).
first_note() {
  python3 - "$1" <<'EOF'
import sys
d = open(sys.argv[1], 'rb').read()
sig = d.index(b'\n\n\xe2\x80\x94 ')
sys.stdout.buffer.write(d[:d.index(b'\n', sig + 2) + 1])
EOF
}
healthy() {
  app state check >"$T/check.out" 2>&1 || { cat "$T/check.out"; fail "$1: state check exit $?"; }
  grep -qx 'state check: healthy' "$T/check.out" || { cat "$T/check.out"; fail "$1: state check not healthy"; }
  grep -qE '^ok: audit.checkpoints: [0-9]+ checkpoint\(s\), each signs a prefix of audit.log$' "$T/check.out" \
    || { cat "$T/check.out"; fail "$1: state check did not check audit.checkpoints"; }
}

ceremony
for c in c1 c2 c3; do host cluster new "$c" >/dev/null; done
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign.out" 2>&1 || { cat "$T/sign.out"; fail "first batch"; }
grep -qx 'summary: 3 signed, 0 answered from earlier runs, 0 refused, 0 skipped' "$T/sign.out" \
  || { cat "$T/sign.out"; fail "first batch summary"; }
ends_with_latest "first batch"
healthy "first batch"
cp -a "$T/state" "$T/base"

# a) An older note, whole and properly signed, then half of another.
older=$(first_note "$H" | base64 -w0)
[ -n "$older" ] || fail "no note in audit.checkpoints"
size0=$(stat -c %s "$H")
base64 -d <<<"$older" >>"$H"
half=$(( $(stat -c %s "$CP") / 2 ))
head -c "$half" "$CP" >>"$H"
cut=$(( $(stat -c %s "$H") - size0 ))
[ "$cut" -gt "$half" ] || fail "a: nothing appended"
# `state check` before any start: the bytes after the latest note are what
# the next start cuts (repairable, exit 3), not a broken checkpoint.
expect_rc 3 app state check
grep -qF "audit.checkpoints: $cut bytes after the latest checkpoint (a checkpoint never released, or part of one)" \
  "$T/expect.out" || { cat "$T/expect.out"; fail "a: state check does not name the $cut bytes"; }
if grep -q 'checkpoint [0-9]*: ' "$T/expect.out"; then cat "$T/expect.out"; fail "a: state check blames a note"; fi
records=$(wc -l <"$T/state/audit.log")
expect_rc 0 app status
[ "$(grep -c '^repaired: ' "$T/expect.out")" = 1 ] || { cat "$T/expect.out"; fail "a: not one repaired line"; }
grep -qxF "repaired: audit.checkpoints: cut $cut bytes after the latest checkpoint (a checkpoint never released)" \
  "$T/expect.out" || { cat "$T/expect.out"; fail "a: no repaired line for $cut bytes"; }
if grep -q '^error: ' "$T/expect.out"; then cat "$T/expect.out"; fail "a: an error line"; fi
[ "$(stat -c %s "$H")" = "$size0" ] || fail "a: history is $(stat -c %s "$H") bytes, want $size0"
cmp -s "$H" "$T/base/audit.checkpoints" || fail "a: the history is not what it was before the append"
ends_with_latest "a"
# The repair is the first record the start writes.
sed -n "$((records + 1))p" "$T/state/audit.log" >"$T/repair.rec"
grep -qE "^seq=$((records + 1)) time=[^ ]+ event=state-repair what=cut-checkpoint-history file=audit.checkpoints cut_bytes=$cut prev=[0-9a-f]{64}\$" \
  "$T/repair.rec" || { tail -3 "$T/state/audit.log"; fail "a: no state-repair record for $cut bytes"; }
[ "$(grep -c 'what=cut-checkpoint-history' "$T/state/audit.log")" = 1 ] || fail "a: not one repair record"
healthy "a"
cut_a=$cut
# A second start has nothing to cut.
expect_rc 0 app status
if grep -q '^repaired: ' "$T/expect.out"; then cat "$T/expect.out"; fail "a: repaired twice"; fi
[ "$(grep -c 'what=cut-checkpoint-history' "$T/state/audit.log")" = 1 ] || fail "a: a second repair record"

# b) Every copy of the latest note gone from the history (a sign can sign
# the same note twice in a second: there may be two), an older one in
# its place.
rm -rf "$T/state"
cp -a "$T/base" "$T/state"
python3 - "$H" "$CP" <<'EOF'
import sys
h, latest = open(sys.argv[1], 'rb').read(), open(sys.argv[2], 'rb').read()
at = h.index(latest)
assert at > 0
sig = h.index(b'\n\n\xe2\x80\x94 ')
open(sys.argv[1], 'wb').write(h[:at] + h[:h.index(b'\n', sig + 2) + 1])
EOF
python3 -c 'import sys; sys.exit(open(sys.argv[2], "rb").read() in open(sys.argv[1], "rb").read())' "$H" "$CP" \
  || fail "b: the latest note is still in the history"
before=$(digest "$T/state")
err="error: $H does not end with the latest checkpoint (audit.checkpoint): refusing to continue (see \`meshroot-appliance state check\`)"
for cmd in status "sign --media $T/media --yes"; do
  # shellcheck disable=SC2086 # the command's words
  expect_line 1 "$err" app $cmd
  [ "$(grep -c '^error: ' "$T/expect.out")" = 1 ] || { cat "$T/expect.out"; fail "b: $cmd: not one error line"; }
  if grep -q '^repaired: ' "$T/expect.out"; then cat "$T/expect.out"; fail "b: $cmd: repaired something"; fi
  [ "$(digest "$T/state")" = "$before" ] || fail "b: $cmd changed the state dir"
done

# c) needs strace: sourcing the library skips (exit 77) without it.
source "$MESHROOT_SRC/tests/integration/lib/killpoints.sh"
rm -rf "$T/state"
cp -a "$T/base" "$T/state"
clusters=(c1 c2 c3 c4 c5 c6)
for c in c4 c5 c6; do host cluster new "$c" >/dev/null; done
host media export --to "$T/media" >/dev/null
kp_snapshot state tokens media ws
sign_cmd=("$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" sign --media "$T/media" --yes)

# The renames of a clean run (only the appliance's own process: see
# lib/killpoints.sh), and among them those of audit.checkpoint.
"$STRACE" -qq -y -o "$T/count.trace" -e trace=fsync,rename "${sign_cmd[@]}" >"$T/count.out" 2>&1 \
  || { cat "$T/count.out"; fail "c: the counting run failed"; }
points=$(grep '^rename(' "$T/count.trace" | grep -nF "\"$T/state/audit.checkpoint\")" | cut -d: -f1 | paste -sd' ')
[ -n "$points" ] || { cat "$T/count.trace"; fail "c: no rename of audit.checkpoint in a sign"; }
# Each one comes right after the history's fsync and the temp file's.
grep -E '^(fsync|rename)\(' "$T/count.trace" | awk -v cp="$T/state/audit.checkpoint" '
  /^rename\(/ && index($0, "\"" cp "\")") {
    if (index(p2, "<" cp "s>") == 0 || index(p1, "<" cp ".tmp.") == 0) { print "bad order: " p2 " / " p1; exit 1 }
  }
  { p2 = p1; p1 = $0 }' || fail "c: audit.checkpoint renamed, but not right after the history's fsync"

for n in $points; do
  kp_restore
  set +e
  ( ("$STRACE" -qq -y -o "$T/kp.trace" -e trace=fsync,rename -e inject=rename:signal=KILL:when="$n" \
      "${sign_cmd[@]}" >"$T/kp.out" 2>&1); exit $?) 2>/dev/null
  rc=$?
  set -e
  kp_died_at rename "$n" "^rename\\(\"$T/state/audit.checkpoint\\.tmp\\.[0-9]+\", \"$T/state/audit.checkpoint\"\\)" "$rc"
  name="c: killed at rename#$n"
  tmp=$(ls "$T/state"/audit.checkpoint.tmp.* 2>/dev/null || true)
  [ -n "$tmp" ] && [ "$(wc -w <<<"$tmp")" = 1 ] || fail "$name: want one audit.checkpoint.tmp.PID, got '$tmp'"
  # The unreleased note is the history's end, and audit.checkpoint is not it.
  unreleased=$(stat -c %s "$tmp")
  cmp -s <(tail -c "$unreleased" "$H") "$tmp" || fail "$name: the history does not end with the unreleased note"
  if cmp -s "$tmp" "$CP"; then
    # The same note again (same records, same second): nothing to cut.
    cut=0
  else
    cut=$unreleased
  fi
  "${sign_cmd[@]}" >"$T/rerun.out" 2>&1 || { cat "$T/kp.out" "$T/rerun.out"; fail "$name: the rerun failed"; }
  if [ "$cut" -gt 0 ]; then
    grep -qxF "repaired: audit.checkpoints: cut $cut bytes after the latest checkpoint (a checkpoint never released)" \
      "$T/rerun.out" || { cat "$T/rerun.out"; fail "$name: no repaired line for $cut bytes"; }
    grep -qE "event=state-repair what=cut-checkpoint-history file=audit.checkpoints cut_bytes=$cut " \
      "$T/state/audit.log" || fail "$name: no state-repair record for $cut bytes"
  else
    if grep -q '^repaired: audit.checkpoints' "$T/rerun.out"; then cat "$T/rerun.out"; fail "$name: cut an identical note"; fi
  fi
  grep -qE '^summary: [0-9]+ signed, [0-9]+ answered from earlier runs, 0 refused, 0 skipped$' "$T/rerun.out" \
    || { cat "$T/rerun.out"; fail "$name: rerun summary"; }
  ends_with_latest "$name"
  # Every request answered once, by the serial issued.db issued it under.
  [ "$(ls "$T/media/meshroot/answers"/*.pem | wc -l)" = ${#clusters[@]} ] || fail "$name: not every request answered"
  for c in "${clusters[@]}"; do
    s=$(openssl x509 -in "$T/media/meshroot/answers/$c.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
    [ "$(grep -c "^op=issue serial=$s .*cluster=$c " "$T/state/issued.db")" = 1 ] \
      || fail "$name: $c's answer (serial $s) is not issued exactly once in issued.db"
  done
  [ "$(grep -c '^op=issue ' "$T/state/issued.db")" = ${#clusters[@]} ] || fail "$name: issued.db issues more than the requests"
  host media import --from "$T/media" >"$T/import.out" 2>&1 || { cat "$T/import.out"; fail "$name: media import"; }
  bc_all "$name" "${clusters[@]}"
  healthy "$name"
  echo "$name: rerun cut $cut bytes, batch complete"
done
echo "PASS: an appended note and a torn one cut ($cut_a bytes), a replaced end refused, killed at $(wc -w <<<"$points") checkpoint rename(s) and recovered"

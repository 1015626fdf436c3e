#!/usr/bin/env bash
# Power loss, not only process death: a batch of 40 requests on the media
# path (two issuance windows) is cut at its durable steps by the powercut
# shim (tests/fault/powercut.c: the state dir and the media dir become what
# a power loss leaves, only what was fsynced/syncfs'ed), then the next run
# must recover:
#   - `sign --media` (without the shim) completes, every request answered
#     exactly once: 40 issue records with unique serials and clusters, the
#     same serials in the database, 40 stored certificates, 40 answers;
#   - `meshroot media import` accepts every answer;
#   - `state check` exits 0; the exported audit log verifies on the host.
#
# A dry run under the shim counts the steps (fsync, fdatasync, syncfs,
# rename, link). Every fsync and syncfs step is cut; of each run of
# consecutive renames/links (one per file of a group commit) the first,
# the middle and the last. Under the sanitizers, every third of those.
# POWERCUT_STEPS="N M ..." cuts exactly these steps instead (to rerun one).
set -euo pipefail
. "$(dirname "$0")/lib/appliance_env.sh"
FIXTURE="$MESHROOT_BIN/tests/fleet_fixture"
SHIM="$MESHROOT_BIN/tests/fault/powercut.so"
N=40
[ -f "$SHIM" ] || fail "$SHIM is missing (tests/fault/CMakeLists.txt builds it)"
command -v setsid >/dev/null || fail "setsid is missing"
PRELOAD=$SHIM
if [ "${MESHROOT_SANITIZE:-OFF}" = ON ]; then
  # The ASan runtime must come first in the library list, then the shim.
  asan=$(ldd "$APPLIANCE" | awk '/libasan/ {print $3}')
  [ -f "$asan" ] || fail "no libasan in $APPLIANCE"
  PRELOAD="$asan:$SHIM"
fi

ceremony
"$FIXTURE" requests "$T/ws" "$N" >/dev/null || fail "fixture"
host media export --to "$T/m" >/dev/null 2>&1 || fail "media export"
cp -a "$T/state" "$T/state.0"
cp -a "$T/m" "$T/m.0"
cp -a "$T/ws" "$T/ws.0"

# The appliance under the shim, leading its own process group (setsid), so
# the cut kills it and its confined parser together.
shimmed() {
  env LD_PRELOAD="$PRELOAD" POWERCUT_DIRS="$T/state:$T/m" "$@" \
    setsid "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" \
    sign --media "$T/m" --yes
}

# The dry run: the steps, and that the shim alone changes nothing.
shimmed POWERCUT_COUNT="$T/count" POWERCUT_TRACE="$T/trace" > "$T/dry.out" 2>&1 ||
  { tail -5 "$T/dry.out"; fail "dry run under the shim"; }
grep -qx "summary: $N signed, 0 answered from earlier runs, 0 refused, 0 skipped" "$T/dry.out" ||
  { tail -3 "$T/dry.out"; fail "dry run: summary"; }
steps=$(awk '$1 == "step" {print $2}' "$T/count")
[ "$steps" -ge 30 ] || fail "dry run: only $steps durable steps seen, is the shim watching?"
[ "$(wc -l < "$T/trace")" -eq "$steps" ] || fail "dry run: trace and count disagree"
echo "dry run: $(tr '\n' ' ' < "$T/count")"

if [ -n "${POWERCUT_STEPS:-}" ]; then
  points=$POWERCUT_STEPS
else
  # fsync/syncfs: all; runs of rename/link: first, middle, last.
  points=$(awk '
    function flush() { if (n) { print first; if (n > 2) print first + int(n / 2); if (n > 1) print last }; n = 0 }
    $2 == "rename" || $2 == "link" { if (n == 0) first = $1; last = $1; n++; next }
    { flush(); print $1 }
    END { flush() }' "$T/trace" | sort -n | uniq)
  # About 5 s per cut on the 2-core CI machine: at most 24 cuts (8 under
  # the sanitizers), a fixed stride over the list, so the same ones each run;
  # POWERCUT_MAX=1000 cuts every candidate.
  max=${POWERCUT_MAX:-24}
  [ "${MESHROOT_SANITIZE:-OFF}" = ON ] && max=8
  all=$(echo $points | wc -w)
  stride=$(( (all + max - 1) / max ))
  points=$(echo "$points" | awk -v s="$stride" 'NR % s == 1 || s == 1')
  echo "$all candidate cut points, stride $stride"
fi
echo "cutting at $(echo $points | wc -w) of $steps steps: $(echo $points)"

tried=0
for p in $points; do
  what=$(awk -v p="$p" '$1 == p {print $2 " " $3}' "$T/trace")
  where="step $p ($what)"
  rm -rf "$T/state" "$T/m" "$T/ws" "$T/img" "$T/audit"
  cp -a "$T/state.0" "$T/state"
  cp -a "$T/m.0" "$T/m"
  cp -a "$T/ws.0" "$T/ws"

  set +e
  shimmed POWERCUT_AT="step:$p" POWERCUT_IMAGE="$T/img" > "$T/cut.out" 2>&1
  rc=$?
  set -e
  [ "$rc" -eq 137 ] || { tail -5 "$T/cut.out"; fail "$where: expected the cut (SIGKILL, 137), got $rc"; }
  grep -q "^powercut: cut before .* (step $p) " "$T/cut.out" || { tail -3 "$T/cut.out"; fail "$where: no cut line"; }
  # Power comes back: the disks hold the durable image only.
  rm -rf "$T/state" "$T/m"
  mv "$T/img/state" "$T/state"
  mv "$T/img/m" "$T/m"

  app sign --media "$T/m" --yes > "$T/sign.out" 2>&1 || { tail -5 "$T/sign.out"; fail "$where: the next sign failed"; }
  line=$(grep '^summary: ' "$T/sign.out") || fail "$where: no summary"
  signed=$(echo "$line" | awk '{print $2}')
  earlier=$(echo "$line" | awk '{print $4}')
  echo "$line" | grep -q ' 0 refused, 0 skipped$' || fail "$where: $line"
  [ $((signed + earlier)) -eq "$N" ] || fail "$where: $line"

  grep -o ' event=issue serial=[0-9a-f]* cluster=[a-z0-9-]*' "$T/state/audit.log" | sort > "$T/issued"
  [ "$(wc -l < "$T/issued")" = "$N" ] || fail "$where: $(wc -l < "$T/issued") issue records"
  [ "$(awk '{print $2}' "$T/issued" | sort -u | wc -l)" = "$N" ] || fail "$where: a serial used twice"
  [ "$(awk '{print $3}' "$T/issued" | sort -u | wc -l)" = "$N" ] || fail "$where: a cluster issued twice"
  diff <(grep -o '^op=issue serial=[0-9a-f]*' "$T/state/issued.db" | cut -d= -f3 | sort) \
       <(awk '{print $2}' "$T/issued" | cut -d= -f2 | sort) >/dev/null ||
    fail "$where: issued serials differ between database and audit log"
  [ "$(ls "$T/state/certs" | grep -c '\.pem$')" = "$N" ] || fail "$where: $(ls "$T/state/certs" | grep -c '\.pem$') stored certificates"
  [ "$(ls "$T/m/meshroot/answers" | grep -c '\.pem$')" = "$N" ] || fail "$where: answers"
  # The next sign removes what an interrupted group commit left on the
  # media (answers/<name>.tmp.<pid>): nothing may stay.
  if find "$T/m" -name '*.tmp.*' | grep -q .; then
    fail "$where: temporary files left on the media: $(find "$T/m" -name '*.tmp.*' | head -3)"
  fi
  host media import --from "$T/m" > "$T/import.out" 2>&1 || { tail -3 "$T/import.out"; fail "$where: import"; }
  grep -qx "$N certificate(s) imported" "$T/import.out" || { tail -2 "$T/import.out"; fail "$where: imported"; }
  set +e
  app state check > "$T/check.out" 2>&1
  rc=$?
  set -e
  # ... and from certs/ (certs/<serial>.pem.tmp.<pid>), at its start: the
  # state checks healthy without a repair.
  [ "$rc" -eq 0 ] || { cat "$T/check.out"; fail "$where: state check exit $rc"; }
  if find "$T/state" -name '*.tmp.*' | grep -q .; then fail "$where: temporary files left in the state dir"; fi
  app audit export --to "$T/audit" >/dev/null 2>&1 || fail "$where: audit export"
  host audit verify "$T/audit" >/dev/null 2>"$T/verify.err" || { cat "$T/verify.err"; fail "$where: audit verify"; }
  tried=$((tried + 1))
done
[ "$tried" -gt 0 ] || fail "no cut point tried"
echo "power cuts: $tried tried, all recovered"

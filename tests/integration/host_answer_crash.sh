#!/usr/bin/env bash
# The host takes answers a group at a time (host/answer.c: temp files, one
# syncfs, the renames, one more syncfs). Here `media import` and `submit`
# are killed with SIGKILL at their syncfs calls and at the renames into the
# workspace (strace fault injection, lib/killpoints.sh), for a batch of 40
# answers (more than one group of 32). After each kill an answer is taken
# whole or not at all: a cluster holding ca-cert.pem from the link also
# holds its ca-cert.audit. Then the same command again takes exactly what
# was missed: every cluster issued, the certificate the one the appliance
# signed for it, nothing signed twice, no temporary file left. The fsync
# and syncfs calls of a clean run are counted: per group, not per answer.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/killpoints.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"

BATCH=40
GROUP=32
# At most 5 points of each call (3 under ASan); no random kills.
kp_defaults 5 3 0 0

ceremony
"$MESHROOT_BIN/tests/fleet_fixture" requests "$T/ws" "$BATCH" >/dev/null || fail "fixture"
host media export --to "$T/m" >/dev/null 2>&1 || fail "media export"
app sign --media "$T/m" --yes >"$T/sign.out" 2>&1 || { tail -3 "$T/sign.out"; fail "sign"; }
cp -a "$T/ws" "$T/ws.snap"
restore() { rm -rf "$T/ws"; cp -a "$T/ws.snap" "$T/ws"; }

# issued_count: clusters whose ca-cert.pem is there.
issued_count() { find "$T/ws/clusters" -name ca-cert.pem | wc -l; }

# check_same WHAT: each cluster's certificate is the one the appliance
# signed for it ($T/m/meshroot/answers/<c>.pem, whose first block is the
# certificate; the host writes the same DER as PEM). One process for all.
check_same() {
  /usr/bin/python3 - "$T/ws/clusters" "$T/m/meshroot/answers" "$1" <<'PY' || fail "$1: see above"
import os, sys
ws, answers, what = sys.argv[1:]
def first(path):
    text = open(path).read()
    return text[:text.index("-----END CERTIFICATE-----")]
bad = [c for c in sorted(os.listdir(ws))
       if first(os.path.join(ws, c, "ca-cert.pem")) != first(os.path.join(answers, c + ".pem"))]
if bad:
    print(f"{what}: cluster {bad[0]} holds another certificate than the appliance's")
    sys.exit(1)
PY
}

no_temps() {
  if find "$T/ws" -name '*.tmp.*' | grep -q .; then
    fail "$1: temporary files left: $(find "$T/ws" -name '*.tmp.*' | head -3)"
  fi
}

# --- media import: a clean run, traced: the durable steps per group.
restore
strace -qq -y -o "$T/clean.trace" -e trace=fsync,fdatasync,syncfs,rename,renameat,renameat2 \
  "$HOST" --workspace "$T/ws" media import --from "$T/m" >"$T/imp.out" 2>&1 ||
  { tail -3 "$T/imp.out"; fail "clean import"; }
grep -qx "$BATCH certificate(s) imported" "$T/imp.out" || fail "clean import: $(tail -1 "$T/imp.out")"
syncs=$(grep -cE '^(fsync|fdatasync|syncfs)\(' "$T/clean.trace" || true)
groups=$(( (BATCH + GROUP - 1) / GROUP ))
# Two syncfs a group, plus the pins of the root and the audit key (2 each).
limit=$(( 2 * groups + 4 ))
[ "$syncs" -le "$limit" ] || fail "media import: $syncs fsync/syncfs calls for $groups group(s), more than $limit"
echo "ok: media import of $BATCH: $syncs fsync/syncfs calls"
kp_count "$T/clean.trace" "$T/ws" >"$T/kp.counts"

points=0
for call in syncfs rename; do
  for k in $(kp_pick "$call"); do
    restore
    kp_kill_at "$call" "$k" "$T/ws" "$HOST" --workspace "$T/ws" media import --from "$T/m"
    before=$(issued_count)
    # A kill after the last answer was stored leaves nothing to take: the
    # rerun says so with its own status (8); otherwise it takes the rest.
    rc=0; host media import --from "$T/m" >"$T/re.out" 2>&1 || rc=$?
    if [ "$before" = "$BATCH" ]; then
      [ "$rc" = 8 ] || { tail -3 "$T/re.out"; fail "import after $KP_AT: rerun exit $rc, want 8"; }
      grep -qx "error: nothing to import: every cluster's certificate is already imported ($BATCH cluster(s))" "$T/re.out" ||
        fail "import after $KP_AT: rerun says $(tail -1 "$T/re.out")"
    else
      [ "$rc" = 0 ] || { tail -3 "$T/re.out"; fail "import after $KP_AT: rerun exit $rc"; }
    fi
    grep -qx "$((BATCH - before)) certificate(s) imported" "$T/re.out" ||
      fail "import after $KP_AT: $before were there, rerun says $(tail -1 "$T/re.out")"
    [ "$(issued_count)" = "$BATCH" ] || fail "import after $KP_AT: $(issued_count) issued"
    check_same "import after $KP_AT"
    no_temps "import after $KP_AT"
    points=$((points + 1))
  done
done
echo "ok: media import killed at $points points, each rerun took what was missed"

# --- submit over the link: the proof is kept as ca-cert.audit.
rm -rf "$T/m/meshroot/answers"
start_serve auto
submit() { "$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 50 "$@"; }

# with_proof: every cluster holding ca-cert.pem holds its ca-cert.audit.
with_proof() {
  local c
  for c in $(ls "$T/ws/clusters"); do
    [ ! -e "$T/ws/clusters/$c/ca-cert.pem" ] || [ -s "$T/ws/clusters/$c/ca-cert.audit" ] ||
      fail "$1: cluster $c holds its certificate without its audit proof"
  done
}

restore
strace -qq -y -o "$T/clean.trace" -e trace=fsync,fdatasync,syncfs,rename,renameat,renameat2 \
  "$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 50 >"$T/sub.out" 2>&1 ||
  { tail -3 "$T/sub.out"; fail "clean submit"; }
[ "$(issued_count)" = "$BATCH" ] || fail "clean submit: $(issued_count) issued"
with_proof "clean submit"
[ "$(grep -c 'certificate accepted' "$T/sub.out")" = "$BATCH" ] || fail "clean submit: accepted lines"
[ "$(grep -c 'of the audit log' "$T/sub.out")" = "$BATCH" ] || fail "clean submit: audit lines"
syncs=$(grep -cE '^(fsync|fdatasync|syncfs)\(' "$T/clean.trace" || true)
# Two syncfs for each reply that brings answers (a RESULT reply brings up
# to 64, stored a group of 32 at a time; an early one brings fewer), and
# the pins: a few, never one for each answer.
limit=$(( 4 * groups + 8 ))
[ "$syncs" -le "$limit" ] || fail "submit: $syncs fsync/syncfs calls for $BATCH answers"
echo "ok: submit of $BATCH: $syncs fsync/syncfs calls"
# The answers of the link for check_same: the certificates now held.
mkdir -p "$T/m/meshroot/answers"
for c in $(ls "$T/ws/clusters"); do cp "$T/ws/clusters/$c/ca-cert.pem" "$T/m/meshroot/answers/$c.pem"; done
kp_count "$T/clean.trace" "$T/ws" >"$T/kp.counts"

points=0
for call in syncfs rename; do
  for k in $(kp_pick "$call"); do
    restore
    kp_kill_at "$call" "$k" "$T/ws" "$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" \
      --poll-ms 50
    with_proof "submit killed at $KP_AT"
    submit >"$T/re.out" 2>&1 || { tail -3 "$T/re.out"; fail "submit after $KP_AT: rerun"; }
    [ "$(issued_count)" = "$BATCH" ] || fail "submit after $KP_AT: $(issued_count) issued"
    with_proof "submit after $KP_AT"
    check_same "submit after $KP_AT"
    no_temps "submit after $KP_AT"
    points=$((points + 1))
  done
done
# Nothing signed twice: one issue record a cluster, all from the media run.
[ "$(grep -c ' event=issue ' "$T/state/audit.log")" = "$BATCH" ] || fail "issue records: want $BATCH"
echo "ok: submit killed at $points points, each rerun took what was missed"
echo PASS

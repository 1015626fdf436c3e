#!/usr/bin/env bash
# Real process death in `sign --media`: a batch of $BATCH requests is signed
# once under strace to number its durable steps (every fsync, rename, link
# and write on the state dir or the media, lib/killpoints.sh), then for each
# chosen step the real appliance is killed there with SIGKILL (strace
# `inject=CALL:signal=KILL:when=N`), and at random times with kill -9.
# After each kill a plain rerun must complete the batch and:
#   - every request is answered, issued exactly once, serials unique, every
#     reservation resolved (lib/batch_checks.sh);
#   - issued.db and audit.log agree, certs/<serial>.pem for each issue;
#   - no temporary file is left in the state dir or on the media;
#   - the host's `media import` takes every answer, and `audit export` +
#     host `audit verify` pass.
# KILLPOINTS_FULL=1 runs every point; see lib/killpoints.sh for the knobs.
# The temp dir is on tmpfs when there is one: a SIGKILL is the same on any
# file system, and fsync there costs nothing.
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/batch_checks.sh"
source "$MESHROOT_SRC/tests/integration/lib/killpoints.sh"

BATCH=${KILLPOINTS_BATCH:-40}
# Every fsync and syncfs point (the group commit makes about 30 for 40
# requests), at most 34 of each other call (3 under ASan), 6 random kills (1).
kp_defaults 34 3 6 1

ceremony
clusters=()
for i in $(seq 1 "$BATCH"); do clusters+=("$(printf 'c%02d' "$i")"); done
for c in "${clusters[@]}"; do host cluster new "$c" >/dev/null; done
host media export --to "$T/media" >/dev/null
kp_snapshot state tokens media ws

sign_cmd=("$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" sign --media "$T/media" --yes)
signer() { "${sign_cmd[@]}"; }

# recovered NAME: the rerun completes the batch, and everything agrees.
recovered() {
  local name=$1
  signer >"$T/rerun.out" 2>&1 || { cat "$T/kp.out" "$T/rerun.out" >&2; fail "$name: the rerun failed"; }
  grep -qE '^summary: [0-9]+ signed, [0-9]+ answered from earlier runs, 0 refused, 0 skipped$' "$T/rerun.out" \
    || { cat "$T/rerun.out" >&2; fail "$name: rerun summary"; }
  bc_no_temps "$name" "$T/state" "$T/media"
  host media import --from "$T/media" >"$T/import.out" 2>&1 \
    || { cat "$T/import.out" >&2; fail "$name: media import refused an answer"; }
  grep -qx "$BATCH certificate(s) imported" "$T/import.out" \
    || { cat "$T/import.out" >&2; fail "$name: not all $BATCH answers imported"; }
  bc_all "$name" "${clusters[@]}"
}

# A clean run: the reference, timed, and the checks hold for it too.
t0=$(kp_ms)
signer >"$T/kp.out" 2>&1 || { cat "$T/kp.out"; fail "the clean batch failed"; }
clean_ms=$(( $(kp_ms) - t0 ))
grep -qx "summary: $BATCH signed, 0 answered from earlier runs, 0 refused, 0 skipped" "$T/kp.out" \
  || { tail -3 "$T/kp.out"; fail "the clean batch did not sign $BATCH"; }
recovered clean
# The checks can fail: a serial issued twice, a database record the audit
# log lacks, and a temp file are each caught.
cp "$T/state/issued.db" "$T/db.good"
grep -m1 '^op=issue ' "$T/db.good" >>"$T/state/issued.db"
(bc_issued_once control "${clusters[@]}") 2>"$T/ctl.err" && fail "control: a doubled issue passed"
grep -q 'resolved twice' "$T/ctl.err" || { cat "$T/ctl.err"; fail "control: doubled issue not named"; }
cp "$T/db.good" "$T/state/issued.db"
echo 'op=issue serial=00deadbeef request=00 cluster=c01' >>"$T/state/issued.db"
(bc_db_audit_agree control) 2>"$T/ctl.err" && fail "control: a database-only issue passed"
grep -q 'in issued.db, not in audit.log' "$T/ctl.err" || { cat "$T/ctl.err"; fail "control: disagreement not named"; }
cp "$T/db.good" "$T/state/issued.db"
: >"$T/media/meshroot/answers/c01.pem.tmp.1"
(bc_no_temps control "$T/media") 2>"$T/ctl.err" && fail "control: a temp file passed"
rm "$T/media/meshroot/answers/c01.pem.tmp.1"

# Number the durable steps of the same batch.
kp_restore
"$STRACE" -qq -y -o "$T/count.trace" -e trace="${KP_CALLS// /,}" "${sign_cmd[@]}" >"$T/kp.out" 2>&1 \
  || { cat "$T/kp.out"; fail "the counting run failed"; }
echo "durable steps of a $BATCH-request batch (state dir and media):"
kp_count "$T/count.trace" "$T/state" "$T/media" | sed 's/^/  /'

declare -A tried=([fsync]=0 [rename]=0 [write]=0 [random]=0)
re="($T/state|$T/media)"
for call in $KP_CALLS; do
  case $call in write) kind=write ;; fsync | fdatasync | syncfs) kind=fsync ;; *) kind=rename ;; esac
  picked=$(kp_pick "$call" | paste -sd' ')
  [ -n "$picked" ] || continue
  echo "$call: $(wc -w <<<"$picked") of $(wc -l <"$T/kp.$call") points: $picked"
  for n in $picked; do
    kp_restore
    kp_kill_at "$call" "$n" "$re" "${sign_cmd[@]}"
    [ "${KILLPOINTS_VERBOSE:-0}" = 1 ] && echo "  $call#$n: $KP_AT"
    recovered "$call#$n ($KP_AT)"
    tried[$kind]=$((tried[$kind] + 1))
  done
done

# Random times, over the whole run (start-up, login, batch, exit). A run
# that ended before its kill is no kill point: the bound shrinks to that
# delay and another is drawn (at most 3 tries per wanted kill).
max_ms=$(( clean_ms > 50 ? clean_ms : 50 ))
ended=0
for i in $(seq 1 $((3 * KP_RANDOM))); do
  [ "${tried[random]}" -lt "$KP_RANDOM" ] || break
  kp_restore
  kp_kill_random "$max_ms" "${sign_cmd[@]}"
  case $KP_RC in 0 | 137) ;; *) cat "$T/kp.out" >&2; fail "random#$i: exit $KP_RC" ;; esac
  recovered "random#$i (${KP_DELAY} ms)"
  if [ "$KP_RC" -eq 137 ]; then
    echo "random kill $i: after ${KP_DELAY} ms"
    tried[random]=$((tried[random] + 1))
  else
    echo "random kill $i: the batch ended before ${KP_DELAY} ms; not counted"
    ended=$((ended + 1))
    max_ms=$(( KP_DELAY > 50 ? KP_DELAY : 50 ))
  fi
done
[ "$ended" -eq 0 ] || echo "random: ${tried[random]} kills hit the run, $ended runs ended first (checked, not counted)"

total=$((tried[fsync] + tried[rename] + tried[write] + tried[random]))
echo "kill points: $total tried (fsync ${tried[fsync]}, rename ${tried[rename]}, write ${tried[write]}, random ${tried[random]}), all recovered"

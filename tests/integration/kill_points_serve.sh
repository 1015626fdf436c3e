#!/usr/bin/env bash
# Real process death in `serve --listen unix:SOCK --approve auto`, with the
# host's `meshroot submit --connect unix:SOCK` sending $BATCH requests: the
# appliance is killed with SIGKILL at its durable steps (lib/killpoints.sh,
# numbered on a clean session) and at random times, mid-submit. Then it is
# started again and the host submits again. The host must end with every
# cluster issued exactly once, and the appliance's state must hold:
# issued.db and audit.log agree, serials unique, certs/<serial>.pem, no
# temporary file, `audit export` + host `audit verify` pass, and the
# certificate the host holds for each cluster is the one the audit log
# issued to it.
#
# BATCH is 40: more than one issuance window (32), so a kill can fall
# between two windows' group commits; the host keeps at most the
# appliance's free queue slots in flight (docs/protocol.md).
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then export TMPDIR=/dev/shm; fi
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/batch_checks.sh"
source "$MESHROOT_SRC/tests/integration/lib/killpoints.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"

BATCH=${KILLPOINTS_BATCH:-40}
# Every fsync, syncfs and rename point (the group commit makes about 28
# for 40 requests), at most 24 of each other call (2 under ASan), 3 random
# kills (1).
kp_defaults 24 2 3 1

ceremony
clusters=()
for i in $(seq 1 "$BATCH"); do clusters+=("$(printf 'c%02d' "$i")"); done
for c in "${clusters[@]}"; do host cluster new "$c" >/dev/null; done
kp_snapshot state tokens ws

restore() {
  stop_serve
  rm -rf "$T/sock"
  kp_restore
}
serve_cmd=("${serve_app[@]}" serve --listen "unix:$T/sock" --approve auto)
submit() { timeout 120 "$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 20 "$@"; }

# recovered NAME: a plain appliance serves again, the host resubmits what
# it still waits for, and everything agrees.
recovered() {
  local name=$1 c bad
  serve_bg /dev/null "${serve_cmd[@]}"
  wait_serving || { cat "$T/serve.out" >&2; fail "$name: the appliance did not serve again"; }
  submit >"$T/resubmit.out" 2>&1 || { cat "$T/resubmit.out" >&2; fail "$name: the resubmission failed"; }
  stop_serve
  host status >"$T/hstatus.out" 2>&1 || true
  bad=$(printf '%s\n' "${clusters[@]}" | awk 'NR == FNR { want[$1] = 1; next }
    $2 == "issued" { got[$1] = 1 } END { for (c in want) if (!got[c]) printf "%s ", c }' - "$T/hstatus.out")
  [ -z "$bad" ] || { cat "$T/hstatus.out" >&2; fail "$name: the host does not hold as issued: $bad"; }
  bc_issued_once "$name" "${clusters[@]}"
  bc_db_audit_agree "$name"
  bc_no_temps "$name" "$T/state"
  bc_audit_verify "$name"
  # The host holds, for each cluster, the certificate the audit log issued
  # to it: the first PEM block of ca-cert.pem is certs/<serial>.pem's.
  bad=$(awk '
    FNR == 1 { inblk = 0; done = 0 }
    FILENAME ~ /audit.log$/ && / event=issue / && match($0, / serial=[0-9a-f]+ cluster=[^ ]+/) {
      split(substr($0, RSTART + 1, RLENGTH - 1), f, /[= ]/); issued[f[4]] = f[2]; next
    }
    /^-----BEGIN CERTIFICATE-----$/ { if (!done) inblk = 1; next }
    /^-----END CERTIFICATE-----$/ { inblk = 0; done = 1; next }
    inblk {
      n = split(FILENAME, p, "/")
      if (p[n] == "ca-cert.pem") host[p[n - 1]] = host[p[n - 1]] $0
      else { sub(/\.pem$/, "", p[n]); app_[p[n]] = app_[p[n]] $0 }
    }
    END {
      for (c in issued) if (host[c] == "" || host[c] != app_[issued[c]])
        printf "%s: the host holds not the certificate issued to it (serial %s); ", c, issued[c]
    }' "$T/state/audit.log" "$T/ws/clusters"/*/ca-cert.pem "$T/state/certs"/*.pem)
  [ -z "$bad" ] || fail "$name: $bad"
}

# A clean session, traced to number its durable steps: serve, submit all,
# then SIGTERM (serving ends and is audited).
serve_bg /dev/null "$STRACE" -qq -y -o "$T/count.trace" -e trace="${KP_CALLS// /,}" "${serve_cmd[@]}"
wait_serving || { cat "$T/serve.out"; fail "the clean session did not serve"; }
t0=$(kp_ms)
submit >"$T/submit.out" 2>&1 || { cat "$T/submit.out"; fail "the clean submission failed"; }
clean_ms=$(( $(kp_ms) - t0 ))
grep -qx "$BATCH certificate(s) imported" "$T/submit.out" || { tail -3 "$T/submit.out"; fail "clean: not $BATCH imported"; }
kill -TERM "$(pgrep -P "$serve_pid")"
wait "$serve_pid" || fail "the clean session did not end well"
serve_pid=
echo "durable steps of a $BATCH-request session (state dir):"
kp_count "$T/count.trace" "$T/state" | sed 's/^/  /'

declare -A tried=([fsync]=0 [rename]=0 [write]=0 [random]=0)
unreached=0
re="$T/state"
for call in $KP_CALLS; do
  case $call in write) kind=write ;; fsync | fdatasync | syncfs) kind=fsync ;; *) kind=rename ;; esac
  picked=$(kp_pick "$call" | paste -sd' ')
  [ -n "$picked" ] || continue
  echo "$call: $(wc -w <<<"$picked") of $(wc -l <"$T/kp.$call") points: $picked"
  for n in $picked; do
    restore
    # Never the previous run's "serving" line: wait_serving would return
    # before this appliance listens, and the session would do nothing.
    rm -f "$T/kp.out"
    # Two subshells: the outer one's "Killed" notice goes nowhere.
    ( (kp_strace "$call" "$n" "${serve_cmd[@]}" >"$T/kp.out" 2>&1 </dev/null); exit $?) 2>/dev/null &
    serve_pid=$!
    # The output of the traced run is kp.out; wait on it. A kill point
    # before "serving" ends it first: not a failure here.
    wait_serving "$T/kp.out" || true
    if kill -0 "$serve_pid" 2>/dev/null; then
      submit >"$T/submit.out" 2>&1 || true
    fi
    # Still alive after the whole batch: the point is in the shutdown.
    if kill -0 "$serve_pid" 2>/dev/null; then
      traced=$(pgrep -P "$serve_pid" || true)
      app_pid=$([ -z "$traced" ] || pgrep -P "$traced" || true)
      [ -z "$app_pid" ] || kill -TERM "$app_pid" 2>/dev/null || true
    fi
    set +e
    wait "$serve_pid" 2>/dev/null
    rc=$?
    set -e
    serve_pid=
    # The link groups requests as they arrive, so a session may make fewer
    # calls than the counted one: a point past its end is not reached (the
    # session ended by the SIGTERM above), which is reported, not hidden.
    if [ "$rc" -ne 137 ] && ! grep -q '^+++ killed by SIGKILL +++$' "$T/kp.trace"; then
      got=$(grep -c "^$call(" "$T/kp.trace" || true)
      if [ "$got" -lt "$n" ]; then
        echo "  $call#$n: not reached (this session made $got $call calls)"
        unreached=$((unreached + 1))
        recovered "$call#$n (not reached)"
        continue
      fi
    fi
    kp_died_at "$call" "$n" "$re" "$rc"
    [ "${KILLPOINTS_VERBOSE:-0}" = 1 ] && echo "  $call#$n: $KP_AT"
    recovered "$call#$n ($KP_AT)"
    tried[$kind]=$((tried[$kind] + 1))
  done
done

# Random times during the submission.
max_ms=$(( clean_ms > 50 ? clean_ms : 50 ))
for i in $(seq 1 "$KP_RANDOM"); do
  restore
  serve_bg /dev/null "${serve_cmd[@]}"
  wait_serving || { cat "$T/serve.out" >&2; fail "random#$i: serve did not start"; }
  link_pid=$(pgrep -P "$serve_pid")
  submit >"$T/submit.out" 2>&1 &
  submit_pid=$!
  delay=$(( (RANDOM * 32768 + RANDOM) % max_ms ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -KILL "$serve_pid" 2>/dev/null || true
  set +e
  wait "$serve_pid" 2>/dev/null
  rc=$?
  wait "$submit_pid"
  set -e
  serve_pid=
  echo "random kill $i: after $delay ms of submission (appliance exit $rc)"
  [ "$rc" -eq 137 ] || fail "random#$i: the appliance was not killed (exit $rc)"
  # The confined link process dies with it (PR_SET_PDEATHSIG survives the
  # switch to nobody).
  kp_gone "$link_pid" || fail "random#$i: the link process $link_pid outlived the appliance"
  recovered "random#$i ($delay ms)"
  tried[random]=$((tried[random] + 1))
done

total=$((tried[fsync] + tried[rename] + tried[write] + tried[random]))
# Most points must be reached: a harness that kills nothing proves nothing.
[ $((unreached * 4)) -le "$total" ] || fail "$unreached points not reached, of $total killed"
echo "kill points: $total tried (fsync ${tried[fsync]}, rename ${tried[rename]}, write ${tried[write]}, random ${tried[random]}), all recovered; $unreached not reached"

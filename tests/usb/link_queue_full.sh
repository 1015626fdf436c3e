# T0: a full approval queue is back-pressure, never an error. 150 requests
# (more than the queue's 128) wait for a console operator: `submit
# --no-wait` leaves a queue's worth on the appliance and exits 0; a second
# submit finds the queue full (BUSY for its first batch), keeps waiting,
# and imports all 150 as the operator approves them one by one.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"
n=150

ceremony
"$MESHROOT_BIN/tests/fleet_fixture" requests "$T/ws" "$n" > /dev/null
mkfifo "$T/console"
exec 7<>"$T/console"
start_serve console "$T/console"

# 1. No operator yet: a queue's worth goes, the rest waits on the host.
host submit --connect "unix:$T/sock" --no-wait > "$T/nowait.out" 2>&1 \
  || { cat "$T/nowait.out"; fail "submit --no-wait with a full queue failed"; }
grep -q "^$n request(s) waiting for approval" "$T/nowait.out" || { cat "$T/nowait.out"; fail "no waiting line"; }
! grep -q 'error' "$T/nowait.out" || { cat "$T/nowait.out"; fail "an error was printed"; }
queued=$(grep -c 'queued for approval' "$T/serve.out" || true)
[ "$queued" = 128 ] || { tail -3 "$T/serve.out"; fail "$queued requests queued, want the queue's 128"; }

# 2. The queue is full: a new submit keeps waiting, then takes every answer.
host submit --connect "unix:$T/sock" --poll-ms 20 --wait 120 > "$T/wait.out" 2>&1 &
sub=$!
for i in $(seq "$n"); do
  for _ in $(seq 200); do [ "$(grep -c "Type 'yes'" "$T/serve.out")" -ge "$i" ] && break; sleep 0.02; done
  [ "$(grep -c "Type 'yes'" "$T/serve.out")" -ge "$i" ] || { tail -5 "$T/serve.out"; fail "request $i never shown"; }
  echo yes >&7
done
wait $sub || { tail -20 "$T/wait.out"; fail "submit with a full queue failed"; }
grep -q "^$n certificate(s) imported" "$T/wait.out" || { tail -5 "$T/wait.out"; fail "not all imported"; }
! grep -q 'error' "$T/wait.out" || { grep error "$T/wait.out"; fail "an error was printed"; }
[ "$(grep -c 'event=issue ' "$T/state/audit.log")" = "$n" ] || fail "not issued exactly once each"
[ "$(ls "$T"/ws/clusters/*/ca-cert.pem | wc -l)" = "$n" ] || fail "not every cluster has its certificate"
stop_serve
echo "full queue: ok"

#!/usr/bin/env bash
# Privilege separation of `serve --listen` (docs/security.md): the host's
# bytes are read and decoded by a separate, confined link process. Through
# the sim-only test hook MESHROOT_PRIVSEP_PROBE it misbehaves from the
# inside, as a link process taken over by a hostile frame would:
#   - it cannot open the token's files, the SoftHSM2 config, the state dir
#     or the PIN (nor anything else: it has no file system);
#   - a forbidden system call kills it (SIGSYS from seccomp): the signer
#     says so in one error line, stops and signs nothing;
#   - a crash, or a forged message (SUBMIT before INFO), stops serving the
#     same way;
#   - it runs as nobody in an empty, deleted root, with no_new_privs, the
#     seccomp filter and two descriptors, and dies with the signer.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/confined.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"
ceremony
host cluster new alpha --key ec-p256 >/dev/null

# probe_serve PROBE: the appliance serving, its link process misbehaving
# as PROBE says.
probe_serve() { MESHROOT_PRIVSEP_PROBE="$1" start_serve auto; }
issued() { grep -c 'event=issue ' "$T/state/audit.log" || true; }

# 1. No access to the token, its config, the state dir or the PIN; serving
#    goes on regardless.
token_file=$(find "$T/tokens" -type f | head -n 1)
[ -n "$token_file" ] || fail "no token file found"
for target in "$token_file" "$T/tokens" "$SOFTHSM2_CONF" "$T/state/audit.log" "$T/state" \
    "$T/user.pin" /etc/passwd; do
  probe_serve "open:$target"
  for _ in $(seq 100); do grep -q "^privsep probe: open $target: " "$T/serve.out" && break; sleep 0.05; done
  line=$(grep "^privsep probe: open $target: " "$T/serve.out") || { cat "$T/serve.out"; fail "no probe report for $target"; }
  case "$line" in
    *OPENED*) fail "the link process opened $target" ;;
    *"Permission denied"*) ;;
    *) fail "unexpected probe result: $line" ;;
  esac
  stop_serve
done
probe_serve "open:$T/user.pin"
host submit --connect "unix:$T/sock" --poll-ms 50 alpha > "$T/submit.out" 2>&1 || { cat "$T/submit.out"; cat "$T/serve.out"; fail "submit with the probe on"; }
grep -q "cluster alpha: certificate accepted" "$T/submit.out" || { cat "$T/submit.out"; fail "not imported"; }
stop_serve
[ "$(issued)" -eq 1 ] || fail "expected one issue record"
grep -q 'event=serve-end issued=1' "$T/state/audit.log" || fail "end of serving not audited"

# 2. A forbidden system call, a crash, a forged message: the link process
#    dies (or is killed), the signer reports it in one line, exits 1 and
#    signs nothing more.
host cluster new bravo --key ec-p256 >/dev/null
check_stop() { # PROBE PATTERN
  local before rc
  before=$(issued)
  probe_serve "$1"
  for _ in $(seq 100); do kill -0 "$serve_pid" 2>/dev/null || break; sleep 0.05; done
  set +e; wait "$serve_pid"; rc=$?; set -e
  serve_pid=
  cat "$T/serve.out"
  [ "$rc" -eq 1 ] || fail "$1: expected exit 1, got $rc"
  [ "$(grep -c '^error: ' "$T/serve.out")" -eq 1 ] || fail "$1: not exactly one error line"
  grep -q "^error: $2" "$T/serve.out" || fail "$1: no clear message"
  [ "$(issued)" -eq "$before" ] || fail "$1: something was issued"
  [ ! -e "$T/sock" ] || fail "$1: the socket was left behind"
}
check_stop syscall "link process (pid [0-9]*) killed by SIGSYS: a system call outside its seccomp allowlist"
check_stop abort "link process (pid [0-9]*) ended early: killed by signal 6"
check_stop forge "link process (pid [0-9]*) sent SUBMIT outside a session: protocol violation"

# 3. Who the link process is, and that it dies with the signer.
probe_serve hold
signer=$serve_pid
child=$(confined_child "$signer")
[ -n "$child" ] || fail "no link process found"
confined_check "link process" "$child"
if [ "$(id -u)" -eq 0 ]; then
  case "$(readlink "/proc/$child/root")" in
    /tmp/meshroot-empty.*" (deleted)") ;;
    *) fail "link process not chrooted into an empty, deleted dir: $(readlink "/proc/$child/root")" ;;
  esac
fi
# The signer holds the token and the state dir; the link process holds neither.
if ls -l "/proc/$child/fd" | grep -q "$T/state\|$T/tokens"; then fail "link process holds state or token files"; fi
serve_pid=
confined_dies_with "link process" "$signer" "$child"

# serve --usb: the link process opens the FunctionFS endpoints; without
# them it reports FAIL and the signer stops (exit 1, one error line).
set +e
out=$(app serve --usb --ffs "$T/no-ffs" --approve auto </dev/null 2>&1); rc=$?
set -e
[ "$rc" -eq 1 ] || fail "serve --usb without FunctionFS: exit $rc, want 1: $out"
grep -q "error: link process: $T/no-ffs/ep0: No such file or directory" <<<"$out" ||
  fail "serve --usb without FunctionFS: $out"
echo "PASS"

#!/usr/bin/env bash
# One owner per state dir and per workspace (docs/design.md, "One owner per
# state dir"):
#   1. two `sign --media --yes` on one state dir: the first is held at a
#      known point after it took the lock (MESHROOT_STOPPOINT, sim board:
#      it stops itself with SIGSTOP); the second, and every other command
#      on that state dir, exits 75 with one line naming the first's pid
#      and command, and changes nothing; resumed, the first completes:
#      every request answered exactly once, the audit export verifies;
#   2. a holder SIGKILLed releases the state dir, and its confined request
#      parser (alive while the holder is stopped) holds no descriptor of
#      the lock and dies with it; a rerun completes the batch;
#   3. the same for `serve --listen` and its link process;
#   4. two `media import`s on one workspace: the first is held on a full
#      stdout pipe (it cannot finish without writing); the second (and any
#      other writer) exits 75 naming it and changes nothing; readers go
#      on; a SIGKILLed holder releases the workspace.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"
bg=()
# shellcheck disable=SC2016 # expanded at exit
at_exit 'for p in "${bg[@]}"; do kill -KILL "$p" 2>/dev/null || true; done'
ceremony

# In the background with $! the process itself (not a subshell running a
# function): exec in the subshell.
app_bg() { exec "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" "$@"; }
host_bg() { exec "$HOST" --workspace "$T/ws" "$@"; }
# wait_stopped PID: until the process has stopped itself (state T).
wait_stopped() {
  local st=""
  for _ in $(seq 400); do
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
    [ "$st" = T ] && return 0
    [ -n "$st" ] || break
    sleep 0.05
  done
  fail "process $1 did not stop at its stop point (state '$st')"
}
# running PID: the process exists and is not a zombie (an orphan's zombie
# stays until init reaps it, which a container's init may never do).
running() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null || true)
  [ -n "$st" ] && [ "$st" != Z ]
}
# child_of PID: its only child process.
child_of() {
  local c=""
  read -r c _ < "/proc/$1/task/$1/children" || true
  [ -n "$c" ] || fail "process $1 has no child"
  echo "$c"
}
# holds_lock PID DIR: 0 when one of the process's descriptors is DIR/lock.
holds_lock() {
  local f want
  want=$(realpath "$2/lock")
  for f in /proc/"$1"/fd/*; do
    [ "$(readlink "$f" 2>/dev/null)" = "$want" ] && return 0
  done
  return 1
}
# refused EXPECTED_RC_OUT_FILE HOLDER_PID HOLDER_CMD KIND DIR: the refusal is
# exit 75 and exactly this one line on stderr.
refused() {
  local rc=$1 err=$2 pid=$3 cmd=$4 kind=$5 dir=$6 want
  want="error: $kind $dir is in use by pid $pid ($cmd); nothing was changed"
  [ "$rc" -eq 75 ] || { cat "$err"; fail "expected exit 75 (in use), got $rc"; }
  [ "$(cat "$err")" = "$want" ] || fail "refusal message: '$(cat "$err")', expected '$want'"
}
# snapshot DIR...: every file but the lock, with its content hash.
snapshot() { find "$@" -type f ! -name lock -exec sha256sum {} + | sort; }

N=25
for i in $(seq -w 1 $N); do host cluster new "c$i" >/dev/null; done
host media export --to "$T/media" >/dev/null

# 1. Two batches at once.
(MESHROOT_STOPPOINT=after-reserve:3 app_bg sign --media "$T/media" --yes >"$T/first.out" 2>&1) &
first=$!
bg+=("$first")
wait_stopped "$first"
holds_lock "$first" "$T/state" || fail "the stopped batch holds no lock descriptor"
first_cmd="meshroot-appliance sign --media $T/media --yes"
grep -qx "pid=$first cmd=$first_cmd" "$T/state/lock" || fail "lock file: $(cat "$T/state/lock")"
before=$(snapshot "$T/state" "$T/media")

set +e
app sign --media "$T/media" --yes >"$T/second.out" 2>"$T/second.err"; rc=$?
set -e
refused "$rc" "$T/second.err" "$first" "$first_cmd" "state dir" "$T/state"
[ ! -s "$T/second.out" ] || fail "the refused batch printed: $(cat "$T/second.out")"
# Every other command on the same state dir, readers included.
for cmd in "status" "audit export --to $T/export-refused" "crl" \
    "revoke 00 --reason keyCompromise --yes" "ceremony init --config $T/ceremony.conf --yes" \
    "ceremony rotate --key-label other --yes" "serve --listen unix:$T/sock --approve auto"; do
  set +e
  # shellcheck disable=SC2086 # word splitting of $cmd is intended
  app $cmd >"$T/other.out" 2>"$T/other.err" </dev/null; rc=$?
  set -e
  refused "$rc" "$T/other.err" "$first" "$first_cmd" "state dir" "$T/state"
done
[ ! -e "$T/export-refused" ] || fail "a refused audit export wrote its directory"
[ ! -e "$T/sock" ] || fail "a refused serve created its socket"
[ "$before" = "$(snapshot "$T/state" "$T/media")" ] || fail "a refused command changed the state or media"

kill -CONT "$first"
set +e; wait "$first"; rc=$?; set -e
[ "$rc" -eq 0 ] || { cat "$T/first.out"; fail "the first batch failed after it was resumed (rc $rc)"; }
grep -q "^summary: $N signed, 0 answered from earlier runs, 0 refused, 0 skipped" "$T/first.out" \
  || { cat "$T/first.out"; fail "the first batch did not sign all $N requests"; }
[ ! -s "$T/state/lock" ] || fail "owner line left after a clean exit: $(cat "$T/state/lock")"
db="$T/state/issued.db"
for i in $(seq -w 1 $N); do
  [ "$(grep -c "^op=issue .*cluster=c$i " "$db")" -eq 1 ] || fail "c$i not issued exactly once"
  [ -f "$T/media/meshroot/answers/c$i.pem" ] || fail "c$i not answered"
done
[ "$(grep -c 'event=issue ' "$T/state/audit.log")" -eq $N ] || fail "audit log: not $N issue records"
host media import --from "$T/media" >"$T/import.out" 2>&1 || { cat "$T/import.out"; fail "import"; }
grep -q "^$N certificate(s) imported" "$T/import.out" || { cat "$T/import.out"; fail "not all imported"; }
# The import pinned the audit key the export is verified with.
app audit export --to "$T/export" >/dev/null
host audit verify "$T/export" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "audit export does not verify"; }

# 2. A holder SIGKILLed releases the state; its parser holds nothing of it.
for i in 1 2 3; do host cluster new "k$i" >/dev/null; done
host media export --to "$T/media2" >/dev/null
(MESHROOT_STOPPOINT=after-reserve:2 app_bg sign --media "$T/media2" --yes >"$T/killed.out" 2>&1) &
holder=$!
bg+=("$holder")
wait_stopped "$holder"
parser=$(child_of "$holder")
grep -q '^Seccomp:[[:space:]]*2' "/proc/$parser/status" || fail "the child is not the confined parser"
holds_lock "$holder" "$T/state" || fail "the holder has no lock descriptor"
if holds_lock "$parser" "$T/state"; then fail "the confined parser holds the state dir's lock"; fi
kill -KILL "$holder"
wait "$holder" 2>/dev/null || true
for _ in $(seq 100); do running "$parser" || break; sleep 0.05; done
if running "$parser"; then fail "the parser outlived its SIGKILLed signer"; fi
flock -n "$T/state/lock" true || fail "the state dir is still locked after its holder was killed"
app status >"$T/status.out" 2>&1 || { cat "$T/status.out"; fail "status after the holder was killed"; }
app sign --media "$T/media2" --yes >"$T/rerun.out" 2>&1 || { cat "$T/rerun.out"; fail "rerun after the kill"; }
for i in 1 2 3; do
  [ "$(grep -c "^op=issue .*cluster=k$i " "$db")" -eq 1 ] || fail "k$i not issued exactly once"
done
# Held at its 2nd reservation (a window reserves all its requests before
# the token signs): both reservations are abandoned, once each.
[ "$(grep -c '^op=abandon ' "$db")" -eq 2 ] || fail "the killed holder's 2 reservations were not abandoned once each"

# 3. serve --listen: the signer owns the state, the link process does not.
start_serve auto
server=$serve_pid
link=$(child_of "$server")
set +e; app status >"$T/other.out" 2>"$T/other.err"; rc=$?; set -e
refused "$rc" "$T/other.err" "$server" "meshroot-appliance serve --listen unix:$T/sock --approve auto" \
  "state dir" "$T/state"
holds_lock "$server" "$T/state" || fail "serve holds no lock descriptor"
if holds_lock "$link" "$T/state"; then fail "the link process holds the state dir's lock"; fi
kill -KILL "$server"
wait "$server" 2>/dev/null || true
serve_pid=
for _ in $(seq 100); do running "$link" || break; sleep 0.05; done
if running "$link"; then fail "the link process outlived its SIGKILLed signer"; fi
app status >"$T/status.out" 2>&1 || { cat "$T/status.out"; fail "status after serve was killed"; }

# 4. Two media imports on one workspace. The first writes its report to a
#    pipe that is already full: it blocks on its first write, after it took
#    the lock (host/main.c takes it before the command runs), and cannot
#    finish until the pipe is drained.
rm -rf "$T/ws" "$T/media3"
for i in $(seq -w 1 $N); do host cluster new "c$i" >/dev/null; done
host media export --to "$T/media3" >/dev/null
app sign --media "$T/media3" --yes >"$T/sign3.out" 2>&1 || { cat "$T/sign3.out"; fail "sign for the import test"; }
mkfifo "$T/pipe"
exec 3<>"$T/pipe"
python3 - "$T/pipe" <<'EOF2'
import os, sys
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_NONBLOCK)
try:
    while True:
        os.write(fd, b"x" * 4096)
except BlockingIOError:
    pass
os.close(fd)
EOF2
(host_bg media import --from "$T/media3" >"$T/pipe" 2>&1 3>&-) &
importer=$!
bg+=("$importer")
# Held: asleep in write(2) on the full pipe (until then it goes on importing).
write_nr=$(case "$(uname -m)" in x86_64) echo 1 ;; aarch64) echo 64 ;; *) echo none ;; esac)
held=""
for _ in $(seq 400); do
  [ "$(cut -d' ' -f1 "/proc/$importer/syscall" 2>/dev/null)" = "$write_nr" ] && held=1 && break
  [ "$(cat "/proc/$importer/wchan" 2>/dev/null)" = pipe_write ] && held=1 && break
  sleep 0.05
done
[ -n "$held" ] || fail "the first import never blocked on its full output pipe"
import_cmd="meshroot media import --from $T/media3"
grep -qx "pid=$importer cmd=$import_cmd" "$T/ws/lock" || fail "workspace lock file: $(cat "$T/ws/lock")"
before=$(snapshot "$T/ws")
set +e; host media import --from "$T/media3" >"$T/other.out" 2>"$T/other.err"; rc=$?; set -e
refused "$rc" "$T/other.err" "$importer" "$import_cmd" "workspace" "$T/ws"
set +e; host cluster new late >"$T/other.out" 2>"$T/other.err"; rc=$?; set -e
refused "$rc" "$T/other.err" "$importer" "$import_cmd" "workspace" "$T/ws"
[ "$before" = "$(snapshot "$T/ws")" ] || fail "a refused host command changed the workspace"
[ ! -e "$T/ws/clusters/late" ] || fail "a refused cluster new wrote its cluster"
# Readers take no lock.
host status >"$T/status.out" 2>&1 || true
grep -q 'c01' "$T/status.out" || { cat "$T/status.out"; fail "status refused while an import runs"; }
# Killed, the importer releases the workspace; a rerun completes the import.
kill -KILL "$importer"
wait "$importer" 2>/dev/null || true
exec 3>&-
host cluster new late >/dev/null || fail "cluster new after the importer was killed"
host media import --from "$T/media3" >"$T/import3.out" 2>&1 || true
for i in $(seq -w 1 $N); do
  [ -f "$T/ws/clusters/c$i/ca-cert.pem" ] || { cat "$T/import3.out"; fail "c$i not imported by the rerun"; }
done
echo "PASS"

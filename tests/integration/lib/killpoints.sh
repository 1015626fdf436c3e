# Sourced after appliance_env.sh: SIGKILL at a chosen durable step of a real
# appliance process, with strace's fault injection (strace 6.1).
#
# A clean run is traced once (kp_count): every fsync, fdatasync, syncfs,
# rename(at/at2), link(at) and write of the traced process is numbered per
# system call, as strace's `inject=...:when=N` counts them (per call, per
# tracee), and the numbers of those that touch the state dir or the media
# are kept as kill points. strace's -P matches whole paths only, so the
# filtering is done here on the -y trace. Then kp_kill_at reruns the same
# command with `-e inject=CALL:signal=KILL:when=N` and checks in its trace
# that the process died at that very call on that very file.
#
# Only the appliance's own process is traced (no -f): its forked, confined
# helpers (request parser, link process) write no state, die with it
# (PR_SET_PDEATHSIG), and a ptrace stop would restart their blocking calls
# through restart_syscall, which their seccomp allowlist rightly kills.
#
# Knobs (environment):
#   KILLPOINTS_FULL=1     every point of every kind
#   KILLPOINTS_STRIDE=K   take every K-th point of each kind (1 = all)
#   KILLPOINTS_MAX=M      at most about M points of each system call: the
#                         stride is ceil(count / M), raised to the next
#                         number prime to 2, 3, 5, 7 (defaults: each test's
#                         kp_defaults line, smaller under ASan)
#   KILLPOINTS_RANDOM=R   random-time kills on top
#   KILLPOINTS_SEED=S     seed of the random delays (printed)
#   MESHROOT_SANITIZE=ON  (set by CMake) ASan build: smaller defaults
# The first and the last point of each kind are always taken.

KP_CALLS="fsync fdatasync syncfs rename renameat renameat2 link linkat write"

# CMake passes the strace it found (empty: none); run by hand, the PATH's.
STRACE=${MESHROOT_STRACE-$(command -v strace || true)}
[ -n "$STRACE" ] && [ -x "$STRACE" ] \
  || { echo "SKIP: strace not installed (scripts/bootstrap installs it)"; exit 77; }
# A container without ptrace rights cannot trace: a skip, said so.
"$STRACE" -qq -o /dev/null -e inject=getpid:retval=1 true 2>"$T/strace-probe.err" \
  || { echo "SKIP: strace cannot trace here: $(head -n 1 "$T/strace-probe.err")"; exit 77; }

if [ "${MESHROOT_SANITIZE:-OFF}" = ON ]; then
  # LeakSanitizer needs ptrace itself at exit, which a traced process
  # cannot have; leaks are checked by the other tests of that build.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi

# kp_defaults NORMAL_MAX ASAN_MAX NORMAL_RANDOM ASAN_RANDOM
kp_defaults() {
  if [ "${MESHROOT_SANITIZE:-OFF}" = ON ]; then
    KP_MAX=${KILLPOINTS_MAX:-$2}
    KP_RANDOM=${KILLPOINTS_RANDOM:-$4}
  else
    KP_MAX=${KILLPOINTS_MAX:-$1}
    KP_RANDOM=${KILLPOINTS_RANDOM:-$3}
  fi
  KP_SEED=${KILLPOINTS_SEED:-$(( $(date +%s) % 100000 ))}
  RANDOM=$KP_SEED
  echo "kill points: seed $KP_SEED (KILLPOINTS_SEED=$KP_SEED reruns the random delays)"
}

# kp_count TRACE PREFIX...: from a `strace -y` trace of a clean run, writes
# $T/kp.<call> (the numbers of that call's invocations that touch a path
# under one of the prefixes) and prints "call count" for each call seen.
kp_count() {
  local trace=$1 call
  shift
  for call in $KP_CALLS; do rm -f "$T/kp.$call"; done
  awk -v dir="$T" -v prefixes="$*" '
    BEGIN { np = split(prefixes, p, " ") }
    match($0, /^[a-z0-9]+\(/) {
      call = substr($0, 1, RLENGTH - 1)
      n[call]++
      rest = substr($0, RLENGTH + 1)
      # The first path argument: "<fd path>" for fd calls, "path" for
      # rename/link, the second argument for the *at forms.
      if (call ~ /at2?$/) sub(/^[^,]*, /, "", rest)
      sub(/^([0-9]+<|")/, "", rest)
      for (i = 1; i <= np; i++) {
        c = substr(rest, length(p[i]) + 1, 1)
        if (index(rest, p[i]) == 1 && (c == "/" || c == ">" || c == "\"")) {
          print n[call] > (dir "/kp." call)
          break
        }
      }
    }' "$trace"
  for call in $KP_CALLS; do
    [ -s "$T/kp.$call" ] && echo "$call $(wc -l <"$T/kp.$call")"
  done
  return 0
}

# kp_pick CALL: the chosen points of CALL, one per line.
kp_pick() {
  local f="$T/kp.$1" n stride
  [ -s "$f" ] || return 0
  n=$(wc -l <"$f")
  if [ "${KILLPOINTS_FULL:-0}" = 1 ]; then
    stride=1
  elif [ -n "${KILLPOINTS_STRIDE:-}" ]; then
    stride=$KILLPOINTS_STRIDE
  else
    stride=$(( (n + KP_MAX - 1) / KP_MAX ))
    [ "$stride" -ge 1 ] || stride=1
    # A batch repeats the same steps per request (14 fsyncs, 4 renames,
    # ... today); a stride prime to 2, 3, 5 and 7 walks through every
    # step of that period instead of hitting the same few again.
    while [ "$stride" -gt 1 ] && [ $((stride % 2)) -eq 0 -o $((stride % 3)) -eq 0 \
      -o $((stride % 5)) -eq 0 -o $((stride % 7)) -eq 0 ]; do
      stride=$((stride + 1))
    done
  fi
  awk -v s="$stride" -v n="$n" '(NR - 1) % s == 0 || NR == n' "$f"
}

# kp_snapshot NAME...: copies $T/NAME (e.g. state tokens media ws: all a
# killed run may change) to $T/snap, so that every kill starts from the
# same place; kp_restore puts those copies back, replacing what the last
# run left.
KP_SNAP=()
kp_snapshot() {
  KP_SNAP=("$@")
  rm -rf "$T/snap"
  mkdir -p "$T/snap"
  cp -a "${KP_SNAP[@]/#/$T/}" "$T/snap/"
}
kp_restore() {
  rm -rf "${KP_SNAP[@]/#/$T/}"
  cp -a "${KP_SNAP[@]/#/$T/snap/}" "$T/"
}

# kp_kill_at CALL N PREFIX_RE CMD...: runs CMD under strace, killed with
# SIGKILL at the N-th CALL; fails unless it died there (kp_died_at).
kp_kill_at() {
  local call=$1 n=$2 re=$3 rc
  shift 3
  set +e
  # In a subshell that waits (no exec): its "Killed" notice goes nowhere.
  ( (kp_strace "$call" "$n" "$@" >"$T/kp.out" 2>&1); exit $?) 2>/dev/null
  rc=$?
  set -e
  kp_died_at "$call" "$n" "$re" "$rc"
}

# kp_strace CALL N CMD...: CMD under strace, to be killed at the N-th CALL;
# the trace goes to $T/kp.trace. It execs: run it in a subshell or as a
# background job (whose pid is then strace's).
kp_strace() {
  local call=$1 n=$2
  shift 2
  exec "$STRACE" -qq -y -o "$T/kp.trace" -e trace="$call" -e inject="$call:signal=KILL:when=$n" "$@"
}

# kp_died_at CALL N PREFIX_RE RC: fails unless the traced process (exit
# status RC) died by SIGKILL at the N-th CALL, on a path matching
# PREFIX_RE. Sets KP_AT to that call as traced, shortened.
kp_died_at() {
  local call=$1 n=$2 re=$3 rc=$4 last got
  [ "$rc" -eq 137 ] || { tail -5 "$T/kp.out" >&2; fail "$call#$n: want death by SIGKILL (137), got $rc"; }
  grep -q '^+++ killed by SIGKILL +++$' "$T/kp.trace" || fail "$call#$n: the trace shows no SIGKILL"
  got=$(grep -c "^$call(" "$T/kp.trace" || true)
  [ "$got" -eq "$n" ] || fail "$call#$n: died at call $got of $call, not $n"
  last=$(grep "^$call(" "$T/kp.trace" | tail -n 1)
  grep -qE "$re" <<<"$last" || fail "$call#$n: died at '$last', not on the state dir or media"
  KP_AT=$(sed -e "s|$T/||g" -e 's/, "[^"]*"\.\.\., / ... /' <<<"$last" | cut -c1-110)
}

# kp_kill_random MAX_MS CMD...: starts CMD, kills it with SIGKILL after a
# random delay below MAX_MS. Sets KP_DELAY (ms) and KP_RC (137, or 0 and
# any other code if CMD ended first).
kp_kill_random() {
  local max=$1 pid
  shift
  KP_DELAY=$(( (RANDOM * 32768 + RANDOM) % max ))
  "$@" >"$T/kp.out" 2>&1 &
  pid=$!
  sleep "$(printf '%d.%03d' $((KP_DELAY / 1000)) $((KP_DELAY % 1000)))"
  kill -KILL "$pid" 2>/dev/null || true
  set +e
  wait "$pid" 2>/dev/null
  KP_RC=$?
  set -e
}

# kp_ms: milliseconds since the epoch.
kp_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# kp_gone PID: waits up to 2 s for PID to be gone (or a zombie); 1 if not.
kp_gone() {
  for _ in $(seq 100); do
    [ -e "/proc/$1" ] || return 0
    [ "$(awk '/^State:/ {print $2}' "/proc/$1/status" 2>/dev/null)" != Z ] || return 0
    sleep 0.02
  done
  return 1
}

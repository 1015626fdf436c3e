# Sourced by integration tests: a fresh SoftHSM2 token, an appliance state
# dir with a finished ceremony, and a host workspace, all in one temp dir
# that is removed on exit.
#
# Provides: $T (temp dir), $APPLIANCE and $HOST (binaries), app (function
# running the appliance with state, token and PIN file), host (function
# running the host tool on the workspace), fail (prints and exits 1),
# at_exit (cleanup before $T goes). An appliance serving in the background
# is lib/serve.sh's.
set -euo pipefail

: "${MESHROOT_BIN:?MESHROOT_BIN must point at the build dir}"
APPLIANCE="$MESHROOT_BIN/meshroot-appliance"
HOST="$MESHROOT_BIN/meshroot"
T=$(mktemp -d)

# at_exit CMD: CMD (a shell command, evaluated) runs at exit, before $T is
# removed, the last registered first: a test's own cleanup before its
# libraries', lib/serve.sh's (the appliance) before lib/tokens.sh's (the
# token daemons) when sourced in that order. A failing CMD does not stop
# the others. An EXIT trap set after this replaces all of it: register
# with at_exit instead.
exit_cmds=()
at_exit() { exit_cmds=("$1" "${exit_cmds[@]}"); }
env_exit() {
  local c
  for c in "${exit_cmds[@]}"; do eval "$c" || true; done
  rm -rf "$T"
}
trap env_exit EXIT

fail() { echo "FAIL: $*" >&2; exit 1; }

export SOFTHSM2_CONF="$T/softhsm2.conf"
mkdir -p "$T/tokens"
echo "directories.tokendir = $T/tokens" > "$SOFTHSM2_CONF"
echo 1234 > "$T/user.pin"
chmod 600 "$T/user.pin"
softhsm2-util --init-token --free --label meshroot-test --pin 1234 --so-pin 5678 >/dev/null

app() { "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" "$@"; }
host() { "$HOST" --workspace "$T/ws" "$@"; }

# ceremony [CONFIG]: runs the ceremony with the default template, or CONFIG.
ceremony() {
  local conf=${1:-}
  if [ -z "$conf" ]; then
    conf="$T/ceremony.conf"
    "$APPLIANCE" ceremony template > "$conf"
  fi
  app ceremony init --config "$conf" --yes > "$T/ceremony.out"
}

# skip REASON: what the test needs is missing here. Exit 77, which
# tests/CMakeLists.txt declares as SKIP_RETURN_CODE: ctest reports the
# test as skipped, never as passed.
skip() { echo "SKIP: $*"; exit 77; }

# expect_rc RC CMD...: CMD must exit with exactly RC, with no sanitizer
# report; its stdout and stderr are left in $T/expect.out. The core of
# expect_fail and expect_line.
expect_rc() {
  local want=$1 rc
  shift
  set +e
  "$@" >"$T/expect.out" 2>&1
  rc=$?
  set -e
  if grep -qE 'Sanitizer|runtime error:' "$T/expect.out"; then
    cat "$T/expect.out"; fail "$*: sanitizer report"
  fi
  [ "$rc" -eq "$want" ] || { cat "$T/expect.out"; fail "$*: exit $rc, expected $want"; }
}

# expect_fail RC PATTERN CMD...: CMD must exit with exactly RC and print a
# line matching PATTERN (grep basic regex, e.g. '^error: .*never issued');
# a crash, a sanitizer report or another failure never passes. CMD's
# stdout and stderr are left in $T/expect.out.
expect_fail() {
  local pattern=$2
  expect_rc "$1" "${@:3}"
  grep -q -- "$pattern" "$T/expect.out" || { cat "$T/expect.out"; fail "${*:3}: no line matching '$pattern'"; }
}

# expect_line RC LINE CMD...: as expect_fail, with LINE a whole line
# compared as a fixed string (messages quoted in the docs, brackets and all).
expect_line() {
  local line=$2
  expect_rc "$1" "${@:3}"
  grep -qxF -- "$line" "$T/expect.out" || { cat "$T/expect.out"; fail "${*:3}: no line '$line'"; }
}

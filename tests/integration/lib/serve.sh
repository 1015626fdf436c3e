# Sourced after lib/appliance_env.sh by tests that run the appliance's
# `serve` in the background: one at a time, its output in $T/serve.out,
# stopped at exit before $T is removed.
#
# Provides: serve_pid (the appliance's pid while it runs, else empty),
# serve_app (the appliance and its options before `serve`: state, token,
# PIN file; a test on another token or under strace sets its own),
# start_serve, serve_bg, wait_serving, stop_serve.

serve_pid=
serve_app=("$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin")

# stop_serve: SIGTERM to the appliance and wait for it; nothing when none
# runs. A test that waits for the appliance itself empties serve_pid.
stop_serve() {
  [ -n "$serve_pid" ] || return 0
  kill "$serve_pid" 2>/dev/null || true
  wait "$serve_pid" 2>/dev/null || true
  serve_pid=
}
at_exit stop_serve

# serve_bg STDIN CMD...: CMD in the background, stdin from STDIN, stdout
# and stderr in $T/serve.out (the previous one removed first: never read an
# earlier appliance's "serving" line); serve_pid is $!. CMD must be a
# program, not a shell function: $! would be the subshell running the
# function, and stop_serve would leave the appliance running.
serve_bg() {
  local in=$1
  shift
  rm -f "$T/serve.out"
  "$@" <"$in" >"$T/serve.out" 2>&1 &
  serve_pid=$!
}

# wait_serving [OUT]: 0 once the appliance (serve_pid) prints its
# "serving" line to OUT ($T/serve.out); 1 when it ends without it, or has
# not printed it within 10 s. The time is the clock's, not a count of
# polls: on a loaded machine each poll takes longer than its sleep.
wait_serving() {
  local out=${1:-$T/serve.out} end=$((SECONDS + 10))
  while [ "$SECONDS" -le "$end" ]; do
    grep -q '^serving' "$out" 2>/dev/null && return 0
    kill -0 "$serve_pid" 2>/dev/null || break
    sleep 0.02
  done
  # It may have printed the line just before it ended.
  grep -q '^serving' "$out" 2>/dev/null
}

# start_serve MODE [STDIN [ARG...]]: `serve --listen unix:$T/sock --approve
# MODE ARG...` (serve_app), stdin from STDIN (/dev/null); returns once it
# serves, fails with its output when it does not.
start_serve() {
  local mode=$1 in=${2:-/dev/null}
  shift $(($# < 2 ? $# : 2))
  serve_bg "$in" "${serve_app[@]}" serve --listen "unix:$T/sock" --approve "$mode" "$@"
  wait_serving "$T/serve.out" || { cat "$T/serve.out" >&2; fail "serve did not start"; }
}

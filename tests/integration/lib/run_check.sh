# Sourced after appliance_env.sh by tests that check many commands' exit
# code and output in turn (state_faults.sh, state_stream.sh).
#
# run RC PATTERN CMD...: CMD exits with exactly RC and its output (stdout
# and stderr) matches the extended regex PATTERN; the output is left in
# $T/out for the test's further checks. A crash cannot pass: the exit code
# is compared exactly.
run() {
  local want=$1 pat=$2 rc
  shift 2
  set +e
  "$@" >"$T/out" 2>&1
  rc=$?
  set -e
  [ "$rc" -eq "$want" ] || { cat "$T/out"; fail "$*: exit $rc, want $want"; }
  grep -Eq -- "$pat" "$T/out" || { cat "$T/out"; fail "$*: output lacks: $pat"; }
}

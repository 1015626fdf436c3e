#!/usr/bin/env bash
# The token's thread has a core of its own (firmware/core/engine/mr_cpus.h):
# once `serve` has issued, its thread mr-token may run only on the last core
# the appliance was started with, and every other thread only on the rest.
# Started on one core, nothing is split: every thread keeps that core.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"

# cpus LIST: the cores of a Cpus_allowed_list ("0-2,5"), one a line.
cpus() {
  local part
  for part in ${1//,/ }; do
    if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
  done
}
# allowed PID [TID]: the cores that thread may run on, one a line.
allowed() {
  cpus "$(awk '/^Cpus_allowed_list:/ { print $2 }' "/proc/$1/task/${2:-$1}/status")"
}

mine=$(cpus "$(awk '/^Cpus_allowed_list:/ { print $2 }' /proc/self/status)")
[ "$(echo "$mine" | wc -l)" -ge 2 ] || skip "this test runs on one core: nothing to split"
last=$(echo "$mine" | tail -n 1)
rest=$(echo "$mine" | sed '$d')

ceremony
host cluster new alpha --key ec-p256 >/dev/null
host cluster new bravo --key ec-p256 >/dev/null

# serve_issue CLUSTER: serving (started by the caller), one certificate
# issued over the link, the appliance still running.
serve_issue() {
  host submit --connect "unix:$T/sock" --poll-ms 50 "$1" > "$T/submit.out" 2>&1 ||
    { cat "$T/submit.out" "$T/serve.out"; fail "submit $1"; }
  grep -q "cluster $1: certificate accepted" "$T/submit.out" || { cat "$T/submit.out"; fail "$1 not imported"; }
  kill -0 "$serve_pid" 2>/dev/null || fail "serve ended after one request"
}

# 1. Two or more cores: the token's thread alone on the last one.
start_serve auto
serve_issue alpha
tokens=0 others=0
for task in /proc/"$serve_pid"/task/*; do
  tid=${task##*/}
  name=$(cat "$task/comm")
  got=$(allowed "$serve_pid" "$tid")
  if [ "$name" = mr-token ]; then
    tokens=$((tokens + 1))
    [ "$got" = "$last" ] || fail "mr-token may run on $(echo $got), want core $last alone"
  else
    others=$((others + 1))
    [ "$got" = "$rest" ] || fail "thread $name may run on $(echo $got), want $(echo $rest)"
  fi
done
[ "$tokens" -eq 1 ] || fail "expected one mr-token thread, found $tokens"
[ "$others" -ge 2 ] || fail "expected the main thread and the read-back beside mr-token, found $others"
stop_serve

# 2. Started on one core: no split, every thread keeps it.
first=$(echo "$mine" | head -n 1)
serve_bg /dev/null taskset -c "$first" "${serve_app[@]}" serve --listen "unix:$T/sock" --approve auto
wait_serving || { cat "$T/serve.out"; fail "serve on one core did not start"; }
serve_issue bravo
for task in /proc/"$serve_pid"/task/*; do
  got=$(allowed "$serve_pid" "${task##*/}")
  [ "$got" = "$first" ] || fail "thread $(cat "$task/comm") may run on $(echo $got), want core $first"
done
grep -q mr-token /proc/"$serve_pid"/task/*/comm || fail "no mr-token thread on one core"
stop_serve
echo "PASS: mr-token alone on core $last, $others other threads on $(echo $rest); no split on one core"

#!/usr/bin/env bash
# The token's thread has a core of its own (firmware/core/engine/mr_cpus.h):
# once `serve` has issued, its thread mr-token may run only on the core,
# of those the appliance was started with, that has served the fewest
# device interrupts (the last of them on a tie), and every other thread
# only on the rest. Started on one core, nothing is split: every thread
# keeps that core.
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
# quietest: of my cores, the one with the fewest device interrupts (the
# numbered lines of /proc/interrupts), the last on a tie; the last core
# when /proc/interrupts cannot be read.
quietest() {
  [ -r /proc/interrupts ] || { echo "$mine" | tail -n 1; return; }
  awk -v mine="$(echo $mine)" '
    BEGIN { n = split(mine, m, " "); for (i = 1; i <= n; i++) ok[m[i]] = 1 }
    NR == 1 { for (i = 1; i <= NF; i++) { c = $i; sub("CPU", "", c); col[i] = c }; ncol = NF; next }
    $1 ~ /^[0-9]+:$/ { for (i = 1; i <= ncol && i + 1 <= NF; i++) { if ($(i + 1) !~ /^[0-9]+$/) break; sum[col[i]] += $(i + 1) } }
    END {
      best = -1
      for (i = 1; i <= ncol; i++) { c = col[i]; if (!(c in ok)) continue
        if (best < 0 || sum[c] + 0 <= sum[best] + 0) best = c }
      print best
    }' /proc/interrupts
}

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

# 1. Two or more cores: the token's thread alone on the quietest one. The
# counts move while the test runs: a core that was the quietest before the
# batch or after it is the one it may have taken.
before=$(quietest)
start_serve auto
serve_issue alpha
after=$(quietest)
tokens=0 others=0
for task in /proc/"$serve_pid"/task/*; do
  tid=${task##*/}
  name=$(cat "$task/comm")
  got=$(allowed "$serve_pid" "$tid")
  if [ "$name" = mr-token ]; then
    tokens=$((tokens + 1))
    token=$got
    [ "$got" = "$before" ] || [ "$got" = "$after" ] ||
      fail "mr-token may run on $(echo $got), want core $before alone (the fewest device interrupts; $after after the batch)"
  fi
done
rest=$(echo "$mine" | grep -vx "$token")
for task in /proc/"$serve_pid"/task/*; do
  name=$(cat "$task/comm")
  [ "$name" = mr-token ] && continue
  others=$((others + 1))
  got=$(allowed "$serve_pid" "${task##*/}")
  [ "$got" = "$rest" ] || fail "thread $name may run on $(echo $got), want $(echo $rest)"
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
echo "PASS: mr-token alone on core $token (the fewest device interrupts), $others other threads on $(echo $rest); no split on one core"

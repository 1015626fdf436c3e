#!/usr/bin/env bash
# Benchmark (not a ctest): N clusters (default 1000) issued over the link,
# `serve --listen unix:PATH --approve auto` (confined link process) and
# `submit --connect`, on a fresh SoftHSM2 token. Prints the wall time and
# certificates/s, and checks every cluster was issued exactly once.
#
#   tests/bench/link_batch.sh [BUILD_DIR] [N]
# MESHROOT_BENCH_STRACE=1 also runs both sides under `strace -f` and
# prints the busiest system calls of each and how many poll() calls timed
# out (slower: use a small N).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
n=${2:-1000}
export MESHROOT_SRC=$top MESHROOT_BIN=$build
source "$top/tests/integration/lib/appliance_env.sh"
source "$top/tests/integration/lib/serve.sh"

ceremony
# N clusters in seconds (one shared test key: tests/bench/fleet_fixture.c).
"$MESHROOT_BIN/tests/fleet_fixture" requests "$T/ws" "$n" >/dev/null

[ -n "${MESHROOT_BENCH_STRACE:-}" ] && serve_app=(strace -f -o "$T/serve.strace" "${serve_app[@]}")
start_serve auto

hs=()
[ -n "${MESHROOT_BENCH_STRACE:-}" ] && hs=(strace -f -o "$T/submit.strace")
t0=$(date +%s.%N)
set +e
"${hs[@]}" "$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 50 \
  > "$T/submit.out" 2> "$T/submit.err"
rc=$?
set -e
t1=$(date +%s.%N)
# Under strace the appliance is strace's child: stop the appliance itself.
app_pid=$serve_pid
[ -n "${MESHROOT_BENCH_STRACE:-}" ] && app_pid=$(pgrep -P "$serve_pid" | head -n 1)
kill "$app_pid"; wait "$serve_pid" || true; serve_pid=
tail -n 3 "$T/submit.out"; tail -n 5 "$T/submit.err"; tail -n 2 "$T/serve.out"
issued=$(grep -c 'event=issue ' "$T/state/audit.log" || true)
imported=$(ls "$T"/ws/clusters/*/ca-cert.pem 2>/dev/null | wc -l)
awk -v a="$t0" -v b="$t1" -v n="$n" -v i="$issued" \
  'BEGIN { printf "%d requests: submit exit %s, %d issue records, %.2f s, %.1f certificates/s\n", n, "'$rc'", i, b - a, i / (b - a) }'
summary() { # TRACE
  python3 - "$1" <<'PY'
import collections, re, sys
calls, timeouts = collections.Counter(), 0
for line in open(sys.argv[1]):
    m = re.match(r"(?:\d+ +)?([a-z_0-9]+)\(", line)
    if m:
        calls[m.group(1)] += 1
    if re.search(r"= 0 \(Timeout\)", line):
        timeouts += 1
top = " ".join(f"{k} {v}" for k, v in calls.most_common(6))
print(f"  {sum(calls.values())} system calls, {timeouts} timed out; busiest: {top}")
PY
}
[ -n "${MESHROOT_BENCH_STRACE:-}" ] && { echo "serve:"; summary "$T/serve.strace"; echo "submit:"; summary "$T/submit.strace"; }
[ "$rc" = 0 ] && [ "$issued" = "$n" ] && [ "$imported" = "$n" ] || fail "not every cluster issued exactly once"
echo "ok"

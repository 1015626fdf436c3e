#!/usr/bin/env bash
# Benchmark (not a ctest): the host commands that touch every cluster, at
# fleet sizes. For each N (default 100 1000 10000) a fresh workspace of N
# clusters is made by the fleet fixture (tests/bench/fleet_fixture.c: one
# shared test key, answers signed by a test root), then timed with
# /usr/bin/time: media export, media import, status, bundle --all, verify
# of every file set. Prints wall time and peak RSS per command; the peak
# RSS should stay flat (a few MiB) whatever N.
#
#   tests/bench/host_fleet.sh [BUILD_DIR] [N...]
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)
[ $# -gt 0 ] && shift
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(100 1000 10000)
host="$build/meshroot"
fixture="$build/tests/fleet_fixture"
for b in "$host" "$fixture"; do
	[ -x "$b" ] || { echo "error: $b not built" >&2; exit 1; }
done
[ -x /usr/bin/time ] || { echo "error: /usr/bin/time missing (package time)" >&2; exit 1; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

# run N NAME CMD...: times CMD (output to $T/out), prints one table row.
run() {
	local n=$1 name=$2 rc=0
	shift 2
	/usr/bin/time -f '%e %M' -o "$T/time" "$@" >"$T/out" 2>"$T/err" || rc=$?
	# The last line: GNU time puts "Command exited with ..." before it.
	read -r secs kib < <(tail -1 "$T/time")
	printf '%-8s %-14s %9s %10s %6s\n' "$n" "$name" "$secs" "$((kib / 1024)).$(((kib % 1024) * 10 / 1024))" "$rc"
	if [ "$rc" -ne 0 ] && [ "$name" != status ]; then
		echo "error: $name at N=$n exited $rc: $(tail -2 "$T/err") $(grep -v ': ok' "$T/out" | head -3)" >&2
		exit 1
	fi
}

printf '%-8s %-14s %9s %10s %6s\n' CLUSTERS COMMAND SECONDS "PEAK MiB" EXIT
for n in "${sizes[@]}"; do
	w="$T/$n"
	mkdir -p "$w"
	"$fixture" requests "$w/ws" "$n" >/dev/null
	run "$n" "media export" "$host" --workspace "$w/ws" media export --to "$w/media"
	"$fixture" answers "$w/media" "$w/ca" >/dev/null
	run "$n" "media import" "$host" --workspace "$w/ws" media import --from "$w/media"
	run "$n" status "$host" --workspace "$w/ws" status
	run "$n" "bundle --all" "$host" --workspace "$w/ws" bundle --all --out "$w/out"
	# One process over every file set, as an operator would check them.
	run "$n" verify bash -c 'cd "$1" && exec "$2" verify -- *' _ "$w/out" "$host"
	rm -rf "$w"
done

#!/usr/bin/env bash
# A fleet of 1,000 clusters through the host: media export, answers (from
# the fleet fixture's test root: tests/bench/fleet_fixture.c), media import,
# status, bundle --all, verify of a sample (meshroot and openssl). Checks
# the progress output: plain lines every 10% and a summary when not on a
# terminal; on a terminal (script(1)) one rewritten line that never shares
# a visible line with an error. The 10,000 case is tests/bench/host_fleet.sh.
set -euo pipefail
: "${MESHROOT_BIN:?MESHROOT_BIN must point at the build dir}"
HOST="$MESHROOT_BIN/meshroot"
FIXTURE="$MESHROOT_BIN/tests/fleet_fixture"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
host() { "$HOST" --workspace "$T/ws" "$@"; }
count() { grep -c -- "$1" "$2" || true; }
N=1000

"$FIXTURE" requests "$T/ws" $N >/dev/null || fail "fixture: requests"

# --- export: every cluster waits; progress on stderr as whole lines.
host media export --to "$T/media" >"$T/exp.out" 2>"$T/exp.err" ||
	fail "media export: $(tail -3 "$T/exp.err")"
grep -qx "$N request(s) written" "$T/exp.out" || fail "export: $(tail -1 "$T/exp.out")"
[ "$(find "$T/media/meshroot/requests" -name '*.csr' | wc -l)" = $N ] ||
	fail "export: not $N requests on the media"
for p in 10 50 90; do
	grep -Eq "^export: $((N * p / 100))/$N $p%" "$T/exp.err" ||
		fail "export: no $p% progress line: $(cat "$T/exp.err")"
done
grep -Eq "^export: $N of $N in [0-9.]+ s" "$T/exp.err" || fail "export: no summary: $(tail -1 "$T/exp.err")"
if grep -v '^export: ' "$T/exp.err" | grep -q .; then fail "export: stray stderr: $(cat "$T/exp.err")"; fi

# --- answers from the test root; one of them unreadable.
"$FIXTURE" answers "$T/media" "$T/ca" >/dev/null || fail "fixture: answers"
head -c 100 "$T/media/meshroot/answers/c00500.pem" >"$T/cut" &&
	mv "$T/cut" "$T/media/meshroot/answers/c00500.pem"
set +e
host media import --from "$T/media" >"$T/imp.out" 2>"$T/imp.err"
rc=$?
set -e
[ $rc = 3 ] || fail "import with a broken answer: exit $rc, want 3 (bad input): $(tail -3 "$T/imp.err")"
grep -qx "$((N - 1)) certificate(s) imported" "$T/imp.out" || fail "import: $(tail -1 "$T/imp.out")"
grep -q '^error: cluster c00500: ' "$T/imp.err" || fail "import: no error for c00500: $(cat "$T/imp.err")"
grep -qx 'error: 1 answer(s) not taken (see above)' "$T/imp.err" || fail "import: no error summary"
grep -Eq "^import: $N of $N in [0-9.]+ s" "$T/imp.err" || fail "import: no summary line"
[ "$(count 'certificate accepted' "$T/imp.out")" = $((N - 1)) ] || fail "import: accepted lines"
[ ! -e "$T/ws/clusters/c00500/ca-cert.pem" ] || fail "import: took a broken answer"

# A cluster made after the export: still waiting.
"$FIXTURE" requests "$T/ws" 1 late >/dev/null

# --- status: every cluster, one line each; exit codes.
host status >"$T/st.out" 2>"$T/st.err" || fail "status: exit $?: $(cat "$T/st.err")"
[ "$(grep -c '^c[0-9]\{5\} \+issued ' "$T/st.out")" = $((N - 1)) ] || fail "status: issued lines"
grep -q '^c00500 \+waiting ' "$T/st.out" || fail "status: c00500 not waiting"
grep -q '^late00000 \+waiting ' "$T/st.out" || fail "status: late00000 not waiting"
set +e
host status --warn-days 400 >"$T/st2.out" 2>&1
rc=$?
set -e
[ $rc = 1 ] || fail "status --warn-days 400: exit $rc, want 1 (warning)"
[ "$(count "^warning: cluster .*'s intermediate expires in" "$T/st2.out")" = $((N - 1)) ] ||
	fail "status --warn-days 400: want $((N - 1)) warnings"

# --- bundle --all: every issued cluster, waiting ones skipped.
host bundle --all --out "$T/out" >"$T/b.out" 2>"$T/b.err" || fail "bundle --all: $(tail -3 "$T/b.err")"
grep -qx "$((N - 1)) file set(s) written, 2 cluster(s) waiting (skipped)" "$T/b.out" ||
	fail "bundle --all: $(tail -1 "$T/b.out")"
grep -Eq "^bundle: $((N + 1)) of $((N + 1)) in [0-9.]+ s" "$T/b.err" || fail "bundle: no summary line"
[ "$(find "$T/out" -mindepth 1 -maxdepth 1 -type d | wc -l)" = $((N - 1)) ] || fail "bundle: file sets"
set +e
host bundle --all c00001 --out "$T/out" >/dev/null 2>"$T/b2.err"
rc=$?
set -e
[ $rc = 2 ] || fail "bundle --all NAME: exit $rc, want 2"
grep -qx 'error: --all or cluster names, not both (see meshroot bundle --help)' "$T/b2.err" || fail "bundle --all NAME: $(cat "$T/b2.err")"

# --- verify a sample, with meshroot and with openssl.
host verify "$T/out/c00000" "$T/out/c00499" "$T/out/c00999" >"$T/v.out" ||
	fail "verify: $(cat "$T/v.out")"
[ "$(count ': ok (' "$T/v.out")" = 3 ] || fail "verify: $(cat "$T/v.out")"
for c in c00000 c00999; do
	d="$T/out/$c"
	openssl verify -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" "$d/ca-cert.pem" \
		>"$T/ossl" 2>&1 || fail "$c: openssl verify: $(cat "$T/ossl")"
done

# --- on a terminal: one meter line, errors on their own visible line.
# A second broken answer, and a workspace copy so that it is still waiting.
head -c 100 "$T/media/meshroot/answers/c00001.pem" >"$T/cut" &&
	mv "$T/cut" "$T/media/meshroot/answers/c00001.pem"
rm "$T/ws/clusters/c00001/ca-cert.pem"
script -qec "$HOST --workspace $T/ws media import --from $T/media" "$T/tty.log" >/dev/null &&
	fail "import on a terminal: exit 0 with broken answers"
grep -q $'\r''import: [0-9]*/'"$((N + 1))" "$T/tty.log" || fail "tty: no meter line"
# What the screen shows: the text after the last \r of each line.
visible=$(tr -d '\033' <"$T/tty.log" | sed -e 's/\[K//g' -e 's/\r$//' | awk -F'\r' '{print $NF}')
grep -q '^error: cluster c00001: ' <<<"$visible" || fail "tty: the error is not on its own line: $(grep -a 'error:' "$T/tty.log" | cat -A | head -3)"
grep -Eq '^import: [0-9]+/[0-9]+.*error:' <<<"$visible" && fail "tty: an error shares the meter's line"
grep -Eq "^import: $((N + 1)) of $((N + 1)) in" <<<"$visible" || fail "tty: no summary line"
echo "ok: $N clusters: export, import, status, bundle --all, verify"

#!/usr/bin/env bash
# meshroot verify's interface: --help, usage errors (exit 2), an unreadable
# directory (one-line "error: ..." on stderr, exit 3: bad input) next to a good one;
# problems found exit 7 (fx_expect_only_problem, docs/exit-codes.md).
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

"$FX_MESHROOT" verify --help >"$work/help"
grep -q '^usage: meshroot \[global options\] verify \[--at TIME\] \[--json\] DIR...$' "$work/help" || fx_fail "--help prints no usage"

rc=0; "$FX_MESHROOT" verify 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] || fx_fail "no DIR: exit $rc, want 2"
grep -q '^error: ' "$work/err" || fx_fail "no DIR: no error line"

rc=0; "$FX_MESHROOT" verify --no-such-option "$work" 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] || fx_fail "unknown option: exit $rc, want 2"

rc=0; "$FX_MESHROOT" verify --at 2030-02-31x "$work" 2>"$work/err" || rc=$?
[ "$rc" -eq 2 ] || fx_fail "bad --at: exit $rc, want 2"

fx_init "$work"
fx_make_cacerts "$work/good"
rc=0
"$FX_MESHROOT" verify "$work/nonexistent" "$work/good" >"$work/out" 2>"$work/err" || rc=$?
[ "$rc" -eq 3 ] || fx_fail "missing dir: exit $rc, want 3 (bad input)"
[ "$(wc -l <"$work/err")" -eq 1 ] || fx_fail "want exactly one stderr line"
grep -qx "error: $work/nonexistent: No such file or directory" "$work/err" ||
	fx_fail "unreadable dir: wrong error line: $(cat "$work/err")"
grep -qF "$work/good: ok (" "$work/out" || fx_fail "the good dir after it was not checked"
! grep -qF "nonexistent" "$work/out" || fx_fail "unreadable dir reported on stdout"

# A plain file is not a cacerts directory either.
rc=0; "$FX_MESHROOT" verify "$work/good/ca-cert.pem" 2>"$work/err" >/dev/null || rc=$?
[ "$rc" -eq 3 ] || fx_fail "file as DIR: exit $rc, want 3"
grep -q "^error: .*ca-cert.pem: not a directory$" "$work/err" || fx_fail "file as DIR: $(cat "$work/err")"
echo "PASS"

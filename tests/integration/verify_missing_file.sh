#!/usr/bin/env bash
# a directory without ca-key.pem (what `cluster import` gives): istiod needs
# all four files.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/missing"
rm "$work/missing/ca-key.pem"
fx_expect_only_problem "$work/missing" "ca-key.pem missing"

# Any of the four: each missing file is named.
fx_make_cacerts "$work/missing2"
for f in ca-cert.pem root-cert.pem cert-chain.pem; do
	mv "$work/missing2/$f" "$work/$f.away"
	fx_run_verify "$work/missing2"
	[ "$FX_RC" -eq 7 ] || fx_fail "without $f: exit $FX_RC, want 7"
	grep -qxF "$work/missing2: problem: $f missing" <<<"$FX_OUT" || fx_fail "$f missing not reported"
	mv "$work/$f.away" "$work/missing2/$f"
done
fx_expect_ok "$work/missing2"
echo "PASS"

#!/usr/bin/env bash
# an intermediate valid 2020-01-01 .. 2021-01-01 (expired), and one not yet valid.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/expired"
fx_reissue "$work/expired" v3_intermediate -startdate 200101000000Z -enddate 210101000000Z
fx_expect_only_problem "$work/expired" "intermediate expired on 2021-01-01 00:00:00 UTC"
! openssl verify -CAfile "$work/expired/root-cert.pem" -untrusted "$work/expired/cert-chain.pem" \
	"$work/expired/ca-cert.pem" >/dev/null 2>&1 || fx_fail "openssl verify accepts an expired intermediate"

# Judged at the time given, not the wall clock: in 2020 it was fine...
fx_run_verify --at 2020-06-01 "$work/expired"
grep -qF "intermediate expired" <<<"$FX_OUT" && fx_fail "--at 2020-06-01: reported expired"

# ...and one valid only from 2030 on is not valid yet.
fx_make_cacerts "$work/future"
fx_reissue "$work/future" v3_intermediate -startdate 300101000000Z -enddate 310101000000Z
fx_run_verify "$work/future"
[ "$FX_RC" -eq 7 ] || fx_fail "not-yet-valid intermediate: exit $FX_RC, want 7"
grep -qF "$work/future: problem: intermediate is not yet valid (notBefore 2030-01-01 00:00:00 UTC)" <<<"$FX_OUT" ||
	fx_fail "not-yet-valid intermediate not reported"
echo "PASS"

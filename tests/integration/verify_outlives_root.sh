#!/usr/bin/env bash
# an intermediate valid 7300 days under a root valid 3650 days.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/outlives"
fx_reissue "$work/outlives" v3_intermediate -days 7300
fx_expect_only_problem "$work/outlives" "intermediate outlives the root"
echo "PASS"

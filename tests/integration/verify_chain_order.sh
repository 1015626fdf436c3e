#!/usr/bin/env bash
# cert-chain.pem as root then intermediate: istiod clamps workload lifetimes to
# the FIRST certificate, so the intermediate must come first.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/order"
cat "$work/ca/root-cert.pem" "$work/order/ca-cert.pem" >"$work/order/cert-chain.pem"
fx_expect_only_problem "$work/order" "chain in wrong order"
echo "PASS"

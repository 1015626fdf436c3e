#!/usr/bin/env bash
# cert-chain.pem without the root at its end: the chain istiod hands out must
# end with a root from root-cert.pem.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/noroot"
cp "$work/noroot/ca-cert.pem" "$work/noroot/cert-chain.pem"
fx_expect_only_problem "$work/noroot" "root missing from the chain"
# Go's x509.Verify still finds the root in root-cert.pem: openssl agrees.
openssl verify -CAfile "$work/noroot/root-cert.pem" -untrusted "$work/noroot/cert-chain.pem" \
	"$work/noroot/ca-cert.pem" | grep -q ': OK$'
echo "PASS"

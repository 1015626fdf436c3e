#!/usr/bin/env bash
# an intermediate with extendedKeyUsage clientAuth only: Go's x509.Verify, with
# its default KeyUsages {serverAuth}, rejects the chain istiod checks.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/eku"
fx_reissue "$work/eku" v3_eku_client -days 730
fx_expect_only_problem "$work/eku" "intermediate has an extendedKeyUsage without serverAuth"
echo "PASS"

#!/usr/bin/env bash
# an intermediate with basicConstraints CA:FALSE (keyUsage unchanged): istiod
# refuses it, "certificate is not authorized to sign other certificates".
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/notca"
fx_reissue "$work/notca" v3_not_ca -days 730
openssl x509 -in "$work/notca/ca-cert.pem" -noout -ext basicConstraints | grep -q 'CA:FALSE'
fx_expect_only_problem "$work/notca" "intermediate is not a CA"
echo "PASS"

#!/usr/bin/env bash
# ca-key.pem readable by group or others.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/keymode"
chmod 0640 "$work/keymode/ca-key.pem"
fx_expect_only_problem "$work/keymode" "ca-key.pem is accessible by group or others (mode 0640, want 0600)"
chmod 0604 "$work/keymode/ca-key.pem"
fx_expect_only_problem "$work/keymode" "ca-key.pem is accessible by group or others (mode 0604, want 0600)"
chmod 0400 "$work/keymode/ca-key.pem"
fx_expect_ok "$work/keymode"
echo "PASS"

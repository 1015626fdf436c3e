#!/usr/bin/env bash
# ca-key.pem replaced by another P-256 key (mode 0600): istiod's tls.X509KeyPair
# refuses the pair, so must meshroot verify.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"
fx_make_cacerts "$work/mismatch"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$work/other.pem" 2>/dev/null
install -m 0600 "$work/other.pem" "$work/mismatch/ca-key.pem"
fx_expect_only_problem "$work/mismatch" "ca-key.pem does not match the public key in ca-cert.pem"

# The same key as SEC1 with the public point of the real key pasted beside
# it: the public half must be derived from the scalar, not read from the file.
openssl ec -in "$work/other.pem" -outform DER -out "$work/other.der" 2>/dev/null
openssl pkey -in "$work/mismatch/ca-key.pem" -outform DER -out /dev/null 2>/dev/null
openssl x509 -in "$work/mismatch/ca-cert.pem" -noout -pubkey |
	openssl pkey -pubin -outform DER -out "$work/cert-pub.der"
python3 - "$work/other.der" "$work/cert-pub.der" "$work/spliced.der" <<'PY'
import sys
key = open(sys.argv[1], "rb").read()
pub = open(sys.argv[2], "rb").read()
# Both end with the 65-byte uncompressed P-256 point.
open(sys.argv[3], "wb").write(key[:-65] + pub[-65:])
PY
openssl ec -inform DER -in "$work/spliced.der" -out "$work/spliced.pem" 2>/dev/null ||
	{ echo "openssl refuses the spliced key; encode it by hand"; \
	  { echo "-----BEGIN EC PRIVATE KEY-----"; base64 -w 64 "$work/spliced.der"; echo "-----END EC PRIVATE KEY-----"; } >"$work/spliced.pem"; }
install -m 0600 "$work/spliced.pem" "$work/mismatch/ca-key.pem"
fx_expect_only_problem "$work/mismatch" "ca-key.pem does not match the public key in ca-cert.pem"
echo "PASS"

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

# SEC1 holding another scalar beside the certificate's own public point: the
# public half must be derived from the scalar, not read from the file.
openssl ec -in "$work/other.pem" -outform DER -out "$work/other.der" 2>/dev/null
openssl x509 -in "$work/mismatch/ca-cert.pem" -noout -pubkey |
	openssl pkey -pubin -outform DER -out "$work/cert-pub.der"
python3 - "$work/other.der" "$work/cert-pub.der" "$work/spliced.der" <<'PY'
import sys
key = open(sys.argv[1], "rb").read()
pub = open(sys.argv[2], "rb").read()
# Both end with the 65-byte uncompressed P-256 point.
assert key[-66] == 0 and pub[-66] == 0 and key[-65] == 4 and pub[-65] == 4
open(sys.argv[3], "wb").write(key[:-65] + pub[-65:])
PY
{
	echo "-----BEGIN EC PRIVATE KEY-----"
	base64 -w 64 "$work/spliced.der"
	echo "-----END EC PRIVATE KEY-----"
} >"$work/mismatch/ca-key.pem"
chmod 0600 "$work/mismatch/ca-key.pem"
fx_expect_only_problem "$work/mismatch" "ca-key.pem does not match the public key in ca-cert.pem"

# RSA: another modulus, as PKCS#1.
fx_make_cacerts "$work/mismatch-rsa" rsa
openssl genrsa -traditional -out "$work/other-rsa.pem" 3072 2>/dev/null
install -m 0600 "$work/other-rsa.pem" "$work/mismatch-rsa/ca-key.pem"
fx_expect_only_problem "$work/mismatch-rsa" "ca-key.pem does not match the public key in ca-cert.pem"

# An EC key for an RSA certificate.
install -m 0600 "$work/other.pem" "$work/mismatch-rsa/ca-key.pem"
fx_expect_only_problem "$work/mismatch-rsa" "ca-key.pem does not match the public key in ca-cert.pem"
echo "PASS"

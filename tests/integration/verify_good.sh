#!/usr/bin/env bash
# meshroot verify accepts good cacerts directories made by openssl alone, for
# every key form istiod reads (PKCS#8 and SEC1 EC, PKCS#8 and PKCS#1 RSA),
# and `openssl verify` agrees with it on each.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib/cacerts_fixture.sh
. "$here/lib/cacerts_fixture.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

fx_init "$work"

fx_make_cacerts "$work/ec-pkcs8" ec
grep -q -- "-----BEGIN PRIVATE KEY-----" "$work/ec-pkcs8/ca-key.pem"
fx_expect_ok "$work/ec-pkcs8"
grep -qF "intermediate \"/O=meshroot test/L=ec-pkcs8/CN=Intermediate CA\"" <<<"$FX_OUT" ||
	fx_fail "ok line does not name the intermediate"
fp=$(openssl x509 -in "$work/ca/root-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
grep -qF "SHA-256 $fp" <<<"$FX_OUT" || fx_fail "ok line lacks the root fingerprint $fp"

fx_make_cacerts "$work/ec-sec1" ec
openssl ec -in "$work/ec-sec1/ca-key.pem" -out "$work/ec-sec1/ca-key.pem.new" 2>/dev/null
mv "$work/ec-sec1/ca-key.pem.new" "$work/ec-sec1/ca-key.pem"
chmod 0600 "$work/ec-sec1/ca-key.pem"
grep -q -- "-----BEGIN EC PRIVATE KEY-----" "$work/ec-sec1/ca-key.pem"
fx_expect_ok "$work/ec-sec1"

fx_make_cacerts "$work/rsa-pkcs8" rsa
fx_expect_ok "$work/rsa-pkcs8"

fx_make_cacerts "$work/rsa-pkcs1" rsa
openssl rsa -in "$work/rsa-pkcs1/ca-key.pem" -traditional \
	-out "$work/rsa-pkcs1/ca-key.pem.new" 2>/dev/null
mv "$work/rsa-pkcs1/ca-key.pem.new" "$work/rsa-pkcs1/ca-key.pem"
chmod 0600 "$work/rsa-pkcs1/ca-key.pem"
grep -q -- "-----BEGIN RSA PRIVATE KEY-----" "$work/rsa-pkcs1/ca-key.pem"
fx_expect_ok "$work/rsa-pkcs1"

# An optional ca-crl.pem: istiod then wants a CRL signed by every
# certificate of cert-chain.pem, here the intermediate's and the root's (v2,
# with an AKI, as RFC 5280 5.2.1 wants).
cp "$work/ca/openssl.cnf" "$work/root-crl.cnf"
printf '\n[ crl_ext ]\nauthorityKeyIdentifier = keyid:always\n' >>"$work/root-crl.cnf"
openssl ca -gencrl -batch -config "$work/root-crl.cnf" -crlexts crl_ext -crldays 30 \
	-out "$work/root.crl" 2>/dev/null
: >"$work/int-index"
printf '%s\n' '[ ca ]' 'default_ca = i' '[ i ]' "database = $work/int-index" \
	'default_md = sha256' '[ crl_ext ]' 'authorityKeyIdentifier = keyid:always' >"$work/int-crl.cnf"
openssl ca -gencrl -batch -config "$work/int-crl.cnf" -crlexts crl_ext -crldays 30 \
	-keyfile "$work/ec-pkcs8/ca-key.pem" -cert "$work/ec-pkcs8/ca-cert.pem" \
	-out "$work/int.crl" 2>/dev/null
cat "$work/int.crl" "$work/root.crl" >"$work/ec-pkcs8/ca-crl.pem"
fx_expect_ok "$work/ec-pkcs8"

# Several directories at once: one ok line each, exit 0.
fx_run_verify "$work/ec-pkcs8" "$work/ec-sec1" "$work/rsa-pkcs8" "$work/rsa-pkcs1"
[ "$FX_RC" -eq 0 ] || fx_fail "verify of four good dirs: exit $FX_RC"
[ "$(grep -c ': ok (' <<<"$FX_OUT")" -eq 4 ] || fx_fail "want four ok lines"

# The independent opinion: openssl builds the same path istiod does.
for d in ec-pkcs8 ec-sec1 rsa-pkcs8 rsa-pkcs1; do
	openssl verify -CAfile "$work/$d/root-cert.pem" -untrusted "$work/$d/cert-chain.pem" \
		"$work/$d/ca-cert.pem" | grep -q ': OK$' || fx_fail "openssl verify rejects $d"
	openssl x509 -in "$work/$d/ca-cert.pem" -noout -pubkey >"$work/cert.pub"
	openssl pkey -in "$work/$d/ca-key.pem" -pubout >"$work/key.pub"
	cmp -s "$work/cert.pub" "$work/key.pub" || fx_fail "openssl: $d key does not match"
done
echo "PASS"

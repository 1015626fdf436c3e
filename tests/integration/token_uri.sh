#!/usr/bin/env bash
# The token by RFC 7512 URI, end to end under the sandbox: a batch signed
# with the token named by `pkcs11:token=...` as by its label. p11-kit,
# which parses the URI, is loaded for a URI only: a run that names the
# token by label never maps it (ld.so's own list of the libraries it
# loads, LD_DEBUG=files). A URI that matches no token, or carries a PIN,
# is refused with its one line.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

CSRS="$MESHROOT_BIN/tests/csr_batch"
ceremony
"$CSRS" "$T/by-label" 3 label >/dev/null
"$CSRS" "$T/by-uri" 3 uri >/dev/null

# by_token SELECTOR CMD...: the appliance with the token named by SELECTOR.
by_token() {
  local sel=$1
  shift
  "$APPLIANCE" --state "$T/state" --token "$sel" --pin-file "$T/user.pin" "$@"
}

# By label: signed, and p11-kit never loaded.
LD_DEBUG=files expect_line 0 "summary: 3 signed, 0 answered from earlier runs, 0 refused, 0 skipped" \
  by_token meshroot-test sign --media "$T/by-label" --yes
grep -q 'file=libp11-kit' "$T/expect.out" && fail "p11-kit was loaded for a token named by label"
grep -q 'file=libwolfssl' "$T/expect.out" || fail "LD_DEBUG=files listed no library: the check above proves nothing"

# By URI: the same batch size signed; p11-kit loaded.
LD_DEBUG=files expect_line 0 "summary: 3 signed, 0 answered from earlier runs, 0 refused, 0 skipped" \
  by_token "pkcs11:token=meshroot-test" sign --media "$T/by-uri" --yes
grep -q 'file=libp11-kit.so.0 .*dynamically loaded' "$T/expect.out" || fail "p11-kit was not loaded for a URI"
[ "$(ls "$T/by-uri/meshroot/answers/"*.pem | wc -l)" -eq 3 ] || fail "not every answer of the URI batch was written"
for f in "$T/by-uri/meshroot/answers/"*.pem; do
  openssl verify -CAfile "$T/state/root-cert.pem" "$f" >/dev/null || fail "$f does not verify with openssl"
done

# A URI that matches no token, and one that carries a PIN.
expect_line 5 "error: no token matches 'pkcs11:token=nope' (found: meshroot-test)" \
  by_token "pkcs11:token=nope" sign --media "$T/by-uri" --yes
expect_line 3 "error: the PKCS#11 URI carries a PIN (pin-value/pin-source): give the PIN separately" \
  by_token "pkcs11:token=meshroot-test;pin-value=1234" sign --media "$T/by-uri" --yes
echo "ok: a batch signed with the token by label (p11-kit not loaded) and by URI"

# T0 at fleet size: batches of 1, 31, 32, 33 and 300 requests over
# `serve --listen` (confined link process) and `submit --connect`, around
# the appliance's queue of 128 (the host keeps at most its free slots in
# flight). Every cluster is issued exactly once and imported with its
# audit proof; openssl verifies a few chains. Then a policy refusal: the
# appliance's exact message reaches the host whole, on its own line, and
# the rest of the batch is still issued.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"

# Only ec-p256 requests are allowed: an ec-p384 one is refused by policy.
"$APPLIANCE" ceremony template | sed 's/^allowed_key_types = .*/allowed_key_types = ec-p256/' \
  > "$T/ceremony.conf"
ceremony "$T/ceremony.conf"

# clusters PREFIX COUNT [CURVE]: COUNT workspace clusters (key and CSR, as
# `cluster new` writes them), made in one process: `cluster new` each
# time would cost more than the issuance under test.
clusters() {
  python3 - "$T/ws/clusters" "$1" "$2" "${3:-P-256}" <<'PY'
import os, sys
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
top, prefix, n, curve = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
c = ec.SECP256R1() if curve == "P-256" else ec.SECP384R1()
h = hashes.SHA256() if curve == "P-256" else hashes.SHA384()
for i in range(1, n + 1):
    name = f"{prefix}{i:04d}"
    d = os.path.join(top, name)
    os.makedirs(d)
    k = ec.generate_private_key(c)
    fd = os.open(os.path.join(d, "ca-key.pem"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, k.private_bytes(serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    os.close(fd)
    csr = x509.CertificateSigningRequestBuilder().subject_name(
        x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])).sign(k, h)
    open(os.path.join(d, "csr.pem"), "wb").write(csr.public_bytes(serialization.Encoding.PEM))
PY
}
names() { for i in $(seq 1 "$2"); do printf '%s%04d ' "$1" "$i"; done; }

host cluster new first --key ec-p256 >/dev/null # the workspace, as an operator makes it
start_serve auto
host submit --connect "unix:$T/sock" first > "$T/first.out" 2>&1 || { cat "$T/first.out"; fail "first submit"; }

batch() { # COUNT
  local n=$1 p="b$1x" out="$T/batch$1.out" c issued
  clusters "$p" "$n"
  # shellcheck disable=SC2046
  host submit --connect "unix:$T/sock" $(names "$p" "$n") > "$out" 2>&1 || { tail -20 "$out"; fail "$n: submit failed"; }
  grep -q "^$n certificate(s) imported" "$out" || { tail -5 "$out"; fail "$n: not all imported"; }
  ! grep -q 'error' "$out" || { grep error "$out"; fail "$n: an error was printed"; }
  for c in $(names "$p" "$n"); do
    [ -s "$T/ws/clusters/$c/ca-cert.pem" ] && [ -s "$T/ws/clusters/$c/ca-cert.audit" ] \
      || fail "$n: $c has no certificate or no audit proof"
  done
  # Exactly once each: one issue record per cluster, as many as requests.
  issued=$(grep -c " event=issue serial=[0-9a-f]* cluster=$p" "$T/state/audit.log" || true)
  [ "$issued" = "$n" ] || fail "$n: $issued issue records"
  dup=$(grep -o " event=issue serial=[0-9a-f]* cluster=$p[0-9]*" "$T/state/audit.log" | sed 's/.*cluster=//' | sort | uniq -d)
  [ -z "$dup" ] || fail "$n: issued twice: $dup"
  for c in "${p}0001" "$(printf '%s%04d' "$p" $(( (n + 1) / 2 )))" "$(printf '%s%04d' "$p" "$n")"; do
    openssl verify -CAfile "$T/ws/root-cert.pem" "$T/ws/clusters/$c/ca-cert.pem" >/dev/null \
      || fail "$n: openssl does not verify $c"
  done
  echo "batch of $n: ok ($(grep -o '([0-9]* request(s) in [0-9.]* s, [0-9.]*/s)' "$out" || echo 'one request'))"
}
for n in 1 31 32 33 300; do batch "$n"; done
# Nothing was asked twice of the token: the whole run is in one serve.
[ "$(grep -c 'event=issue ' "$T/state/audit.log")" = $((1 + 1 + 31 + 32 + 33 + 300)) ] || fail "issue records"

# A policy refusal among good requests: the exact message, whole, on its
# own line; exit 4 (refused); the good ones issued.
clusters good 5
clusters bad 1 P-384
set +e
host submit --connect "unix:$T/sock" good0001 good0002 bad0001 good0003 good0004 good0005 \
  > "$T/refuse.out" 2> "$T/refuse.err"
rc=$?
set -e
[ "$rc" = 4 ] || { cat "$T/refuse.out" "$T/refuse.err"; fail "refusal: exit $rc, want 4 (refused)"; }
grep -qFx "error: cluster bad0001: refused by the appliance: ec-p384 keys are not allowed by policy" \
  "$T/refuse.err" || { cat "$T/refuse.err"; fail "refusal message not whole on its own line"; }
[ "$(grep -c '^error: ' "$T/refuse.err")" = 1 ] || { cat "$T/refuse.err"; fail "refusal: more than one error"; }
grep -q "^5 certificate(s) imported" "$T/refuse.out" || { cat "$T/refuse.out"; fail "refusal stopped the good ones"; }
[ ! -e "$T/ws/clusters/bad0001/ca-cert.pem" ] || fail "a refused request got a certificate"
grep -q 'event=refuse cluster=bad0001 .*reason=ec-p384%20keys%20are%20not%20allowed%20by%20policy' \
  "$T/state/audit.log" || { grep refuse "$T/state/audit.log"; fail "refusal not audited"; }

# The appliance kept serving through all of it, and says how it went.
kill -0 "$serve_pid" || fail "serve exited"
grep -q '^serve: [0-9]* issued, 1 refused, 0 waiting' "$T/serve.out" || { tail -5 "$T/serve.out"; fail "no progress line on the appliance"; }
stop_serve
echo "link batches: ok"

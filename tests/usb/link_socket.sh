# T0: the real appliance (`serve --listen unix:PATH`) and the real host
# (`submit --connect`) over a unix socket: the whole signing flow, a
# resubmission that must not issue twice, hostile frames that must each get
# an error reply while the appliance keeps serving, and the audit records.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/serve.sh"
HOSTILE="$MESHROOT_BIN/tests/usb/link_hostile"

ceremony
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key ec-p384 >/dev/null

# 1. Signing over the link, auto approval (recorded as such).
start_serve auto
host submit --connect "unix:$T/sock" --poll-ms 50 > "$T/submit.out" 2>&1 || { cat "$T/submit.out"; fail "submit"; }
grep -q "2 certificate(s) imported" "$T/submit.out" || fail "not both imported"
grep -q "pinning the root found on the appliance" "$T/submit.out" || fail "root not pinned"
grep -q "words:" "$T/submit.out" || fail "no word-list fingerprint shown"
grep -q "pinning the audit key found on the appliance" "$T/submit.out" || fail "audit key not pinned"
[ "$(grep -c "is record [0-9]* of the audit log" "$T/submit.out")" = 2 ] || { cat "$T/submit.out"; fail "answers without a verified audit proof"; }
[ -s "$T/ws/clusters/east/ca-cert.audit" ] || fail "audit proof not kept beside the certificate"
for c in east west; do
  openssl verify -CAfile "$T/ws/root-cert.pem" "$T/ws/clusters/$c/ca-cert.pem" >/dev/null \
    || fail "$c: openssl does not verify the certificate"
done
grep -q 'event=serve .*approve=--approve%20auto' "$T/state/audit.log" || fail "--approve auto not audited"
grep -q 'event=approve .*by=--approve%20auto via=socket' "$T/state/audit.log" || fail "approval not audited"

# 1b. A request whose self-signature does not verify (one byte of its
# signed subject changed): the host sends it (the appliance is the one that
# checks), the appliance refuses it, audits why, and issues nothing.
host cluster new forged --key ec-p256 >/dev/null
python3 - "$T/ws/clusters/forged/csr.pem" <<'PY'
import base64, sys
p = sys.argv[1]
b64 = "".join(l for l in open(p).read().splitlines() if not l.startswith("-----"))
der = bytearray(base64.b64decode(b64))
i = der.find(b"forged")  # inside the CertificationRequestInfo
assert i > 0
der[i] = ord("F")
body = base64.b64encode(bytes(der)).decode()
open(p, "w").write("-----BEGIN CERTIFICATE REQUEST-----\n" +
    "\n".join(body[j:j + 64] for j in range(0, len(body), 64)) +
    "\n-----END CERTIFICATE REQUEST-----\n")
PY
set +e
"$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 50 forged > "$T/forged.out" 2>&1
rc=$?
set -e
[ $rc = 4 ] || { cat "$T/forged.out"; fail "forged request: exit $rc, want 4 (refused)"; }
grep -q "^error: cluster forged: refused by the appliance: CSR self-signature: .* signature does not verify$" "$T/forged.out" \
  || { cat "$T/forged.out"; fail "forged request: no refusal naming the self-signature"; }
grep -q 'event=refuse cluster=forged .*reason=CSR%20self-signature' "$T/state/audit.log" \
  || fail "forged request: refusal not audited"
[ ! -e "$T/ws/clusters/forged/ca-cert.pem" ] || fail "forged request: a certificate was imported"
rm -r "$T/ws/clusters/forged"

# 2. A retried submission never issues twice.
serial=$(openssl x509 -noout -serial -in "$T/ws/clusters/east/ca-cert.pem")
rm "$T/ws/clusters/east/ca-cert.pem"
host submit --connect "unix:$T/sock" --poll-ms 50 east > "$T/again.out" 2>&1 || { cat "$T/again.out"; fail "resubmit"; }
[ "$(openssl x509 -noout -serial -in "$T/ws/clusters/east/ca-cert.pem")" = "$serial" ] || fail "a retried submit issued a new certificate"
[ "$(grep -c 'event=issue ' "$T/state/audit.log")" = 2 ] || fail "issued more than twice"

# 3. Device info and the audit log over the link.
host device --connect "unix:$T/sock" --audit-from 1 > "$T/device.out" || fail "device"
grep -q "^seq=1 " "$T/device.out" || fail "audit log not fetched from record 1"
grep -q "event=issue " "$T/device.out" || fail "audit log lacks the issue records"

# 4. Hostile frames: each answered with an error, the appliance keeps serving.
"$HOSTILE" "$T/sock" || fail "hostile frames"
host device --connect "unix:$T/sock" >/dev/null || fail "appliance stopped serving after hostile frames"
stop_serve
grep -q "event=serve-end issued=2" "$T/state/audit.log" || { tail -3 "$T/state/audit.log"; cat "$T/serve.out"; fail "end of serving not audited"; }

# 5. Console approval: the operator declines one request and approves the next.
host cluster new north --key ec-p256 >/dev/null
host cluster new south --key ec-p256 >/dev/null
mkfifo "$T/console"
exec 7<>"$T/console"
start_serve console "$T/console"
host submit --connect "unix:$T/sock" --poll-ms 50 --wait 30 north south > "$T/console.out" 2>&1 &
sub=$!
for _ in $(seq 100); do grep -q "Type 'yes'" "$T/serve.out" && break; sleep 0.05; done
grep -q "CSR SHA-256:" "$T/serve.out" || fail "the request was not shown to the operator"
echo no >&7
for _ in $(seq 100); do [ "$(grep -c "Type 'yes'" "$T/serve.out")" = 2 ] && break; sleep 0.05; done
echo yes >&7
wait $sub && fail "a declined request made submit succeed"
grep -q "cluster north: refused by the appliance: declined by the operator" "$T/console.out" || { cat "$T/console.out"; fail "decline not reported"; }
grep -q "cluster south: certificate accepted" "$T/console.out" || { cat "$T/console.out"; fail "approval not imported"; }
grep -q 'event=refuse cluster=north .*by=operator' "$T/state/audit.log" || fail "decline not audited"

# 6. Ctrl-C while waiting, then resume: the result is fetched by hash later.
"$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 50 north > "$T/int.out" 2>&1 &
sub=$!
for _ in $(seq 100); do [ "$(grep -c "Type 'yes'" "$T/serve.out")" = 3 ] && break; sleep 0.05; done
grep -q "waiting for the operator" "$T/int.out" || sleep 0.3
kill -INT $sub
set +e; wait $sub; rc=$?; set -e
[ $rc = 130 ] || { cat "$T/int.out"; fail "Ctrl-C: exit $rc, want 130"; }
grep -q "stay queued" "$T/int.out" || fail "Ctrl-C message"
echo yes >&7
host submit --connect "unix:$T/sock" --poll-ms 50 --wait 30 north > "$T/resume.out" 2>&1 || { cat "$T/resume.out"; fail "resume"; }
grep -q "cluster north: certificate accepted" "$T/resume.out" || fail "resume did not fetch the result"
stop_serve
[ "$(grep -c 'event=issue ' "$T/state/audit.log")" = 4 ] || fail "expected 4 issue records"

# 7. Button approval (the sim board's button is a key on its console).
host cluster new button --key ec-p256 >/dev/null
start_serve button "$T/console"
"$HOST" --workspace "$T/ws" submit --connect "unix:$T/sock" --poll-ms 50 --wait 30 button > "$T/button.out" 2>&1 &
sub=$!
for _ in $(seq 100); do grep -q "Press the approve button" "$T/serve.out" && break; sleep 0.05; done
echo a >&7
wait $sub || { cat "$T/button.out"; fail "button approval"; }
grep -q 'event=approve cluster=button .*by=button via=socket' "$T/state/audit.log" || fail "button approval not audited"
stop_serve

# 8. Clear errors with nothing serving.
host submit --connect "unix:$T/nothing" east 2> "$T/err" && fail "submit without an appliance"
grep -q "error: no appliance serving" "$T/err" || fail "no clear error without an appliance"
echo "link over unix socket: ok"

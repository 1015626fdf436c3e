#!/usr/bin/env bash
# Power loss in `ceremony rotate` at its commit (crash point
# `rotate-label-written`, sim board): root-key-label already names the new
# key, root-cert.pem is still the old root. What the next runs see:
#   - the old root stays in force: status shows it, `sign` issues under it
#     (root-key-label counts only while it names root-cert.pem);
#   - the audit log has rotate-start and rotate-keygen without rotate-done,
#     and its export verifies;
#   - the host refuses the half-written rotation set on the media;
#   - a retry with the same key label is refused clearly (the key exists in
#     the token), a retry with a new label completes the rotation, and the
#     host then pins the new root through its cross-certificate.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
ceremony
host cluster new east >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null || fail "sign"
host media import --from "$T/media" >/dev/null || fail "import"
cp "$T/state/root-cert.pem" "$T/old-root.pem"
old_fp=$(openssl x509 -in "$T/old-root.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr 'A-F' 'a-f')

set +e
MESHROOT_CRASHPOINT=rotate-label-written app ceremony rotate --key-label meshroot-root-2 \
  --media "$T/media" --yes >"$T/crash.out" 2>&1
rc=$?
set -e
[ "$rc" -eq 137 ] || { cat "$T/crash.out"; fail "expected SIGKILL (137) at rotate-label-written, got $rc"; }
grep -q '^label=meshroot-root-2 root=[0-9a-f]\{64\}$' "$T/state/root-key-label" \
  || fail "root-key-label not written before the crash point: $(cat "$T/state/root-key-label")"
cmp -s "$T/state/root-cert.pem" "$T/old-root.pem" || fail "root-cert.pem changed before the commit"
[ -f "$T/media/meshroot/rotation/new-root-cert.pem" ] || fail "the crash point is not after the rotation set"

# The old root is in force.
app status >"$T/status.out" 2>&1 || { cat "$T/status.out"; fail "status after the crash"; }
grep -qx "root SHA-256: $old_fp" "$T/status.out" || { cat "$T/status.out"; fail "status: not the old root"; }
log="$T/state/audit.log"
grep -q 'event=rotate-start ' "$log" || fail "no rotate-start record"
grep -q 'event=rotate-keygen label=meshroot-root-2 ' "$log" || fail "no rotate-keygen record"
if grep -q 'event=rotate-done' "$log"; then fail "rotate-done recorded although the rotation did not finish"; fi
app audit export --to "$T/export" >/dev/null || fail "audit export after the crash"
host audit verify "$T/export" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "audit export does not verify"; }
host cluster new west >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign2.out" 2>&1 || { cat "$T/sign2.out"; fail "sign after the crash"; }
openssl verify -CAfile "$T/old-root.pem" "$T/media/meshroot/answers/west.pem" >/dev/null \
  || fail "west was not issued under the old root"
host media import --from "$T/media" >/dev/null || fail "import under the old root"

# The host does not take the half-written rotation on the media.
expect_fail 1 '^error: meshroot/root-cert.pem is not the new root' host root rotate --from "$T/media"

# Retry: the same label is taken (the key was made), a new one completes.
expect_fail 1 "^error: an object labelled 'meshroot-root-2' already exists" \
  app ceremony rotate --key-label meshroot-root-2 --media "$T/media" --yes
cmp -s "$T/state/root-cert.pem" "$T/old-root.pem" || fail "the refused retry changed the root"
grep -q 'event=rotate-failed error=an%20object%20labelled%20%27meshroot-root-2%27%20already%20exists' "$log" \
  || fail "the refused retry was not audited"
app ceremony rotate --key-label meshroot-root-3 --media "$T/media" --yes >"$T/retry.out" 2>&1 \
  || { cat "$T/retry.out"; fail "rotation retry with a new label"; }
if cmp -s "$T/state/root-cert.pem" "$T/old-root.pem"; then fail "root not replaced by the retry"; fi
grep -q '^label=meshroot-root-3 ' "$T/state/root-key-label" || fail "root-key-label: $(cat "$T/state/root-key-label")"
[ "$(grep -c 'event=rotate-done' "$log")" -eq 1 ] || fail "not one rotate-done"
app crl >/dev/null || fail "crl after the retry"
openssl crl -in "$T/state/root.crl.pem" -CAfile "$T/state/root-cert.pem" -noout -verify 2>&1 |
  grep -q 'verify OK' || fail "CRL after the retry not from the new root"
host root rotate --from "$T/media" >"$T/hostrot.out" 2>&1 || { cat "$T/hostrot.out"; fail "host root rotate"; }
cmp -s <(openssl x509 -in "$T/ws/root-cert.pem" -outform DER) \
  <(openssl x509 -in "$T/state/root-cert.pem" -outform DER) || fail "the host did not pin the new root"
echo "PASS"

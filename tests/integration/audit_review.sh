#!/usr/bin/env bash
# The demo's flow, then the auditor's review of its log: the export
# verifies against the audit key pinned with the root; `audit show` lists
# the ceremony and both issuances with the serials that are in the output
# certificates (and filters, and --json); `--issued` cross-checks a directory
# of certificates both ways; the HTML report renders in a real headless
# browser and shows the issued serials.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
ceremony
grep -q "audit key (Ed25519, label 'meshroot-audit')" "$T/ceremony.out" || fail "ceremony: no audit key"
host cluster new east --key ec-p256 > /dev/null
host cluster new west --key ec-p384 > /dev/null
host media export --to "$T/media" > /dev/null
app sign --media "$T/media" --yes > /dev/null
for c in east west; do
  [ -s "$T/media/meshroot/answers/$c.audit" ] || fail "answer $c carries no audit proof"
done
host media import --from "$T/media" > /dev/null
host bundle east west --out "$T/out" > /dev/null
echo 0000 > "$T/wrong.pin"; chmod 600 "$T/wrong.pin"
if "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/wrong.pin" \
    sign --media "$T/media" --yes > /dev/null 2>&1; then fail "a wrong PIN was accepted"; fi
app audit export --to "$T/export" > /dev/null
for f in audit.log checkpoint checkpoints audit-key.pub root-cert.pem; do
  [ -s "$T/export/$f" ] || fail "export lacks $f"
done
# The checkpoint is a C2SP signed note: origin, size, base64 root, signature.
sed -n 1p "$T/export/checkpoint" | grep -q '^meshroot/audit/ed25519/[0-9a-f]\{16\}$' || fail "checkpoint origin"
sed -n 2p "$T/export/checkpoint" | grep -q "^$(wc -l < "$T/export/audit.log")\$" || fail "checkpoint size"
grep -q "^— meshroot/audit/" "$T/export/checkpoint" || fail "checkpoint signature line"

host audit verify "$T/export" > "$T/verify.out" || { cat "$T/verify.out"; fail "export does not verify"; }

# Independent check, as docs/audit.md does it by hand: chain and RFC 9162
# root with Python's hashlib, the Ed25519 signature with openssl.
(
  cd "$T/export"
  python3 - <<'PY'
import base64, hashlib
H = lambda b: hashlib.sha256(b).digest()
prev = bytes(32)
lines = open('audit.log', 'rb').readlines()
for i, line in enumerate(lines, 1):
    f = dict(kv.split(b'=', 1) for kv in line.rstrip(b'\n').split(b' '))
    assert int(f[b'seq']) == i and bytes.fromhex(f[b'prev'].decode()) == prev, i
    prev = H(line)
def mth(d):
    if len(d) == 1: return H(b'\x00' + d[0])
    k = 1
    while k * 2 < len(d): k *= 2
    return H(b'\x01' + mth(d[:k]) + mth(d[k:]))
cp = open('checkpoint').read().split('\n')
assert base64.b64encode(mth(lines[:int(cp[1])])).decode() == cp[2]
PY
  { printf '\x30\x2a\x30\x05\x06\x03\x2b\x65\x70\x03\x21\x00'; cut -d+ -f3- audit-key.pub | base64 -d | tail -c 32; } > "$T/pub.der"
  sed '/^$/,$d' checkpoint > "$T/body"
  sed -n 's/^— [^ ]* //p' checkpoint | base64 -d | tail -c 64 > "$T/sig"
  openssl pkeyutl -verify -pubin -inkey "$T/pub.der" -keyform DER -rawin -in "$T/body" \
    -sigfile "$T/sig" > /dev/null
) || fail "independent check of the export (python hashlib, openssl) failed"
host audit verify "$T/media" > "$T/verify-media.out" || { cat "$T/verify-media.out"; fail "media answers do not verify"; }

serial_of() { openssl x509 -in "$T/out/$1/ca-cert.pem" -noout -serial | sed 's/^serial=//' | tr 'A-F' 'a-f' | sed 's/^0*//'; }
host audit show "$T/export" > "$T/show.out"
for ev in ceremony-start root-keygen audit-keygen ceremony-done; do
  grep -q " $ev " "$T/show.out" || { cat "$T/show.out"; fail "show: no $ev"; }
done
for c in east west; do
  s=$(serial_of "$c")
  grep -E " issue +$c +0*$s " "$T/show.out" > /dev/null || { cat "$T/show.out"; fail "show: no issue of $c serial $s"; }
  grep -E " approve +$c .*approved by --yes" "$T/show.out" > /dev/null || fail "show: no approval for $c"
  grep -q "serial 0*$s is record" "$T/verify-media.out" || fail "media verify: no proof for $s"
done
# Filters and JSON.
host audit show "$T/export" --event issue --cluster west > "$T/west.out"
[ "$(grep -c ' issue ' "$T/west.out")" = 1 ] || { cat "$T/west.out"; fail "--event/--cluster"; }
host audit show "$T/export" --since 2000-01-01 --until 2000-12-31 > "$T/none.out"
grep -q "^0 of " "$T/none.out" || { cat "$T/none.out"; fail "--since/--until"; }
host audit show "$T/export" --event issue --json > "$T/issue.json"
python3 - "$T/issue.json" "$(serial_of east)" "$(serial_of west)" <<'PY' || fail "--json"
import json, sys
recs = json.load(open(sys.argv[1]))
serials = {r['serial'].lstrip('0') for r in recs}
assert len(recs) == 2 and all(r['event'] == 'issue' for r in recs), recs
assert serials == {sys.argv[2], sys.argv[3]}, (serials, sys.argv[2:])
PY

# --issued: every certificate of the bundles is in the log, and the reverse.
host audit verify "$T/export" --issued "$T/out" > "$T/issued.out" || { cat "$T/issued.out"; fail "--issued"; }
grep -q "issued certificates: 2 in" "$T/issued.out" || fail "--issued: count"
rm -rf "$T/out-west"; mkdir -p "$T/out-west"; cp -r "$T/out/west" "$T/out-west/"
expect_fail 7 "was issued but is not in" host audit verify "$T/export" --issued "$T/out-west"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/x.key" -subj /CN=x \
  -days 1 -out "$T/x-root.pem" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/y.key" -subj /CN=y -out "$T/y.csr" 2>/dev/null
openssl x509 -req -in "$T/y.csr" -CA "$T/x-root.pem" -CAkey "$T/x.key" -days 1 -out "$T/out/stray.pem" 2>/dev/null
expect_fail 7 "stray.pem: serial .* is not in the audit log" host audit verify "$T/export" --issued "$T/out"
rm "$T/out/stray.pem"

# The HTML report, rendered by Debian's chromium.
host audit report "$T/export" --html "$T/report.html" > /dev/null || fail "report"
grep -q "<script" "$T/report.html" && fail "report has scripts"
chromium_bin=$(command -v chromium || command -v chromium-browser || true)
if [ -z "$chromium_bin" ]; then
  skip "report rendering: chromium is not installed (scripts/bootstrap installs it)"
fi
profile=$(mktemp -d -p "$T")
if ! timeout 120 "$chromium_bin" --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-sync --no-first-run --user-data-dir="$profile" \
    --dump-dom "file://$T/report.html" > "$T/dom.html" 2> "$T/chromium.err"; then
  if [ ! -s "$T/dom.html" ]; then
    tail -3 "$T/chromium.err"
    skip "report rendering: chromium cannot start here (above)"
  fi
fi
grep -q 'id="verdict"' "$T/dom.html" || { head -c 2000 "$T/dom.html"; fail "report did not render"; }
grep -q '<strong>Verified.</strong>' "$T/dom.html" || fail "report: not verified"
for c in east west; do
  s=$(serial_of "$c")
  grep -Eq "<td class=\"mono\">0*$s</td>" "$T/dom.html" || fail "rendered report lacks serial $s"
done
grep -q "<h2>Refusals</h2>" "$T/dom.html" || fail "report: no refusals section"
grep -q "<h2>Login failures</h2>" "$T/dom.html" || fail "report: no login failures section"
grep -q "login failed: wrong PIN for token meshroot-test.*(C_Login: CKR_PIN_INCORRECT)" "$T/dom.html" || fail "report: the failed login is not shown"
echo PASS

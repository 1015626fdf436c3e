#!/usr/bin/env bash
# Hostile media: every bad request is refused or skipped with a clear
# message and gets no certificate, while the good requests beside it are
# signed. Requested extensions (pathlen 5, SANs) are never copied: such a
# request is issued under policy alone, and the operator is told what was
# ignored.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
ceremony

req="$T/media/meshroot/requests"
ans="$T/media/meshroot/answers"
mkdir -p "$req"

newcsr() { # newcsr NAME KEYOPTS... -> $req/NAME.csr
  local name=$1; shift
  openssl req -new -nodes "$@" -keyout "$T/$name.key" -subj "/CN=$name" \
    -out "$req/$name.csr" 2>/dev/null
}

# Two good requests.
newcsr good-a -newkey ec -pkeyopt ec_paramgen_curve:P-256
newcsr good-b -newkey rsa:3072
# Asks for pathlen 5 and extra SANs: issued with neither.
newcsr greedy -newkey ec -pkeyopt ec_paramgen_curve:P-384 \
  -addext "basicConstraints=critical,CA:TRUE,pathlen:5" \
  -addext "subjectAltName=DNS:evil.example,URI:spiffe://other/ns/x"
# Weak key.
newcsr weak -newkey rsa:2048
# Bad self-signature: flip one byte of the signed subject.
newcsr badsig -newkey ec -pkeyopt ec_paramgen_curve:P-256
openssl req -in "$req/badsig.csr" -outform DER -out "$T/badsig.der"
python3 - "$T/badsig.der" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, 'rb').read())
i = b.find(b'badsig')          # inside the CertificationRequestInfo
b[i] ^= 0x01
open(p, 'wb').write(bytes(b))
PY
openssl req -inform DER -in "$T/badsig.der" -out "$req/badsig.csr" 2>/dev/null \
  || { printf -- '-----BEGIN CERTIFICATE REQUEST-----\n%s\n-----END CERTIFICATE REQUEST-----\n' \
       "$(base64 -w 64 "$T/badsig.der")" > "$req/badsig.csr"; }
# Garbage bytes, a 50 MB file, path tricks, a symlink, a directory.
head -c 3000 /dev/urandom > "$req/garbage.csr"
truncate -s 50M "$req/huge.csr"
cp "$req/good-a.csr" "$req/..csr"
cp "$req/good-a.csr" "$req/UPPER.csr"
cp "$req/good-a.csr" "$req/dot.dot.csr"
cp "$req/good-a.csr" "$T/outside.csr"
ln -s "$T/outside.csr" "$req/link.csr"
ln -s /etc/passwd "$req/passwd.csr"
mkdir "$req/dir.csr"

set +e
app sign --media "$T/media" --yes > "$T/sign.out" 2> "$T/sign.err"
rc=$?
set -e
cat "$T/sign.out" "$T/sign.err"
# Exit 4 (refused) with its summary line: a crash (or a sanitizer's exit) is not a refusal.
[ "$rc" -eq 4 ] || fail "sign exited $rc, expected 4 (requests refused)"
if grep -qE 'Sanitizer|runtime error:' "$T/sign.err"; then fail "sanitizer report"; fi
grep -q '^error: [0-9]* of [0-9]* request file(s) not signed$' "$T/sign.err" || fail "no summary error line"

expect() { grep -qF -- "$1" "$T/sign.out" "$T/sign.err" || fail "missing message: $1"; }
expect "request badsig.csr: refused: CSR self-signature"
expect "request weak.csr: refused: rsa-2048 keys are not allowed by policy"
grep -q "request garbage.csr: refused: .*garbage.csr: no PEM CERTIFICATE REQUEST block" "$T/sign.out" || fail "garbage not refused clearly"
expect "request huge.csr: skipped: oversized"
expect "request ..csr: skipped: unexpected file name"
expect "request UPPER.csr: skipped: unexpected file name"
expect "request dot.dot.csr: skipped: unexpected file name"
expect "request link.csr: skipped: symbolic link refused"
expect "request passwd.csr: skipped: symbolic link refused"
expect "request dir.csr: skipped: not a regular file"
expect "ignored:   basicConstraints pathlen 5, subjectAltName"
expect "summary: 3 signed, 0 answered from earlier runs, 3 refused, 7 skipped"

# Exactly the three acceptable requests got certificates.
for c in good-a good-b greedy; do
  [ -f "$ans/$c.pem" ] || fail "$c was not signed"
  openssl verify -CAfile "$T/state/root-cert.pem" "$ans/$c.pem" >/dev/null \
    || fail "$c does not verify"
done
[ "$(ls "$ans" | grep -c '\.pem$')" -eq 3 ] || fail "unexpected answers: $(ls "$ans")"
for c in badsig weak garbage; do
  [ -f "$ans/$c.refused" ] || fail "$c has no .refused answer"
done

# The greedy request got policy, not what it asked for.
openssl x509 -in "$ans/greedy.pem" -noout -text > "$T/greedy.txt"
grep -q "CA:TRUE, pathlen:0" "$T/greedy.txt" || fail "greedy: pathlen is not 0"
if grep -q "Subject Alternative Name" "$T/greedy.txt"; then fail "greedy: SAN was copied"; fi
grep -q "evil.example" "$T/greedy.txt" && fail "greedy: requested name leaked"
grep -q 'ignored=basicConstraints%20pathlen%205,%20subjectAltName' "$T/state/audit.log" \
  || fail "audit log does not record what was ignored"

# Nothing outside the media was touched or read into a certificate, and
# refusals are in the audit log.
[ "$(grep -c 'event=refuse ' "$T/state/audit.log")" -eq 3 ] || fail "refusals not audited"
[ "$(grep -c 'event=skip ' "$T/state/audit.log")" -eq 7 ] || fail "skips not audited"
[ "$(grep -c 'event=issue ' "$T/state/audit.log")" -eq 3 ] || fail "issues not audited"

# The host refuses path tricks in names too.
for bad in ../evil a/b UPPER "" .hidden; do
  expect_fail 2 "^error: cluster name \"$bad\" is not \[a-z0-9-\]{1,63}$" host cluster new "$bad"
done
expect_fail 2 '^error: cluster name "-x" must not start with "-"$' host cluster new -- -x
expect_fail 2 '^error: cluster name "-x" must not start with "-"$' host cluster import --csr /dev/null -- -x
echo "PASS"

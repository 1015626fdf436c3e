#!/usr/bin/env bash
# The host trusts the appliance only through cryptography: an answer on the
# media is accepted only if the pinned root signed it for this workspace's
# own key. Each forgery below is refused with a one-line reason, and nothing
# is imported from it.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
ceremony
for c in east west; do host cluster new "$c" > /dev/null; done
host media export --to "$T/media" > /dev/null
app sign --media "$T/media" --yes > /dev/null
ans="$T/media/meshroot/answers"
cp -r "$T/media" "$T/genuine"

refused() { # refused PATTERN: media import fails naming PATTERN and imports nothing
  if host media import --from "$T/media" > "$T/out" 2> "$T/err"; then
    cat "$T/out"; fail "import accepted a forgery ($1)"
  fi
  grep -q "$1" "$T/err" || { cat "$T/err"; fail "no clear reason: $1"; }
  for c in east west; do
    [ ! -e "$T/ws/clusters/$c/ca-cert.pem" ] || fail "imported $c from a forgery ($1)"
  done
}
restore() { rm -rf "$T/media"; cp -r "$T/genuine" "$T/media"; }

# A rogue CA with the same subject as the real root.
subj=$(openssl x509 -in "$T/state/root-cert.pem" -noout -subject -nameopt RFC2253 | sed 's/^subject=//')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$T/rogue.key" \
  -subj "/$(echo "$subj" | awk -F, '{for(i=NF;i>0;i--) printf "%s%s", $i, (i>1?"/":"")}')" \
  -days 30 -addext "basicConstraints=critical,CA:TRUE" \
  -addext "keyUsage=critical,keyCertSign,cRLSign" -out "$T/rogue.pem" 2>/dev/null
cat > "$T/ext.cnf" <<'CNF'
basicConstraints=critical,CA:TRUE,pathlen:0
keyUsage=critical,keyCertSign,cRLSign,digitalSignature
subjectKeyIdentifier=hash
authorityKeyIdentifier=keyid
CNF
openssl x509 -req -in "$T/ws/clusters/east/csr.pem" -CA "$T/rogue.pem" -CAkey "$T/rogue.key" \
  -set_serial 0x1234567890abcdef12 -days 30 -extfile "$T/ext.cnf" -out "$T/rogue-east.pem" 2>/dev/null

# --expect-root with the wrong fingerprint pins nothing.
if host media import --from "$T/media" --expect-root "$(printf '00%.0s' $(seq 32))" 2>"$T/err"; then
  fail "a wrong --expect-root was accepted"
fi
grep -q "not the expected" "$T/err" || fail "no reason for the --expect-root mismatch"
[ ! -e "$T/ws/root-cert.pem" ] || fail "a root was pinned despite the mismatch"

# Answer signed by the rogue (issuer name matches, signature does not).
cat "$T/rogue-east.pem" "$T/state/root-cert.pem" > "$ans/east.pem"
rm "$ans/west.pem"
refused "cluster east: answer signature does not verify with the pinned root"

# That first import pinned the media's (genuine) root, whatever the answers;
# a later media with another root is refused outright.
cmp -s "$T/ws/root-cert.pem" "$T/state/root-cert.pem" || fail "the genuine root was not pinned"
restore
cp "$T/rogue.pem" "$T/media/meshroot/root-cert.pem"
refused "is not the pinned root"

# West's certificate offered as east's: a different key than east's request.
restore
cp "$ans/west.pem" "$ans/east.pem"
rm "$ans/west.pem"
refused "cluster east: answer certifies a different key than this workspace's request"

# One flipped bit in the signature.
restore
python3 - "$ans/east.pem" <<'PY'
import base64, re, sys
p = sys.argv[1]
text = open(p).read()
blocks = re.findall(r'-----BEGIN CERTIFICATE-----\n(.*?)-----END CERTIFICATE-----', text, re.S)
der = bytearray(base64.b64decode(''.join(blocks[0].split())))
der[-5] ^= 0x01
b64 = base64.b64encode(bytes(der)).decode()
lines = '\n'.join(b64[i:i+64] for i in range(0, len(b64), 64))
first = '-----BEGIN CERTIFICATE-----\n' + lines + '\n-----END CERTIFICATE-----\n'
rest = text[text.index('-----END CERTIFICATE-----') + len('-----END CERTIFICATE-----\n'):]
open(p, 'w').write(first + rest)
PY
rm "$ans/west.pem"
refused "cluster east: answer signature does not verify"

# The genuine answers are accepted.
restore
host media import --from "$T/media" > "$T/out"
grep -q "2 certificate(s) imported" "$T/out" || { cat "$T/out"; fail "genuine answers refused"; }
echo PASS

#!/usr/bin/env bash
# Revocation and CRLs: the appliance's root CRL verifies with
# `openssl crl -verify`, carries the revoked intermediate with its reason
# and a growing CRL number; the host's ca-crl.pem (intermediate CRL signed
# with ca-key.pem, then the root's) passes `openssl verify -crl_check_all`
# for a workload of a good cluster and fails it for a workload of the
# revoked one; `meshroot verify` accepts ca-crl.pem, rejects one without the
# intermediate's CRL, and names a revoked intermediate. The tls form
# (tls.crt, tls.key, ca.crt) verifies too.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

ceremony
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key rsa-3072 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign.out" || fail "sign: $(cat "$T/sign.out")"
host media import --from "$T/media" >/dev/null

# bundle --crl needs a root CRL first.
expect_fail 1 '^error: .*no root CRL in the workspace' host bundle east --out "$T/out" --crl

app crl --media "$T/media" >"$T/crl1.out" || fail "crl: $(cat "$T/crl1.out")"
grep -q '^CRL 1: 0 revoked' "$T/crl1.out" || fail "crl 1: $(cat "$T/crl1.out")"
openssl crl -in "$T/media/meshroot/root.crl.pem" -CAfile "$T/state/root-cert.pem" -noout -verify 2>&1 |
	grep -q 'verify OK' || fail "openssl crl -verify (CRL 1)"

west_serial=$(openssl x509 -in "$T/ws/clusters/west/ca-cert.pem" -noout -serial | cut -d= -f2)
expect_fail 3 "^error: 'stolen' is not a revocation reason meshroot uses" \
  app revoke "$west_serial" --reason stolen --yes
expect_fail 1 '^error: serial 0123abcd was never issued by this appliance' \
  app revoke 0123abcd --reason keyCompromise --yes
app revoke "$west_serial" --reason keyCompromise --yes >"$T/r.out" || fail "revoke: $(cat "$T/r.out")"
expect_fail 1 '^error: serial .* (cluster west) is revoked already' \
  app revoke "$west_serial" --reason keyCompromise --yes
lc_serial=$(echo "$west_serial" | tr 'A-F' 'a-f')
grep -q "event=revoke serial=$lc_serial cluster=west reason=keyCompromise" "$T/state/audit.log" ||
	fail "no revoke audit record"
grep -q "op=revoke serial=$lc_serial reason=keyCompromise" "$T/state/issued.db" || fail "no revoke in issued.db"

app crl --media "$T/media" >"$T/crl2.out" || fail "crl: $(cat "$T/crl2.out")"
grep -q '^CRL 2: 1 revoked' "$T/crl2.out" || fail "crl 2: $(cat "$T/crl2.out")"
C="$T/media/meshroot/root.crl.pem"
openssl crl -in "$C" -CAfile "$T/state/root-cert.pem" -noout -verify 2>&1 | grep -q 'verify OK' ||
	fail "openssl crl -verify (CRL 2)"
openssl crl -in "$C" -noout -text >"$T/crl.txt"
grep -q "Serial Number: $west_serial" "$T/crl.txt" || fail "west not on the CRL"
grep -q 'Key Compromise' "$T/crl.txt" || fail "no reason code"
grep -A1 'X509v3 CRL Number' "$T/crl.txt" | grep -q '^ *2$' || fail "CRL number is not 2"
grep -q 'Version 2' "$T/crl.txt" || fail "not a v2 CRL"
# nextUpdate from policy: 90 days in the template.
next=$(openssl crl -in "$C" -noout -nextupdate | cut -d= -f2)
days=$(( ($(date -d "$next" +%s) - $(date +%s)) / 86400 ))
[ "$days" -ge 89 ] && [ "$days" -le 90 ] || fail "nextUpdate is $days days away, policy says 90"

# The host keeps only newer CRLs.
host media import --from "$T/media" >"$T/imp.out" || fail "import: $(cat "$T/imp.out")"
grep -q 'root CRL 2 imported (1 revoked)' "$T/imp.out" || fail "import: $(cat "$T/imp.out")"
cp "$T/state/root.crl.pem" "$T/crl2.pem"

host bundle east --out "$T/out" --crl >"$T/b.out" || fail "bundle east --crl: $(cat "$T/b.out")"
expect_fail 1 'revoked by its issuer' host bundle west --out "$T/out" --crl
E="$T/out/east"
[ "$(grep -c 'BEGIN X509 CRL' "$E/ca-crl.pem")" = 2 ] || fail "ca-crl.pem must hold 2 CRLs"
host verify "$E" >"$T/v.out" || fail "verify with ca-crl.pem: $(cat "$T/v.out")"

# openssl: the intermediate against the root CRL, a workload against both.
openssl verify -crl_check -CRLfile "$E/ca-crl.pem" -CAfile "$E/root-cert.pem" "$E/ca-cert.pem" \
	>/dev/null 2>&1 || fail "openssl verify -crl_check east"
openssl verify -crl_check -CRLfile "$T/out/west/ca-crl.pem" -CAfile "$T/out/west/root-cert.pem" \
	"$T/out/west/ca-cert.pem" >"$T/ow.out" 2>&1 && fail "openssl accepted the revoked west intermediate"
grep -q 'certificate revoked' "$T/ow.out" || fail "west: $(cat "$T/ow.out")"

W="$T/wl"; mkdir -p "$W"
workload() {
	local n=$1 dir=$2
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$n.key" 2>/dev/null
	openssl req -new -key "$W/$n.key" -subj "/O=cluster.local" -out "$W/$n.csr" 2>/dev/null
	printf '%s\n' 'basicConstraints = critical, CA:FALSE' \
		'keyUsage = critical, digitalSignature, keyEncipherment' \
		'extendedKeyUsage = serverAuth, clientAuth' \
		"subjectAltName = critical, URI:spiffe://cluster.local/ns/default/sa/$n" >"$W/$n.ext"
	openssl x509 -req -in "$W/$n.csr" -CA "$dir/ca-cert.pem" -CAkey "$dir/ca-key.pem" \
		-set_serial "0x$(openssl rand -hex 16)" -days 1 -extfile "$W/$n.ext" \
		-out "$W/$n.pem" 2>/dev/null || fail "cannot sign the $n workload"
}
workload east "$E"
workload west "$T/out/west"
openssl verify -crl_check_all -CRLfile "$E/ca-crl.pem" -CAfile "$E/root-cert.pem" \
	-untrusted "$E/ca-cert.pem" "$W/east.pem" >/dev/null 2>&1 ||
	fail "east workload fails -crl_check_all"
# west's intermediate CRL, signed on the host, and the root CRL that revokes west.
openssl verify -crl_check_all -CRLfile "$T/out/west/ca-crl.pem" -CAfile "$T/out/west/root-cert.pem" \
	-untrusted "$T/out/west/ca-cert.pem" "$W/west.pem" >"$T/oww.out" 2>&1 &&
	fail "the revoked intermediate's workload passed -crl_check_all"
grep -q 'certificate revoked' "$T/oww.out" || fail "west workload: $(cat "$T/oww.out")"

# ca-crl.pem without the intermediate's CRL (only the root's): rejected.
cp -r "$E" "$T/noint"
cp "$T/crl2.pem" "$T/noint/ca-crl.pem"
expect_fail 1 'no CRL signed by certificate 1 of the chain' host verify "$T/noint"
# ... nor without the root's.
cp -r "$E" "$T/noroot"
awk '/BEGIN X509 CRL/{n++} n==1' "$E/ca-crl.pem" >"$T/noroot/ca-crl.pem"
expect_fail 1 'no CRL signed by certificate 2 of the chain' host verify "$T/noroot"
# A CRL signed by a stranger with the intermediate's name does not count.
cp -r "$E" "$T/forged"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/f.key" \
	-subj "$(openssl x509 -in "$E/ca-cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')" \
	-days 2 -out "$W/f.pem" 2>/dev/null
printf '%s\n' '[ca]' 'default_ca=c' '[c]' "database=$W/index" 'default_md=sha256' \
	'default_crl_days=5' >"$W/ca.cnf"; : >"$W/index"
openssl ca -config "$W/ca.cnf" -gencrl -keyfile "$W/f.key" -cert "$W/f.pem" -out "$W/f.crl" 2>/dev/null ||
	fail "cannot make the forged CRL"
cat "$W/f.crl" "$T/crl2.pem" >"$T/forged/ca-crl.pem"
expect_fail 1 'no CRL signed by certificate 1' host verify "$T/forged"

# An older root CRL on the media never replaces a newer one.
app crl --media "$T/media" >/dev/null || fail "crl 3"
host media import --from "$T/media" >"$T/imp3.out" || fail "import CRL 3"
grep -q 'root CRL 3 imported' "$T/imp3.out" || fail "import 3: $(cat "$T/imp3.out")"
cp "$T/crl2.pem" "$T/media/meshroot/root.crl.pem"
expect_fail 1 "^error: .*CRL number 2 is older than the workspace.s 3" host media import --from "$T/media"

# The kubernetes.io/tls form.
host bundle east --out "$T/tls" --format tls --secret-yaml >"$T/tls.out" || fail "tls: $(cat "$T/tls.out")"
for f in tls.crt tls.key ca.crt; do [ -f "$T/tls/east/$f" ] || fail "tls form lacks $f"; done
[ ! -e "$T/tls/east/ca-cert.pem" ] || fail "tls form has cacerts names too"
grep -q 'type: kubernetes.io/tls' "$T/tls/east/cacerts.yaml" || fail "secret type"
host verify "$T/tls/east" >"$T/vt.out" || fail "verify tls: $(cat "$T/vt.out")"
# A tls form whose ca.crt is not its root fails.
cp -r "$T/tls/east" "$T/tlsbad"
cp "$W/f.pem" "$T/tlsbad/ca.crt"
expect_fail 1 'tlsbad: problem: tls.crt does not verify to a root in ca.crt' host verify "$T/tlsbad"
echo "ok: revocation, root and intermediate CRLs, ca-crl.pem and tls forms"

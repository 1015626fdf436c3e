#!/usr/bin/env bash
# Policy name constraints: with [policy] trust_domain and dns_domains set,
# every intermediate carries a critical nameConstraints extension; a
# workload of the trust domain verifies (openssl), one with another trust
# domain or a DNS name outside the domains does not; meshroot verify still
# accepts the file set. Without them nothing is written (the default).
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

"$APPLIANCE" ceremony template |
	sed -e 's/^trust_domain =$/trust_domain = cluster.local/' \
	    -e 's/^dns_domains =$/dns_domains = svc svc.cluster.local/' >"$T/nc.conf"
grep -q '^trust_domain = cluster.local$' "$T/nc.conf" || fail "template has no trust_domain line"
# Bad values are refused with the line.
sed 's/^trust_domain = .*/trust_domain = spiffe:\/\/cluster.local/' "$T/nc.conf" >"$T/bad.conf"
expect_fail 3 '^error: .*invalid value for trust_domain' app ceremony init --config "$T/bad.conf" --yes

ceremony "$T/nc.conf"
host cluster new east >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign.out" || fail "sign: $(cat "$T/sign.out")"
host media import --from "$T/media" >/dev/null
host bundle east --out "$T/out" >"$T/b.out" || fail "bundle: $(cat "$T/b.out")"
E="$T/out/east"
openssl x509 -in "$E/ca-cert.pem" -noout -text >"$T/ca.txt"
grep -A4 'X509v3 Name Constraints: critical' "$T/ca.txt" >"$T/nc.txt" || fail "no critical name constraints"
grep -q 'URI:cluster.local' "$T/nc.txt" && grep -q 'DNS:svc$' "$T/nc.txt" &&
	grep -q 'DNS:svc.cluster.local' "$T/nc.txt" || fail "constraints: $(cat "$T/nc.txt")"

W="$T/wl"; mkdir -p "$W"
# workload NAME SAN: a workload certificate under east with that SAN.
workload() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$1.key" 2>/dev/null
	openssl req -new -key "$W/$1.key" -subj "/O=cluster.local" -out "$W/$1.csr" 2>/dev/null
	printf '%s\n' 'basicConstraints = critical, CA:FALSE' 'keyUsage = critical, digitalSignature' \
		'extendedKeyUsage = serverAuth, clientAuth' "subjectAltName = critical, $2" >"$W/$1.ext"
	openssl x509 -req -in "$W/$1.csr" -CA "$E/ca-cert.pem" -CAkey "$E/ca-key.pem" \
		-set_serial "0x$(openssl rand -hex 16)" -days 1 -extfile "$W/$1.ext" -out "$W/$1.pem" 2>/dev/null ||
		fail "cannot sign $1"
}
check() { openssl verify -CAfile "$E/root-cert.pem" -untrusted "$E/ca-cert.pem" "$W/$1.pem" >"$W/$1.out" 2>&1; }
workload good 'URI:spiffe://cluster.local/ns/default/sa/app'
workload istiod 'URI:spiffe://cluster.local/ns/istio-system/sa/istiod, DNS:istiod.istio-system.svc'
workload evil 'URI:spiffe://evil.example/ns/default/sa/app'
workload evildns 'URI:spiffe://cluster.local/ns/default/sa/app, DNS:www.example.com'
check good || fail "trust-domain workload rejected: $(cat "$W/good.out")"
check istiod || fail "istiod-style workload rejected: $(cat "$W/istiod.out")"
if check evil; then fail "a workload of another trust domain verified"; fi
grep -q 'permitted subtree violation' "$W/evil.out" || fail "evil: $(cat "$W/evil.out")"
if check evildns; then fail "a DNS name outside the domains verified"; fi
grep -q 'permitted subtree violation' "$W/evildns.out" || fail "evildns: $(cat "$W/evildns.out")"
host verify "$E" >/dev/null || fail "meshroot verify rejects the constrained set"
echo "ok: policy name constraints"

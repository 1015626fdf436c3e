#!/usr/bin/env bash
# The file sets work for what Istio uses them for: each cluster's ca-key.pem
# signs a SPIFFE workload certificate, and workloads of east and west
# complete mutual TLS with each other (openssl s_server / s_client), in both
# directions, each side trusting only its own root-cert.pem. Workloads under
# a self-made CA with the same name as the root, and a workload that does not
# send its intermediate, must fail.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
# shellcheck source=lib/tls.sh
. "$MESHROOT_SRC/tests/integration/lib/tls.sh"

ceremony
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key ec-p384 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign.out" || fail "sign failed: $(cat "$T/sign.out")"
grep -q '^summary: 2 signed,' "$T/sign.out" || fail "sign: $(grep summary "$T/sign.out")"
host media import --from "$T/media" >/dev/null
host bundle east west --out "$T/out" --secret-yaml >/dev/null
O="$T/out"

# workload NAME CA_CERT CA_KEY: tls_workload, and $W/NAME-chain.pem = leaf +
# CA_CERT, what the workload sends, and $W/NAME-inter.pem, its intermediate.
workload() {
	tls_workload "$@"
	cat "$W/$1.pem" "$2" >"$W/$1-chain.pem"
	cp "$2" "$W/$1-inter.pem"
}

workload east "$O/east/ca-cert.pem" "$O/east/ca-key.pem"
workload west "$O/west/ca-cert.pem" "$O/west/ca-key.pem"

# The leaves themselves, offline: they chain to the root through the intermediate.
for c in east west; do
	openssl x509 -in "$W/$c.pem" -noout -ext subjectAltName | grep -qF "URI:spiffe://cluster.local/ns/default/sa/$c-app" ||
		fail "$c workload certificate lacks its SPIFFE SAN"
	openssl verify -CAfile "$O/$c/root-cert.pem" -untrusted "$W/$c-chain.pem" \
		-purpose sslclient "$W/$c.pem" >/dev/null || fail "$c workload does not verify as a client"
	openssl verify -CAfile "$O/$c/root-cert.pem" -untrusted "$W/$c-chain.pem" \
		-purpose sslserver "$W/$c.pem" >/dev/null || fail "$c workload does not verify as a server"
	! openssl verify -CAfile "$O/$c/root-cert.pem" "$W/$c.pem" >/dev/null 2>&1 ||
		fail "$c workload verifies without its intermediate: the root signed it directly?"
done

# A rogue CA with the root's very name, not under the root, and its workload.
po=$(openssl x509 -in "$O/east/root-cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$W/rogue-ca.key" \
	-subj "$po" -days 30 -addext "basicConstraints=critical,CA:TRUE" \
	-addext "keyUsage=critical,keyCertSign,cRLSign" -out "$W/rogue-ca.pem" 2>/dev/null
workload rogue "$W/rogue-ca.pem" "$W/rogue-ca.key"

# handshake SRV CLI [SRV_INTER [CLI_INTER]]: tls_handshake between workloads
# SRV and CLI, each trusting its own cluster's root (rogue: east's as a
# server, west's as a client) and sending its intermediate (none: not).
handshake() {
	local srv=$1 cli=$2 srv_inter=${3:-$W/$1-inter.pem} cli_inter=${4:-$W/$2-inter.pem}
	tls_handshake "$srv" "$srv_inter" "$O/${srv/rogue/east}/root-cert.pem" \
		"$cli" "$cli_inter" "$O/${cli/rogue/west}/root-cert.pem"
}

# expect_ok SRV CLI: mutual TLS succeeds and each side saw the other's chain.
expect_ok() {
	local srv=$1 cli=$2
	handshake "$srv" "$cli"
	[ "$cli_rc" -eq 0 ] || fail "$cli -> $srv: s_client exit $cli_rc: $(cat "$cli_out")"
	grep -q '^Verify return code: 0 (ok)' "$cli_out" ||
		fail "$cli -> $srv: client did not verify the server: $(grep 'Verify return' "$cli_out")"
	grep -q 'HTTP/1.0 200 ok' "$cli_out" || fail "$cli -> $srv: no page from the server"
	# The server sent exactly its leaf and its intermediate.
	grep -E '^ *[0-9]+ s:' "$cli_out" >"$T/sent"
	[ "$(wc -l <"$T/sent")" -eq 2 ] || fail "$srv sent $(wc -l <"$T/sent") certificates, want leaf + intermediate"
	grep -q "^ *1 s:O = .*, L = $srv, CN = $srv\$" "$T/sent" || fail "$srv did not send its intermediate second"
	# The server (its -www page) saw and verified the client's certificate.
	grep -q '^Client certificate' "$cli_out" || fail "$cli -> $srv: the server saw no client certificate"
	grep -qF "URI:spiffe://cluster.local/ns/default/sa/$cli-app" "$cli_out" ||
		fail "$cli -> $srv: the server saw another client certificate"
	grep -q "^depth=1 O = .*, L = $cli, CN = $cli\$" "$srv_out" ||
		fail "$cli -> $srv: the server did not verify through the $cli intermediate: $(cat "$srv_out")"
	! grep -q 'verify error' "$srv_out" || fail "$cli -> $srv: server verify error: $(cat "$srv_out")"
}

expect_ok east west
expect_ok west east

# A rogue client: the server must reject it (TLS 1.3 reports that to the
# client after its own handshake, so look at what the server did).
handshake east rogue
[ "$cli_rc" -ne 0 ] || fail "rogue client -> east: s_client succeeded"
! grep -q 'HTTP/1.0 200' "$cli_out" || fail "rogue client -> east: the server answered"
grep -q 'certificate verify failed' "$srv_out" ||
	fail "rogue client -> east: the server did not fail verification: $(cat "$srv_out")"

# A rogue server: the client must reject it.
handshake rogue west
[ "$cli_rc" -ne 0 ] || fail "west -> rogue server: s_client succeeded"
! grep -q '^Verify return code: 0 (ok)' "$cli_out" || fail "west -> rogue server: client verified it"
! grep -q 'HTTP/1.0 200' "$cli_out" || fail "west -> rogue server: a page came back"

# The intermediate is needed: a server that sends only its leaf fails, and so
# does a client that sends only its leaf.
handshake east west none
[ "$cli_rc" -ne 0 ] || fail "server without intermediate: s_client succeeded"
! grep -q '^Verify return code: 0 (ok)' "$cli_out" || fail "server without intermediate: client verified it"
handshake east west "$W/east-inter.pem" none
[ "$cli_rc" -ne 0 ] || fail "client without intermediate: s_client succeeded"
grep -q 'certificate verify failed' "$srv_out" || fail "client without intermediate: server accepted it"
echo "PASS"

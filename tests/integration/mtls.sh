#!/usr/bin/env bash
# The file sets work for what Istio uses them for: each cluster's ca-key.pem
# signs a SPIFFE workload certificate, and workloads of east and west
# complete mutual TLS with each other (openssl s_server / s_client), in both
# directions, each side trusting only its own root-cert.pem. Workloads under
# a self-made CA with the same name as the root, and a workload that does not
# send its intermediate, must fail.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

server_pid=
cleanup() {
	if [ -n "$server_pid" ]; then
		kill "$server_pid" 2>/dev/null || true
		wait "$server_pid" 2>/dev/null || true
	fi
	rm -rf "$T"
}
trap cleanup EXIT

ceremony
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key ec-p384 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign.out" || fail "sign failed: $(cat "$T/sign.out")"
grep -q '^summary: 2 signed,' "$T/sign.out" || fail "sign: $(grep summary "$T/sign.out")"
host media import --from "$T/media" >/dev/null
host bundle east west --out "$T/out" --secret-yaml >/dev/null
O="$T/out"
W="$T/wl"
mkdir -p "$W"

# workload NAME CA_CERT CA_KEY: $W/NAME.{key,pem}, an Istio-style workload
# certificate (EC P-256, SPIFFE URI SAN, serverAuth+clientAuth, 1 day), and
# $W/NAME-chain.pem = leaf + CA_CERT, what the workload sends.
workload() {
	local n=$1 ca=$2 cakey=$3
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$n.key" 2>/dev/null
	openssl req -new -key "$W/$n.key" -subj "/O=cluster.local" -out "$W/$n.csr" 2>/dev/null
	cat >"$W/$n.ext" <<-EOF
		basicConstraints = critical, CA:FALSE
		keyUsage = critical, digitalSignature, keyEncipherment
		extendedKeyUsage = serverAuth, clientAuth
		subjectAltName = critical, URI:spiffe://cluster.local/ns/default/sa/$n-app
		subjectKeyIdentifier = hash
		authorityKeyIdentifier = keyid
	EOF
	openssl x509 -req -in "$W/$n.csr" -CA "$ca" -CAkey "$cakey" \
		-set_serial "0x$(openssl rand -hex 16)" -days 1 -extfile "$W/$n.ext" \
		-out "$W/$n.pem" 2>/dev/null || fail "cannot sign the $n workload certificate"
	cat "$W/$n.pem" "$ca" >"$W/$n-chain.pem"
	# The intermediate part of the chain, sent after the leaf.
	cp "$ca" "$W/$n-inter.pem"
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

# handshake SRV CLI [SRV_INTER [CLI_INTER]]: s_server with workload SRV
# (trusting out/SRV_CLUSTER/root-cert.pem), s_client with workload CLI
# (trusting out/CLI_CLUSTER/root-cert.pem). Sets $srv_out, $cli_out, $cli_rc.
# The trust anchor of each side is its own cluster's root (rogue: east's).
handshake() {
	local srv=$1 cli=$2 srv_inter=${3:-$W/$1-inter.pem} cli_inter=${4:-$W/$2-inter.pem}
	local srv_root="$O/${srv/rogue/east}/root-cert.pem" cli_root="$O/${cli/rogue/west}/root-cert.pem"
	srv_out="$T/srv.$srv.$cli" cli_out="$T/cli.$srv.$cli"
	local srv_args=(-cert "$W/$srv.pem" -key "$W/$srv.key")
	[ "$srv_inter" = none ] || srv_args+=(-cert_chain "$srv_inter")
	local cli_args=(-cert "$W/$cli.pem" -key "$W/$cli.key")
	[ "$cli_inter" = none ] || cli_args+=(-cert_chain "$cli_inter")

	# Created before the server starts: the poll below must not race the
	# background job's redirection (sed on a missing file fails under set -e).
	: >"$srv_out"
	timeout 30 openssl s_server -accept 127.0.0.1:0 -naccept 1 -www "${srv_args[@]}" \
		-CAfile "$srv_root" -Verify 2 -verify_return_error >"$srv_out" 2>&1 &
	server_pid=$!
	local port='' _
	for _ in $(seq 100); do
		port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$srv_out")
		[ -n "$port" ] && break
		kill -0 "$server_pid" 2>/dev/null || fail "s_server ($srv) died: $(cat "$srv_out")"
		sleep 0.1
	done
	[ -n "$port" ] || fail "s_server ($srv) did not start listening within 10 s"

	cli_rc=0
	printf 'GET / HTTP/1.0\r\n\r\n' |
		timeout 20 openssl s_client -connect "127.0.0.1:$port" "${cli_args[@]}" \
			-CAfile "$cli_root" -verify 2 -verify_return_error -showcerts -ign_eof \
			>"$cli_out" 2>&1 || cli_rc=$?
	# -naccept 1: the server ends after this one connection; never wait forever.
	for _ in $(seq 100); do
		kill -0 "$server_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill "$server_pid" 2>/dev/null || true
	wait "$server_pid" 2>/dev/null || true
	server_pid=
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

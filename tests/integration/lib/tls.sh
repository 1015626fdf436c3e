# Sourced after appliance_env.sh by the tests that put the file sets to
# Istio's use: workload certificates under a cluster's intermediate, and one
# mutual TLS handshake between openssl s_server and s_client on 127.0.0.1.
#
# Provides: $W (the workloads' dir), tls_workload, tls_handshake (which
# sets $srv_out, $cli_out and $cli_rc). A server still running at exit is
# stopped before $T goes.

W="$T/wl"
mkdir -p "$W"
tls_server_pid=
tls_stop_server() {
	if [ -n "$tls_server_pid" ]; then
		kill "$tls_server_pid" 2>/dev/null || true
		wait "$tls_server_pid" 2>/dev/null || true
	fi
	tls_server_pid=
}
at_exit tls_stop_server

# tls_workload NAME CA_CERT CA_KEY: $W/NAME.{key,pem}, an Istio-style
# workload certificate (EC P-256, SPIFFE URI SAN .../sa/NAME-app,
# serverAuth+clientAuth, 1 day) signed by CA_CERT with CA_KEY.
tls_workload() {
	local n=$1 ca=$2 cakey=$3
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$W/$n.key" 2>/dev/null
	openssl req -new -key "$W/$n.key" -subj "/O=cluster.local" -out "$W/$n.csr" 2>/dev/null
	printf '%s\n' 'basicConstraints = critical, CA:FALSE' \
		'keyUsage = critical, digitalSignature, keyEncipherment' \
		'extendedKeyUsage = serverAuth, clientAuth' \
		"subjectAltName = critical, URI:spiffe://cluster.local/ns/default/sa/$n-app" \
		'subjectKeyIdentifier = hash' 'authorityKeyIdentifier = keyid' >"$W/$n.ext"
	openssl x509 -req -in "$W/$n.csr" -CA "$ca" -CAkey "$cakey" \
		-set_serial "0x$(openssl rand -hex 16)" -days 1 -extfile "$W/$n.ext" \
		-out "$W/$n.pem" 2>/dev/null || fail "cannot sign the $n workload certificate"
}

# tls_handshake SRV SRV_INTER SRV_ROOTS CLI CLI_INTER CLI_ROOTS: s_server as
# workload SRV ($W/SRV.{pem,key}) trusting SRV_ROOTS and requiring a client
# certificate, s_client as workload CLI trusting CLI_ROOTS; each sends its
# leaf then its _INTER file (none: the leaf alone). Sets $srv_out and
# $cli_out (the two sides' output) and $cli_rc (s_client's exit code).
# shellcheck disable=SC2034 # srv_out, cli_out, cli_rc: the callers read them
tls_handshake() {
	local srv=$1 srv_inter=$2 srv_roots=$3 cli=$4 cli_inter=$5 cli_roots=$6 port='' _
	srv_out="$T/srv.$srv.$cli" cli_out="$T/cli.$srv.$cli"
	local srv_args=(-cert "$W/$srv.pem" -key "$W/$srv.key")
	[ "$srv_inter" = none ] || srv_args+=(-cert_chain "$srv_inter")
	local cli_args=(-cert "$W/$cli.pem" -key "$W/$cli.key")
	[ "$cli_inter" = none ] || cli_args+=(-cert_chain "$cli_inter")

	# Created before the server starts: the poll below must not race the
	# background job's redirection (sed on a missing file fails under set -e).
	: >"$srv_out"
	timeout 30 openssl s_server -accept 127.0.0.1:0 -naccept 1 -www "${srv_args[@]}" \
		-CAfile "$srv_roots" -Verify 2 -verify_return_error >"$srv_out" 2>&1 &
	tls_server_pid=$!
	for _ in $(seq 100); do
		port=$(sed -n 's/^ACCEPT 127\.0\.0\.1:\([0-9][0-9]*\)$/\1/p' "$srv_out")
		[ -n "$port" ] && break
		kill -0 "$tls_server_pid" 2>/dev/null || fail "s_server ($srv) died: $(cat "$srv_out")"
		sleep 0.1
	done
	[ -n "$port" ] || fail "s_server ($srv) did not start listening within 10 s"

	cli_rc=0
	printf 'GET / HTTP/1.0\r\n\r\n' |
		timeout 20 openssl s_client -connect "127.0.0.1:$port" "${cli_args[@]}" \
			-CAfile "$cli_roots" -verify 2 -verify_return_error -showcerts -ign_eof \
			>"$cli_out" 2>&1 || cli_rc=$?
	# -naccept 1: the server ends after this one connection; never wait forever.
	for _ in $(seq 100); do
		kill -0 "$tls_server_pid" 2>/dev/null || break
		sleep 0.1
	done
	tls_stop_server
}

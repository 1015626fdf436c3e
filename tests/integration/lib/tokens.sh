# Sourced after lib/appliance_env.sh: real PKCS#11 tokens besides SoftHSM2,
# each started by the test itself in $T and stopped on exit (docs/tokens.md).
#
#   token_start NAME   softhsm2 | tpm2 | nss: starts what the token needs
#                      and sets TOKEN_MODULE, TOKEN_LABEL, TOKEN_ARGS (extra
#                      appliance options, e.g. --module-args for NSS) and
#                      TOKEN_AUDIT (the audit key type `audit_key = auto`
#                      gives on it). The user PIN is in $T/user.pin.
#   tok ARGS...        the appliance on that token (state $T/state), no PIN
#                      option: add --pin-file or --shares-from yourself.
#   token_stop         stops the daemons (at exit: at_exit).
#
# A daemon that is missing or cannot start here is a skip (exit 77) with
# the reason; every other failure fails the test.

TOKEN_PIDS=()
TOKEN_ARGS=()
token_stop() {
	local p
	for p in "${TOKEN_PIDS[@]}"; do
		kill "$p" 2>/dev/null || true
	done
	for p in "${TOKEN_PIDS[@]}"; do
		# Not our children (they daemonised): wait for them to go.
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	TOKEN_PIDS=()
}
at_exit token_stop

tok() {
	"$APPLIANCE" --state "$T/state" --module "$TOKEN_MODULE" --token "$TOKEN_LABEL" \
		"${TOKEN_ARGS[@]}" "$@"
}

# need CMD...: each command exists, else the test is a skip.
need() {
	local c
	for c in "$@"; do
		command -v "$c" >/dev/null 2>&1 || skip "$c is not installed (scripts/bootstrap)"
	done
}

# free_port_pair: a TCP port P on 127.0.0.1 with P+1 free too (swtpm takes
# both: commands and control).
free_port_pair() {
	/usr/bin/python3 - <<'PY'
import random, socket
for _ in range(200):
    p = random.randint(20000, 60000)
    socks = []
    try:
        for q in (p, p + 1):
            s = socket.socket()
            socks.append(s)
            s.bind(("127.0.0.1", q))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(p)
    break
PY
}

token_start_softhsm2() {
	# appliance_env.sh made the token already.
	TOKEN_MODULE=${MESHROOT_SOFTHSM2_MODULE:-/usr/lib/softhsm/libsofthsm2.so}
	TOKEN_LABEL=meshroot-test
	TOKEN_AUDIT=ed25519
	[ -r "$TOKEN_MODULE" ] || skip "no SoftHSM2 module at $TOKEN_MODULE"
}

# tpm2-pkcs11 on swtpm (a software TPM 2.0) behind tpm2-abrmd on a private
# D-Bus session bus; the token is made with tpm2_ptool in $T/tpm2/store.
token_start_tpm2() {
	local d="$T/tpm2" port pid
	need swtpm dbus-daemon tpm2-abrmd tpm2_ptool tpm2_getrandom
	TOKEN_MODULE=/usr/lib/x86_64-linux-gnu/pkcs11/libtpm2_pkcs11.so
	[ -r "$TOKEN_MODULE" ] || skip "no tpm2-pkcs11 module at $TOKEN_MODULE (libtpm2-pkcs11-1)"
	ls /usr/lib/x86_64-linux-gnu/libtss2-tcti-tabrmd.so.0* >/dev/null 2>&1 ||
		skip "no tabrmd TCTI (libtss2-tcti-tabrmd0)"
	mkdir -p "$d/state" "$d/store"
	port=$(free_port_pair)
	[ -n "$port" ] || skip "no free TCP port pair for swtpm"
	swtpm socket --tpm2 --server "type=tcp,port=$port,bindaddr=127.0.0.1" \
		--ctrl "type=tcp,port=$((port + 1)),bindaddr=127.0.0.1" --tpmstate "dir=$d/state" \
		--flags startup-clear --daemon --pid "file=$d/swtpm.pid" --log "file=$d/swtpm.log" ||
		skip "swtpm does not start here: $(cat "$d/swtpm.log" 2>/dev/null)"
	for _ in $(seq 50); do [ -s "$d/swtpm.pid" ] && break; sleep 0.1; done
	TOKEN_PIDS+=("$(cat "$d/swtpm.pid")")

	dbus-daemon --session --fork --print-address=3 --print-pid=4 3>"$d/dbus.addr" 4>"$d/dbus.pid" ||
		skip "dbus-daemon does not start here"
	TOKEN_PIDS+=("$(cat "$d/dbus.pid")")
	DBUS_SESSION_BUS_ADDRESS=$(head -n 1 "$d/dbus.addr")
	export DBUS_SESSION_BUS_ADDRESS

	# tpm2-abrmd refuses root unless told; CI runs as root.
	local root_opt=()
	[ "$(id -u)" -ne 0 ] || root_opt=(--allow-root)
	tpm2-abrmd --session "${root_opt[@]}" --tcti="swtpm:host=127.0.0.1,port=$port" \
		>"$d/abrmd.log" 2>&1 </dev/null &
	pid=$!
	TOKEN_PIDS+=("$pid")
	export TPM2TOOLS_TCTI=tabrmd:bus_type=session TPM2_PKCS11_TCTI=tabrmd:bus_type=session
	export TPM2_PKCS11_STORE="$d/store"
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || skip "tpm2-abrmd does not start here: $(cat "$d/abrmd.log")"
		tpm2_getrandom 4 >/dev/null 2>&1 && break
		sleep 0.1
	done
	tpm2_getrandom 4 >/dev/null 2>&1 || skip "tpm2-abrmd does not answer: $(cat "$d/abrmd.log")"

	tpm2_ptool init >"$d/ptool.out" 2>&1 || fail "tpm2_ptool init: $(cat "$d/ptool.out")"
	tpm2_ptool addtoken --pid=1 --label=meshroot-tpm --userpin="$(cat "$T/user.pin")" \
		--sopin=5678 >"$d/ptool.out" 2>&1 || fail "tpm2_ptool addtoken: $(cat "$d/ptool.out")"
	TOKEN_LABEL=meshroot-tpm
	TOKEN_AUDIT=ecdsa-p256
}

# Mozilla NSS softoken on a fresh sql: database; its init string goes in
# CK_C_INITIALIZE_ARGS.pReserved (--module-args). The database password is
# the user PIN of its "NSS Certificate DB" token.
token_start_nss() {
	need certutil
	TOKEN_MODULE=/usr/lib/x86_64-linux-gnu/libsoftokn3.so
	[ -r "$TOKEN_MODULE" ] || skip "no NSS softoken at $TOKEN_MODULE (libnss3)"
	mkdir -p "$T/nssdb"
	certutil -N -d "sql:$T/nssdb" -f "$T/user.pin" >"$T/certutil.out" 2>&1 ||
		fail "certutil -N: $(cat "$T/certutil.out")"
	TOKEN_LABEL="NSS Certificate DB"
	TOKEN_ARGS=(--module-args "configdir='sql:$T/nssdb' certPrefix='' keyPrefix='' secmod='secmod.db' flags=")
	TOKEN_AUDIT=ecdsa-p256
}

token_start() {
	case "$1" in
	softhsm2) token_start_softhsm2 ;;
	tpm2) token_start_tpm2 ;;
	nss) token_start_nss ;;
	*) fail "unknown token '$1' (softhsm2, tpm2, nss)" ;;
	esac
	TOKEN_NAME=$1
}

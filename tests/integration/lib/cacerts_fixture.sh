# shellcheck shell=bash
# Sourced by tests/integration/verify_*.sh: builds Istio cacerts directories
# with openssl alone (independent of meshroot), so `meshroot verify` is judged
# against material it did not make.
#
# A good directory: root EC P-384, self-signed, basicConstraints critical
# CA:TRUE, keyUsage critical keyCertSign,cRLSign; intermediate EC P-256
# (PKCS#8 key, mode 0600) with CA:TRUE pathlen:0 and keyUsage critical
# keyCertSign,cRLSign,digitalSignature; cert-chain.pem = intermediate, root.
# Intermediates are issued with `openssl ca`, because openssl 3.0's
# `x509 -req` cannot set explicit validity dates (no -not_before/-not_after).
#
# Usage:
#   fx_init WORK               root CA under WORK/ca (WORK from mktemp -d)
#   fx_make_cacerts DIR [ALG]  a good cacerts DIR; ALG ec (default) or rsa
#   fx_reissue DIR EXT [openssl ca options...]
#                              re-sign DIR's intermediate key with extension
#                              section EXT (and e.g. -startdate/-enddate/-days),
#                              rewriting ca-cert.pem and cert-chain.pem
#   fx_expect_ok DIR           meshroot verify DIR exits 0 with an ok line
#   fx_expect_only_problem DIR TEXT
#                              meshroot verify DIR exits 1 and reports exactly
#                              one problem, which contains TEXT; none of the
#                              other known messages appears

: "${MESHROOT_BIN:?MESHROOT_BIN (the build directory) must be set}"
FX_MESHROOT="$MESHROOT_BIN/meshroot"

# The one-line problems the verify_*.sh tests provoke, one each.
FX_MESSAGES=(
	"ca-key.pem missing"
	"ca-key.pem does not match the public key in ca-cert.pem"
	"chain in wrong order"
	"root missing from the chain"
	"intermediate is not a CA"
	"intermediate expired on"
	"intermediate outlives the root"
	"intermediate has an extendedKeyUsage without serverAuth"
	"ca-key.pem is accessible by group or others"
	"does not verify to a root"
)

fx_fail() {
	echo "FAIL: $*" >&2
	exit 1
}

fx_init() {
	FX_WORK=$1
	FX_CA="$FX_WORK/ca"
	mkdir -p "$FX_CA/newcerts"
	: >"$FX_CA/index.txt"
	openssl rand -hex 16 >"$FX_CA/serial"
	cat >"$FX_CA/openssl.cnf" <<CNF
[ ca ]
default_ca = fx_ca

[ fx_ca ]
dir = $FX_CA
database = \$dir/index.txt
new_certs_dir = \$dir/newcerts
serial = \$dir/serial
certificate = \$dir/root-cert.pem
private_key = \$dir/root-key.pem
default_md = sha384
default_days = 365
policy = fx_policy
unique_subject = no
copy_extensions = none
email_in_dn = no

[ fx_policy ]
organizationName = supplied
localityName = optional
commonName = supplied

[ req ]
distinguished_name = req_dn
prompt = no

[ req_dn ]
O = meshroot test
CN = unused

[ v3_root ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash

[ v3_intermediate ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_not_ca ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always

[ v3_eku_client ]
basicConstraints = critical, CA:TRUE, pathlen:0
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
CNF
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-384 \
		-out "$FX_CA/root-key.pem" 2>/dev/null
	openssl req -x509 -new -config "$FX_CA/openssl.cnf" -extensions v3_root \
		-key "$FX_CA/root-key.pem" -sha384 -days 3650 \
		-subj "/O=meshroot test/CN=Test Root CA" -out "$FX_CA/root-cert.pem"
}

# fx_sign CSR OUT EXT [openssl ca options...]
fx_sign() {
	local csr=$1 out=$2 ext=$3
	shift 3
	openssl ca -batch -notext -config "$FX_CA/openssl.cnf" -extensions "$ext" \
		-in "$csr" -out "$out" "$@" 2>"$FX_WORK/openssl-ca.log" ||
		{ cat "$FX_WORK/openssl-ca.log" >&2; fx_fail "openssl ca failed"; }
}

fx_make_cacerts() {
	local dir=$1 alg=${2:-ec}
	mkdir -p "$dir"
	case $alg in
	ec) openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$dir/ca-key.pem" 2>/dev/null ;;
	rsa) openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:3072 \
		-out "$dir/ca-key.pem" 2>/dev/null ;;
	*) fx_fail "fx_make_cacerts: unknown key algorithm $alg" ;;
	esac
	chmod 0600 "$dir/ca-key.pem"
	openssl req -new -config "$FX_CA/openssl.cnf" -key "$dir/ca-key.pem" \
		-subj "/O=meshroot test/L=$(basename "$dir")/CN=Intermediate CA" \
		-out "$FX_WORK/$(basename "$dir").csr"
	fx_reissue "$dir" v3_intermediate -days 730
	cp "$FX_CA/root-cert.pem" "$dir/root-cert.pem"
}

fx_reissue() {
	local dir=$1 ext=$2
	shift 2
	fx_sign "$FX_WORK/$(basename "$dir").csr" "$dir/ca-cert.pem" "$ext" "$@"
	cat "$dir/ca-cert.pem" "$FX_CA/root-cert.pem" >"$dir/cert-chain.pem"
}

fx_run_verify() {
	FX_RC=0
	FX_OUT=$("$FX_MESHROOT" verify "$@" 2>&1) || FX_RC=$?
	printf '%s\n' "$FX_OUT"
}

fx_expect_ok() {
	local dir=$1
	fx_run_verify "$dir"
	[ "$FX_RC" -eq 0 ] || fx_fail "verify $dir: exit $FX_RC, want 0"
	grep -qF -- "$dir: ok (" <<<"$FX_OUT" || fx_fail "verify $dir: no ok line"
	! grep -qF -- ": problem: " <<<"$FX_OUT" || fx_fail "verify $dir: problems reported"
}

fx_expect_only_problem() {
	local dir=$1 text=$2 n msg
	fx_run_verify "$dir"
	[ "$FX_RC" -eq 7 ] || fx_fail "verify $dir: exit $FX_RC, want 7 (verification failed)"
	grep -qF -- "$dir: problem: $text" <<<"$FX_OUT" ||
		fx_fail "verify $dir: no problem line starting '$text'"
	n=$(grep -cF -- ": problem: " <<<"$FX_OUT" || true)
	[ "$n" -eq 1 ] || fx_fail "verify $dir: $n problems reported, want exactly 1"
	for msg in "${FX_MESSAGES[@]}"; do
		case $text in "$msg"*) continue ;; esac
		! grep -qF -- "$msg" <<<"$FX_OUT" || fx_fail "verify $dir: unexpected '$msg'"
	done
	! grep -qF -- ": ok (" <<<"$FX_OUT" || fx_fail "verify $dir: ok line despite a problem"
}

#!/usr/bin/env bash
# The whole removable-media flow, checked from the outside: ceremony, three
# clusters (ec-p256, ec-p384, rsa-3072), export, sign on the appliance,
# import, bundle with --secret-yaml. Every file set is checked with openssl
# and GnuTLS certtool, the Secret manifest is decoded and compared with the
# files, and a second signing run on the same media must sign nothing.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

clusters=(east west north)
declare -A keytype=([east]=ec-p256 [west]=ec-p384 [north]=rsa-3072)
declare -A serial_of

# count PATTERN FILE: number of lines matching (0 when none, never fails).
count() { grep -c -- "$1" "$2" || true; }
# epoch "Mon DD HH:MM:SS YYYY GMT" -> seconds since 1970.
epoch() { date -u -d "$1" +%s || fail "cannot parse date '$1'"; }

ceremony
# The policy O every intermediate must carry, from the ceremony config itself.
policy_o=$(awk -F' *= *' '/^\[/{s=$0} s=="[policy]" && $1=="organization"{print $2}' "$T/ceremony.conf")
[ -n "$policy_o" ] || fail "no [policy] organization in the ceremony config"

for c in "${clusters[@]}"; do
	host cluster new "$c" --key "${keytype[$c]}" >"$T/new.$c.out" ||
		fail "cluster new $c --key ${keytype[$c]} failed"
done
host media export --to "$T/media" >"$T/export.out" || fail "media export failed"
for c in "${clusters[@]}"; do
	[ -s "$T/media/meshroot/requests/$c.csr" ] || fail "media export wrote no request for $c"
done

app sign --media "$T/media" --yes >"$T/sign1.out" || fail "first sign failed: $(cat "$T/sign1.out")"
grep -q '^summary: 3 signed,' "$T/sign1.out" || fail "first sign: want '3 signed': $(grep summary "$T/sign1.out")"
host media import --from "$T/media" >"$T/import.out" || fail "media import failed"
grep -q '^3 certificate(s) imported$' "$T/import.out" || fail "media import: $(tail -1 "$T/import.out")"
host bundle "${clusters[@]}" --out "$T/out" --secret-yaml >"$T/bundle.out" || fail "bundle failed"

root_end=$(openssl x509 -in "$T/state/root-cert.pem" -noout -enddate | cut -d= -f2)
root_end_s=$(epoch "$root_end")
now=$(date -u +%s)
day=86400

for c in "${clusters[@]}"; do
	d="$T/out/$c"
	for f in ca-cert.pem ca-key.pem root-cert.pem cert-chain.pem cacerts.yaml; do
		[ -s "$d/$f" ] || fail "$c: $f missing or empty"
	done

	# The root in the file set is the appliance's root, byte for byte.
	cmp -s "$d/root-cert.pem" "$T/state/root-cert.pem" ||
		fail "$c: root-cert.pem differs from the appliance's root-cert.pem"

	# openssl builds the same path istiod does.
	openssl verify -CAfile "$d/root-cert.pem" -untrusted "$d/cert-chain.pem" "$d/ca-cert.pem" \
		>"$T/verify.$c" 2>&1 || fail "$c: openssl verify: $(cat "$T/verify.$c")"
	grep -qx "$d/ca-cert.pem: OK" "$T/verify.$c" || fail "$c: openssl verify: $(cat "$T/verify.$c")"

	# A second, independent implementation: GnuTLS.
	certtool --verify --load-ca-certificate "$d/root-cert.pem" <"$d/cert-chain.pem" \
		>"$T/certtool.$c" 2>&1 || fail "$c: certtool --verify: $(cat "$T/certtool.$c")"
	grep -q '^Chain verification output: Verified\.' "$T/certtool.$c" ||
		fail "$c: certtool does not say Verified: $(cat "$T/certtool.$c")"

	# The key stays private.
	mode=$(stat -c %a "$d/ca-key.pem")
	[ "$mode" = 600 ] || fail "$c: ca-key.pem mode $mode, want 600"
	mode=$(stat -c %a "$d/cacerts.yaml")
	[ "$mode" = 600 ] || fail "$c: cacerts.yaml (holds the key) mode $mode, want 600"

	# cert-chain.pem is exactly ca-cert.pem then root-cert.pem.
	cat "$d/ca-cert.pem" "$d/root-cert.pem" >"$T/chain.$c"
	cmp -s "$T/chain.$c" "$d/cert-chain.pem" || fail "$c: cert-chain.pem is not ca-cert.pem + root-cert.pem"

	# The key is the certificate's key.
	openssl pkey -in "$d/ca-key.pem" -pubout >"$T/key.pub.$c" || fail "$c: ca-key.pem unreadable"
	openssl x509 -in "$d/ca-cert.pem" -noout -pubkey >"$T/cert.pub.$c"
	cmp -s "$T/key.pub.$c" "$T/cert.pub.$c" || fail "$c: ca-key.pem does not match ca-cert.pem"

	# ... of the requested type.
	openssl x509 -in "$d/ca-cert.pem" -noout -text >"$T/text.$c"
	case ${keytype[$c]} in
	ec-p256) want_alg='ASN1 OID: prime256v1' ;;
	ec-p384) want_alg='ASN1 OID: secp384r1' ;;
	rsa-3072) want_alg='Public-Key: (3072 bit)' ;;
	esac
	grep -qF "$want_alg" "$T/text.$c" || fail "$c: key is not ${keytype[$c]} ($want_alg)"

	# Extensions: a CA for workloads only, built from policy.
	openssl x509 -in "$d/ca-cert.pem" -noout -ext basicConstraints >"$T/bc.$c"
	printf 'X509v3 Basic Constraints: critical\n    CA:TRUE, pathlen:0\n' >"$T/bc.want"
	diff -u "$T/bc.want" "$T/bc.$c" >&2 || fail "$c: basicConstraints not critical CA:TRUE, pathlen:0"
	openssl x509 -in "$d/ca-cert.pem" -noout -ext keyUsage >"$T/ku.$c"
	head -1 "$T/ku.$c" | grep -qx 'X509v3 Key Usage: critical' || fail "$c: keyUsage missing or not critical"
	ku=$(sed -n 2p "$T/ku.$c" | tr ',' '\n' | sed 's/^ *//' | sort | paste -sd,)
	[ "$ku" = "CRL Sign,Certificate Sign,Digital Signature" ] ||
		fail "$c: keyUsage is '$ku', want exactly Certificate Sign, CRL Sign, Digital Signature"

	# Subject: policy O, then L and CN from the cluster name.
	subj=$(openssl x509 -in "$d/ca-cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
	[ "$subj" = "/O=$policy_o/L=$c/CN=$c" ] || fail "$c: subject '$subj', want '/O=$policy_o/L=$c/CN=$c'"
	issuer=$(openssl x509 -in "$d/ca-cert.pem" -noout -issuer -nameopt compat | sed 's/^issuer=//')
	rsubj=$(openssl x509 -in "$d/root-cert.pem" -noout -subject -nameopt compat | sed 's/^subject=//')
	[ "$issuer" = "$rsubj" ] || fail "$c: issuer '$issuer' is not the root '$rsubj'"

	# Validity: about a year, never past the root.
	nb=$(epoch "$(openssl x509 -in "$d/ca-cert.pem" -noout -startdate | cut -d= -f2)")
	na=$(epoch "$(openssl x509 -in "$d/ca-cert.pem" -noout -enddate | cut -d= -f2)")
	[ "$na" -le "$root_end_s" ] || fail "$c: notAfter outlives the root ($root_end)"
	life=$((na - nb))
	[ "$life" -ge $((364 * day)) ] && [ "$life" -le $((366 * day)) ] ||
		fail "$c: lifetime $((life / day)) days ($life s), want about 365"
	left=$((na - now))
	[ "$left" -ge $((364 * day)) ] && [ "$left" -le $((365 * day + 3600)) ] ||
		fail "$c: notAfter is $((left / day)) days from now, want about 365"
	[ "$nb" -le "$now" ] || fail "$c: notBefore is in the future"

	# Serial: positive, at least 64 significant bits, at most 20 octets.
	serial=$(openssl x509 -in "$d/ca-cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
	[[ $serial =~ ^[0-9a-f]+$ ]] || fail "$c: serial '$serial' is not a positive hex number"
	sig=${serial#"${serial%%[!0]*}"}
	[ -n "$sig" ] || fail "$c: serial is zero"
	first=$((16#${sig:0:1}))
	bits=$((4 * (${#sig} - 1)))
	while [ "$first" -gt 0 ]; do bits=$((bits + 1)); first=$((first >> 1)); done
	[ "$bits" -ge 64 ] || fail "$c: serial $serial has only $bits bits, want >= 64"
	[ "${#serial}" -le 40 ] || fail "$c: serial $serial longer than 20 octets"
	serial_of[$c]=$serial

	# The Secret manifest: metadata, exactly the four data keys, each the file.
	y="$d/cacerts.yaml"
	grep -qx 'kind: Secret' "$y" || fail "$c: cacerts.yaml is not a Secret"
	grep -qx '  name: cacerts' "$y" || fail "$c: Secret is not named cacerts"
	grep -qx '  namespace: istio-system' "$y" || fail "$c: Secret is not in istio-system"
	awk '/^data:[[:space:]]*$/{in_data=1; next}
	     in_data && /^[^[:space:]#]/{in_data=0}
	     in_data && /^  [^[:space:]]/{k=$1; sub(/:$/, "", k); print k}' "$y" | sort >"$T/keys.$c"
	printf '%s\n' ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem >"$T/keys.want"
	diff -u "$T/keys.want" "$T/keys.$c" >&2 || fail "$c: cacerts.yaml data keys are not exactly the four files"
	for f in ca-cert.pem ca-key.pem cert-chain.pem root-cert.pem; do
		v=$(awk -v k="  $f:" 'index($0, k) == 1 {print $2}' "$y")
		[ -n "$v" ] || fail "$c: cacerts.yaml: empty value for $f"
		base64 -d <<<"$v" >"$T/decoded" 2>/dev/null || fail "$c: cacerts.yaml: $f is not base64"
		cmp -s "$T/decoded" "$d/$f" || fail "$c: cacerts.yaml: $f does not decode to out/$c/$f"
	done
done

# Negative control: the same checks fail against a root that is not ours.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-384 -nodes -keyout "$T/rogue.key" \
	-subj "/O=$policy_o/CN=meshroot Root CA" -days 30 -out "$T/rogue.pem" 2>/dev/null
! openssl verify -CAfile "$T/rogue.pem" -untrusted "$T/out/east/cert-chain.pem" \
	"$T/out/east/ca-cert.pem" >/dev/null 2>&1 || fail "openssl verify accepts east under a rogue root"
! certtool --verify --load-ca-certificate "$T/rogue.pem" <"$T/out/east/cert-chain.pem" \
	>/dev/null 2>&1 || fail "certtool accepts east under a rogue root"

# Distinct clusters, distinct keys and serials.
[ "$(for c in "${clusters[@]}"; do sha256sum <"$T/cert.pub.$c"; done | sort -u | wc -l)" -eq 3 ] ||
	fail "two clusters share a key"
[ "$(printf '%s\n' "${serial_of[@]}" | sort -u | wc -l)" -eq 3 ] || fail "two clusters share a serial"

# Host status: every cluster issued.
host status >"$T/hstatus" || fail "host status failed"
for c in "${clusters[@]}"; do
	awk -v c="$c" '$1 == c && $2 == "issued" {f=1} END {exit !f}' "$T/hstatus" ||
		fail "host status does not list $c as issued: $(cat "$T/hstatus")"
done

# Audit log: exactly one issue record per cluster, with the certificate's serial.
audit="$T/state/audit.log"
[ "$(count 'event=issue ' "$audit")" -eq 3 ] || fail "want 3 event=issue records, have $(count 'event=issue ' "$audit")"
for c in "${clusters[@]}"; do
	recs=$(grep ' event=issue ' "$audit" | grep -c " cluster=$c " || true)
	[ "$recs" -eq 1 ] || fail "audit: $recs event=issue records for $c, want 1"
	logged=$(grep ' event=issue ' "$audit" | grep " cluster=$c " | sed -n 's/.* serial=\([^ ]*\) .*/\1/p' | tr 'A-F' 'a-f')
	[ "$logged" = "${serial_of[$c]}" ] || fail "audit: $c issued as serial '$logged', ca-cert.pem has '${serial_of[$c]}'"
done

# Signing again on the same media signs nothing.
issues_before=$(count 'event=issue ' "$audit")
records_before=$(wc -l <"$audit")
app sign --media "$T/media" --yes >"$T/sign2.out" || fail "second sign failed: $(cat "$T/sign2.out")"
grep -q '^summary: 0 signed,' "$T/sign2.out" || fail "second sign: $(grep summary "$T/sign2.out")"
[ "$(count 'event=issue ' "$audit")" -eq "$issues_before" ] || fail "second sign logged a new event=issue"
[ "$(wc -l <"$audit")" -ge "$records_before" ] || fail "the audit log shrank"
[ "$(find "$T/state/certs" -type f | wc -l)" -eq 3 ] || fail "second sign stored a new certificate"
for c in "${clusters[@]}"; do
	s=$(openssl x509 -in "$T/media/meshroot/answers/$c.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
	[ "$s" = "${serial_of[$c]}" ] || fail "second sign: answer for $c now has serial $s, was ${serial_of[$c]}"
done

# Appliance status: three issued.
app status >"$T/astatus" || fail "app status failed"
grep -qE '^issued: +3 certificate\(s\)' "$T/astatus" || fail "app status: $(grep issued "$T/astatus")"
echo "PASS"

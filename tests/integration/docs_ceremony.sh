#!/usr/bin/env bash
# docs/ceremony.md, word for word (lib/docs_run.sh): the ceremony and a
# first signing session against a fresh SoftHSM2 token labelled `meshroot`,
# then what the page promises about them. As the page says, the test puts
# /var/lib/meshroot and /media/stick in $T, uses SoftHSM2's module for
# OpenSC's, types "yes" at every question (stdin), and gives the PIN with
# --pin-file (the console prompt reads the terminal).
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
# shellcheck source=lib/docs_run.sh
. "$MESHROOT_SRC/tests/integration/lib/docs_run.sh"

DOC="$MESHROOT_SRC/docs/ceremony.md"
STATE="$T/var/lib/meshroot"
STICK="$T/stick"
softhsm2-util --init-token --free --label meshroot --pin 1234 --so-pin 5678 >/dev/null
mkdir -p "$T/var/lib" "$STICK" "$T/operator" # the stick is mounted; the operator's directory
doc_map /var/lib/meshroot "$STATE"
doc_map /usr/lib/x86_64-linux-gnu/opensc-pkcs11.so /usr/lib/softhsm/libsofthsm2.so
export MESHROOT_WORKSPACE="$T/ws"
DOC_ANSWER=$'yes\nyes\nyes\nyes'
# Not for `status`: with a PIN file it logs in to check the token, and that
# audited login would move the last-line hash the runbook compares.
meshroot-appliance() {
	case " $* " in
	*" status "*) "$APPLIANCE" "$@" ;;
	*) "$APPLIANCE" --pin-file "$T/user.pin" "$@" ;;
	esac
}

# Each command's output goes to $T/out.N as well (N: its place in the page).
CMDS=()
TAIL_HASHES=()
ROOT_SHA256=
doc_after() {
	CMDS[$1]=$2
	awk '/^\+ / {n = NR} {line[NR] = $0} END {for (i = n + 1; i <= NR; i++) print line[i]}' \
		"$T/doc.log" >"$T/out.$1"
	case $2 in
	*"ceremony init"*)
		# The hex line the witnesses write down: the paper record, which
		# the administrator types in for `media import --expect-root`.
		ROOT_SHA256=$(grep -A1 '^Root certificate SHA-256 fingerprint' "$T/out.$1" | sed -n 2p | tr -d ' ')
		;;
	"tail -n1 "*) TAIL_HASHES+=("$(cut -d' ' -f1 "$T/out.$1")") ;;
	esac
}
# out_of GLOB [K]: the output of the K-th (default first) command matching GLOB.
out_of() {
	local i k=${2:-1}
	for i in "${!CMDS[@]}"; do
		# shellcheck disable=SC2053
		if [[ ${CMDS[$i]} == $1 ]]; then
			k=$((k - 1))
			[ "$k" -gt 0 ] || { echo "$T/out.$i"; return; }
		fi
	done
	fail "no command like '$1' in ceremony.md"
}

cd "$T/operator"
run_doc "$DOC"
[ "${#CMDS[@]}" -ge 25 ] || fail "only ${#CMDS[@]} commands in ceremony.md"

# --- The template shown is the one printed (comments left out).
awk '/^Without its comments, the template is:/ {on = 1; next}
     on && /^    / {sub(/^    /, ""); print; next}
     on && NF {exit}' "$DOC" | grep -v '^$' >"$T/doc-template"
"$APPLIANCE" ceremony template | grep -v -e '^#' -e '^$' >"$T/real-template"
diff "$T/doc-template" "$T/real-template" >&2 || fail "the template in ceremony.md is not the printed one"

# --- The ceremony's transcript.
c=$(out_of '*ceremony init*')
hex=$(grep -A1 '^Root certificate SHA-256 fingerprint (read it out to the witnesses):$' "$c" | sed -n 2p | tr -d ' ')
words=$(grep -A2 '^Root certificate SHA-256 fingerprint' "$c" | sed -n 3p)
ossl=$(openssl x509 -in "$STATE/root-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
[ -n "$hex" ] && [ "${hex^^}" = "$ossl" ] || fail "printed fingerprint '$hex' is not openssl's '$ossl'"
[ "$ROOT_SHA256" = "$hex" ] || fail "fingerprint taken for the paper record"
[ "$(wc -w <<<"$words")" = 16 ] || fail "words line: $words"
grep -qx "sha256 Fingerprint=$ossl" "$(out_of 'openssl x509 *')" || fail "the page's openssl command"
conf_hex=$(sed -n 's/^ceremony: config ceremony.conf, SHA-256 //p' "$c" | tr -d :)
[ "$conf_hex" = "$(sha256sum <ceremony.conf | cut -d' ' -f1)" ] || fail "config SHA-256 in the transcript"
grep -q "^$conf_hex " "$(out_of 'sha256sum ceremony.conf')" || fail "sha256sum ceremony.conf"
cmp -s ceremony.conf "$STATE/ceremony.conf" || fail "ceremony.conf not copied byte for byte"
# Every transcript line of the page's table, in the page's order.
sed -n '/^## Running the ceremony/,/^With `split = on`/p' "$DOC" |
	sed -n 's/^| `\(ceremony: [^`]*\)` |.*/\1/p' >"$T/doc-steps"
[ "$(wc -l <"$T/doc-steps")" -ge 10 ] || fail "transcript table not found in ceremony.md"
# (On stdin the answer is not echoed: the line after a question follows it.)
grep -o 'ceremony: .*' "$c" >"$T/steps"
exec 4<"$T/steps"
while IFS= read -r step <&3; do
	pat=$(doc_mapped "$step")
	pat=${pat//\*/\\*}
	pat=${pat//\?/\\?}
	pat=${pat//\[/\\[}
	pat=${pat//.../*}
	found=
	while IFS= read -r got <&4; do
		# shellcheck disable=SC2053
		if [[ $got == $pat ]]; then found=1; break; fi
	done
	[ -n "$found" ] || fail "transcript line missing or out of order: $step"
done 3<"$T/doc-steps"
exec 4<&-
grep -q "^ceremony: transcript written to $STATE/transcripts/init-.*\.txt$" "$c" || fail "transcript line"

# --- The audit log after the ceremony: the records the page lists, in order.
expected=$(grep '^| `audit.log` |' "$DOC" | sed 's/(with split.*//' | grep -o '`[a-z-]*`' | tr -d '`')
got=$(sed -n 's/.* event=\([a-z-]*\) .*/\1/p' "$STATE/audit.log" | head -n "$(wc -l <<<"$expected")")
[ "$got" = "$expected" ] || fail "ceremony records: got
$got
the page lists
$expected"
grep -q 'event=ceremony-start .*confirmed_by=operator' "$STATE/audit.log" || fail "the witnesses' yes"
grep -q 'event=transcript kind=init .*people=operator:%20Olivia%20Operator%3B%20witness:%20Walter%20Witness%3B%20witness:%20Wendy%20Witness' \
	"$STATE/audit.log" || fail "transcript record without the people"
n_cp=$(sed -n 's/^ceremony: audit log checkpoint signed: \([0-9]*\) records$/\1/p' "$c")
grep -q "^audit:     $((n_cp + 1)) record(s)$" "$(out_of '*status' 1)" ||
	fail "status after the ceremony does not show checkpoint + 1 = $((n_cp + 1)) records"
grep -q "^root SHA-256: $hex$" "$(out_of '*status' 1)" || fail "status root SHA-256"

# --- The transcript file: its hash is in the audit log, its copy on the stick.
tr_file=$(ls "$STATE"/transcripts/init-*.txt)
tr_sha=$(sha256sum "$tr_file" | cut -d' ' -f1)
grep -q "event=transcript .*sha256=$tr_sha" "$(out_of 'grep event=transcript *')" || fail "transcript hash not audited"
cmp -s "$tr_file" "$STICK/meshroot/transcripts/$(basename "$tr_file")" || fail "transcript not on the stick"
grep -q '^witness: Walter Witness$' "$tr_file" && grep -q '^result:    ok$' "$tr_file" || fail "transcript content"
grep -q "root certificate SHA-256 $hex" "$tr_file" || fail "transcript fingerprint"

# --- The state directory: the files and modes of "Where things land".
checked=0
while IFS='|' read -r _ files modes _; do
	mapfile -t names < <(grep -o '`[^`]*`' <<<"$files" | tr -d '`')
	mapfile -t nums < <(grep -o '0[0-7][0-7][0-7]' <<<"$modes")
	[ "${#nums[@]}" -gt 0 ] || continue          # written by ceremony rotate
	[ "${names[0]}" != custody ] || continue     # split custody only
	for i in "${!names[@]}"; do
		glob=$(sed 's/<[^>]*>/*/g' <<<"${names[$i]}")
		# shellcheck disable=SC2086
		set -- "$STATE"/$glob
		[ -e "$1" ] || fail "state dir: no ${names[$i]}"
		[ "$(stat -c %a "$1")" = "${nums[$i]#0}" ] || fail "${names[$i]}: mode $(stat -c %a "$1"), the page says ${nums[$i]}"
		if [[ ${names[$i]} == */* ]]; then
			[ "$(stat -c %a "$(dirname "$1")")" = "${nums[$((i + 1))]#0}" ] ||
				fail "directory of ${names[$i]}: mode $(stat -c %a "$(dirname "$1")")"
		fi
		checked=$((checked + 1))
	done
done < <(sed -n '/^### Where things land/,/^### Checklist after/p' "$DOC" | grep '^| `')
[ "$checked" -ge 11 ] || fail "only $checked files of \"Where things land\" checked"
[ ! -e "$STATE/custody" ] || fail "custody written with split = off"
! grep -rq 'PRIVATE KEY' "$STATE" || fail "a private key in the state dir"

# --- The signing session.
[ "${#TAIL_HASHES[@]}" = 3 ] || fail "expected 3 last-line hashes, got ${#TAIL_HASHES[@]}"
[ "${TAIL_HASHES[0]}" = "${TAIL_HASHES[1]}" ] || fail "last-line hash changed between the ceremony and the session"
[ "${TAIL_HASHES[2]}" = "$(tail -n1 "$STATE/audit.log" | sha256sum | cut -d' ' -f1)" ] || fail "final last-line hash"
s1=$(out_of '*sign --media /media/stick' 1)
s2=$(out_of '*sign --media /media/stick' 2)
grep -qx "media $STICK: 2 request file(s)" "$s1" || fail "sign: request count line"
grep -qx 'summary: 2 signed, 0 answered from earlier runs, 0 refused, 0 skipped' "$s1" || fail "sign summary"
grep -qx 'summary: 0 signed, 2 answered from earlier runs, 0 refused, 0 skipped' "$s2" || fail "second sign summary"
grep -q '^request east.csr: already issued as serial [0-9a-f]*; answer rewritten, nothing signed$' "$s2" || fail "second sign"
[ "$(grep -c 'event=approve .*by=operator' "$STATE/audit.log")" = 2 ] || fail "approvals not by the operator"
for c in east west; do
	[ -f "$STICK/meshroot/answers/$c.pem" ] && [ -f "$STICK/meshroot/answers/$c.audit" ] || fail "answers for $c"
	serial=$(sed -n "s/.*request $c.csr: issued serial //p" "$s1")
	[ "$(openssl x509 -in "$T/ws/clusters/$c/ca-cert.pem" -noout -serial | cut -d= -f2)" = "${serial^^}" ] ||
		fail "$c: imported certificate is not serial $serial"
	openssl verify -CAfile "$STATE/root-cert.pem" "$T/ws/clusters/$c/ca-cert.pem" >/dev/null || fail "$c: chain"
done
cmp -s "$STATE/root-cert.pem" "$STICK/meshroot/root-cert.pem" && cmp -s "$STATE/root-cert.pem" "$T/ws/root-cert.pem" ||
	fail "root on the stick or pinned on the host"
cmp -s "$STATE/audit-key.pub" "$T/ws/audit-key.pub" || fail "audit key pinned on the host"
grep -q '^CRL 1: 0 revoked, ' "$(out_of '*crl --media /media/stick')" || fail "crl line"
openssl crl -in "$STICK/meshroot/root.crl.pem" -CAfile "$STATE/root-cert.pem" -noout -verify 2>&1 | grep -q 'verify OK' ||
	fail "root CRL does not verify"
cmp -s "$STATE/root.crl.pem" "$T/ws/root.crl.pem" || fail "root CRL not imported"
for f in audit.log checkpoint checkpoints audit-key.pub root-cert.pem; do
	[ -f "$STICK/audit/$f" ] || fail "audit export: no $f"
done
grep -q '^OK: ' "$(out_of 'meshroot audit verify *')" || fail "audit verify"
last=$(out_of '*status' 3)
grep -q "^audit:     $(wc -l <"$STATE/audit.log") record(s)$" "$last" || fail "final status record count"
grep -q '^issued:    2 certificate(s), 0 abandoned reservation(s)$' "$last" || fail "final status issued"
grep -q '^crl:       number 1, 0 revoked, next update due ' "$last" || fail "final status crl"

# --- What the page says the appliance refuses.
if "$APPLIANCE" --state "$STATE" --pin-file "$T/user.pin" --token meshroot ceremony init --config ceremony.conf \
	<<<yes >/dev/null 2>"$T/err"; then
	fail "a second ceremony ran"
fi
grep -qx "error: $STATE already holds a root: refusing to run a second ceremony" "$T/err" || fail "second ceremony: $(cat "$T/err")"
if "$APPLIANCE" --state "$T/cancelled" --pin-file "$T/user.pin" --token meshroot ceremony init --config ceremony.conf \
	<<<y >/dev/null 2>"$T/err"; then
	fail "'y' started a ceremony"
fi
grep -qx 'error: ceremony cancelled by the operator' "$T/err" && [ ! -e "$T/cancelled" ] || fail "cancel: $(cat "$T/err")"
if "$APPLIANCE" --state "$STATE" --pin-file "$T/user.pin" --token meshroot-test sign --media "$STICK" \
	>/dev/null 2>"$T/err"; then
	fail "signed with a token without the root key"
fi
grep -qx "error: root key meshroot-root: public key 'meshroot-root': no private key labelled 'meshroot-root'" "$T/err" ||
	fail "wrong token: $(cat "$T/err")"
"$APPLIANCE" --state "$T/other" --pin-file "$T/user.pin" --token meshroot-test ceremony init --config ceremony.conf \
	--yes >/dev/null || fail "second token's ceremony"
if "$APPLIANCE" --state "$STATE" --pin-file "$T/user.pin" --token meshroot-test sign --media "$STICK" \
	>/dev/null 2>"$T/err"; then
	fail "signed with another root key"
fi
grep -qx "error: the token's key meshroot-root is not the key of root-cert.pem: wrong token?" "$T/err" ||
	fail "other key: $(cat "$T/err")"
tail -n1 "$STATE/audit.log" | grep -q 'event=root-key-mismatch ' || fail "root-key-mismatch not recorded"
cp "$STATE/ceremony.conf" "$T/conf.bak"
sed -i 's/^max_validity_days = 365/max_validity_days = 3650/' "$STATE/ceremony.conf"
expect_fail 1 '^error: .*is not the config the ceremony recorded in the audit log' \
  "$APPLIANCE" --state "$STATE" status
cp "$T/conf.bak" "$STATE/ceremony.conf"
echo "ok: docs/ceremony.md runs as written (${#CMDS[@]} commands)"

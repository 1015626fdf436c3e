#!/usr/bin/env bash
# The full flow on one real PKCS#11 token (docs/tokens.md): token_matrix.sh
# softhsm2 | tpm2 | nss. Ceremony with split custody (2 of 3 shares) and
# the audit key the token can make (`audit_key = auto`), signing over media
# and over the link (serve --listen unix: + submit --connect), revocation
# and CRLs, a root rotation, then `audit verify` of the export and of the
# media answers. Nothing is patched around meshroot: each step must pass on
# the token as it is, or the test fails. A daemon that cannot start here
# (swtpm, tpm2-abrmd, dbus) is a skip with the reason.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
# shellcheck source=lib/tokens.sh
. "$MESHROOT_SRC/tests/integration/lib/tokens.sh"
# shellcheck source=lib/serve.sh
. "$MESHROOT_SRC/tests/integration/lib/serve.sh"

[ $# -eq 1 ] || fail "usage: token_matrix.sh softhsm2|tpm2|nss"
token_start "$1"
step() { echo "== $TOKEN_NAME: $*"; }

# --- ceremony with custody
step "ceremony (ec-p384 root, 2-of-3 custody, audit_key = auto)"
"$APPLIANCE" ceremony template |
	sed 's/^split = off/split = on/; s/^shares = 5/shares = 3/; s/^threshold = 3/threshold = 2/' \
	>"$T/ceremony.conf"
# Where the token has no Ed25519, asking for it stops the ceremony before
# any key is made (the real ceremony below then finds its labels free).
if [ "$TOKEN_AUDIT" != ed25519 ]; then
	sed 's/^audit_key = auto/audit_key = ed25519/' "$T/ceremony.conf" >"$T/ed25519.conf"
	expect_fail 5 "^error: audit_key = ed25519: the token cannot make ed25519 keys: it has no CKM_EC_EDWARDS_KEY_PAIR_GEN" \
		"$APPLIANCE" --state "$T/state-ed25519" --module "$TOKEN_MODULE" --token "$TOKEN_LABEL" \
		"${TOKEN_ARGS[@]}" --pin-file "$T/user.pin" ceremony init --config "$T/ed25519.conf" --yes \
		--shares-dir "$T/shares-ed25519"
	! grep -q 'keygen' "$T/state-ed25519/audit.log" || fail "a key was generated before the refusal"
fi
tok --pin-file "$T/user.pin" ceremony init --config "$T/ceremony.conf" --yes \
	--shares-dir "$T/shares" >"$T/ceremony.out" 2>&1 || {
	cat "$T/ceremony.out"
	fail "ceremony init on $TOKEN_NAME"
}
for i in 1 2 3; do [ -s "$T/shares/share-$i.txt" ] || fail "share $i not written"; done
mkdir "$T/s"
cp "$T/shares/share-1.txt" "$T/shares/share-3.txt" "$T/s/"
cust() { tok --shares-from "$T/s" "$@"; }

# The audit key is the type the token can make, and its name says so.
grep -q "event=audit-keygen label=meshroot-audit key_type=$TOKEN_AUDIT " "$T/state/audit.log" ||
	fail "audit key is not $TOKEN_AUDIT: $(grep audit-keygen "$T/state/audit.log")"
grep -q "^meshroot/audit/$TOKEN_AUDIT/[0-9a-f]\{16\}+[0-9a-f]\{8\}+" "$T/state/audit-key.pub" ||
	fail "audit-key.pub: $(cat "$T/state/audit-key.pub")"
# The old PIN no longer opens the token: custody replaced it.
expect_fail 3 'split custody is on' tok --pin-file "$T/user.pin" crl

# --- sign over media
step "sign over media"
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key rsa-3072 >/dev/null
host media export --to "$T/media" >/dev/null
cust sign --media "$T/media" --yes >"$T/sign.out" 2>&1 || { cat "$T/sign.out"; fail "sign --media"; }
grep -q '^summary: 2 signed,' "$T/sign.out" || fail "sign: $(grep summary "$T/sign.out")"
host media import --from "$T/media" >"$T/import.out" 2>&1 || { cat "$T/import.out"; fail "media import"; }
grep -q '^2 certificate(s) imported$' "$T/import.out" || fail "import: $(tail -1 "$T/import.out")"
cmp -s "$T/ws/audit-key.pub" "$T/state/audit-key.pub" || fail "the host did not pin the audit key"
host audit verify "$T/media" >"$T/verify-media.out" 2>&1 ||
	{ cat "$T/verify-media.out"; fail "audit verify of the media answers"; }
host bundle east west --out "$T/out" >/dev/null || fail "bundle"
for c in east west; do
	openssl verify -CAfile "$T/out/$c/root-cert.pem" -untrusted "$T/out/$c/cert-chain.pem" \
		"$T/out/$c/ca-cert.pem" >/dev/null || fail "openssl verify $c"
	host verify "$T/out/$c" >/dev/null || fail "meshroot verify $c"
done

# --- sign over the link
step "sign over the link"
host cluster new north --key ec-p384 >/dev/null
# Not through tok: $! must be the appliance itself, not a subshell.
serve_app=("$APPLIANCE" --state "$T/state" --module "$TOKEN_MODULE" --token "$TOKEN_LABEL" "${TOKEN_ARGS[@]}"
	--shares-from "$T/s")
start_serve auto
host submit --connect "unix:$T/sock" --poll-ms 50 north >"$T/submit.out" 2>&1 ||
	{ cat "$T/submit.out" "$T/serve.out"; fail "submit over the link"; }
grep -q 'cluster north: certificate accepted' "$T/submit.out" || fail "submit: $(cat "$T/submit.out")"
stop_serve
grep -q 'event=serve-end issued=1' "$T/state/audit.log" || fail "end of serving not audited"
host bundle north --out "$T/out" >/dev/null || fail "bundle north"
host verify "$T/out/north" >/dev/null || fail "meshroot verify north"

# --- revocation and CRL
step "revoke and crl"
west_serial=$(openssl x509 -in "$T/out/west/ca-cert.pem" -noout -serial | cut -d= -f2)
cust revoke "$west_serial" --reason keyCompromise --yes >"$T/revoke.out" 2>&1 ||
	{ cat "$T/revoke.out"; fail "revoke"; }
cust crl --media "$T/media" >"$T/crl.out" 2>&1 || { cat "$T/crl.out"; fail "crl"; }
grep -q '^CRL 1: 1 revoked' "$T/crl.out" || fail "crl: $(cat "$T/crl.out")"
openssl crl -in "$T/media/meshroot/root.crl.pem" -CAfile "$T/state/root-cert.pem" -noout -verify 2>&1 |
	grep -q 'verify OK' || fail "openssl crl -verify"

# --- rotation
step "rotate"
cust ceremony rotate --key-label meshroot-root-2 --common-name "meshroot Root CA G2" \
	--media "$T/media" --yes >"$T/rotate.out" 2>&1 || { cat "$T/rotate.out"; fail "rotate"; }
R="$T/state/rotation"
openssl verify -CAfile "$R/previous-root-cert.pem" "$R/cross-new-by-old.pem" >/dev/null ||
	fail "cross-new-by-old does not verify under the old root"
openssl verify -CAfile "$R/new-root-cert.pem" "$R/cross-old-by-new.pem" >/dev/null ||
	fail "cross-old-by-new does not verify under the new root"
cust crl --media "$T/media" >"$T/crl2.out" 2>&1 || { cat "$T/crl2.out"; fail "crl after rotation"; }
openssl crl -in "$T/media/meshroot/root.crl.pem" -CAfile "$T/state/root-cert.pem" -noout -verify 2>&1 |
	grep -q 'verify OK' || fail "openssl crl -verify under the new root"

# --- audit
step "audit export and verify"
cust audit export --to "$T/export" >/dev/null 2>&1 || fail "audit export"
host audit verify "$T/export" >"$T/verify.out" 2>&1 || { cat "$T/verify.out"; fail "audit verify"; }
sed -n 1p "$T/export/checkpoint" | grep -q "^meshroot/audit/$TOKEN_AUDIT/[0-9a-f]\{16\}\$" ||
	fail "checkpoint origin: $(sed -n 1p "$T/export/checkpoint")"
[ "$(sed -n 2p "$T/export/checkpoint")" = "$(wc -l <"$T/export/audit.log")" ] ||
	fail "the checkpoint does not cover the whole log"
for e in ceremony-done custody-split issue revoke crl rotate-done; do
	grep -q "event=$e " "$T/export/audit.log" || fail "no $e record in the audit log"
done
step "ok"

#!/usr/bin/env bash
# The ECDSA P-256 audit key (docs/audit.md), which tokens without Ed25519
# get (TPM 2.0, NSS softoken), forced on SoftHSM2 with `audit_key =
# ecdsa-p256`: checkpoints are signed-note type 0x02 signatures, answers
# on the media carry proofs the host checks at import, `audit verify`
# takes the export and the media, openssl verifies the checkpoint on its
# own, and a tampered checkpoint or signature is refused.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

"$APPLIANCE" ceremony template | sed 's/^audit_key = auto/audit_key = ecdsa-p256/' >"$T/ecdsa.conf"
grep -q '^audit_key = ecdsa-p256$' "$T/ecdsa.conf" || fail "the template has no audit_key line"
ceremony "$T/ecdsa.conf"
grep -q "audit key (ECDSA P-256, label 'meshroot-audit') meshroot/audit/ecdsa-p256/" "$T/ceremony.out" ||
	fail "transcript: $(grep 'audit key' "$T/ceremony.out")"
grep -q 'event=audit-keygen label=meshroot-audit key_type=ecdsa-p256 vkey=' "$T/state/audit.log" ||
	fail "audit-keygen: $(grep audit-keygen "$T/state/audit.log")"
# base64(0x02 || P-256 SubjectPublicKeyInfo) always starts the same way.
grep -q '^meshroot/audit/ecdsa-p256/[0-9a-f]\{16\}+[0-9a-f]\{8\}+AjBZMBMGByqGSM49AgEGCCqGSM49AwEHA0IAB' \
	"$T/state/audit-key.pub" || fail "audit-key.pub: $(cat "$T/state/audit-key.pub")"

# Media: answers with proofs, checked at import against the pinned key.
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key ec-p384 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign.out" || fail "sign: $(cat "$T/sign.out")"
[ -s "$T/media/meshroot/answers/east.audit" ] || fail "no proof next to the answer"
host media import --from "$T/media" >"$T/import.out" || fail "import: $(cat "$T/import.out")"
grep -q '^2 certificate(s) imported$' "$T/import.out" || fail "import: $(tail -1 "$T/import.out")"
cmp -s "$T/ws/audit-key.pub" "$T/state/audit-key.pub" || fail "audit key not pinned"
host audit verify "$T/media" >"$T/vm.out" 2>&1 || { cat "$T/vm.out"; fail "audit verify of the media"; }

app audit export --to "$T/export" >/dev/null
host audit verify "$T/export" >"$T/v.out" 2>&1 || { cat "$T/v.out"; fail "audit verify of the export"; }

# Independently of meshroot: the key ID is SHA-256(SPKI)[:4], the
# signature is DER ECDSA over SHA-256 of the note text (openssl).
(
	cd "$T/export"
	cut -d+ -f3- audit-key.pub | base64 -d | tail -c +2 >"$T/pub.der"
	[ "$(sha256sum "$T/pub.der" | cut -c1-8)" = "$(cut -d+ -f2 audit-key.pub)" ] || exit 1
	sed '/^$/,$d' checkpoint >"$T/body"
	sed -n 's/^— [^ ]* //p' checkpoint | base64 -d >"$T/sig.raw"
	[ "$(head -c 4 "$T/sig.raw" | od -An -tx1 | tr -d ' \n')" = "$(cut -d+ -f2 audit-key.pub)" ] || exit 1
	tail -c +5 "$T/sig.raw" >"$T/sig.der"
	openssl dgst -sha256 -verify "$T/pub.der" -keyform DER -signature "$T/sig.der" "$T/body"
) >"$T/openssl.out" 2>&1 || { cat "$T/openssl.out"; fail "independent ECDSA check of the checkpoint"; }
grep -q '^Verified OK$' "$T/openssl.out" || fail "openssl: $(cat "$T/openssl.out")"

# Tampering: the size line, then one bit of the signature.
cp -r "$T/export" "$T/bad"
awk 'NR == 2 { $0 = $0 - 1 } { print }' "$T/export/checkpoint" >"$T/bad/checkpoint"
expect_fail 7 "checkpoint: signature by meshroot/audit/ecdsa-p256/[0-9a-f]* does not verify" \
	host audit verify "$T/bad"
sig=$(sed -n 's/^— [^ ]* //p' "$T/export/checkpoint")
bad=$(/usr/bin/python3 -c 'import base64, sys
b = bytearray(base64.b64decode(sys.argv[1])); b[20] ^= 1
print(base64.b64encode(bytes(b)).decode())' "$sig")
[ "$bad" != "$sig" ] || fail "the signature was not changed"
sed "s|$sig|$bad|" "$T/export/checkpoint" >"$T/bad/checkpoint"
expect_fail 7 "checkpoint: signature by meshroot/audit/ecdsa-p256/[0-9a-f]* does not verify" \
	host audit verify "$T/bad"

# The appliance itself keeps checking its log against the ECDSA checkpoint.
app status >"$T/status.out" 2>&1 || fail "status: $(cat "$T/status.out")"

#!/usr/bin/env bash
# Root rotation: `ceremony rotate` makes a new root in the token with
# cross-certificates both ways; the host pins it only through the
# cross-certificate; during the transition root-cert.pem holds both roots
# (a superset of the old set, then the new-only set is a subset: istiod's
# ISTIO_MULTIROOT_MESH rule) and workloads under the old and the new root
# complete mutual TLS; a cluster that drops the old root before its peer
# moved rejects the peer's workloads; `root finish` refuses while a cluster
# still runs an intermediate from the old root.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
# shellcheck source=lib/tls.sh
. "$MESHROOT_SRC/tests/integration/lib/tls.sh"

ceremony
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key ec-p256 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null || fail "sign"
host media import --from "$T/media" >/dev/null
host bundle east west --out "$T/before" >/dev/null || fail "bundle before"
old_fp=$(openssl x509 -in "$T/state/root-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)

# --- the appliance
if app ceremony rotate --key-label meshroot-root --media "$T/media" --yes >/dev/null 2>&1; then
	fail "rotate reused the current key label"
fi
app ceremony rotate --key-label meshroot-root-2 --common-name "meshroot Root CA G2" \
	--media "$T/media" --yes >"$T/rotate.out" || fail "rotate: $(cat "$T/rotate.out")"
R="$T/state/rotation"
new_fp=$(openssl x509 -in "$T/state/root-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
[ "$old_fp" != "$new_fp" ] || fail "root-cert.pem not replaced"
cmp -s "$R/new-root-cert.pem" "$T/state/root-cert.pem" || fail "new root differs"
openssl x509 -in "$R/new-root-cert.pem" -noout -subject | grep -q 'CN = meshroot Root CA G2' || fail "new root name"
openssl verify -CAfile "$R/new-root-cert.pem" "$R/new-root-cert.pem" >/dev/null || fail "new root not self-signed"
openssl verify -CAfile "$R/previous-root-cert.pem" "$R/cross-new-by-old.pem" >/dev/null ||
	fail "cross-new-by-old does not verify under the old root"
openssl verify -CAfile "$R/new-root-cert.pem" "$R/cross-old-by-new.pem" >/dev/null ||
	fail "cross-old-by-new does not verify under the new root"
[ "$(openssl x509 -in "$R/cross-new-by-old.pem" -noout -pubkey)" = \
  "$(openssl x509 -in "$R/new-root-cert.pem" -noout -pubkey)" ] || fail "cross-new-by-old certifies another key"
[ "$(grep -c BEGIN "$R/transition-roots.pem")" = 2 ] || fail "transition bundle"
for f in new-root-cert.pem cross-new-by-old.pem cross-old-by-new.pem transition-roots.pem; do
	cmp -s "$R/$f" "$T/media/meshroot/rotation/$f" || fail "media $f differs"
done
grep -q 'event=rotate-done old_root=' "$T/state/audit.log" || fail "no rotate-done record"
grep -q '^label=meshroot-root-2 root=' "$T/state/root-key-label" || fail "root-key-label"
# The rotation's transcript: in the state dir, on the media, and in the log.
tr=$(ls "$T/state/transcripts"/rotate-*.txt) || fail "no rotation transcript"
grep -q '^result:    ok$' "$tr" || fail "transcript result: $(tail -2 "$tr")"
grep -q "new root certificate SHA-256 $(echo "$new_fp" | tr -d : | tr 'A-F' 'a-f')" "$tr" || fail "transcript lacks the new root fingerprint"
cmp -s "$tr" "$T/media/meshroot/transcripts/$(basename "$tr")" || fail "transcript not on the media"
grep -q "event=transcript kind=rotate file=transcripts/$(basename "$tr") sha256=$(sha256sum "$tr" | cut -d' ' -f1) result=ok" \
	"$T/state/audit.log" || fail "transcript not in the audit log"
# The appliance signs with the new key from now on: a CRL verifies under the new root.
app crl >/dev/null || fail "crl after rotation"
openssl crl -in "$T/state/root.crl.pem" -CAfile "$R/new-root-cert.pem" -noout -verify 2>&1 |
	grep -q 'verify OK' || fail "CRL after rotation not from the new root"

# --- the host
# The media's new root is not accepted without the cross-certificate's check.
expect_fail 7 '^error: the root from the media (SHA-256 [0-9a-f]*) is not the pinned root in ' \
  host media import --from "$T/media"
cp "$T/media/meshroot/rotation/cross-new-by-old.pem" "$T/cross.bak"
cp "$T/media/meshroot/rotation/cross-old-by-new.pem" "$T/media/meshroot/rotation/cross-new-by-old.pem"
expect_fail 7 '^error: .*not signed by the pinned root' host root rotate --from "$T/media"
cp "$T/cross.bak" "$T/media/meshroot/rotation/cross-new-by-old.pem"
host root rotate --from "$T/media" --expect-root "$new_fp" >"$T/rr.out" || fail "root rotate: $(cat "$T/rr.out")"

# Transition file sets: east keeps its old-root intermediate, west renews under the new root.
host bundle east --out "$T/trans" >/dev/null || fail "bundle east in transition"
host cluster renew west >/dev/null || fail "renew west"
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null || fail "sign west under the new root"
host media import --from "$T/media" >/dev/null || fail "import west"
host bundle west --out "$T/trans" >/dev/null || fail "bundle west in transition"
O="$T/trans"
for c in east west; do
	[ "$(grep -c BEGIN "$O/$c/root-cert.pem")" = 2 ] || fail "$c root-cert.pem lacks one of the roots"
	host verify "$O/$c" >/dev/null || fail "verify $c in transition"
done
openssl x509 -in "$O/west/ca-cert.pem" -noout -issuer | grep -q 'meshroot Root CA G2' || fail "west not under the new root"
openssl x509 -in "$O/east/ca-cert.pem" -noout -issuer | grep -qv 'G2' || fail "east not under the old root"
# The last certificate of each chain is the root that issued the intermediate.
tail -n +1 "$O/west/cert-chain.pem" | awk '/BEGIN/{n++} n==2' | openssl x509 -noout -subject | grep -q 'G2' ||
	fail "west chain does not end with the new root"

# istiod's rule for root-cert.pem changes: the new set must be a superset or
# a subset of the old one. Sets of SHA-256 fingerprints:
fps() {
	local d; d=$(mktemp -d "$T/fps.XXXXXX")
	awk -v d="$d" '/BEGIN/{f=d "/" ++n ".pem"} {print > f}' "$1"
	for f in "$d"/*.pem; do openssl x509 -in "$f" -noout -fingerprint -sha256; done | sort
	rm -rf "$d"
}
subset() { fps "$1" >"$T/set.a"; fps "$2" >"$T/set.b"; [ -z "$(comm -23 "$T/set.a" "$T/set.b")" ]; }
subset "$T/before/east/root-cert.pem" "$O/east/root-cert.pem" || fail "transition set is not a superset of the old"
# Going from the old root straight to the new one would be neither.
cp "$R/new-root-cert.pem" "$T/new-only.pem"
if subset "$T/before/east/root-cert.pem" "$T/new-only.pem" || subset "$T/new-only.pem" "$T/before/east/root-cert.pem"; then
	fail "old and new-only sets look nested: the check is broken"
fi

# Workloads and mTLS.
# workload NAME DIR: a workload under the intermediate of the file set DIR.
workload() { tls_workload "$1" "$2/ca-cert.pem" "$2/ca-key.pem"; }
workload east "$O/east"
workload west "$O/west"

# handshake SRV CLI SRV_ROOTS CLI_ROOTS: workloads SRV and CLI, each sending
# its intermediate, trusting SRV_ROOTS and CLI_ROOTS.
handshake() { tls_handshake "$1" "$O/$1/ca-cert.pem" "$3" "$2" "$O/$2/ca-cert.pem" "$4"; }
ok() {
	handshake "$@"
	[ "$cli_rc" -eq 0 ] && grep -q 'HTTP/1.0 200 ok' "$cli_out" && ! grep -q 'verify error' "$srv_out" ||
		fail "mTLS $2 -> $1 failed: $(tail -3 "$cli_out") / $(tail -3 "$srv_out")"
}
bad() {
	handshake "$@"
	if [ "$cli_rc" -eq 0 ] && grep -q 'HTTP/1.0 200 ok' "$cli_out"; then
		fail "mTLS $2 -> $1 succeeded, want a failure"
	fi
}

# Transition: both trust both roots; old-root and new-root workloads talk.
ok east west "$O/east/root-cert.pem" "$O/west/root-cert.pem"
ok west east "$O/west/root-cert.pem" "$O/east/root-cert.pem"

# `root finish` refuses while east is on the old root.
expect_fail 4 '^error: .*cluster east still has an intermediate from the previous root' host root finish

# West drops the old root too early (east has not moved): east's workloads
# are rejected by west in both roles.
bad west east "$T/new-only.pem" "$O/east/root-cert.pem"
bad east west "$O/east/root-cert.pem" "$T/new-only.pem"

# The right order: east moves, then the transition ends everywhere.
host cluster renew east >/dev/null || fail "renew east"
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null || fail "sign east"
host media import --from "$T/media" >/dev/null || fail "import east"
host root finish >"$T/fin2.out" || fail "root finish: $(cat "$T/fin2.out")"
host bundle east west --out "$T/after" >/dev/null || fail "bundle after"
O="$T/after"
for c in east west; do
	[ "$(grep -c BEGIN "$O/$c/root-cert.pem")" = 1 ] || fail "$c root-cert.pem still has two roots"
done
subset "$O/east/root-cert.pem" "$T/trans/east/root-cert.pem" || fail "final set is not a subset of the transition set"
workload east "$O/east"
workload west "$O/west"
ok east west "$O/east/root-cert.pem" "$O/west/root-cert.pem"
ok west east "$O/west/root-cert.pem" "$O/east/root-cert.pem"
echo "ok: rotation with cross-certificates, transition bundles and mTLS"

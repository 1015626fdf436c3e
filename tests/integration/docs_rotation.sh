#!/usr/bin/env bash
# docs/rotation.md, word for word (lib/docs_run.sh), after a ceremony and
# two issued clusters.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
# shellcheck source=lib/docs_run.sh
. "$MESHROOT_SRC/tests/integration/lib/docs_run.sh"

ceremony
host cluster new east >/dev/null
host cluster new west >/dev/null
host media export --to "$T/usb" >/dev/null
app sign --media "$T/usb" --yes >/dev/null || fail "sign"
host media import --from "$T/usb" >/dev/null
export MESHROOT_STATE="$T/state" MESHROOT_TOKEN=meshroot-test MESHROOT_WORKSPACE="$T/ws"
meshroot-appliance() {
	# The witnesses' "rotate" comes on stdin, the PIN from the file.
	if [ "${1:-}" = ceremony ] && [ "${2:-}" = rotate ]; then
		"$APPLIANCE" --pin-file "$T/user.pin" "$@" <<<"rotate"
	else
		"$APPLIANCE" --pin-file "$T/user.pin" "$@"
	fi
}
# Run the page as run_doc does; after the first command (the rotation) the
# new root's fingerprint is taken from the appliance, as the operator takes
# it from the transcript for `root rotate --expect-root`.
NEW_ROOT_SHA256=
doc_commands "$MESHROOT_SRC/docs/rotation.md" >"$T/cmds"
[ "$(head -1 "$T/cmds")" = 'meshroot-appliance ceremony rotate --key-label meshroot-root-g2 --common-name "meshroot Root CA G2" --media /media/usb' ] ||
	fail "rotation.md changed its first command: update this test"
n=0
while IFS= read -r line; do
	n=$((n + 1))
	mapped=${line//\/media\//$T/}
	echo "+ $line" >>"$T/doc.log"
	eval "$mapped" >>"$T/doc.log" 2>&1 || fail "rotation.md command $n failed: $line
$(tail -5 "$T/doc.log")"
	if [ "$n" = 1 ]; then
		NEW_ROOT_SHA256=$(openssl x509 -in "$T/state/root-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2)
	fi
done <"$T/cmds"
[ "$n" -ge 10 ] || fail "only $n commands in rotation.md"
for c in east west; do
	[ "$(grep -c BEGIN "$T/usb/phase1/$c/root-cert.pem")" = 2 ] || fail "phase1 $c: both roots"
	[ "$(grep -c BEGIN "$T/usb/phase3/$c/root-cert.pem")" = 1 ] || fail "phase3 $c: new root only"
	openssl x509 -in "$T/usb/phase2/$c/ca-cert.pem" -noout -issuer | grep -q 'G2' || fail "phase2 $c: new root"
done
echo "ok: docs/rotation.md runs as written"

# T1: the real `meshroot` binary (its libusb code) against an emulated USB
# appliance (umockdev) whose handler runs the real appliance core with a
# real SoftHSM2 token: enumeration, submit, operator approval, results, a
# read timeout, a device that disappears, frames that lie about their length,
# a busy device.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
MOCK="$MESHROOT_BIN/tests/usb/usb_mock"
command -v umockdev-wrapper >/dev/null || { echo "SKIP: umockdev-wrapper not installed"; exit 77; }

ceremony
host cluster new east --key ec-p256 >/dev/null
host cluster new west --key ec-p384 >/dev/null
# umockdev-wrapper preloads its library ahead of ASan's runtime (sanitizer builds).
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0"
mock() { local case=$1; shift; timeout 60 "$MOCK" "$case" "$T/state" meshroot-test "$T/user.pin" -- "$HOST" --workspace "$T/ws" "$@"; }

# Enumeration: found by VID/PID, identified by its serial string.
mock auto device --usb > "$T/enum.out" 2>&1 || { cat "$T/enum.out"; fail "enumeration"; }
grep -q "appliance on USB 1209:0001 serial " "$T/enum.out" || { cat "$T/enum.out"; fail "device not identified"; }
serial=$(sed -n 's/.*token meshroot-test (serial \([0-9a-f]*\)).*/\1/p' "$T/enum.out")
[ -n "$serial" ] || fail "no token serial in INFO"
mock auto device --usb="$serial" > /dev/null 2>&1 || fail "selecting by serial"
# DESIGN.md's spaced form: the word after --usb is the serial.
mock auto device --usb "$serial" > /dev/null 2>&1 || fail "selecting by serial (--usb SERIAL)"
mock auto device --usb NOSUCH 2> "$T/err" >/dev/null && fail "a wrong spaced serial was accepted"
grep -q "no meshroot appliance with serial NOSUCH" "$T/err" || { cat "$T/err"; fail "wrong-serial message (spaced)"; }
mock auto device --usb=NOSUCH 2> "$T/err" >/dev/null && fail "a wrong serial was accepted"
grep -q "no meshroot appliance with serial NOSUCH" "$T/err" || { cat "$T/err"; fail "wrong-serial message"; }

# Submit with the appliance approving at once; results checked and written.
mock auto submit --usb --poll-ms 20 > "$T/submit.out" 2>&1 || { cat "$T/submit.out"; fail "submit over USB"; }
grep -q "2 certificate(s) imported" "$T/submit.out" || { cat "$T/submit.out"; fail "not both imported"; }
openssl verify -CAfile "$T/ws/root-cert.pem" "$T/ws/clusters/west/ca-cert.pem" >/dev/null || fail "openssl verify"

# An operator who takes a while: the host shows that it waits, then imports.
host cluster new north --key ec-p256 >/dev/null
mock operator submit --usb --poll-ms 20 north > "$T/op.out" 2>&1 || { cat "$T/op.out"; fail "operator approval"; }
grep -q "waiting for the operator to approve 1 request" "$T/op.out" || { cat "$T/op.out"; fail "no waiting state shown"; }
grep -q "cluster north: certificate accepted" "$T/op.out" || fail "north not imported"
grep -q 'event=approve cluster=north .*by=operator via=usb' "$T/state/audit.log" || fail "USB approval not audited"

# A device that never answers: a read timeout, one clear line.
host cluster new south --key ec-p256 >/dev/null
MESHROOT_LINK_TIMEOUT_MS=300 mock mute device --usb 2> "$T/err" >/dev/null && fail "mute device accepted"
grep -q "error: USB .*no answer from the appliance within 300 ms (timeout)" "$T/err" || { cat "$T/err"; fail "timeout message"; }

# Unplugged after the submission: a clear error; the request stays queued.
mock vanish submit --usb --poll-ms 20 south > "$T/out" 2> "$T/err" && fail "vanished device accepted"
grep -q "went away" "$T/err" || { cat "$T/out" "$T/err"; fail "unplug message"; }

# Replies that lie about their length.
MESHROOT_LINK_TIMEOUT_MS=500 mock liar device --usb 2> "$T/err" >/dev/null && fail "short frame accepted"
grep -q "shorter than its length" "$T/err" || { cat "$T/err"; fail "short frame message"; }
mock huge device --usb 2> "$T/err" >/dev/null && fail "huge frame accepted"
grep -q "beyond the 65524-byte limit" "$T/err" || { cat "$T/err"; fail "huge frame message"; }

# Another program holds the interface.
mock busy device --usb 2> "$T/err" >/dev/null && fail "busy device accepted"
grep -q "error: the appliance is busy" "$T/err" || { cat "$T/err"; fail "busy message"; }

# A certificate whose audit proof was tampered with is not taken.
host cluster new forged --key ec-p256 >/dev/null
mock badproof submit --usb --poll-ms 20 forged > "$T/out" 2> "$T/err" && fail "a forged audit proof was accepted"
grep -q "error: cluster forged: " "$T/err" || { cat "$T/out" "$T/err"; fail "forged proof message"; }
[ ! -e "$T/ws/clusters/forged/ca-cert.pem" ] || fail "certificate kept despite a forged audit proof"
# ... and the same request fetched honestly afterwards is (nothing signed again).
mock auto submit --usb --poll-ms 20 forged > "$T/out" 2>&1 || { cat "$T/out"; fail "refetch after a forged proof"; }
grep -q "cluster forged: serial .* is record [0-9]* of the audit log" "$T/out" || { cat "$T/out"; fail "no verified proof"; }

# Nothing issued twice across all of it.
[ "$(grep -c 'event=issue ' "$T/state/audit.log")" = 4 ] || fail "expected exactly 4 issue records"
echo "USB link under umockdev: ok"

#!/usr/bin/env bash
# Messages for people (docs/operations.md, docs/media.md): each case with
# its exact exit code and its exact one line. PIN and share files others
# can read, a wrong PIN with the tries left, media that are not mounted or
# not ours, metadata files of other systems, cluster names that look like
# options, an import that takes nothing, progress lines that never share a
# line with a message, `status` that checks the token it is given, and
# `sign` that says a missing token, or a broken state dir first.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

appf() { "$APPLIANCE" --state "$T/state" --token meshroot-test "$@"; }

ceremony
host cluster new alpha >/dev/null
host cluster new bravo >/dev/null
host media export --to "$T/media" >/dev/null 2>&1

# --- 1. PIN files others can read or write are refused, as ssh refuses keys.
cp "$T/user.pin" "$T/p644"
chmod 644 "$T/p644"
expect_line 3 "error: PIN file $T/p644 is readable by others (mode 0644); chmod 600 $T/p644" \
	appf --pin-file "$T/p644" sign --media "$T/media" --yes
cp "$T/user.pin" "$T/p620"
chmod 620 "$T/p620"
expect_line 3 "error: PIN file $T/p620 is writable by others (mode 0620); chmod 600 $T/p620" \
	appf --pin-file "$T/p620" sign --media "$T/media" --yes
expect_line 3 "error: PIN file $T/nopin: No such file or directory" \
	appf --pin-file "$T/nopin" sign --media "$T/media" --yes
[ "$(grep -c 'event=login' "$T/state/audit.log")" = 1 ] || fail "a refused PIN file reached the token"

# --- 2. A wrong PIN says so, with what the token says about the tries left.
# SoftHSM2 2.6 sets CKF_USER_PIN_COUNT_LOW after a wrong PIN (never
# FINAL_TRY or LOCKED: token_pin_retries.sh covers those through p11fault).
echo 9999 >"$T/bad.pin"
chmod 600 "$T/bad.pin"
expect_line 5 "error: wrong PIN for token meshroot-test: few tries left (C_Login: CKR_PIN_INCORRECT)" \
	appf --pin-file "$T/bad.pin" sign --media "$T/media" --yes
[ "$(grep -c '^error:' "$T/expect.out")" = 1 ] || { cat "$T/expect.out"; fail "wrong PIN: not one error line"; }
# The next run warns before its login, and a good login clears the state.
expect_line 0 "warning: token meshroot-test: few tries left: a wrong PIN was given since the last good login" \
	app status
app status >"$T/out" 2>&1 || fail "status after a good login: $(cat "$T/out")"
if grep -q 'warning:' "$T/out"; then fail "the warning outlived a good login: $(cat "$T/out")"; fi

# --- 3. Media: not mounted, not ours (before the token is touched).
mkdir "$T/empty"
expect_line 3 "error: $T/nomedia: not mounted (no such directory)" app sign --media "$T/nomedia" --yes
expect_line 3 "error: $T/empty: not a meshroot medium (no meshroot/ directory)" app sign --media "$T/empty" --yes
expect_line 3 "error: $T/nomedia: not mounted (no such directory)" host media import --from "$T/nomedia"
expect_line 3 "error: $T/empty: not a meshroot medium (no meshroot/ directory)" host media import --from "$T/empty"
[ ! -e "$T/nomedia" ] || fail "sign or import created the missing medium"

# --- 5 (appliance side). A request named like an option is skipped.
cp "$T/media/meshroot/requests/alpha.csr" "$T/media/meshroot/requests/-x.csr"

# --- 4. Metadata files of other systems: left out, one note line.
printf '\0\5\26\7' >"$T/media/meshroot/requests/._alpha.csr"
printf 'x' >"$T/media/meshroot/requests/.DS_Store"
printf 'x' >"$T/media/meshroot/requests/Thumbs.db"
expect_line 3 "note: ignored 3 macOS/Windows metadata files (._*, .DS_Store, Thumbs.db, desktop.ini)" \
	app sign --media "$T/media" --yes
[ "$(grep -c '^note: ignored' "$T/expect.out")" = 1 ] || { cat "$T/expect.out"; fail "not one note line"; }
grep -qxF 'request -x.csr: skipped: unexpected file name (want <cluster>.csr, cluster [a-z0-9-]{1,63}, not starting with -)' "$T/expect.out" ||
	{ cat "$T/expect.out"; fail "-x.csr not skipped"; }
grep -qxF 'summary: 2 signed, 0 answered from earlier runs, 0 refused, 1 skipped' "$T/expect.out" ||
	{ cat "$T/expect.out"; fail "metadata files counted as skipped"; }
rm "$T/media/meshroot/requests/-x.csr"
printf '\0\5\26\7' >"$T/media/meshroot/answers/._alpha.pem"

# --- 6. media import: the first takes both, then nothing, with the reason.
expect_line 0 "note: ignored 1 macOS/Windows metadata file (._*, .DS_Store, Thumbs.db, desktop.ini)" \
	host media import --from "$T/media"
grep -qxF '2 certificate(s) imported' "$T/expect.out" || { cat "$T/expect.out"; fail "first import"; }
expect_line 8 "error: nothing to import: every cluster's certificate is already imported (2 cluster(s))" \
	host media import --from "$T/media"
host cluster new charlie >/dev/null
expect_line 8 "error: nothing to import: no answer on $T/media for the 1 waiting cluster(s); its 2 other answer(s) are already imported" \
	host media import --from "$T/media"
mkdir -p "$T/fresh/meshroot"
cp "$T/media/meshroot/root-cert.pem" "$T/fresh/meshroot/"
expect_line 8 "error: nothing to import: no answer on $T/fresh for the 1 waiting cluster(s) (has the appliance run \`sign --media\` on it?)" \
	host media import --from "$T/fresh"

# --- 5. Cluster names must not start with '-'.
expect_line 2 'error: cluster name "-x" must not start with "-"' host cluster new -- -x
[ ! -e "$T/ws/clusters/-x" ] || fail "cluster -x was made"

# --- 7. On a terminal, no message shares a line with the progress meter.
# The appliance draws its meter on stdout, the host on stderr; both are one
# pty here. What the screen shows is the text after the last \r of a line.
if command -v script >/dev/null; then
	# A batch long enough for the meters to draw (fleet_fixture: one shared
	# test key, requests in milliseconds).
	"$MESHROOT_BIN/tests/fleet_fixture" requests "$T/ws" 400 p >/dev/null
	host media export --to "$T/tty" >/dev/null 2>&1
	for i in 00005 00017 00033; do echo garbage >"$T/tty/meshroot/requests/p$i.csr"; done
	script -qec "$APPLIANCE --state $T/state --token meshroot-test --pin-file $T/user.pin sign --media $T/tty --yes" \
		"$T/tty.log" >/dev/null && fail "sign with broken requests on a terminal: exit 0"
	visible=$(tr -d '\033' <"$T/tty.log" | sed -e 's/\[K//g' -e 's/\r$//' | awk -F'\r' '{print $NF}')
	grep -q $'\r''sign: [0-9]*/401, ' "$T/tty.log" || fail "tty: the appliance's meter never drew"
	grep -q '^request p00017.csr: refused: ' <<<"$visible" ||
		fail "tty: the refusal is not on its own line: $(grep -a 'p00017.csr: refused' "$T/tty.log" | cat -A | head -3)"
	grep -qx 'error: 3 of 401 request file(s) not signed' <<<"$visible" ||
		fail "tty: the error is not on its own line: $(grep -a 'error:' "$T/tty.log" | cat -A | head -3)"
	if grep -Eq '.+(error|warning|note):|^sign: [0-9]+/[0-9]+.*request' <<<"$visible"; then
		fail "tty: a message shares a line: $(grep -E '.+(error|warning|note):|^sign: [0-9]+/[0-9]+.*request' <<<"$visible" | head -3)"
	fi
	# The host: an answer cut short is an error in the middle of the meter.
	head -c 100 "$T/tty/meshroot/answers/p00200.pem" >"$T/cut" && mv "$T/cut" "$T/tty/meshroot/answers/p00200.pem"
	script -qec "$HOST --workspace $T/ws media import --from $T/tty" "$T/tty2.log" >/dev/null &&
		fail "import with a broken answer on a terminal: exit 0"
	visible=$(tr -d '\033' <"$T/tty2.log" | sed -e 's/\[K//g' -e 's/\r$//' | awk -F'\r' '{print $NF}')
	grep -q $'\r''import: [0-9]*/' "$T/tty2.log" || fail "tty: the host's meter never drew"
	grep -q '^error: cluster p00200: ' <<<"$visible" || fail "tty: host error not on its own line"
	if grep -Eq '.+(error|warning|note):' <<<"$visible"; then
		fail "tty: a host message shares a line: $(grep -E '.+(error|warning|note):' <<<"$visible" | head -3)"
	fi
else
	echo "note: no script(1): the terminal checks did not run"
fi

# --- 8. status checks the token it is given.
expect_line 5 'error: no token labelled "nosuch" (found: meshroot-test)' \
	"$APPLIANCE" --state "$T/state" --token nosuch --pin-file "$T/user.pin" status
expect_line 3 "error: PIN file $T/nopin: No such file or directory" \
	appf --pin-file "$T/nopin" status
expect_line 5 "error: wrong PIN for token meshroot-test: few tries left (C_Login: CKR_PIN_INCORRECT)" \
	appf --pin-file "$T/bad.pin" status
expect_line 0 "root key:  meshroot-root in the token, ec-p384, matches root-cert.pem" app status
grep -qxF "login:     the PIN opens token meshroot-test" "$T/expect.out" || { cat "$T/expect.out"; fail "status: no login line"; }
grep -Eqx "token:     meshroot-test \(serial [0-9a-f]+\), module .*" "$T/expect.out" || { cat "$T/expect.out"; fail "status: no token line"; }
expect_line 0 "root key:  not checked (it needs a login: --pin-file)" appf status
# Without a token named, status reads the state dir only, as before.
expect_line 0 "custody:   off (the token's own PIN)" "$APPLIANCE" --state "$T/state" status
if grep -q '^token:' "$T/expect.out"; then fail "status without --token looked at a token"; fi

# --- 9. sign opens the token, and the start reads the database, while the
# rest of the state loads: a token that is not there is said so, and the
# state's errors come first, the log's before the database's.
expect_line 5 'error: no token labelled "nosuch" (found: meshroot-test)' \
	"$APPLIANCE" --state "$T/state" --token nosuch --pin-file "$T/user.pin" sign --media "$T/media" --yes
[ "$(grep -c '^error:' "$T/expect.out")" = 1 ] || { cat "$T/expect.out"; fail "no token: not one error line"; }
cp -a "$T/state" "$T/state-broken"
n=$(( $(grep -c '' "$T/state-broken/issued.db") + 1 ))
echo "op=garbage" >>"$T/state-broken/issued.db"
expect_line 1 "error: $T/state-broken/issued.db: line $n unreadable (see \`meshroot-appliance state check\`)" \
	"$APPLIANCE" --state "$T/state-broken" --token nosuch --pin-file "$T/user.pin" sign --media "$T/media" --yes
[ "$(grep -c '^error:' "$T/expect.out")" = 1 ] || { cat "$T/expect.out"; fail "broken state: not one error line"; }
# The database is read while the log is checked: with both broken, the
# log's error is the one said, as when they were read one after the other.
cp -a "$T/state-broken" "$T/state-both"
sed -i '5s/event=root-created/event=root-crEated/' "$T/state-both/audit.log"
expect_line 1 "error: $T/state-both/audit.log: record 6 breaks the hash chain: record 6: prev= is not the SHA-256 of record 5 (that record or this one was altered): refusing to continue (see \`meshroot-appliance state check\`)" \
	"$APPLIANCE" --state "$T/state-both" --token meshroot-test --pin-file "$T/user.pin" sign --media "$T/media" --yes
[ "$(grep -c '^error:' "$T/expect.out")" = 1 ] || { cat "$T/expect.out"; fail "broken log and database: not one error line"; }
echo "PASS: messages"

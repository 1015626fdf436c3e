#!/usr/bin/env bash
# Split custody of the token PIN with a real SoftHSM2 token: a 2-of-3
# ceremony; every pair of shares unlocks the token, one share does not; a
# mistyped share is named before any login is tried (OpenSC's pkcs11-spy
# logs every PKCS#11 call: no C_Login, and no login-failed audit record);
# after `ceremony reshare` the old shares are refused, again without a
# login, and the new ones work. The operator PIN no longer does.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

SPY=/usr/lib/x86_64-linux-gnu/pkcs11/pkcs11-spy.so
[ -e "$SPY" ] || SPY=/usr/lib/x86_64-linux-gnu/pkcs11-spy.so
REAL_MODULE=${MESHROOT_MODULE:-/usr/lib/softhsm/libsofthsm2.so}

"$APPLIANCE" ceremony template |
	sed 's/^split = off/split = on/; s/^shares = 5/shares = 3/; s/^threshold = 3/threshold = 2/' \
		>"$T/split.conf"
app ceremony init --config "$T/split.conf" --yes --shares-dir "$T/shares" >"$T/ceremony.out" ||
	fail "ceremony: $(cat "$T/ceremony.out")"
for i in 1 2 3; do
	[ -f "$T/shares/share-$i.txt" ] || fail "share $i not written"
	[ "$(stat -c %a "$T/shares/share-$i.txt")" = 600 ] || fail "share $i is not 0600"
done
grep -q 'set_id=.* threshold=2 shares=3 pin_check=' "$T/state/custody" || fail "custody state: $(cat "$T/state/custody")"
grep -q 'event=custody-split .*threshold=2 shares=3' "$T/state/audit.log" || fail "no custody-split audit record"
# The PIN itself is never recorded.
! grep -qi 'pin=' "$T/state/audit.log" || fail "a PIN field in the audit log"

# shares DIR N...: a directory holding exactly those shares.
shares() {
	local d=$1; shift
	rm -rf "$d"; mkdir -p "$d"
	for i in "$@"; do cp "$T/shares/share-$i.txt" "$d/"; done
}
# split ARGS...: the appliance with shares instead of the PIN file.
split() { "$APPLIANCE" --state "$T/state" --token meshroot-test "$@"; }
logins() { grep -c 'event=login ' "$T/state/audit.log" || true; }
failed_logins() { grep -c 'event=login-failed' "$T/state/audit.log" || true; }

# Every pair unlocks: each signs a CRL with the root key.
start=$(logins)
for pair in "1 2" "1 3" "2 3"; do
	# shellcheck disable=SC2086
	shares "$T/s" $pair
	split --shares-from "$T/s" crl >"$T/crl.out" 2>&1 || fail "shares $pair: $(cat "$T/crl.out")"
done
[ "$(logins)" = $((start + 3)) ] || fail "expected 3 more logins, audit has $(logins) from $start"

# One share is not enough, and nothing reaches the token.
shares "$T/s" 2
if split --shares-from "$T/s" crl >"$T/one.out" 2>&1; then fail "one share unlocked the token"; fi
grep -q 'holds 1 share, 2 needed' "$T/one.out" || fail "one share: $(cat "$T/one.out")"

# No PIN file opens a split token; the operator's PIN was replaced anyway.
expect_fail 3 '^error: .*split custody is on: the token opens with 2 custody shares' app crl
if pkcs11-tool --module "$REAL_MODULE" --token-label meshroot-test --login --pin 1234 \
	--list-objects >/dev/null 2>&1; then
	fail "the operator PIN still works"
fi

# A mistyped share: one word replaced by another valid word of the same
# list (the PGP lists alternate by position, so share 3's word at the same
# position is one) is caught by the checksum and named, before any login:
# the spy log has no C_Login. Words 8-23 carry the share bytes; with a
# threshold of 2 a byte is the same in every share when its coefficient is
# zero (1 in 256), so take the first position where shares 2 and 3 differ.
shares "$T/s" 1 2
share_words() { grep -v '^#' "$1" | tr -s ' \n' '\n\n' | sed '/^$/d'; }
pos=''
for p in $(seq 8 23); do
	word=$(share_words "$T/s/share-2.txt" | sed -n "${p}p")
	other=$(share_words "$T/shares/share-3.txt" | sed -n "${p}p")
	if [ "$word" != "$other" ]; then pos=$p; break; fi
done
[ -n "$pos" ] || fail "test setup: shares 2 and 3 agree in every share word"
awk -v w="$word" -v o="$other" -v pos="$pos" '/^#/ {print; next}
	{ for (i = 1; i <= NF; i++) { n++; if (n == pos && $i == w) $i = o } print }' \
	"$T/s/share-2.txt" >"$T/s/share-2.tmp" && mv "$T/s/share-2.tmp" "$T/s/share-2.txt" &&
	chmod 600 "$T/s/share-2.txt"
cmp -s "$T/s/share-2.txt" "$T/shares/share-2.txt" && fail "test setup: word $pos of share 2 was not replaced"
before_fail=$(failed_logins); before_ok=$(logins)
if PKCS11SPY="$REAL_MODULE" PKCS11SPY_OUTPUT="$T/spy.log" \
	split --module "$SPY" --shares-from "$T/s" crl >"$T/bad.out" 2>&1; then
	fail "a corrupted share unlocked the token"
fi
grep -q 'share 2 (share-2.txt): checksum mismatch' "$T/bad.out" || fail "bad share: $(cat "$T/bad.out")"
[ -s "$T/spy.log" ] || fail "pkcs11-spy wrote no log"
grep -q 'C_OpenSession' "$T/spy.log" || fail "spy log has no C_OpenSession: not the token under test?"
! grep -q 'C_Login' "$T/spy.log" || fail "a login was tried with a corrupted share"
[ "$(failed_logins)" = "$before_fail" ] || fail "a failed login was audited"
[ "$(logins)" = "$before_ok" ] || fail "a login happened"

# status shows the custody state without the token.
split status >"$T/status.out" || fail "status"
grep -q "custody:   split, any 2 of 3 shares, share set $(sed -n 's/^# share set \([0-9a-f]*\)\..*/\1/p' "$T/shares/share-1.txt")" \
	"$T/status.out" || fail "status: $(cat "$T/status.out")"

# Reshare with shares 1 and 3: new set, new PIN.
shares "$T/s" 1 3
split --shares-from "$T/s" ceremony reshare --yes --shares-dir "$T/new" >"$T/reshare.out" 2>&1 ||
	fail "reshare: $(cat "$T/reshare.out")"
grep -q 'event=custody-reshare .*threshold=2 shares=3' "$T/state/audit.log" || fail "no custody-reshare record"
tr=$(ls "$T/state/transcripts"/reshare-*.txt) || fail "no reshare transcript"
grep -q 'custody: 3 shares of set .*, any 2 unlock' "$tr" || fail "reshare transcript: $(cat "$tr")"
old_set=$(sed -n 's/^# share set \([0-9a-f]*\)\..*/\1/p' "$T/shares/share-1.txt")
new_set=$(sed -n 's/^# share set \([0-9a-f]*\)\..*/\1/p' "$T/new/share-1.txt")
[ -n "$old_set" ] && [ "$old_set" != "$new_set" ] || fail "reshare kept the share set ($old_set)"

# Old shares: refused by set, with no login tried.
shares "$T/s" 1 2
rm -f "$T/spy.log"
before_fail=$(failed_logins)
if PKCS11SPY="$REAL_MODULE" PKCS11SPY_OUTPUT="$T/spy.log" \
	split --module "$SPY" --shares-from "$T/s" crl >"$T/old.out" 2>&1; then
	fail "old shares still unlock the token after reshare"
fi
grep -q "share 1 (share-1.txt): from share set $old_set, but this token's shares are set $new_set" "$T/old.out" ||
	fail "old shares: $(cat "$T/old.out")"
! grep -q 'C_Login' "$T/spy.log" || fail "a login was tried with retired shares"
[ "$(failed_logins)" = "$before_fail" ] || fail "a failed login was audited for retired shares"

# New shares work (any two).
rm -rf "$T/s"; mkdir "$T/s"; cp "$T/new/share-2.txt" "$T/new/share-3.txt" "$T/s/"
split --shares-from "$T/s" crl >"$T/new.out" 2>&1 || fail "new shares: $(cat "$T/new.out")"

# Custodians typing at the console (stdin without a terminal): two shares,
# each ended by an empty line, comment lines and case ignored.
{ tr 'a-z' 'A-Z' <"$T/new/share-1.txt"; echo; cat "$T/new/share-3.txt"; echo; } >"$T/typed"
setsid "$APPLIANCE" --state "$T/state" --token meshroot-test crl <"$T/typed" >"$T/typed.out" 2>&1 ||
	fail "console shares: $(cat "$T/typed.out")"
grep -q 'Custodian 2 of 2' "$T/typed.out" || fail "no prompt for custodian 2: $(cat "$T/typed.out")"
# A typo at the console is named after that custodian's entry.
{ cat "$T/new/share-1.txt"; echo; sed 's/^\([a-z]*\) /\1x /' "$T/new/share-2.txt" | grep -v '^#'; echo; } >"$T/typo"
if setsid "$APPLIANCE" --state "$T/state" --token meshroot-test crl <"$T/typo" >"$T/typo.out" 2>&1; then
	fail "a typo at the console unlocked the token"
fi
grep -q 'error: share 2: word 1 is not a share word' "$T/typo.out" || fail "typo: $(cat "$T/typo.out")"

# A mix of old and new is named too.
rm -rf "$T/s"; mkdir "$T/s"; cp "$T/new/share-1.txt" "$T/s/a.txt"; cp "$T/shares/share-2.txt" "$T/s/b.txt"
if split --shares-from "$T/s" crl >"$T/mix.out" 2>&1; then fail "mixed shares unlocked"; fi
grep -q "share 2 (b.txt): from share set $old_set" "$T/mix.out" || fail "mixed: $(cat "$T/mix.out")"
echo "ok: 2-of-3 custody, checksum before login, reshare retires the old shares"

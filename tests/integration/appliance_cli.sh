#!/usr/bin/env bash
# The appliance's command line: typed confirmations, refusals that name the
# problem in one line, failed logins in the audit log, and a second ceremony
# refused.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

one_error_line() { # the command failed (exit $1, docs/exit-codes.md; no crash) with exactly one "error: " line naming $3
  local code=$1 err=$2 want=$3
  [ "$rc" -eq "$code" ] || { cat "$err"; fail "exit $rc, expected $code"; }
  if grep -qE 'Sanitizer|runtime error:' "$err"; then cat "$err"; fail "sanitizer report"; fi
  [ "$(grep -c '^error: ' "$err")" -eq 1 ] || { cat "$err"; fail "expected one error line"; }
  grep -q "^error: .*$want" "$err" || { cat "$err"; fail "error does not mention: $want"; }
}

"$APPLIANCE" --help | grep -q "ceremony init --config FILE" || fail "--help"
"$APPLIANCE" ceremony template > "$T/c.conf"

# Commands before a ceremony say what to do.
set +e; app sign --media "$T/none" --yes 2>"$T/err"; rc=$?; set -e
one_error_line 1 "$T/err" "holds no root: run .meshroot-appliance ceremony init. first"

# A config typo is named with its line.
sed 's/^key_type = ec-p384/key_typo = ec-p384/' "$T/c.conf" > "$T/typo.conf"
set +e; app ceremony init --config "$T/typo.conf" --yes 2>"$T/err"; rc=$?; set -e
one_error_line 3 "$T/err" "line [0-9]*: unknown key key_typo in \[root\]"
[ ! -e "$T/state/root-cert.pem" ] || fail "a root was written from a bad config"

# Declining the typed confirmation leaves nothing behind.
set +e; echo no | app ceremony init --config "$T/c.conf" 2>"$T/err" >/dev/null; rc=$?; set -e
one_error_line 4 "$T/err" "cancelled by the operator"
[ ! -e "$T/state/root-cert.pem" ] || fail "root written although declined"

# Typing yes runs it.
echo yes | app ceremony init --config "$T/c.conf" > "$T/ceremony.out"
grep -q "Root certificate SHA-256 fingerprint" "$T/ceremony.out" || fail "no fingerprint shown"
fp=$(openssl x509 -in "$T/state/root-cert.pem" -noout -fingerprint -sha256 | cut -d= -f2 | tr 'A-F' 'a-f')
grep -qF "$fp" "$T/ceremony.out" || fail "the fingerprint shown is not the root's ($fp)"
grep -q 'event=ceremony-start .*confirmed_by=operator' "$T/state/audit.log" \
  || fail "confirmation not audited"

# A second ceremony on the same state dir is refused.
set +e; app ceremony init --config "$T/c.conf" --yes 2>"$T/err"; rc=$?; set -e
one_error_line 1 "$T/err" "already holds a root"

# The root key in the token is protected: openssl reads the root and the
# stored config is the reviewed one.
cmp -s "$T/c.conf" "$T/state/ceremony.conf" || fail "stored config differs"

# A wrong PIN is named with its CK_RV and audited; the PIN itself never is.
echo wrong-pin-xyz > "$T/wrong.pin"; chmod 600 "$T/wrong.pin"
mkdir -p "$T/media/meshroot/requests"
set +e
"$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/wrong.pin" \
    sign --media "$T/media" --yes 2>"$T/err" >/dev/null
rc=$?
set -e
one_error_line 5 "$T/err" "C_Login: CKR_PIN_INCORRECT"
grep -q 'event=login-failed .*CKR_PIN_INCORRECT' "$T/state/audit.log" || fail "failed login not audited"
# The log is full of hex hashes: look for the PINs as whole tokens only.
if grep -q -e wrong-pin-xyz -E -e '(^|[^0-9a-f])1234([^0-9a-f]|$)' "$T/state/audit.log"; then
  fail "a PIN reached the audit log"
fi

# Approval on the console: yes for one request, no for the other.
for c in east west; do host cluster new "$c" > /dev/null; done
host media export --to "$T/media" > /dev/null
set +e
printf 'yes\nno\n' | app sign --media "$T/media" > "$T/sign.out" 2> "$T/err"
rc=$?
set -e
[ "$rc" -eq 4 ] || fail "a declined request must make sign exit 4, refused (got $rc)"
grep -q "request east.csr: issued serial" "$T/sign.out" || fail "east not issued"
grep -q "request west.csr: declined by the operator" "$T/sign.out" || fail "west not declined"
[ -f "$T/media/meshroot/answers/west.refused" ] || fail "no refusal answer for west"
grep -q 'event=approve cluster=east .*by=operator' "$T/state/audit.log" || fail "approval not audited"
grep -q 'event=refuse cluster=west .*by=operator reason=declined' "$T/state/audit.log" \
  || fail "decline not audited"

# status works without the token and counts what was issued.
app status > "$T/status.out"
grep -q "issued:    1 certificate" "$T/status.out" || { cat "$T/status.out"; fail "status count"; }

# The root was audited before it was released.
grep -q "event=root-created root_sha256=$(echo "$fp" | tr -d :)" "$T/state/audit.log" \
  || fail "no root-created record before release"

# An edited policy is refused: ceremony.conf must be the config the
# ceremony recorded.
cp "$T/state/ceremony.conf" "$T/conf.bak"
sed -i 's/^max_validity_days = 365/max_validity_days = 3650/' "$T/state/ceremony.conf"
set +e; app status 2>"$T/err" >/dev/null; rc=$?; set -e
one_error_line 1 "$T/err" "is not the config the ceremony recorded"
cp "$T/conf.bak" "$T/state/ceremony.conf"

# A lost issuance database is noticed and completed from the audit log
# (which knows east was issued) before anything is signed, each row an
# audited repair, so east cannot be signed a second time.
mv "$T/state/issued.db" "$T/db.bak"
app status 2>"$T/err" >"$T/out" || { cat "$T/err"; fail "status after a lost issued.db"; }
grep -q "^repaired: serial [0-9a-f]*: audit.log record [0-9]* (issue) has no issue row in issued.db" "$T/err" \
  || { cat "$T/err"; fail "no repair reported for the lost issued.db"; }
grep -q "event=state-repair what=db-row-from-log serial=" "$T/state/audit.log" || fail "repair not audited"
diff <(grep -o '^op=issue serial=[0-9a-f]* request=[0-9a-f]*' "$T/db.bak" | sort) \
     <(grep -o '^op=issue serial=[0-9a-f]* request=[0-9a-f]*' "$T/state/issued.db" | sort) \
  || fail "issued.db rebuilt from the audit log differs from the lost one"

# A refusal replaces an earlier answer for that cluster: east's request is
# replaced by one with a weak key.
openssl req -new -newkey rsa:2048 -nodes -keyout "$T/weak.key" -subj /CN=east \
  -out "$T/media/meshroot/requests/east.csr" 2>/dev/null
set +e
printf 'no\n' | app sign --media "$T/media" > "$T/sign.out" 2> "$T/err"
set -e
[ -f "$T/media/meshroot/answers/east.refused" ] || fail "weak east not refused"
[ ! -e "$T/media/meshroot/answers/east.pem" ] || fail "a stale certificate answer stayed beside the refusal"

# An audit log edited by hand stops the appliance (fail closed).
sed -i '2s/event=login/event=logon/' "$T/state/audit.log"
set +e; app status 2>"$T/err" >/dev/null; rc=$?; set -e
one_error_line 1 "$T/err" "breaks the hash chain"
echo PASS

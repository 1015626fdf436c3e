#!/usr/bin/env bash
# The audit log is tamper-evident: an exported log verifies, and each kind
# of tampering below is detected by `meshroot audit verify`, which names the
# record concerned: a flipped byte anywhere, a dropped, reordered or
# truncated record, a forged checkpoint, a rewritten chain, a log that forks
# from a saved checkpoint.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
ceremony
cp -a "$T/state" "$T/state-after-ceremony"
for c in east west north; do host cluster new "$c" > /dev/null; done
host media export --to "$T/media" east west > /dev/null
app sign --media "$T/media" --yes > /dev/null
host media import --from "$T/media" > "$T/import.out"
grep -q "pinning the audit key" "$T/import.out" || { cat "$T/import.out"; fail "audit key not pinned"; }
cmp -s <(cat "$T/ws/audit-key.pub") "$T/state/audit-key.pub" || fail "pinned audit key differs"
app audit export --to "$T/e1" > /dev/null

# A second batch; the first export's checkpoint is what the auditor saved.
host media export --to "$T/media2" north > /dev/null
app sign --media "$T/media2" --yes > /dev/null
app audit export --to "$T/e2" > /dev/null
host audit verify "$T/e2" --previous "$T/e1/checkpoint" > "$T/ok.out" \
  || { cat "$T/ok.out"; fail "genuine log does not verify"; }
grep -q "consistency proof ok" "$T/ok.out" || fail "no consistency check reported"
grep -q "earlier checkpoint(s): each signs a prefix" "$T/ok.out" || fail "history not checked"
host audit verify "$T/e2" --key "$T/state/audit-key.pub" > /dev/null || fail "--key not accepted"

n=$(wc -l < "$T/e2/audit.log")
line_of() { grep -n "$1" "$T/e2/audit.log" | head -1 | cut -d: -f1; }
k=$(line_of ' event=issue ')   # the first issuance, mid-log
[ "$k" -gt 2 ] && [ "$k" -lt $((n - 2)) ] || fail "unexpected log shape (issue at $k of $n)"

# bad NAME PATTERN: verifying $T/bad fails and stderr matches PATTERN.
bad() {
  if host audit verify "$T/bad" --previous "$T/e1/checkpoint" > "$T/out" 2> "$T/err"; then
    cat "$T/out"; fail "$1: tampering not detected"
  fi
  grep -q -- "$2" "$T/err" || { cat "$T/err"; fail "$1: expected '$2'"; }
}
fresh() { rm -rf "$T/bad"; cp -a "$T/e2" "$T/bad"; }
edit() { # edit PYTHON: runs python on the lines of $T/bad/audit.log (list L, bytes)
  python3 - "$T/bad/audit.log" "$1" <<'PY'
import sys
p, code = sys.argv[1], sys.argv[2]
L = open(p, 'rb').read().split(b'\n')[:-1]
L = [l + b'\n' for l in L]
exec(code)
open(p, 'wb').write(b''.join(L))
PY
}

# 1. A flipped byte: in several fields of the issue record, in the prev=
# of the record after it, and in every record but the last two (each one
# is named, with the chain or the signed root).
for off in 5 12 30 60 -20 -3; do
  fresh
  edit "i=$k-1; b=bytearray(L[i]); b[$off] ^= 0x01; L[i]=bytes(b)"
  bad "flip in record $k at $off" "record $k:"
done
fresh
edit "i=$k; b=bytearray(L[i]); b[-10] ^= 0x01; L[i]=bytes(b)"
bad "flip in prev of record $((k + 1))" "record $((k + 1)):"
for r in $(seq 1 $((n - 2))); do
  fresh
  edit "i=$r-1; b=bytearray(L[i]); b[len(b)//2] ^= 0x04; L[i]=bytes(b)"
  bad "flip in record $r" "record $r:"
done
# The last record has no successor: the signed root names it.
fresh
edit "b=bytearray(L[-1]); b[20] ^= 0x01; L[-1]=bytes(b)"
bad "flip in the last record" "record $n:"

# 2. A dropped record.
fresh
edit "del L[$k-1]"
bad "dropped record" "record $k: has seq=$((k + 1)) where $k belongs"

# 3. Two records swapped.
fresh
edit "L[$k-1], L[$k] = L[$k], L[$k-1]"
bad "reordered records" "record $k: has seq=$((k + 1))"

# 4. Truncated: whole records cut off, or the log cut inside a record.
fresh
edit "del L[-2:]"
bad "truncated log" "record $((n - 1)): missing"
fresh
head -c -7 "$T/e2/audit.log" > "$T/bad/audit.log"
bad "torn log" "record $n: truncated"

# 5. Forged checkpoints.
fresh
sed -i "2s/.*/$((n + 5))/" "$T/bad/checkpoint"
bad "checkpoint with a larger size" "does not verify"
fresh
python3 - "$T/bad/checkpoint" <<'PY'
import sys, base64
p = sys.argv[1]
t = open(p).read().split('\n')
t[2] = base64.b64encode(bytes(32)).decode()
open(p, 'w').write('\n'.join(t))
PY
bad "checkpoint with another root" "does not verify"
# Signed by another Ed25519 key under the same name: not the audit key.
fresh
openssl genpkey -algorithm ed25519 -out "$T/rogue.key" 2>/dev/null
python3 - "$T/bad/checkpoint" "$T/rogue.key" <<'PY'
import sys, subprocess, base64, hashlib
p, key = sys.argv[1], sys.argv[2]
t = open(p, 'rb').read()
body = t[:t.rindex(b'\n\n') + 1]
name = body.split(b'\n')[0]
open(p + '.body', 'wb').write(body)
sig = subprocess.run(['openssl', 'pkeyutl', '-sign', '-inkey', key, '-rawin', '-in', p + '.body'],
                     capture_output=True, check=True).stdout
pub = subprocess.run(['openssl', 'pkey', '-in', key, '-pubout', '-outform', 'DER'],
                     capture_output=True, check=True).stdout[-32:]
kid = hashlib.sha256(name + b'\n\x01' + pub).digest()[:4]
line = '\u2014 '.encode() + name + b' ' + base64.b64encode(kid + sig) + b'\n'
open(p, 'wb').write(body + b'\n' + line)
PY
bad "checkpoint signed by another key" "no signature by the audit key"
# ... and that key swapped into the export too: not the pinned key.
python3 - "$T/bad/audit-key.pub" "$T/rogue.key" "$T/bad/checkpoint" <<'PY'
import sys, subprocess, base64, hashlib
out, key, cp = sys.argv[1:4]
name = open(cp, 'rb').read().split(b'\n')[0]
pub = subprocess.run(['openssl', 'pkey', '-in', key, '-pubout', '-outform', 'DER'],
                     capture_output=True, check=True).stdout[-32:]
kid = hashlib.sha256(name + b'\n\x01' + pub).digest()[:4]
open(out, 'wb').write(name + b'+' + kid.hex().encode() + b'+' + base64.b64encode(b'\x01' + pub) + b'\n')
PY
bad "export with a swapped audit key" "is not the pinned audit key"

# 6. The chain rewritten after an edit of the issue record (every later
# prev= recomputed): the signed checkpoints still catch it, between the
# last checkpoint that matches and the first that does not.
fresh
edit "
import hashlib
L[$k-1] = L[$k-1].replace(b'event=issue', b'event=issue forged=1')
for i in range($k, len(L)):
    h = hashlib.sha256(L[i-1]).hexdigest().encode()
    L[i] = L[i][:L[i].rindex(b'prev=') + 5] + h + b'\n'
"
# Checkpoints are signed once per issuance window, so the verifier names
# the first checkpoint that does not match and the records between it and
# the last one that does: the edited record must lie in that range.
bad "rewritten chain" "does not match the checkpoint signed at"
range=$(grep -o 'the edit would lie in records [0-9]*\.\.[0-9]*' "$T/err" | grep -o '[0-9]*\.\.[0-9]*') ||
  { cat "$T/err"; fail "rewritten chain: no record range named"; }
lo=${range%..*} hi=${range#*..}
[ "$lo" -le "$k" ] && [ "$k" -le "$hi" ] ||
  { cat "$T/err"; fail "rewritten chain: record $k is outside the range $range named"; }
grep -q "record $hi: does not match" "$T/err" || { cat "$T/err"; fail "rewritten chain: record $hi not named"; }

# 7. A fork: the appliance state rolled back to right after the ceremony,
# then a different history signed by the same token.
cp -a "$T/state" "$T/state-real"
rm -rf "$T/state"; cp -a "$T/state-after-ceremony" "$T/state"
host media export --to "$T/media3" north > /dev/null
app sign --media "$T/media3" --yes > /dev/null
app audit export --to "$T/scratch" > /dev/null   # the fork grows past the saved size
app audit export --to "$T/fork" > /dev/null
host audit verify "$T/fork" > /dev/null || fail "the forked log does not verify on its own"
fork_at=$( { cmp "$T/e1/audit.log" "$T/fork/audit.log" || true; } | sed -n 's/.* line \([0-9]*\)$/\1/p')
[ -n "$fork_at" ] || fail "no fork point found"
if host audit verify "$T/fork" --previous "$T/e1/checkpoint" 2> "$T/err"; then
  fail "fork from the saved checkpoint not detected"
fi
grep -q "fork: the log does not extend the previous checkpoint" "$T/err" || { cat "$T/err"; fail "fork not named"; }
if host audit verify "$T/fork" --previous "$T/e1" 2> "$T/err"; then
  fail "fork from the saved export not detected"
fi
grep -q "record $fork_at: differs from record $fork_at of the log reviewed before" "$T/err" \
  || { cat "$T/err"; fail "fork point (record $fork_at) not named"; }
# A log rolled back below the saved checkpoint.
rm -rf "$T/old"; mkdir "$T/old"
cp -a "$T/state-after-ceremony" "$T/state-old"
if "$APPLIANCE" --state "$T/state-old" --token meshroot-test --pin-file "$T/user.pin" \
    audit export --to "$T/old" > /dev/null; then :; else fail "export of the old state"; fi
if host audit verify "$T/old" --previous "$T/e2/checkpoint" 2> "$T/err"; then
  fail "rollback not detected"
fi
grep -q "missing: the previous checkpoint signed" "$T/err" || { cat "$T/err"; fail "rollback not named"; }

# 8. The appliance itself refuses to go on with a tampered log.
rm -rf "$T/state"; cp -a "$T/state-real" "$T/state"
python3 - "$T/state/audit.log" "$k" <<'PY'
import sys
p, k = sys.argv[1], int(sys.argv[2])
L = open(p, 'rb').read().split(b'\n')
L[k - 1] = L[k - 1].replace(b'event=issue', b'event=issuf')
open(p, 'wb').write(b'\n'.join(L))
PY
# status without the token: with a PIN file it would log in, and its
# audited login would append to the log being tampered with.
st() { "$APPLIANCE" --state "$T/state" status; }
expect_fail 1 "^error: .*breaks the hash chain" st
# ... and what the chain alone cannot see: the newest records removed, the
# last one edited, the checkpoint deleted or forged.
appliance_refuses() { # appliance_refuses WHAT PATTERN
  expect_fail 1 "^error: .*$2" st
  rm -rf "$T/state"; cp -a "$T/state-real" "$T/state"
}
rm -rf "$T/state"; cp -a "$T/state-real" "$T/state"
st > /dev/null || fail "the genuine state does not load"
sed -i '$d' "$T/state/audit.log"
appliance_refuses "last record removed" "records were removed"
sed -i '$s/to=/to=x/' "$T/state/audit.log"
appliance_refuses "last record edited" "does not match its signed checkpoint"
rm "$T/state/audit.checkpoint"
appliance_refuses "checkpoint deleted" "no signed checkpoint"
sed -i '2s/.*/1/' "$T/state/audit.checkpoint"
appliance_refuses "checkpoint forged" "does not verify"
echo PASS

#!/usr/bin/env bash
# `meshroot audit` reads the log in pieces and fetches records back through
# a window of 256 KiB (host/cmd_audit.c), so its memory does not grow with
# the log. A log of several windows is verified and shown whole and in
# order (records chained after the checkpoint make it long without a new
# signature); lines longer than any record (the load's slow path, a window
# of the line's own size) and a long torn tail are named as the whole-file
# read named them.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
ceremony
host cluster new east > /dev/null
host media export --to "$T/media" > /dev/null
app sign --media "$T/media" --yes > /dev/null
host media import --from "$T/media" > /dev/null
app audit export --to "$T/e" > /dev/null
signed=$(wc -l < "$T/e/audit.log")
[ "$signed" -gt 3 ] || fail "unexpected log of $signed records"

# copy NAME PYTHON: $T/NAME is the export with PYTHON run on its log (L: the
# lines, bytes, newline included; sha: the hex SHA-256 of a line).
copy() {
  rm -rf "$T/$1"
  cp -a "$T/e" "$T/$1"
  python3 - "$T/$1/audit.log" "$2" <<'PY'
import hashlib, sys
p, code = sys.argv[1], sys.argv[2]
data = open(p, 'rb').read()
L = [l + b'\n' for l in data.split(b'\n')[:-1]]
sha = lambda b: hashlib.sha256(b).hexdigest().encode()
exec(code)
open(p, 'wb').write(b''.join(L))
PY
}

# 1. 800 records of about 1 KiB chained after the signed ones: 0.9 MB.
pad=800
total=$((signed + pad))
copy big "
for i in range($signed + 1, $total + 1):
    L.append(b'seq=%d time=2030-01-01T00:00:00Z event=pad i=%d pad=%s prev=%s\n'
             % (i, i, b'x' * 1000, sha(L[-1])))"
[ "$(stat -c %s "$T/big/audit.log")" -gt $((3 * 262144)) ] || fail "log not past 3 windows"
host audit verify "$T/big" > "$T/v.out" 2> "$T/v.err" || { cat "$T/v.err"; fail "padded log does not verify"; }
grep -qx "warning: records $((signed + 1))..$total are newer than the checkpoint (chained, not yet signed)" \
  "$T/v.out" || { cat "$T/v.out"; fail "verify: the chained records not counted"; }
grep -qx "OK: $T/big verified" "$T/v.out" || fail "verify: no OK"

host audit show "$T/big" > "$T/s.out" || fail "show failed"
[ "$(wc -l < "$T/s.out")" -eq $((total + 2)) ] || fail "show: $(wc -l < "$T/s.out") lines"
tail -1 "$T/s.out" | grep -qx "$total of $total record(s), verified against checkpoint of $signed records" \
  || { tail -1 "$T/s.out"; fail "show: wrong summary"; }
# Each row its own record, in order; a pad row's detail its own i= (pad=
# is longer than the table shows a field; --json below checks it).
awk -v s="$signed" -v last=$((total + 1)) '
  NR > 1 && NR <= last {
    if ($1 != NR - 1 || ($1 > s && ($3 != "pad" || $6 != "i=" $1 || NF != 6))) {
      print "row " NR ": " substr($0, 1, 120); bad = 1; exit
    }
  }
  END { exit bad }' "$T/s.out" || fail "show: rows not the records in order"

host audit show "$T/big" --json > "$T/j.out" || fail "show --json failed"
python3 - "$T/j.out" "$signed" "$total" <<'PY' || fail "show --json: not the records in order"
import json, sys
r = json.load(open(sys.argv[1]))
signed, total = int(sys.argv[2]), int(sys.argv[3])
assert len(r) == total, len(r)
for k, rec in enumerate(r, 1):
    assert rec['seq'] == str(k), (k, rec['seq'])
    if k > signed:
        assert rec['event'] == 'pad' and rec['i'] == str(k) and rec['pad'] == 'x' * 1000, k
PY
host audit show "$T/big" --json --event nothing > "$T/j0.out" || fail "show --json of none failed"
[ "$(cat "$T/j0.out")" = "$(printf '[\n]')" ] || { cat "$T/j0.out"; fail "show --json of none"; }
host audit show "$T/big" --event pad --since 2030 > "$T/f.out" || fail "show --event failed"
tail -1 "$T/f.out" | grep -qx "$pad of $total record(s), verified against checkpoint of $signed records" \
  || { tail -1 "$T/f.out"; fail "show --event pad: wrong count"; }

# expect NAME CODE MESSAGE: verify and show of $T/NAME exit CODE with
# exactly MESSAGE on stderr.
expect() {
  local sub rc
  for sub in verify show; do
    host audit $sub "$T/$1" > "$T/x.out" 2> "$T/x.err" && rc=0 || rc=$?
    [ "$rc" -eq "$2" ] || { cat "$T/x.err"; fail "$1: audit $sub exit $rc, not $2"; }
    [ "$(cat "$T/x.err")" = "$3" ] || { cat "$T/x.err"; fail "$1: audit $sub: expected '$3'"; }
  done
}

# 2. A line of 100 KiB after record 2, then the rest (the load's slow path).
copy long "L.insert(2, b'y' * 100000 + b'\n')"
expect long 7 "error: record 3: longer than 2048 bytes"

# 3. Record 3's prev= altered, record 4 a line of 300 KiB (more than the
# window) whose prev= is record 3's hash: record 2 is blamed.
copy blame "
b = bytearray(L[2]); b[-2] = ord('0') if b[-2] != ord('0') else ord('1'); L[2] = bytes(b)
L[3] = b'seq=4 time=x event=y a=' + b'b' * 300000 + b' prev=' + sha(L[2]) + b'\n'"
expect blame 7 "error: record 2: altered: record 3's prev= no longer matches it (record 3: prev= is not the SHA-256 of record 2 (that record or this one was altered))"

# 4. A torn tail of 100 KiB (no newline).
copy torn "L.append(b'z' * 100000)"
expect torn 7 "error: record $((signed + 1)): truncated (the log ends inside it)"

echo "audit_large: ok ($total records, $(stat -c %s "$T/big/audit.log") bytes)"

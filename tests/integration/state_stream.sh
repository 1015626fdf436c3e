#!/usr/bin/env bash
# `state check` reads audit.log and issued.db in pieces and `audit export`
# copies audit.log in pieces; what they say and write stays as it was:
#   1. a record line of 2049 bytes (one past any record, but within the
#      reader's line limit) and one of 5000 (past it) in the middle of the
#      log: exit 4, both named as the scan names a long record, the
#      records before them intact;
#   2. an issued.db line past any record: exit 4, named by its number;
#   3. audit export: audit.log and checkpoints in DIR are byte for byte
#      the state's, with no temp file left; `meshroot audit verify` accepts
#      them.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
source "$MESHROOT_SRC/tests/integration/lib/run_check.sh"

fresh_state() { rm -rf "$T/state"; cp -a "$T/base" "$T/state"; }
# Line 3 of FILE made N bytes long (newline included), padded with x.
lengthen() {
  local file=$1 n=$2
  awk -v n="$n" 'NR == 3 { while (length($0) < n - 1) $0 = $0 "x" } { print }' "$file" >"$T/tmp"
  cat "$T/tmp" >"$file"
  [ "$(sed -n 3p "$file" | wc -c)" -eq "$n" ] || fail "line 3 of $file is not $n bytes"
}

ceremony
for i in 1 2 3; do host cluster new "c$i" >/dev/null; done
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/sign.out" 2>&1 || { cat "$T/sign.out"; fail "first batch"; }
cp -a "$T/state" "$T/base"
run 0 '^state check: healthy$' app state check

# 1. Long record lines, either side of the reader's line limit.
for n in 2049 5000; do
  fresh_state
  lengthen "$T/state/audit.log" "$n"
  run 4 '^state check: [0-9]+ problem\(s\): ' app state check
  grep -Eq '^problem: audit.log: record 3 \(line 3\) breaks the hash chain: record 3: longer than 2048 bytes; records 1..2 are intact; manual: ' "$T/out" \
    || { cat "$T/out"; fail "record line of $n bytes not named"; }
  grep -q "^not checked: issued.db and audit.log were not compared: the audit log's chain is broken$" "$T/out" \
    || { cat "$T/out"; fail "database compared with a broken log ($n)"; }
done

# 2. A database line past any record.
fresh_state
lengthen "$T/state/issued.db" 5000
run 4 '^state check: [0-9]+ problem\(s\): ' app state check
grep -Eq "^problem: $T/state/issued.db: line 3 unreadable; manual: " "$T/out" \
  || { cat "$T/out"; fail "long database line not named"; }

# 3. The export, copied in pieces.
fresh_state
run 0 '^audit log exported to ' app audit export --to "$T/export"
cmp "$T/export/audit.log" "$T/state/audit.log" || fail "exported audit.log differs from the state's"
cmp "$T/export/checkpoints" "$T/state/audit.checkpoints" || fail "exported checkpoints differ"
cmp "$T/export/audit-key.pub" "$T/state/audit-key.pub" || fail "exported audit-key.pub differs"
[ -z "$(find "$T/export" -name '*.tmp.*')" ] || fail "temp file left in the export"
[ "$(stat -c %a "$T/export/audit.log")" = 644 ] || fail "exported audit.log mode $(stat -c %a "$T/export/audit.log")"
run 0 "^audit log verified|verified" host audit verify --key "$T/state/audit-key.pub" "$T/export"
echo "PASS state_stream"

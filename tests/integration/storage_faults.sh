#!/usr/bin/env bash
# Storage faults in the middle of a batch: meshroot-appliance-iofault
# (tests/fault/iofault.c) fails one write, fsync, rename, link or
# open-for-writing on the media, then on the state dir, in turn for every
# such call of a clean run of a 2-request batch, alternating ENOSPC (a full
# disk: the write is torn half-way) and EIO. After each:
#   - the run stops with an error that names the file and the errno text;
#   - the audit chain verifies (status), database and audit log agree, no
#     temporary file is left and every answer on the media verifies: a
#     half-written file is never released;
#   - a rerun with healthy storage completes the batch, every request
#     issued exactly once.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
IOFAULT="$MESHROOT_BIN/tests/fault/meshroot-appliance-iofault"
[ -x "$IOFAULT" ] || fail "missing $IOFAULT"

# Two requests: the first and a later one of a batch (a third would only
# repeat the second's calls).
clusters="alpha bravo"
ceremony
for c in $clusters; do host cluster new "$c" >/dev/null; done
host media export --to "$T/media" >/dev/null
mkdir -p "$T/snap"
cp -a "$T/state" "$T/tokens" "$T/media" "$T/ws" "$T/snap/"

restore() {
  rm -rf "$T/state" "$T/tokens" "$T/media" "$T/ws"
  cp -a "$T/snap/state" "$T/snap/tokens" "$T/snap/media" "$T/snap/ws" "$T/"
}
faulty() {
  "$IOFAULT" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" "$@"
}

agree() {
  local db="$T/db.txt" log="$T/state/audit.log" dup
  cat "$T/state/issued.db" >"$db" 2>/dev/null || : >"$db"
  diff <(grep -o '^op=issue serial=[0-9a-f]*' "$db" | cut -d= -f3 | sort) \
       <(grep -o 'event=issue serial=[0-9a-f]*' "$log" | cut -d= -f3 | sort) >/dev/null \
    || fail "$1: issued serials differ between database and audit log"
  diff <(grep -o '^op=abandon serial=[0-9a-f]*' "$db" | cut -d= -f3 | sort) \
       <(grep -o 'event=abandon serial=[0-9a-f]*' "$log" | cut -d= -f3 | sort) >/dev/null \
    || fail "$1: abandoned serials differ between database and audit log"
  dup=$(grep -o '^op=reserve serial=[0-9a-f]*' "$db" | sort | uniq -d || true)
  [ -z "$dup" ] || fail "$1: serial reserved twice: $dup"
  [ -z "$(find "$T/media" "$T/state" -name '*.tmp.*')" ] || fail "$1: temp files left"
  local answers=("$T/media/meshroot/answers"/*.pem)
  if [ -e "${answers[0]}" ]; then
    openssl verify -CAfile "$T/state/root-cert.pem" "${answers[@]}" >"$T/verify.out" 2>&1 \
      || { cat "$T/verify.out"; fail "$1: an answer on the media does not verify"; }
  fi
}

points=0 stopped=0 tolerated=0
# inject WHERE N ERRNO
inject() {
  local where=$1 n=$2 err=$3 name rc op text c
  restore
  rm -f "$T/iotrace"
  set +e
  IOFAULT_DIR="$T/$where" IOFAULT_AT="$n" IOFAULT_ERRNO="$err" IOFAULT_TRACE="$T/iotrace" \
    faulty sign --media "$T/media" --yes >"$T/fault.out" 2>&1
  rc=$?
  set -e
  op=$(sed -n 's/^[0-9]* \([a-z]*\) .* injected$/\1/p' "$T/iotrace")
  [ -n "$op" ] || fail "$where:$n: nothing was injected"
  name="$where:$n($op)/$err"
  [ "$rc" -lt 128 ] || { cat "$T/fault.out"; fail "$name: crashed (exit $rc)"; }
  case $err in
    ENOSPC) text="No space left on device" ;;
    EIO) text="Input/output error" ;;
  esac
  if [ "$rc" -ne 0 ]; then
    grep -q "$text" "$T/fault.out" || { cat "$T/fault.out"; fail "$name: error does not say '$text'"; }
    stopped=$((stopped + 1))
  else
    tolerated=$((tolerated + 1))
    echo "note: $name tolerated (batch completed)"
  fi
  app status >"$T/status.out" 2>&1 || { cat "$T/fault.out" "$T/status.out"; fail "$name: status after the fault"; }
  agree "$name"
  app sign --media "$T/media" --yes >"$T/rerun.out" 2>&1 \
    || { cat "$T/fault.out" "$T/rerun.out"; fail "$name: the rerun failed"; }
  for c in $clusters; do
    [ -f "$T/media/meshroot/answers/$c.pem" ] || fail "$name: rerun left $c unanswered"
    [ "$(grep -c "^op=issue .*cluster=$c " "$T/state/issued.db" || true)" = 1 ] \
      || fail "$name: $c issued $(grep -c "^op=issue .*cluster=$c " "$T/state/issued.db" || true) times"
  done
  agree "$name"
  points=$((points + 1))
}

for where in media state; do
  restore
  IOFAULT_DIR="$T/$where" IOFAULT_TRACE="$T/clean.$where" faulty sign --media "$T/media" --yes \
    >"$T/clean.out" 2>&1 || { cat "$T/clean.out"; fail "clean run failed"; }
  total=$(wc -l <"$T/clean.$where")
  [ "$total" -gt 3 ] || fail "only $total storage calls on $where"
  for n in $(seq 1 "$total"); do
    if [ $((n % 2)) -eq 1 ]; then inject "$where" "$n" ENOSPC; else inject "$where" "$n" EIO; fi
  done
done
echo "PASS: $points storage injection points (every write/fsync/rename/link/open of a" \
  "2-request batch on the media and the state dir, ENOSPC or EIO):" \
  "$stopped stopped with a named error, $tolerated completed correctly"

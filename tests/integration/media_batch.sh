#!/usr/bin/env bash
# Batches on the media path at the sizes around the issuance window
# (MR_ISSUE_WINDOW = 32) and at a fleet's size, under the real sandbox
# (the confined request parser): 1, 31, 32, 33 and 300 requests in CI
# (65 instead of 300 under the sanitizers);
# MEDIA_BATCH_SIZES="1000 5000" for the large runs (docs/performance.md).
#
# Each batch: every request issued exactly once (unique serials; issue
# records, database rows and stored certificates agree), every answer on
# the media with its audit proof and no temporary file left, the host
# imports all of them, a rerun signs nothing, the exported audit log
# verifies, and the durable steps are per window (fsync/syncfs counted
# with strace), not per certificate. The same trace checks the per-
# certificate file system calls left out: the audit log and the database
# are opened for writing once per run (not per record), no temp name is
# unlinked before it is created, the signing RNG is seeded once per run
# (not per signature), and no staged file is fchmod'ed when the umask
# cannot narrow its mode.
set -euo pipefail
. "$(dirname "$0")/lib/appliance_env.sh"
FIXTURE="$MESHROOT_BIN/tests/fleet_fixture"
# Under ASan+UBSan every step is several times slower: the window edges
# there, the 300-request batch in the normal build.
if [ "${MESHROOT_SANITIZE:-OFF}" = ON ]; then default="1 31 32 33 65"; else default="1 31 32 33 300"; fi
SIZES=${MEDIA_BATCH_SIZES:-$default}
WINDOW=32
command -v strace >/dev/null || fail "strace is missing (scripts/bootstrap installs it)"

ceremony
cp -a "$T/state" "$T/state.fresh"

for n in $SIZES; do
  rm -rf "$T/state" "$T/ws" "$T/m" "$T/audit"
  cp -a "$T/state.fresh" "$T/state"
  "$FIXTURE" requests "$T/ws" "$n" >/dev/null || fail "$n: fixture"
  host media export --to "$T/m" >/dev/null 2>&1 || fail "$n: media export"

  # The first run under strace: how many durable steps it takes.
  # (LeakSanitizer needs ptrace itself: off in this one traced run of the
  # sanitizer build; the rerun below keeps it.)
  ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -y -o "$T/sync.trace" -e trace=fsync,fdatasync,syncfs,open,openat,unlink,fchmod \
    "$APPLIANCE" --state "$T/state" --token meshroot-test --pin-file "$T/user.pin" \
    sign --media "$T/m" --yes > "$T/sign.out" 2>&1 || { tail -5 "$T/sign.out"; fail "$n: sign"; }
  grep -qx "summary: $n signed, 0 answered from earlier runs, 0 refused, 0 skipped" "$T/sign.out" ||
    { tail -3 "$T/sign.out"; fail "$n: summary"; }
  syncs=$(grep -c -E '^[0-9]+ +(fsync|fdatasync|syncfs)\(' "$T/sync.trace" || true)
  windows=$(( (n + WINDOW - 1) / WINDOW ))
  # Per window: reservations (2), certificate files (2), records (2), the
  # checkpoint (3), the answers (2); plus the batch's start and end.
  limit=$(( 12 * windows + 12 ))
  [ "$syncs" -le "$limit" ] || fail "$n: $syncs fsync/syncfs calls, more than $limit for $windows window(s)"
  for f in audit.log issued.db; do
    opens=$(grep -cE "open(at)?\(.*/state/$f\", O_WRONLY[^)]*\) = [0-9]" "$T/sync.trace" || true)
    [ "$opens" -le 1 ] || fail "$n: $f opened for writing $opens times"
  done
  early=$(grep -cE 'unlink\(".*\.tmp\.[0-9]+"\) = -1 ENOENT' "$T/sync.trace" || true)
  [ "$early" = 0 ] || fail "$n: $early unlinks of temp names that did not exist"
  seeds=$(grep -cE 'open(at)?\(.*"/dev/u?random"' "$T/sync.trace" || true)
  [ "$seeds" -le 4 ] || fail "$n: /dev/urandom opened $seeds times (an RNG per signature?)"
  if [ $(( 8#$(umask) & 8#644 )) = 0 ]; then
    chmods=$(grep -cE 'fchmod\([0-9]+<[^>]*/(answers|certs)/[^>]*\.tmp\.[0-9]+>' "$T/sync.trace" || true)
    [ "$chmods" = 0 ] || fail "$n: $chmods fchmod calls on staged files the create made exact"
  fi

  # Exactly once: n issue records with n distinct serials and clusters,
  # the same in the database, each certificate stored.
  grep -o ' event=issue serial=[0-9a-f]* cluster=[a-z0-9-]*' "$T/state/audit.log" | sort > "$T/issued"
  [ "$(wc -l < "$T/issued")" = "$n" ] || fail "$n: $(wc -l < "$T/issued") issue records"
  [ "$(awk '{print $3}' "$T/issued" | sort -u | wc -l)" = "$n" ] || fail "$n: a cluster issued twice"
  [ "$(awk '{print $2}' "$T/issued" | sort -u | wc -l)" = "$n" ] || fail "$n: a serial used twice"
  [ "$(grep -c '^op=issue ' "$T/state/issued.db")" = "$n" ] || fail "$n: database rows"
  [ "$(ls "$T/state/certs" | wc -l)" = "$n" ] || fail "$n: stored certificates"
  [ "$(ls "$T/m/meshroot/answers" | grep -c '\.pem$')" = "$n" ] || fail "$n: answers"
  [ "$(ls "$T/m/meshroot/answers" | grep -c '\.audit$')" = "$n" ] || fail "$n: audit proofs"
  if find "$T/m" "$T/state" -name '*.tmp.*' | grep -q .; then fail "$n: temporary files left"; fi

  host media import --from "$T/m" > "$T/import.out" 2>&1 || { tail -3 "$T/import.out"; fail "$n: import"; }
  grep -qx "$n certificate(s) imported" "$T/import.out" || { tail -2 "$T/import.out"; fail "$n: imported"; }
  first=$(ls "$T/m/meshroot/answers" | grep '\.pem$' | sed -n 1p)
  openssl verify -CAfile "$T/state/root-cert.pem" "$T/m/meshroot/answers/$first" >/dev/null ||
    fail "$n: openssl verify $first"

  app sign --media "$T/m" --yes > "$T/sign2.out" 2>&1 || { tail -3 "$T/sign2.out"; fail "$n: rerun"; }
  grep -qx "summary: 0 signed, $n answered from earlier runs, 0 refused, 0 skipped" "$T/sign2.out" ||
    { tail -2 "$T/sign2.out"; fail "$n: rerun signed again"; }
  app audit export --to "$T/audit" >/dev/null || fail "$n: audit export"
  host audit verify "$T/audit" >/dev/null 2>"$T/verify.err" || { cat "$T/verify.err"; fail "$n: audit verify"; }
  echo "ok: $n requests: $syncs durable steps for $windows window(s), $seeds RNG seed(s)"
done

# The same request twice on a stick, in two windows: the windows are
# signed side by side, and the second copy must wait for the first to be
# issued, then be answered from it (signed once).
rm -rf "$T/state" "$T/ws" "$T/m"
cp -a "$T/state.fresh" "$T/state"
"$FIXTURE" requests "$T/ws" 40 >/dev/null || fail "dup: fixture"
host media export --to "$T/m" >/dev/null 2>&1 || fail "dup: media export"
first=$(ls "$T/m/meshroot/requests" | sort | sed -n 1p)
cp "$T/m/meshroot/requests/$first" "$T/m/meshroot/requests/zz-again.csr"
app sign --media "$T/m" --yes > "$T/dup.out" 2>&1 || { tail -3 "$T/dup.out"; fail "dup: sign"; }
grep -qx "summary: 40 signed, 1 answered from earlier runs, 0 refused, 0 skipped" "$T/dup.out" ||
  { tail -3 "$T/dup.out"; fail "dup: summary"; }
[ "$(grep -c ' event=issue ' "$T/state/audit.log")" = 40 ] || fail "dup: the same request signed twice"
a=$(openssl x509 -noout -serial -in "$T/m/meshroot/answers/${first%.csr}.pem")
b=$(openssl x509 -noout -serial -in "$T/m/meshroot/answers/zz-again.pem")
[ "$a" = "$b" ] || fail "dup: the two answers differ ($a, $b)"
echo "ok: a request twice, 32 requests apart: signed once"
echo PASS

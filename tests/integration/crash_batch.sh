#!/usr/bin/env bash
# Power loss in the middle of a batch: the appliance is killed with SIGKILL
# at every step of issuing (crash points of the sim board), at the first and
# at a later request of the batch, then run again. Every request must end
# signed exactly once, serials unique, and the issuance database and the
# audit log must agree.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
ceremony

points="after-reserve after-sign after-store after-audit after-db after-answer"
clusters="alpha bravo charlie"
runs=0

for point in $points; do
  for hit in 1 2; do
    rm -rf "$T/state" "$T/ws" "$T/media"
    # A fresh token per scenario keeps labels free for the new ceremony.
    rm -rf "$T/tokens"/*
    softhsm2-util --init-token --free --label meshroot-test --pin 1234 --so-pin 5678 >/dev/null
    ceremony
    for c in $clusters; do host cluster new "$c" >/dev/null; done
    host media export --to "$T/media" >/dev/null

    set +e
    MESHROOT_CRASHPOINT="$point:$hit" app sign --media "$T/media" --yes >"$T/run1.out" 2>&1
    rc=$?
    set -e
    [ "$rc" -eq 137 ] || { cat "$T/run1.out"; fail "$point:$hit: expected SIGKILL (137), got $rc"; }

    app sign --media "$T/media" --yes >"$T/run2.out" 2>&1 \
      || { cat "$T/run2.out"; fail "$point:$hit: the rerun failed"; }
    host media import --from "$T/media" >"$T/import.out" 2>&1 \
      || { cat "$T/import.out"; fail "$point:$hit: import failed"; }

    db="$T/state/issued.db"
    log="$T/state/audit.log"
    for c in $clusters; do
      [ "$(grep -c "^op=issue .*cluster=$c " "$db")" -eq 1 ] \
        || fail "$point:$hit: $c issued $(grep -c "^op=issue .*cluster=$c " "$db") times"
      serial=$(openssl x509 -in "$T/ws/clusters/$c/ca-cert.pem" -noout -serial | cut -d= -f2 \
        | tr 'A-F' 'a-f')
      grep -q "^op=issue serial=$serial " "$db" \
        || fail "$point:$hit: $c's certificate serial $serial is not the database's"
    done
    # Serials unique; every reservation resolved exactly once.
    dup=$(grep -o '^op=reserve serial=[0-9a-f]*' "$db" | sort | uniq -d)
    [ -z "$dup" ] || fail "$point:$hit: serial reserved twice: $dup"
    reserved=$(grep -c '^op=reserve ' "$db")
    resolved=$(grep -cE '^op=(issue|abandon) ' "$db")
    [ "$reserved" -eq "$resolved" ] || fail "$point:$hit: $reserved reserved, $resolved resolved"
    # The database and the audit log agree, serial by serial.
    diff <(grep -o '^op=issue serial=[0-9a-f]*' "$db" | cut -d= -f3 | sort) \
         <(grep -o 'event=issue serial=[0-9a-f]*' "$log" | cut -d= -f3 | sort) \
      || fail "$point:$hit: issued serials differ between database and audit log"
    diff <(grep -o '^op=abandon serial=[0-9a-f]*' "$db" | cut -d= -f3 | sort) \
         <(grep -o 'event=abandon serial=[0-9a-f]*' "$log" | cut -d= -f3 | sort) \
      || fail "$point:$hit: abandoned serials differ between database and audit log"
    # No half-written file anywhere.
    leftovers=$(find "$T/media" "$T/state" -name '*.tmp.*')
    [ -z "$leftovers" ] || fail "$point:$hit: temp files left: $leftovers"
    runs=$((runs + 1))
  done
done
echo "PASS: $runs crash scenarios"

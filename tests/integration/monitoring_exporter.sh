#!/usr/bin/env bash
# contrib/meshroot-textfile-exporter (docs/monitoring.md): `meshroot status
# --json` into node_exporter textfile metrics, and an ALERT line (exit 1)
# for every intermediate under 30 days. Intermediates of 20 days from a
# real ceremony, the metrics checked against openssl's notAfter; a
# threshold under 20 days alerts on nothing; an unreadable workspace is
# meshroot_status_up 0 and exit 2.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
EXPORTER="$MESHROOT_SRC/contrib/meshroot-textfile-exporter"

"$APPLIANCE" ceremony template | sed 's/^max_validity_days = .*/max_validity_days = 20/' >"$T/c.conf"
ceremony "$T/c.conf"
host cluster new east --key ec-p256 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null || fail "sign"
host media import --from "$T/media" >/dev/null
host cluster new west --key ec-p256 >/dev/null # waiting: no expiry yet

run_exporter() { # RC ARGS...: runs the exporter, wants exit RC; stderr in $T/exp.err
  local want=$1 rc
  shift
  set +e
  /usr/bin/python3 "$EXPORTER" --meshroot "$HOST" --out "$T/meshroot.prom" "$@" 2>"$T/exp.err"
  rc=$?
  set -e
  [ "$rc" -eq "$want" ] || { cat "$T/exp.err"; fail "exporter $*: exit $rc, expected $want"; }
}

# Whole days left by openssl's notAfter, taken right before and right
# after the exporter's run: its own clock reads between the two (a 20-day
# certificate issued within the same second reads 20 before and may read
# 19 a second later).
end=$(date -u -d "$(openssl x509 -in "$T/ws/clusters/east/ca-cert.pem" -noout -enddate | cut -d= -f2)" +%s)
want_before=$(( (end - $(date -u +%s)) / 86400 ))
run_exporter 1 --workspace "$T/ws"
want=$(( (end - $(date -u +%s)) / 86400 ))
got=$(sed -n 's/^meshroot_intermediate_days_left{cluster="east",state="issued"} \([0-9-]*\)$/\1/p' "$T/meshroot.prom")
[ -n "$got" ] && [ "$got" -le "$want_before" ] && [ "$got" -ge "$want" ] ||
  { cat "$T/meshroot.prom"; fail "east: want $want to $want_before days left (openssl), got '$got'"; }
want=$got
! grep -q 'cluster="west"' "$T/meshroot.prom" || fail "a waiting cluster has an expiry metric"
grep -qx 'meshroot_status_up 1' "$T/meshroot.prom" || fail "status_up"
grep -qx 'meshroot_status_exit_code 1' "$T/meshroot.prom" || fail "exit code metric"
grep -qE '^meshroot_root_days_left [0-9]+$' "$T/meshroot.prom" || fail "root metric"
grep -qx "ALERT: cluster east: intermediate CA has $want day(s) left (under 30): meshroot cluster renew east" \
  "$T/exp.err" || { cat "$T/exp.err"; fail "no alert for east"; }
[ "$(grep -c '^ALERT' "$T/exp.err")" = 1 ] || fail "alerts for more than east"
# The file is what a Prometheus text parser takes: every sample line is
# NAME{LABELS} VALUE or NAME VALUE, every metric has HELP and TYPE.
awk '/^#/ {next} !/^[a-z_]+(\{[a-z_]+="[^"]*"(,[a-z_]+="[^"]*")*\})? -?[0-9]+$/ {print "bad line: " $0; bad=1} END {exit bad}' \
  "$T/meshroot.prom" || fail "not the text format"
for m in $(grep -v '^#' "$T/meshroot.prom" | sed 's/[{ ].*//' | sort -u); do
  grep -q "^# TYPE $m gauge" "$T/meshroot.prom" || fail "$m has no TYPE"
done

run_exporter 0 --workspace "$T/ws" --alert-days 10
[ ! -s "$T/exp.err" ] || { cat "$T/exp.err"; fail "alerts under 10 days"; }
grep -qx 'meshroot_status_exit_code 0' "$T/meshroot.prom" || fail "exit code metric at 10 days"

touch "$T/not-a-dir"
run_exporter 2 --workspace "$T/not-a-dir"
grep -qx 'meshroot_status_up 0' "$T/meshroot.prom" || { cat "$T/meshroot.prom"; fail "status_up 0"; }
grep -q '^error: .*Not a directory' "$T/exp.err" || { cat "$T/exp.err"; fail "no error"; }
[ -z "$(find "$T" -maxdepth 1 -name '.meshroot-*.tmp')" ] || fail "temporary file left"
echo "ok: the textfile exporter's metrics and alerts agree with openssl"

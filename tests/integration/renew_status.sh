#!/usr/bin/env bash
# `cluster renew` (new key by default; the old certificate and key stay in
# service until the new certificate is imported) and `status` warnings with
# thresholds and the monitoring exit code (0 fine, 1 warning, 2 critical).
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"

ceremony
host cluster new east --key ec-p256 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null || fail "sign"
host media import --from "$T/media" >/dev/null
C="$T/ws/clusters/east"

st() { set +e; host status "$@" >"$T/st.out" 2>&1; rc=$?; set -e; }
st
[ "$rc" = 0 ] || fail "status of a fresh workspace: exit $rc: $(cat "$T/st.out")"
st --warn-days 400
[ "$rc" = 1 ] || fail "status --warn-days 400: exit $rc, want 1"
grep -q "warning: cluster east's intermediate expires in 36[45] days (threshold 400)" "$T/st.out" ||
	fail "no intermediate warning: $(cat "$T/st.out")"
st --root-warn-days 8000
[ "$rc" = 1 ] || fail "status --root-warn-days 8000: exit $rc, want 1"
grep -q 'warning: the root expires in' "$T/st.out" || fail "no root warning: $(cat "$T/st.out")"
st --warn-days x
[ "$rc" = 2 ] || fail "bad usage: exit $rc, want 2 (usage, as everywhere)"

cp "$C/ca-cert.pem" "$T/old-cert.pem"; cp "$C/ca-key.pem" "$T/old-key.pem"
host cluster renew east --key ec-p384 >"$T/renew.out" || fail "renew: $(cat "$T/renew.out")"
cmp -s "$C/ca-cert.pem" "$T/old-cert.pem" || fail "renew replaced the certificate before import"
cmp -s "$C/ca-key.pem" "$T/old-key.pem" || fail "renew replaced the key in service"
[ "$(stat -c %a "$C/ca-key.next.pem")" = 600 ] || fail "the new key is not 0600"
st
[ "$rc" = 0 ] || fail "status while renewing: exit $rc"
awk '$1 == "east" && $2 == "renewing" {f=1} END {exit !f}' "$T/st.out" || fail "not renewing: $(cat "$T/st.out")"
expect_fail 1 '^error: cluster east has no certificate in service to renew (a renewal is already waiting)' \
  host cluster renew east

host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >"$T/renew-sign.out" || fail "sign renewal"
# The operator sees which certificate the cluster has now.
old_serial=$(openssl x509 -in "$T/old-cert.pem" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f')
grep -q "issued before: serial $old_serial, valid until [0-9-]* (this is a renewal)" "$T/renew-sign.out" ||
	fail "the renewal was not shown as one: $(cat "$T/renew-sign.out")"
host media import --from "$T/media" >"$T/imp.out" || fail "import: $(cat "$T/imp.out")"
grep -q 'renewal complete' "$T/imp.out" || fail "import: $(cat "$T/imp.out")"
[ ! -e "$C/ca-key.next.pem" ] || fail "ca-key.next.pem left behind"
cmp -s "$C/ca-key.prev.pem" "$T/old-key.pem" || fail "old key not kept as ca-key.prev.pem"
openssl x509 -in "$C/ca-cert.pem" -noout -pubkey >"$T/c.pub"
openssl pkey -in "$C/ca-key.pem" -pubout >"$T/k.pub"
cmp -s "$T/c.pub" "$T/k.pub" || fail "new certificate and key do not match"
openssl x509 -in "$C/ca-cert.pem" -noout -text | grep -q 'NIST CURVE: P-384' || fail "renewal ignored --key ec-p384"
! cmp -s "$C/ca-cert.pem" "$T/old-cert.pem" || fail "certificate not renewed"
host bundle east --out "$T/out" >/dev/null || fail "bundle after renewal"

# A revoked intermediate is critical.
serial=$(openssl x509 -in "$C/ca-cert.pem" -noout -serial | cut -d= -f2)
app revoke "$serial" --reason superseded --yes >/dev/null || fail "revoke"
app crl --media "$T/media" >/dev/null || fail "crl"
host media import --from "$T/media" >/dev/null || fail "import crl"
st
[ "$rc" = 2 ] || fail "status with a revoked intermediate: exit $rc, want 2"
awk '$1 == "east" && $2 == "REVOKED" {f=1} END {exit !f}' "$T/st.out" || fail "not REVOKED: $(cat "$T/st.out")"
st --crl-warn-days 100
grep -q 'warning: the root CRL expires in' "$T/st.out" || fail "no CRL warning: $(cat "$T/st.out")"
echo "ok: renew keeps the old pair until import; status thresholds and exit codes"

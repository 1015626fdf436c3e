#!/usr/bin/env bash
# Benchmark (not a ctest): `meshroot audit verify` on a log of N records
# (default 1,000,000), against plain `sha256sum` over the same bytes in the
# same run. The log is generated with a valid hash chain (issue/approve
# records shaped like the appliance's), an RFC 9162 root and a checkpoint
# signed with an Ed25519 key (openssl), so verify does all of its work.
#
#   tests/bench/audit_verify.sh [BUILD_DIR] [N]
# Prints the sizes, the median of 3 runs of each, and the ratio.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:-$top/build}
n=${2:-1000000}
host="$build/meshroot"
[ -x "$host" ] || { echo "error: $host not built" >&2; exit 1; }
if [ -n "${MESHROOT_BENCH_KEEP:-}" ]; then
  T=$MESHROOT_BENCH_KEEP; rm -rf "$T"; mkdir -p "$T"   # kept for profiling
else
  T=$(mktemp -d)
  trap 'rm -rf "$T"' EXIT
fi
mkdir -p "$T/export"

openssl genpkey -algorithm ed25519 -out "$T/k.pem" 2>/dev/null
openssl pkey -in "$T/k.pem" -pubout -outform DER 2>/dev/null | tail -c 32 > "$T/pub"

python3 - "$T" "$n" <<'PY'
import base64, hashlib, os, sys
d, n = sys.argv[1], int(sys.argv[2])
sha = hashlib.sha256
pub = open(f"{d}/pub", "rb").read()
name = b"meshroot/audit/" + sha(pub).hexdigest()[:16].encode()
kid = sha(name + b"\n\x01" + pub).digest()[:4]
open(f"{d}/export/audit-key.pub", "wb").write(
    name + b"+" + kid.hex().encode() + b"+" + base64.b64encode(b"\x01" + pub) + b"\n")
prev = bytes(32)
# RFC 9162 root, incrementally: a stack of complete subtrees.
stack = []
out = open(f"{d}/export/audit.log", "wb", buffering=1 << 20)
for i in range(1, n + 1):
    h = sha(i.to_bytes(8, "big")).hexdigest()
    if i % 2:
        line = (f"seq={i} time=2026-11-27T02:00:00Z event=approve cluster=c{i % 997} "
                f"request={h} key_type=ec-p256 by=operator prev={prev.hex()}\n")
    else:
        line = (f"seq={i} time=2026-11-27T02:00:00Z event=issue serial={h[:32]} "
                f"cluster=c{i % 997} request={h} subject=O%3DExample%20Org%2CL%3Dc{i % 997}%2CCN%3Dc{i % 997} "
                f"key_type=ec-p256 key={h} not_before=1795000000 not_after=1826536000 "
                f"cert={h} prev={prev.hex()}\n")
    b = line.encode()
    out.write(b)
    prev = sha(b).digest()
    node = sha(b"\x00" + b).digest()
    size = i - 1
    stack.append(node)
    while size & 1:
        r = stack.pop(); l = stack.pop()
        stack.append(sha(b"\x01" + l + r).digest())
        size >>= 1
out.close()
root = stack[-1]
for h in reversed(stack[:-1]):
    root = sha(b"\x01" + h + root).digest()
body = name + b"\n" + str(n).encode() + b"\n" + base64.b64encode(root) + b"\ntime 2026-11-27T02:00:00Z\n"
open(f"{d}/body", "wb").write(body)
PY
openssl pkeyutl -sign -inkey "$T/k.pem" -rawin -in "$T/body" > "$T/sig"
python3 - "$T" <<'PY'
import base64, sys
d = sys.argv[1]
body = open(f"{d}/body", "rb").read()
kid = bytes.fromhex(open(f"{d}/export/audit-key.pub").read().split("+")[1])
name = body.split(b"\n")[0]
sig = open(f"{d}/sig", "rb").read()
open(f"{d}/export/checkpoint", "wb").write(
    body + b"\n" + "\u2014 ".encode() + name + b" " + base64.b64encode(kid + sig) + b"\n")
PY

bytes=$(stat -c %s "$T/export/audit.log")
# Warm the page cache for both.
cat "$T/export/audit.log" > /dev/null
"$host" --workspace "$T/ws" audit verify "$T/export" --key "$T/export/audit-key.pub" > "$T/verify.out" \
  || { cat "$T/verify.out"; echo "error: the generated log does not verify" >&2; exit 1; }

now() { date +%s.%N; }
median() { sort -n | sed -n 2p; }
times_v=() times_s=()
for run in 1 2 3; do
  t0=$(now); "$host" --workspace "$T/ws" audit verify "$T/export" --key "$T/export/audit-key.pub" > /dev/null; t1=$(now)
  sha256sum "$T/export/audit.log" > /dev/null; t2=$(now)
  times_v+=("$(echo "$t1 - $t0" | bc -l)")
  times_s+=("$(echo "$t2 - $t1" | bc -l)")
done
v=$(printf '%s\n' "${times_v[@]}" | median)
s=$(printf '%s\n' "${times_s[@]}" | median)
printf 'records:            %d\n' "$n"
printf 'log size:           %d bytes (%.1f MiB)\n' "$bytes" "$(echo "$bytes / 1048576" | bc -l)"
printf 'audit verify:       %.3f s (median of 3)  %.0f records/s  %.1f MiB/s\n' "$v" \
  "$(echo "$n / $v" | bc -l)" "$(echo "$bytes / 1048576 / $v" | bc -l)"
printf 'sha256sum:          %.3f s (median of 3)  %.1f MiB/s\n' "$s" "$(echo "$bytes / 1048576 / $s" | bc -l)"
printf 'ratio verify/sha256sum: %.2f\n' "$(echo "$v / $s" | bc -l)"

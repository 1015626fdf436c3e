#!/usr/bin/env bash
# The stick pulled in the middle of a batch, on a real FAT file system:
# a vfat image on a loop device, ~60 requests, `sign --media` killed with
# SIGKILL once the first window's answers are on the stick, the image
# copied at that moment (what the device holds when it is pulled: nothing
# the kernel had not yet written reaches it), a lazy unmount. The copy is
# checked with fsck.vfat -a and mounted again; then:
#   - the next `sign --media` recovers: every request answered exactly
#     once, serials unique, no temporary file left on the stick, and
#     `state check` exits 0;
#   - `media import` takes every good answer, and refuses an answer cut
#     in half with exit 1 and a line naming the file as incomplete.
# Needs root, loop devices and the kernel's vfat: without them a skip
# (exit 77) with the reason, never a pass.
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
FIXTURE="$MESHROOT_BIN/tests/fleet_fixture"
N=${PULLED_MEDIA_REQUESTS:-60}

[ "$(id -u)" = 0 ] || skip "needs root for losetup and mount"
for tool in losetup mkfs.vfat fsck.vfat mount umount; do
  command -v "$tool" >/dev/null || skip "$tool is not installed"
done
[ -e /dev/loop-control ] || skip "no loop devices here (/dev/loop-control missing)"
grep -qw vfat /proc/filesystems ||
  skip "the kernel has no vfat file system (not in /proc/filesystems, no module loaded)"

IMG="$T/stick.img"
MNT="$T/mnt"
LOOP=""
mkdir -p "$MNT"
# Unmounts and detaches whatever is still attached, then the usual cleanup.
cleanup() {
  if mountpoint -q "$MNT"; then umount -l "$MNT" || true; fi
  if [ -n "$LOOP" ]; then losetup -d "$LOOP" 2>/dev/null || true; fi
  rm -rf "$T"
}
trap cleanup EXIT

# attach FILE: a loop device for FILE in $LOOP, mounted (vfat) on $MNT.
attach() {
  LOOP=$(losetup -f --show "$1" 2>"$T/attach.err") ||
    skip "losetup cannot attach a loop device here: $(head -1 "$T/attach.err")"
  mount -t vfat -o rw,uid=0,gid=0,umask=022 "$LOOP" "$MNT" 2>"$T/attach.err" ||
    skip "cannot mount vfat here: $(head -1 "$T/attach.err")"
}
# The pull: the mount let go lazily, the loop device detached.
detach() {
  umount -l "$MNT"
  losetup -d "$LOOP"
  LOOP=""
}

truncate -s 64M "$IMG"
mkfs.vfat -F 32 -n MESHROOT "$IMG" >/dev/null || fail "mkfs.vfat failed"
attach "$IMG"

ceremony
"$FIXTURE" requests "$T/ws" "$N" >/dev/null || fail "fleet_fixture requests"
host media export --to "$MNT" >/dev/null || fail "media export"
sync -f "$MNT"
[ "$(ls "$MNT/meshroot/requests" | grep -c '\.csr$')" = "$N" ] || fail "export wrote no $N requests"

# The pull: the appliance runs; when the first answer is on the stick it is
# killed, the image is copied as the device holds it, the mount let go.
app sign --media "$MNT" --yes >"$T/run1.out" 2>&1 &
pid=$!
for _ in $(seq 1 2000); do
  compgen -G "$MNT/meshroot/answers/*.pem" >/dev/null && break
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.005
done
kill -KILL "$pid" 2>/dev/null || true
set +e; wait "$pid"; rc=$?; set -e
[ "$rc" -eq 137 ] || { cat "$T/run1.out"; fail "the first run ended with $rc before it was pulled"; }
cp --sparse=always "$IMG" "$T/pulled.img"
detach
answers1=$(grep -c '^request .*: issued serial' "$T/run1.out" || true)
echo "pulled: $answers1 of $N reported issued before SIGKILL"

# The pulled stick, checked and repaired by fsck.vfat -a as a user would.
set +e; fsck.vfat -a "$T/pulled.img" >"$T/fsck.out" 2>&1; frc=$?; set -e
echo "fsck.vfat -a: exit $frc"; sed 's/^/  fsck: /' "$T/fsck.out"
[ "$frc" -le 1 ] || fail "fsck.vfat could not repair the pulled stick (exit $frc)"
attach "$T/pulled.img"
tmp1=$(find "$MNT" -name '*.tmp.*' | wc -l)
echo "temporary files on the pulled stick: $tmp1"
# Whether the kill left a temp file depends on the moment it hit: one is
# planted too, as a kill between a window's temp writes and its renames
# leaves it (the pid of a run that no longer exists).
mkdir -p "$MNT/meshroot/answers"
head -c 700 "$T/state/root-cert.pem" > "$MNT/meshroot/answers/c00001.pem.tmp.99999999"

# The recovering run: every request answered, nothing signed twice.
app sign --media "$MNT" --yes >"$T/run2.out" 2>&1 || { tail -5 "$T/run2.out"; fail "the recovering run failed"; }
grep -q "^summary: .*0 refused, 0 skipped$" "$T/run2.out" || { tail -3 "$T/run2.out"; fail "recovering run summary"; }
echo "recovering run: $(grep '^summary:' "$T/run2.out")"
grep -qx "media $MNT: removed $((tmp1 + 1)) temporary file(s) left by an interrupted run" \
  "$T/run2.out" || { head -3 "$T/run2.out"; fail "the recovering run did not remove the temp files"; }
leftovers=$(find "$MNT" -name '*.tmp.*')
[ -z "$leftovers" ] || fail "temporary files left on the stick: $leftovers"
db="$T/state/issued.db"
[ "$(grep -c '^op=issue ' "$db")" = "$N" ] || fail "$(grep -c '^op=issue ' "$db") issue rows, want $N"
dup=$(grep -o '^op=issue .*cluster=[a-z0-9-]*' "$db" | grep -o 'cluster=[a-z0-9-]*' | sort | uniq -d)
[ -z "$dup" ] || fail "issued twice: $dup"
dup=$(grep -o '^op=reserve serial=[0-9a-f]*' "$db" | sort | uniq -d)
[ -z "$dup" ] || fail "serial reserved twice: $dup"
[ "$(grep -o '^op=issue serial=[0-9a-f]*' "$db" | sort -u | wc -l)" = "$N" ] || fail "serials not unique"
[ "$(ls "$MNT/meshroot/answers" | grep -c '\.pem$')" = "$N" ] || fail "not $N answers on the stick"
[ "$(ls "$MNT/meshroot/answers" | grep -c '\.audit$')" = "$N" ] || fail "not $N audit proofs on the stick"
app state check >"$T/check.out" 2>&1 || { cat "$T/check.out"; fail "state check after the recovery"; }

# One answer cut in half, as a stick pulled mid-write by another writer
# would leave it: media import takes the rest and names that one.
victim=$(ls "$MNT/meshroot/answers" | grep '\.pem$' | head -1)
vc=${victim%.pem}
size=$(stat -c %s "$MNT/meshroot/answers/$victim")
truncate -s $((size / 3)) "$MNT/meshroot/answers/$victim"
sync -f "$MNT"
expect_fail 3 "^error: cluster $vc: $MNT/meshroot/answers/$victim: incomplete or not a certificate (malformed PEM CERTIFICATE block): not taken; a new \`sign --media\` run writes it again$" \
  host media import --from "$MNT"
grep -qx "$((N - 1)) certificate(s) imported" "$T/expect.out" ||
  { tail -3 "$T/expect.out"; fail "the good answers were not all imported"; }
grep -qx "error: 1 answer(s) not taken (see above)" "$T/expect.out" ||
  { tail -3 "$T/expect.out"; fail "no summary of the refused answer"; }
echo "half-written answer: $(grep "cluster $vc:" "$T/expect.out")"
[ ! -e "$T/ws/clusters/$vc/ca-cert.pem" ] || fail "the cut answer was taken into the workspace"
echo "PASS: pulled after $answers1 answer(s); $N answered exactly once after recovery"

# T4: the real FunctionFS appliance daemon (`serve --usb`) and the real host
# binary (`submit --usb`, libusb) in a throwaway VM whose kernel wires a
# dummy_hcd host controller to the gadget: a signing round trip over USB.
# The kernel is Debian's linux-image package (apt-get download, never
# installed), cached in the build dir. Skipped, with the reason, only where
# qemu or the kernel package cannot be had.
source "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
skip() { echo "SKIP: $*"; exit 77; }
command -v qemu-system-x86_64 >/dev/null || skip "qemu-system-x86_64 not installed (scripts/bootstrap installs qemu-system-x86)"

KDIR=${MESHROOT_KERNEL_DIR:-$MESHROOT_BIN/gadget-kernel}
MODS="drivers/usb/common/usb-common drivers/usb/core/usbcore fs/configfs/configfs
  drivers/usb/gadget/udc/udc-core drivers/usb/gadget/libcomposite
  drivers/usb/gadget/function/usb_f_fs drivers/usb/gadget/udc/dummy_hcd"
if [ ! -f "$KDIR/vmlinuz" ]; then
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | awk '/Depends: linux-image-[0-9]/ {print $2; exit}')
  [ -n "$pkg" ] || skip "no linux-image package known to apt (run apt-get update)"
  mkdir -p "$T/deb" "$KDIR.tmp"
  (cd "$T/deb" && apt-get download "$pkg" >/dev/null 2>&1) || skip "apt-get download $pkg failed"
  dpkg-deb --fsys-tarfile "$T"/deb/*.deb | tar -x -C "$KDIR.tmp" --wildcards './boot/vmlinuz-*' \
    $(for m in $MODS; do printf "./lib/modules/*/kernel/%s.ko " "$m"; done) || skip "cannot unpack $pkg"
  mkdir -p "$KDIR/modules"
  cp "$KDIR.tmp"/boot/vmlinuz-* "$KDIR/vmlinuz"
  for m in $MODS; do cp "$KDIR.tmp"/lib/modules/*/kernel/"$m".ko "$KDIR/modules/"; done
  rm -rf "$KDIR.tmp"
fi

ceremony
host cluster new east --key ec-p256 >/dev/null

# The initramfs: init, both binaries and their libraries, SoftHSM2, the
# token, the appliance state and the host workspace.
list="$T/initrd.list"
{
  for d in bin lib lib64 lib/x86_64-linux-gnu usr usr/lib usr/lib/softhsm proc sys dev tmp modules; do
    echo "/$d -"
  done
  echo "/init $MESHROOT_BIN/tests/usb/gadget_init"
  echo "/bin/meshroot $HOST"
  echo "/bin/meshroot-appliance $APPLIANCE"
  echo "/usr/lib/softhsm/libsofthsm2.so /usr/lib/softhsm/libsofthsm2.so"
  ldd "$HOST" "$APPLIANCE" /usr/lib/softhsm/libsofthsm2.so \
    | awk '/=>/ && $3 ~ /^\// {print $3} /^\t\/lib64/ {print $1}' | sort -u \
    | while read -r lib; do echo "$lib $lib"; done
  for m in $MODS; do echo "/modules/$(basename "$m").ko $KDIR/modules/$(basename "$m").ko"; done
  echo "/user.pin $T/user.pin"
  printf 'directories.tokendir = /tokens\n' > "$T/softhsm2.vm.conf"
  echo "/softhsm2.conf $T/softhsm2.vm.conf"
  for tree in state tokens ws; do
    (cd "$T/$tree" && find . -mindepth 0 -type d | sed "s|^\.|/$tree|; s|$| -|")
    (cd "$T/$tree" && find . -type f | while read -r f; do echo "/$tree/${f#./} $T/$tree/${f#./}"; done)
  done
} > "$list"
"$MESHROOT_BIN/tests/usb/mkcpio" < "$list" | gzip -1 > "$T/initrd.gz"

start=$(date +%s.%N)
timeout 180 qemu-system-x86_64 -accel tcg -cpu max -m 512 -nographic -no-reboot -net none \
  -kernel "$KDIR/vmlinuz" -initrd "$T/initrd.gz" \
  -append "console=ttyS0 quiet panic=-1" > "$T/console.log" 2>&1 || true
end=$(date +%s.%N)
tr -d '\r' < "$T/console.log" > "$T/console.txt"
cp "$T/console.txt" "$MESHROOT_BIN/tests/usb/gadget-console.log" 2>/dev/null || true
grep -q "T4-RESULT rc=0" "$T/console.txt" || { cat "$T/console.txt"; fail "the round trip in the VM failed"; }
grep -q "appliance on USB 1209:0001 serial T4-0001: .*token meshroot-test" "$T/console.txt" || { cat "$T/console.txt"; fail "not enumerated over USB"; }
grep -q "cluster east: certificate accepted" "$T/console.txt" || { cat "$T/console.txt"; fail "no certificate"; }
# Privilege separation (docs/security.md): the endpoints are held by one
# process only, the signer's child, confined (seccomp filter, nobody, no
# new privileges) and without the PKCS#11 module; the signer holds the
# module and no endpoint.
signer=$(grep '^T4-PRIVSEP signer ' "$T/console.txt") || { cat "$T/console.txt"; fail "no privsep report"; }
link=$(grep '^T4-PRIVSEP link ' "$T/console.txt") || { cat "$T/console.txt"; fail "no process holds the FunctionFS endpoints but the signer"; }
[ "$(printf '%s\n' "$link" | wc -l)" = 1 ] || fail "more than one process holds the endpoints: $link"
spid=$(sed -n 's/.* pid=\([0-9]*\) .*/\1/p' <<<"$signer")
case "$signer" in *" ffs_fds=0 softhsm=1"*) ;; *) fail "signer: $signer (expected no endpoint, the module mapped)" ;; esac
case "$link" in
  *" ppid=$spid seccomp=2 uid=65534,65534,65534,65534 gid=65534,65534,65534,65534 nnp=1 threads=3 ffs_fds=3 softhsm=0"*) ;;
  *) fail "link process: $link (expected the signer's child, seccomp 2, uid/gid 65534, no_new_privs, 3 threads, ep0-2, no module)" ;;
esac
echo "link process confined: $link"
sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$T/console.txt" > "$T/east.pem"
openssl verify -CAfile "$T/state/root-cert.pem" "$T/east.pem" >/dev/null || fail "openssl rejects the certificate made in the VM"
[ -z "${MESHROOT_T4_VERBOSE:-}" ] || cat "$T/console.txt"
awk -v a="$start" -v b="$end" 'BEGIN { printf "gadget round trip in the VM: ok (%.1f s boot + test)\n", b - a }'

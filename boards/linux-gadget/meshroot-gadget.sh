#!/bin/sh
# Sets up the meshroot USB gadget through configfs (docs/protocol.md):
# VID 1209 / PID 0001 (pid.codes test PID: replace before shipping), one
# FunctionFS function "meshroot" mounted at /dev/ffs-meshroot.
#
#   meshroot-gadget.sh start   build the gadget, mount FunctionFS (before the daemon)
#   meshroot-gadget.sh bind    attach it to the UDC (after the daemon wrote its descriptors)
#   meshroot-gadget.sh stop    unbind and tear it down
#
# The serial string is the appliance serial: $MESHROOT_SERIAL (set it in
# /etc/meshroot/appliance.env: the daemon reports the same value in INFO),
# else /etc/meshroot/serial, else the board's machine id (16 characters).
set -eu

G=/sys/kernel/config/usb_gadget/meshroot
FFS=/dev/ffs-meshroot

serial() {
  if [ -n "${MESHROOT_SERIAL:-}" ]; then echo "$MESHROOT_SERIAL"
  elif [ -r /etc/meshroot/serial ]; then head -c 32 /etc/meshroot/serial
  else head -c 16 /etc/machine-id; fi
}

start() {
  modprobe libcomposite
  modprobe usb_f_fs
  mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
  [ -d "$G" ] && stop
  mkdir -p "$G"
  echo 0x1209 > "$G/idVendor"
  echo 0x0001 > "$G/idProduct"
  echo 0x0100 > "$G/bcdDevice"
  echo 0x0200 > "$G/bcdUSB"
  mkdir -p "$G/strings/0x409"
  serial > "$G/strings/0x409/serialnumber"
  echo meshroot > "$G/strings/0x409/manufacturer"
  echo "meshroot appliance" > "$G/strings/0x409/product"
  mkdir -p "$G/configs/c.1/strings/0x409"
  echo meshroot > "$G/configs/c.1/strings/0x409/configuration"
  echo 100 > "$G/configs/c.1/MaxPower"
  mkdir -p "$G/functions/ffs.meshroot"
  ln -s "$G/functions/ffs.meshroot" "$G/configs/c.1/"
  mkdir -p "$FFS"
  mountpoint -q "$FFS" || mount -t functionfs -o uid=0,gid=0,mode=0600 meshroot "$FFS"
}

bind() {
  # The daemon has written its descriptors once ep1 exists.
  for _ in $(seq 50); do [ -e "$FFS/ep1" ] && break; sleep 0.1; done
  [ -e "$FFS/ep1" ] || { echo "meshroot-gadget: no daemon on $FFS" >&2; exit 1; }
  udc=$(ls /sys/class/udc | head -n 1)
  [ -n "$udc" ] || { echo "meshroot-gadget: no USB device controller (dtoverlay=dwc2?)" >&2; exit 1; }
  echo "$udc" > "$G/UDC"
}

stop() {
  [ -d "$G" ] || return 0
  echo "" > "$G/UDC" 2>/dev/null || true
  mountpoint -q "$FFS" && umount "$FFS"
  rm -f "$G/configs/c.1/ffs.meshroot"
  rmdir "$G/configs/c.1/strings/0x409" "$G/configs/c.1" "$G/functions/ffs.meshroot" \
    "$G/strings/0x409" "$G" 2>/dev/null || true
}

case "${1:-}" in
  start) start ;;
  bind) bind ;;
  stop) stop ;;
  *) echo "usage: $0 start|bind|stop" >&2; exit 2 ;;
esac

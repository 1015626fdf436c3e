#!/usr/bin/env bash
# man/check.sh: every command, subcommand and option of both programs has
# an entry in its man page, and the pages are clean under mandoc -Tlint.
# Then the check itself is checked: a page that loses an option's entry,
# or a command's, fails it with a message that names what is missing.
set -euo pipefail
: "${MESHROOT_BIN:?MESHROOT_BIN must point at the build dir}"
: "${MESHROOT_SRC:?MESHROOT_SRC must point at the source dir}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v mandoc >/dev/null || { echo "SKIP: mandoc not installed"; exit 77; }

check="$MESHROOT_SRC/man/check.sh"
rc=0; bash "$check" "$MESHROOT_BIN" >"$T/out" 2>"$T/err" || rc=$?
[ "$rc" -eq 0 ] || { cat "$T/out" "$T/err"; fail "man/check.sh: exit $rc"; }
! grep -q "error:" "$T/err" || fail "errors with exit 0: $(cat "$T/err")"

# negative PATTERN SED_SCRIPT PAGE: the check fails on a damaged copy.
negative() {
  local want=$1 script=$2 page=$3
  rm -rf "$T/man"; cp -r "$MESHROOT_SRC/man" "$T/man"
  sed -i "$script" "$T/man/$page"
  rc=0; MESHROOT_MAN_DIR="$T/man" bash "$check" "$MESHROOT_BIN" >/dev/null 2>"$T/err" || rc=$?
  [ "$rc" -eq 1 ] || { cat "$T/err"; fail "$page with '$script': exit $rc, expected 1"; }
  grep -qxF "man/check.sh: error: $want" "$T/err" || { cat "$T/err"; fail "no line '$want'"; }
}
negative "$T/man/meshroot.1: option --crl-days has no entry" '/Fl -crl-days/d' meshroot.1
negative "$T/man/meshroot-appliance.8: option --pin-file has no entry" '/Fl -pin-file/d' meshroot-appliance.8
negative "$T/man/meshroot.1: no entry for 'root finish'" '/^\.It Cm root finish/d' meshroot.1
negative "$T/man/meshroot-appliance.8: no entry for 'serve'" 's/^\.It Cm serve /.It Cm serf /' meshroot-appliance.8
# A lint warning fails it too.
rm -rf "$T/man"; cp -r "$MESHROOT_SRC/man" "$T/man"
printf '.Sh SEE ALSO\n.Xr meshroot 1\n' >>"$T/man/meshroot-media.5"
rc=0; MESHROOT_MAN_DIR="$T/man" bash "$check" "$MESHROOT_BIN" >/dev/null 2>"$T/err" || rc=$?
[ "$rc" -eq 1 ] && grep -q "^man/check.sh: error: mandoc -Tlint: .*meshroot-media.5" "$T/err" ||
  { cat "$T/err"; fail "a lint warning did not fail the check (exit $rc)"; }
echo "PASS"

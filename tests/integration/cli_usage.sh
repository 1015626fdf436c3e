#!/usr/bin/env bash
# Both programs' command-line interface, from their own command tables
# (`--help-commands`): --help on every command with its synopsis, options
# and an example; --version; and every usage error (unknown command or
# option, an option without its argument, a missing or extra argument)
# exits 2 with exactly one line "error: ... (see PROG [COMMAND] --help)".
set -euo pipefail
: "${MESHROOT_BIN:?MESHROOT_BIN must point at the build dir}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
export MESHROOT_WORKSPACE="$T/ws" MESHROOT_STATE="$T/state"
fail() { echo "FAIL: $*" >&2; exit 1; }
checks=0

# usage_error PATTERN HINT CMD...: exit 2, nothing on stdout, one stderr
# line matching ^error: PATTERN (see HINT --help)$.
usage_error() {
  local pattern=$1 hint=$2 rc=0
  shift 2
  "$@" >"$T/out" 2>"$T/err" </dev/null || rc=$?
  [ "$rc" -eq 2 ] || { cat "$T/err"; fail "$*: exit $rc, expected 2"; }
  [ ! -s "$T/out" ] || fail "$*: printed on stdout: $(cat "$T/out")"
  [ "$(wc -l <"$T/err")" -eq 1 ] || fail "$*: not one line on stderr: $(cat "$T/err")"
  grep -qE "^error: $pattern \(see $hint --help\)\$" "$T/err" ||
    fail "$*: '$(cat "$T/err")' does not match '^error: $pattern (see $hint --help)'"
  checks=$((checks + 1))
}

for prog in meshroot meshroot-appliance; do
  bin="$MESHROOT_BIN/$prog"
  "$bin" --version >"$T/v"
  grep -qxE "$prog [0-9]+\.[0-9]+\.[0-9]+" "$T/v" || fail "$prog --version: $(cat "$T/v")"
  "$bin" --help >"$T/help"
  for o in --help --version; do
    grep -qE "^  $o " "$T/help" || fail "$prog --help does not list $o"
  done
  "$bin" --help-commands >"$T/table"
  usage_error "unknown command 'nosuch'" "$prog" "$bin" nosuch
  usage_error "no command given" "$prog" "$bin"
  usage_error "unknown option '--nosuch'" "$prog" "$bin" --nosuch status
  # Global options that take an argument, given none.
  for o in $(awk '$1 == "-" { for (i = 3; i <= NF; i++) print $i }' "$T/table" | grep '=$' | tr -d '='); do
    usage_error "option '$o' needs an argument" "$prog" "$bin" "$o"
  done
  while read -r cmd sub opts; do
    [ "$cmd" = "-" ] && continue
    words=("$cmd")
    [ "$sub" = "-" ] || words+=("$sub")
    # The top-level help lists the command; its own help has the rest.
    grep -qE "^  ${words[*]}( |\$)" "$T/help" || fail "$prog --help does not list '${words[*]}'"
    "$bin" "${words[@]}" --help >"$T/chelp" || fail "$prog ${words[*]} --help failed"
    grep -qE "^(usage:| +) $prog \[global options\] ${words[*]}( |\$)" "$T/chelp" ||
      fail "$prog ${words[*]} --help: no synopsis"
    grep -qE "^examples:\$" "$T/chelp" || fail "$prog ${words[*]} --help: no examples"
    grep -qE "^  $prog " "$T/chelp" || fail "$prog ${words[*]} --help: no example line"
    for o in $opts; do
      grep -qE "^  ${o%=}( |\$)" "$T/chelp" || fail "$prog ${words[*]} --help does not list ${o%=}"
    done
    usage_error "unknown option '--nosuch'" "$prog $cmd" "$bin" "${words[@]}" --nosuch
    for o in $opts; do
      case $o in
        *=) o=${o%=}
            if [ "$o" = --at ]; then # verify's own parser names the format
              usage_error "--at wants YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ" "$prog $cmd" "$bin" "${words[@]}" "$o"
            else
              usage_error "option '$o' needs an argument" "$prog $cmd" "$bin" "${words[@]}" "$o"
            fi ;;
      esac
    done
  done <"$T/table"
done

# Missing and extra arguments, command by command.
m() { usage_error "$1" "meshroot $2" "$MESHROOT_BIN/meshroot" "${@:3}"; }
m "cluster needs new, import or renew" cluster cluster
m "unknown cluster command 'old'" cluster cluster old east
m "cluster new needs a NAME" cluster cluster new
m "unexpected argument 'west'" cluster cluster new east west
m "cluster import needs --csr FILE" cluster cluster import east
m "--key must be ec-p256, ec-p384, rsa-3072 or rsa-4096" cluster cluster new east --key rsa-2048
m "media needs export or import" media media
m "media export needs --to DIR" media media export
m "media import needs --from DIR" media media import
m "unexpected argument 'east'" media media import --from "$T" east
m "submit needs one of --usb or --connect unix:PATH" submit submit
m "--poll-ms must be 10..60000" submit submit --connect unix:/x --poll-ms 5
m "device needs one of --usb or --connect unix:PATH" device device
m "unexpected argument 'east'" device device --connect unix:/x east
m "bundle needs NAME... or --all" bundle bundle
m "--all or cluster names, not both" bundle bundle --all east
m "--format is cacerts \(default\) or tls" bundle bundle east --format pem
m "verify needs a DIR" verify verify
m "unexpected argument 'x'" status status x
m "--warn-days wants a number of days, 0..36525" status status --warn-days soon
m "root needs rotate or finish" root root
m "root rotate needs --from DIR" root root rotate
m "unexpected argument 'x'" root root finish x
m "audit needs verify, show or report" audit audit
m "audit show needs a DIR" audit audit show
m "unexpected argument 'b'" audit audit verify a b
m "audit report needs --html FILE" audit audit report a
a() { usage_error "$1" "meshroot-appliance $2" "$MESHROOT_BIN/meshroot-appliance" "${@:3}"; }
a "ceremony needs template, init, rotate or reshare" ceremony ceremony
a "unexpected argument 'x'" ceremony ceremony template x
a "ceremony init needs --config FILE \(\`ceremony template\` prints one\)" ceremony ceremony init
a "unexpected argument 'x'" ceremony ceremony init --config c x
a "ceremony rotate needs --key-label LABEL" ceremony ceremony rotate
a "unexpected argument 'x'" ceremony ceremony reshare x
a "sign needs --media DIR" sign sign
a "unexpected argument 'x'" sign sign --media m x
a "--review takes each or batch" sign sign --media m --review all
a "unexpected argument 'x'" status status x
a "revoke needs a SERIAL" revoke revoke
a "revoke needs --reason REASON" revoke revoke 01
a "unexpected argument '02'" revoke revoke 01 02 --reason keyCompromise
a "'stolen' is not a revocation reason meshroot uses" revoke revoke 01 --reason stolen
a "unexpected argument 'x'" crl crl x
a "state needs check" state state
a "--yes goes with --repair" state state check --yes
a "audit needs export" audit audit
a "audit export needs --to DIR" audit audit export
a "serve needs one of --usb or --listen unix:PATH" serve serve
a "--listen takes unix:PATH" serve serve --listen /tmp/x
a "--approve takes console, button or auto" serve serve --usb --approve maybe
[ ! -e "$T/state" ] || fail "a usage error touched the state dir"
echo "PASS: $checks usage errors, every command's --help"

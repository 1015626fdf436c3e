#!/usr/bin/env bash
# man/check.sh [BUILD_DIR]: the man pages against the programs, as
# libfido2's man/check.sh does for its pages.
#
# Strict (exit 1): every command, subcommand and option that a program's
# command table lists (`PROG --help-commands`, the table behind --help)
# or that its getopt tables and option compares in the source take, has an
# entry in its page; the table lists every option the source takes; the
# four pages are clean under `mandoc -Tlint -Wwarning`.
# Warn only: an option in a page that the program lacks (options added in
# parallel branches are documented ahead of the code).
set -euo pipefail
src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bin=${1:-${MESHROOT_BIN:-$src/build}}
man=${MESHROOT_MAN_DIR:-$src/man} # another copy of the pages, for the negative test
status=0

err() { echo "man/check.sh: error: $*" >&2; status=1; }
warn() { echo "man/check.sh: warning: $*" >&2; }

command -v mandoc >/dev/null || { echo "man/check.sh: mandoc not installed: skipped" >&2; exit 77; }

for page in "$man"/*.[1-8]; do
  out=$(mandoc -Tlint -Wwarning "$page" 2>&1) || true
  [ -z "$out" ] || err "mandoc -Tlint: $out"
done

# Long options the source of a program takes: getopt tables and the
# hand-parsed ones (verify's --at). --help-commands is the hidden one.
source_opts() {
  grep -hoE '\{ "[a-z][a-z0-9-]*", (no|required|optional)_argument' "$@" |
    sed -E 's/^\{ "([^"]*)".*/--\1/'
  grep -hoE 'strn?cmp\([a-z_]+(\[[a-z0-9_ +]+\])?, "--[a-z][a-z0-9-]*' "$@" |
    sed -E 's/.*"(--[a-z0-9-]*)$/\1/'
}

check_prog() {
  local prog=$1 page=$2
  shift 2
  local table code opt cmd sub text
  local -A in_table=() in_code=()
  [ -x "$bin/$prog" ] || { err "$bin/$prog: not built"; return; }
  table=$("$bin/$prog" --help-commands)
  text=$(<"$page")
  text=$'\n'"$text"$'\n'
  for opt in $table; do
    [[ $opt == --* ]] && in_table[${opt%=}]=1
  done
  code=$(source_opts "$@" | sort -u | grep -vx -- '--help-commands')
  for opt in $code; do in_code[$opt]=1; done
  # Commands and subcommands: an .It Cm entry each.
  while read -r cmd sub _; do
    [ "$cmd" = "-" ] && continue
    if [ "$sub" = "-" ]; then
      [[ $text == *$'\n'".It Cm $cmd "* || $text == *$'\n'".It Cm $cmd"$'\n'* ]] ||
        err "$page: no entry for '$cmd'"
    else
      [[ $text == *$'\n'".It Cm $cmd $sub "* || $text == *$'\n'".It Cm $cmd $sub"$'\n'* ]] ||
        err "$page: no entry for '$cmd $sub'"
    fi
  done <<<"$table"
  # Options of the table and of the source: a Fl each in the page (mdoc
  # writes --name as "Fl -name").
  for opt in "${!in_table[@]}" "${!in_code[@]}"; do
    [[ $text == *"Fl ${opt#-} "* || $text == *"Fl ${opt#-}"$'\n'* ]] ||
      err "$page: option $opt has no entry"
  done
  for opt in "${!in_code[@]}"; do
    [ "$opt" = "--help" ] || [ -n "${in_table[$opt]:-}" ] ||
      err "$prog: option $opt is in the source but not in the command table (--help)"
  done
  # The other direction warns only.
  for opt in $(grep -oE 'Fl -[a-z][a-z0-9-]*' "$page" | sed 's/^Fl /-/' | sort -u); do
    [ -n "${in_table[$opt]:-}" ] || [ -n "${in_code[$opt]:-}" ] ||
      warn "$page: $opt is documented but $prog does not take it (yet)"
  done
}

check_prog meshroot "$man/meshroot.1" "$src"/host/*.c
check_prog meshroot-appliance "$man/meshroot-appliance.8" \
  "$src"/firmware/core/cmd/*.c "$src"/firmware/core/ceremony/cmd_ceremony.c \
  "$src"/firmware/core/ceremony/ceremony_rotate.c "$src"/firmware/core/ceremony/ceremony_custody.c

[ "$status" -eq 0 ] && echo "man/check.sh: the pages cover both programs"
exit "$status"

#!/usr/bin/env bash
# The bash and zsh completions of both programs. They read the program's
# own command table (`PROG --help-commands`, the table behind --help), so
# this checks that they complete from it: for every command and
# subcommand the options offered are exactly the table's, the command and
# subcommand words are completed, and an option's argument is a file.
set -euo pipefail
: "${MESHROOT_BIN:?MESHROOT_BIN must point at the build dir}"
: "${MESHROOT_SRC:?MESHROOT_SRC must point at the source dir}"
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export PATH="$MESHROOT_BIN:$PATH" LC_ALL=C
comp="$MESHROOT_SRC/completions"
for f in meshroot.bash meshroot-appliance.bash _meshroot _meshroot-appliance; do
  [ -f "$comp/$f" ] || fail "completions/$f missing"
done

# bash: load the completion as bash-completion would, then simulate TAB.
# shellcheck source=/dev/null
. "$comp/meshroot-appliance.bash" # also loads meshroot.bash
complete -p meshroot | grep -q -- '-F _meshroot_complete meshroot$' || fail "meshroot: no completion"
complete -p meshroot-appliance | grep -q -- '-F _meshroot_complete meshroot-appliance$' ||
  fail "meshroot-appliance: no completion"
# tab WORD...: the completions of the last word, sorted, one line.
tab() {
  COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); COMPREPLY=()
  _meshroot_complete
  printf '%s\n' "${COMPREPLY[@]}" | sort | tr '\n' ' ' | sed 's/ $//'
}
expect() { local want=$1 got; shift; got=$(tab "$@"); [ "$got" = "$want" ] || fail "bash: '$*<TAB>' gave '$got', expected '$want'"; }
expect "media" meshroot med
[[ " $(tab meshroot bundle --) " == *" --out "* ]] || fail "bash: 'meshroot bundle --<TAB>' lacks --out"
expect "export import" meshroot media ""
expect "--expect-root --from --help --json" meshroot media import --
expect "--help --version --workspace" meshroot --
expect "cluster" meshroot --workspace "$T/ws" clu
expect "check" meshroot-appliance --state "$T/s" state ""
expect "--config" meshroot-appliance ceremony init --con
touch "$T/ceremony.conf"
expect "$T/ceremony.conf" meshroot-appliance ceremony init --config "$T/cer"
n=0
for prog in meshroot meshroot-appliance; do
  "$prog" --help-commands >"$T/table"
  want=$(awk '$1 != "-" { print $1 }' "$T/table" | sort -u | tr '\n' ' ' | sed 's/ $//')
  expect "$want" "$prog" ""
  while read -r cmd sub opts; do
    [ "$cmd" = "-" ] && continue
    words=("$cmd"); [ "$sub" = "-" ] || words+=("$sub")
    want=$(tr ' ' '\n' <<<"$opts" | tr -d '=' | sort -u | tr '\n' ' ' | sed 's/ $//')
    expect "$want" "$prog" "${words[@]}" --
    n=$((n + 1))
  done <"$T/table"
done

# zsh: the functions with compsys's compadd and _files stood in for; one
# zsh reads one command line a line (words separated by spaces, the last
# one the word being completed) and prints its completions on one line.
command -v zsh >/dev/null || { echo "SKIP: zsh not installed (bash checked: $n commands)"; exit 77; }
cat >"$T/z.zsh" <<ZEOF
fpath=("$comp" \$fpath)
autoload -U _meshroot _meshroot-appliance
compadd() { [[ \$1 == -- ]] && shift; reply+=("\$@") }
_files() { reply+=("<files>") }
_call_program() { shift; eval "\$@" }
local line
local -a reply words
while IFS= read -r line; do
  words=("\${(@s: :)line}")
  [[ \$line == *" " ]] && words+=("")
  CURRENT=\$#words reply=()
  if [[ \$words[1] == meshroot ]]; then _meshroot; else _meshroot-appliance; fi
  print -r -- "\${(j: :)\${(@ou)reply}}"
done
ZEOF
# The lines to complete, and what each must give. compsys filters by the
# typed prefix itself: the stand-in shows every candidate.
: >"$T/zin"; : >"$T/zwant"
zcase() { printf '%s\n' "$1" >>"$T/zwant"; printf '%s\n' "$2" >>"$T/zin"; }
zcase "$(meshroot --help-commands | awk '$1 != "-" { print $1 }' | sort -u | tr '\n' ' ' | sed 's/ $//')" "meshroot med"
zcase "--all --crl --crl-days --format --help --kustomize --out --secret-yaml" "meshroot bundle --"
zcase "export import" "meshroot media "
zcase "<files>" "meshroot media import --from "
zcase "init reshare rotate template" "meshroot-appliance --state $T/s ceremony "
for prog in meshroot meshroot-appliance; do
  "$prog" --help-commands >"$T/table"
  while read -r cmd sub opts; do
    [ "$cmd" = "-" ] && continue
    words="$cmd"; [ "$sub" = "-" ] || words+=" $sub"
    zcase "$(tr ' ' '\n' <<<"$opts" | tr -d '=' | sort -u | tr '\n' ' ' | sed 's/ $//')" "$prog $words --"
  done <"$T/table"
done
zsh -f "$T/z.zsh" <"$T/zin" >"$T/zgot" || fail "zsh failed"
if ! diff <(paste -d'|' "$T/zin" "$T/zwant") <(paste -d'|' "$T/zin" "$T/zgot") >"$T/zdiff"; then
  cat "$T/zdiff"; fail "zsh: completions differ (< expected, > got)"
fi
echo "PASS: bash and zsh, $n commands"

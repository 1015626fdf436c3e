# bash completion for meshroot and meshroot-appliance.
# The commands and options come from the program itself
# (`PROG --help-commands`, the command table behind its --help), so the
# completion cannot drift from the program it completes.

# _meshroot_complete: the completion function of both programs.
_meshroot_complete() {
  local prog=${COMP_WORDS[0]} cur=${COMP_WORDS[COMP_CWORD]} prev=""
  local table flat cmd="" sub="" i w words opts
  [ "$COMP_CWORD" -gt 0 ] && prev=${COMP_WORDS[COMP_CWORD-1]}
  table=$("$prog" --help-commands 2>/dev/null) || return 0
  flat=" ${table//$'\n'/ } " # " --opt= " marks an option with an argument

  # An option that takes an argument: complete file names for it.
  if [[ $prev == --* && $flat == *" $prev= "* ]]; then
    COMPREPLY=($(compgen -f -- "$cur"))
    return 0
  fi
  # The command and subcommand words typed so far (options and their
  # arguments skipped).
  for ((i = 1; i < COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if [[ $w == --* ]]; then
      [[ $flat == *" $w= "* ]] && ((i++))
      continue
    fi
    if [ -z "$cmd" ]; then
      cmd=$w
    elif [ -z "$sub" ]; then
      sub=$w
    fi
  done
  if [ -z "$cmd" ]; then
    if [[ $cur == -* ]]; then
      opts=$(awk '$1 == "-" { for (i = 3; i <= NF; i++) print $i }' <<<"$table" | tr -d '=')
    else
      opts=$(awk '$1 != "-" { print $1 }' <<<"$table" | sort -u)
    fi
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return 0
  fi
  # A command with subcommands and none typed yet: the subcommands.
  words=$(awk -v c="$cmd" '$1 == c && $2 != "-" { print $2 }' <<<"$table")
  if [ -n "$words" ] && [ -z "$sub" ] && [[ $cur != -* ]]; then
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
    return 0
  fi
  if [[ $cur == -* ]]; then
    opts=$(awk -v c="$cmd" -v s="${sub:--}" \
      '$1 == c && ($2 == s || $2 == "-") { for (i = 3; i <= NF; i++) print $i }' <<<"$table" |
      tr -d '=' | sort -u)
    COMPREPLY=($(compgen -W "$opts" -- "$cur"))
    return 0
  fi
  COMPREPLY=($(compgen -f -- "$cur"))
}
complete -F _meshroot_complete meshroot

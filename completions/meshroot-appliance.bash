# bash completion for meshroot-appliance: the same function as meshroot's
# (meshroot.bash), which reads `meshroot-appliance --help-commands`.
if ! declare -F _meshroot_complete >/dev/null; then
  for _mr_dir in "${BASH_SOURCE[0]%/*}" /usr/share/bash-completion/completions; do
    if [ -r "$_mr_dir/meshroot" ]; then
      . "$_mr_dir/meshroot"
      break
    elif [ -r "$_mr_dir/meshroot.bash" ]; then
      . "$_mr_dir/meshroot.bash"
      break
    fi
  done
  unset _mr_dir
fi
complete -F _meshroot_complete meshroot-appliance

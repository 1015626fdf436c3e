# Sourced after appliance_env.sh by the privilege separation tests: find
# the confined child of a running appliance (the request parser of `sign`,
# the link process of `serve`) and check what it is from /proc.

# confined_child SIGNER: the pid of SIGNER's child once it is in seccomp
# filter mode (up to 10 s); empty when none came.
confined_child() {
	local signer=$1 child='' _
	for _ in $(seq 1 200); do
		child=$(pgrep -P "$signer" || true)
		[ -n "$child" ] && grep -q '^Seccomp:[[:space:]]*2' "/proc/$child/status" 2>/dev/null && break
		sleep 0.05
	done
	echo "$child"
}

# confined_check WHAT CHILD: CHILD runs under the seccomp filter with
# no_new_privs and no capabilities, as nobody when the test runs as root,
# and holds exactly two descriptors. Its root dir is the caller's to check.
confined_check() {
	local what=$1 st="/proc/$2/status" fds
	grep -q '^Seccomp:[[:space:]]*2' "$st" || fail "$what not in seccomp filter mode"
	grep -q '^NoNewPrivs:[[:space:]]*1' "$st" || fail "$what without no_new_privs"
	grep -q '^CapEff:[[:space:]]*0000000000000000' "$st" || fail "$what has capabilities"
	if [ "$(id -u)" -eq 0 ]; then
		grep -qE '^Uid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534' "$st" || fail "$what uid not nobody"
		grep -qE '^Gid:[[:space:]]+65534[[:space:]]+65534[[:space:]]+65534' "$st" || fail "$what gid not nobody"
	fi
	fds=$(ls "/proc/$2/fd" | wc -l)
	[ "$fds" -eq 2 ] || fail "$what holds $fds descriptors: $(ls -l "/proc/$2/fd")"
}

# confined_dies_with WHAT SIGNER CHILD: SIGKILL to SIGNER (which holds the
# token) takes CHILD with it within 5 s.
confined_dies_with() {
	local what=$1 signer=$2 child=$3 _
	kill -KILL "$signer"
	wait "$signer" 2>/dev/null || true
	for _ in $(seq 1 100); do kill -0 "$child" 2>/dev/null || break; sleep 0.05; done
	if kill -0 "$child" 2>/dev/null; then fail "the $what outlived the signer"; fi
}

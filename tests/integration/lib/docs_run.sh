# Sourced by the docs_* tests: runs the ```sh blocks of a document, in
# order, in this shell, each line as written (a line ending in "\" goes on
# with the next, as in a shell). The only change is the place of things
# the test cannot use as they are: the removable media, /media/<name>,
# becomes $T/<name>, and whatever a test adds with doc_map. A line starting
# with "! " must fail; every other line must succeed. The appliance's
# confirmation questions get $DOC_ANSWER on stdin (default "revoke", the
# only one the other documents leave interactive).
#
# Needs $T, fail, and the binaries on PATH as meshroot-appliance and
# meshroot. Optional: doc_after N LINE, a function called after each
# command that succeeded (its output is at the end of $T/doc.log).

# doc_commands FILE: the commands of FILE's sh blocks, one per line.
doc_commands() {
	awk '/^```sh$/ {in_block=1; next} /^```/ {in_block=0; acc=""; next}
	     in_block && acc == "" && (/^#/ || !NF) {next}
	     in_block { if (sub(/\\$/, "")) { acc = acc $0; next } print acc $0; acc="" }' "$1"
}

# doc_map FROM TO: every command has FROM replaced by TO (literally), as
# /media/ is replaced by $T/.
DOC_MAP_FROM=()
DOC_MAP_TO=()
doc_map() {
	DOC_MAP_FROM+=("$1")
	DOC_MAP_TO+=("$2")
}

# doc_mapped LINE: LINE with the places replaced.
doc_mapped() {
	local s=$1 i
	for i in "${!DOC_MAP_FROM[@]}"; do
		s=${s//"${DOC_MAP_FROM[$i]}"/"${DOC_MAP_TO[$i]}"}
	done
	printf '%s' "${s//\/media\//$T/}"
}

# run_doc FILE: runs them; prints each before it runs.
run_doc() {
	local line mapped n=0
	while IFS= read -r line; do
		n=$((n + 1))
		mapped=$(doc_mapped "$line")
		echo "+ $line" >>"$T/doc.log"
		if [[ $line == "! "* ]]; then
			if eval "${mapped#! }" </dev/null >>"$T/doc.log" 2>&1; then
				fail "$1 command $n should fail: $line"
			fi
		else
			eval "$mapped" <<<"${DOC_ANSWER:-revoke}" >>"$T/doc.log" 2>&1 ||
				fail "$1 command $n failed: $line
$(tail -5 "$T/doc.log")"
		fi
		if declare -F doc_after >/dev/null; then
			doc_after "$n" "$line"
		fi
	done < <(doc_commands "$1")
	[ "$n" -gt 0 ] || fail "$1 has no sh blocks"
}

mkdir -p "$T/bin"
ln -sf "$APPLIANCE" "$T/bin/meshroot-appliance"
ln -sf "$HOST" "$T/bin/meshroot"
export PATH="$T/bin:$PATH"

# Sourced by the docs_* tests: runs the ```sh blocks of a document, in
# order, in this shell, each line as written. The only change is the place
# of the removable media: /media/<name> becomes $T/<name>. A line starting
# with "! " must fail; every other line must succeed. The appliance's
# confirmation questions get "revoke" on stdin (the only one the documents
# leave interactive).
#
# Needs $T, fail, and the binaries on PATH as meshroot-appliance and
# meshroot.

# doc_commands FILE: the commands of FILE's sh blocks, one per line.
doc_commands() {
	awk '/^```sh$/ {in_block=1; next} /^```/ {in_block=0; next} in_block && !/^#/ && NF' "$1"
}

# run_doc FILE: runs them; prints each before it runs.
run_doc() {
	local line mapped n=0
	while IFS= read -r line; do
		n=$((n + 1))
		mapped=${line//\/media\//$T/}
		echo "+ $line" >>"$T/doc.log"
		if [[ $line == "! "* ]]; then
			if eval "${mapped#! }" </dev/null >>"$T/doc.log" 2>&1; then
				fail "$1 command $n should fail: $line"
			fi
		else
			eval "$mapped" <<<"revoke" >>"$T/doc.log" 2>&1 ||
				fail "$1 command $n failed: $line
$(tail -5 "$T/doc.log")"
		fi
	done < <(doc_commands "$1")
	[ "$n" -gt 0 ] || fail "$1 has no sh blocks"
}

mkdir -p "$T/bin"
ln -sf "$APPLIANCE" "$T/bin/meshroot-appliance"
ln -sf "$HOST" "$T/bin/meshroot"
export PATH="$T/bin:$PATH"

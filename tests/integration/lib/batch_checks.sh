# Sourced after appliance_env.sh: the checks that a batch ended well, shared
# by the crash tests. Each takes a NAME for its failure messages and calls
# fail (appliance_env.sh) on the first thing wrong.
#
#   bc_issued_once NAME CLUSTER...  each cluster issued exactly once (the
#                                   audit log's issue record is the commit
#                                   point; a recovered issued.db record
#                                   carries no cluster), serials unique,
#                                   every reservation resolved exactly once
#   bc_db_audit_agree NAME          issued.db and audit.log list the same
#                                   issued and abandoned serials, and each
#                                   issued serial has certs/<serial>.pem
#   bc_audit_verify NAME            `audit export` + host `audit verify`
#                                   (needs the root pinned in the workspace)
#   bc_no_temps NAME DIR...         no temporary file (fileio.c's
#                                   <name>.tmp.<pid>) under any DIR
#   bc_all NAME CLUSTER...          all of the above on state dir and media

bc_issued_once() {
  local name=$1 bad
  shift
  [ -f "$T/state/issued.db" ] || fail "$name: no issued.db"
  # One pass over the audit log, then the database.
  bad=$(printf '%s\n' "$@" | awk '
    FILENAME == "-" { want[$1] = 0; next }
    FILENAME ~ /audit.log$/ && / event=issue / && match($0, / cluster=[^ ]+/) {
      n[substr($0, RSTART + 9, RLENGTH - 9)]++
    }
    FILENAME ~ /issued.db$/ && match($0, /^op=[a-z]+ serial=[0-9a-f]+/) {
      split(substr($0, 1, RLENGTH), f, /[= ]/)
      if (f[2] == "reserve") { if (res[f[4]]++) printf "serial %s reserved twice; ", f[4] }
      else if (f[2] == "issue" || f[2] == "abandon") {
        if (done[f[4]]++) printf "serial %s resolved twice; ", f[4]
      }
    }
    END {
      for (c in want) if (n[c] != 1) printf "%s issued %d times, want once; ", c, n[c]
      for (s in res) if (!done[s]) printf "serial %s reserved, never resolved; ", s
      for (s in done) if (!res[s]) printf "serial %s resolved, never reserved; ", s
    }' - "$T/state/audit.log" "$T/state/issued.db")
  [ -z "$bad" ] || fail "$name: $bad"
}

bc_db_audit_agree() {
  local name=$1 bad s
  # "issue SERIAL" and "abandon SERIAL" from each; they must be the same sets.
  bad=$(awk '
    FILENAME ~ /issued.db$/ && match($0, /^op=(issue|abandon) serial=[0-9a-f]+/) {
      split(substr($0, 1, RLENGTH), f, /[= ]/); db[f[2] " " f[4]]++
    }
    FILENAME ~ /audit.log$/ && match($0, / event=(issue|abandon) serial=[0-9a-f]+/) {
      split(substr($0, RSTART + 1, RLENGTH - 1), f, /[= ]/); log_[f[2] " " f[4]]++
    }
    END {
      for (k in db) if (!(k in log_)) printf "%s in issued.db, not in audit.log; ", k
      for (k in log_) if (!(k in db)) printf "%s in audit.log, not in issued.db; ", k
    }' "$T/state/issued.db" "$T/state/audit.log")
  [ -z "$bad" ] || fail "$name: $bad"
  for s in $(sed -n 's/^op=issue serial=\([0-9a-f]*\) .*/\1/p' "$T/state/issued.db"); do
    [ -s "$T/state/certs/$s.pem" ] || fail "$name: serial $s issued but certs/$s.pem missing"
  done
}

bc_audit_verify() {
  local name=$1
  rm -rf "$T/bc-export"
  app audit export --to "$T/bc-export" >"$T/bc-export.out" 2>&1 \
    || { cat "$T/bc-export.out" >&2; fail "$name: audit export failed"; }
  host audit verify "$T/bc-export" >"$T/bc-verify.out" 2>&1 \
    || { cat "$T/bc-verify.out" >&2; fail "$name: host audit verify failed"; }
}

bc_no_temps() {
  local name=$1 left
  shift
  left=$(find "$@" -name '*.tmp.*' 2>/dev/null || true)
  [ -z "$left" ] || fail "$name: temporary files left: $left"
}

bc_all() {
  local name=$1
  shift
  bc_issued_once "$name" "$@"
  bc_db_audit_agree "$name"
  bc_no_temps "$name" "$T/state" "$T/media"
  bc_audit_verify "$name"
}

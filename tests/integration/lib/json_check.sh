# Sourced by tests that check --json outputs (docs/json.md), after
# appliance_env.sh.
#
# json_valid FORMAT FILE: FILE must hold exactly one JSON document (nothing
# else on stdout: no progress line) that validates against
# docs/json/FORMAT.schema.json. The checks are collected and run by
# json_validate_all in one Python process (importing jsonschema takes a
# second), with Debian's python3-jsonschema (/usr/bin/python3, not a
# python3 earlier on PATH); each file is copied, so it may be reused.
# json_get FILE EXPR: prints the Python expression EXPR evaluated on the
# document `d` (e.g. 'd["clusters"][0]["days_left"]'), strings bare, the
# rest as JSON.
JSON_PY=/usr/bin/python3
"$JSON_PY" -c 'import jsonschema' 2>/dev/null ||
  { echo "SKIP: python3-jsonschema is not installed"; exit 77; }
JSON_CHECKS="$T/json-checks"
mkdir -p "$JSON_CHECKS"
: >"$JSON_CHECKS/list"

json_valid() {
  local format=$1 file=$2 want=${3:-valid} n
  [ -f "$MESHROOT_SRC/docs/json/$format.schema.json" ] || fail "no schema docs/json/$format.schema.json"
  n=$(wc -l <"$JSON_CHECKS/list")
  cp "$file" "$JSON_CHECKS/$n.json"
  printf '%s %s %s %s\n' "$want" "$format" "$JSON_CHECKS/$n.json" "$file" >>"$JSON_CHECKS/list"
}

# json_invalid FORMAT FILE: the schema must reject FILE (the validator
# is shown to be able to fail).
json_invalid() { json_valid "$1" "$2" invalid; }

json_validate_all() {
  local n
  n=$(wc -l <"$JSON_CHECKS/list")
  [ "$n" -gt 0 ] || fail "json_validate_all: nothing to validate"
  "$JSON_PY" - "$MESHROOT_SRC/docs/json" "$JSON_CHECKS/list" <<'PY' || fail "JSON outputs do not validate (above)"
import json, sys
import jsonschema
bad = 0
for line in open(sys.argv[2]):
    want, fmt, copy, shown = line.split()
    schema = json.load(open("%s/%s.schema.json" % (sys.argv[1], fmt)))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    try:
        doc = json.loads(open(copy).read())  # all of stdout: one document
    except ValueError as e:
        print("%s: not one JSON document: %s" % (shown, e), file=sys.stderr)
        bad += 1
        continue
    errors = list(cls(schema).iter_errors(doc))
    if want == "invalid":
        if not errors:
            print("%s (%s): accepted, but must be rejected" % (shown, fmt), file=sys.stderr)
            bad += 1
        continue
    for e in errors:
        print("%s (%s): %s at /%s" % (shown, fmt, e.message, "/".join(map(str, e.path))),
              file=sys.stderr)
        bad += 1
sys.exit(1 if bad else 0)
PY
  echo "$n JSON document(s) valid against docs/json/"
}

json_get() {
  "$JSON_PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(v if isinstance(v, str) else json.dumps(v))' "$1" "$2"
}

# Sourced by tests that check --json outputs (docs/json.md).
#
# json_valid FORMAT FILE: FILE holds exactly one JSON document (nothing
# else on stdout: no progress line) that validates against
# docs/json/FORMAT.schema.json. Validated with Debian's python3-jsonschema
# (/usr/bin/python3, not a python3 earlier on PATH).
# json_get FILE EXPR: prints the Python expression EXPR evaluated on the
# document `d` (e.g. 'd["clusters"][0]["days_left"]').
JSON_PY=/usr/bin/python3
"$JSON_PY" -c 'import jsonschema' 2>/dev/null ||
  { echo "SKIP: python3-jsonschema is not installed"; exit 77; }

json_valid() {
  local format=$1 file=$2
  "$JSON_PY" - "$MESHROOT_SRC/docs/json/$format.schema.json" "$file" <<'PY' ||
import json, sys
import jsonschema
schema = json.load(open(sys.argv[1]))
cls = jsonschema.validators.validator_for(schema)
cls.check_schema(schema)
text = open(sys.argv[2]).read()
doc = json.loads(text)  # the whole of stdout: one document, nothing else
errors = sorted(cls(schema).iter_errors(doc), key=lambda e: list(e.path))
for e in errors:
    print("schema: %s at %s" % (e.message, "/".join(map(str, e.path))), file=sys.stderr)
sys.exit(1 if errors else 0)
PY
    { cat "$file" >&2; fail "$file does not validate against docs/json/$format.schema.json"; }
}

json_get() {
  "$JSON_PY" -c 'import json, sys; d = json.load(open(sys.argv[1])); v = eval(sys.argv[2]); print(json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2"
}

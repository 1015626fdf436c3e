#!/usr/bin/env bash
# `bundle --kustomize` and `--secret-yaml` against the real kubectl, offline
# (docs/gitops.md): `kubectl kustomize DIR` renders one Secret named exactly
# cacerts (no name-suffix hash: istiod looks for that name) in istio-system
# whose data decodes to the bundle's files, and both it and cacerts.yaml
# equal, key for key, what `kubectl create secret generic cacerts
# --from-file=... --dry-run=client` makes from the same files. For the
# cacerts names and for --format tls. Works with Debian 12's kubectl 1.20
# (kustomize v2 inside) and newer ones. No kubectl: a skip.
# shellcheck source=lib/appliance_env.sh
. "$MESHROOT_SRC/tests/integration/lib/appliance_env.sh"
KUBECTL=$(command -v kubectl) || skip "no kubectl (Debian: kubernetes-client)"
/usr/bin/python3 -c 'import yaml' 2>/dev/null || skip "no python3-yaml"
# No cluster, no config: everything here is client side.
export KUBECONFIG="$T/kubeconfig"
: >"$KUBECONFIG"
"$KUBECTL" version --client 2>/dev/null | head -n 1 || true

ceremony
host cluster new east --key ec-p256 >/dev/null
host media export --to "$T/media" >/dev/null
app sign --media "$T/media" --yes >/dev/null || fail "sign"
host media import --from "$T/media" >/dev/null

# same_secret A B [B...]: every YAML file is one Secret with the same
# apiVersion, kind, name, namespace, type and data (key for key, decoded).
same_secret() {
  /usr/bin/python3 - "$@" <<'PY'
import base64, sys, yaml
def load(path):
    docs = [d for d in yaml.safe_load_all(open(path)) if d is not None]
    if len(docs) != 1:
        sys.exit("%s: %d documents, want one Secret" % (path, len(docs)))
    d = docs[0]
    m = d.get("metadata", {})
    data = {k: base64.b64decode(v.replace("\n", ""), validate=True) for k, v in d.get("data", {}).items()}
    return (d.get("apiVersion"), d.get("kind"), m.get("name"), m.get("namespace"),
            d.get("type", "Opaque"), data)
first = load(sys.argv[1])
for p in sys.argv[2:]:
    other = load(p)
    for field, a, b in zip(("apiVersion", "kind", "name", "namespace", "type"), first[:5], other[:5]):
        if a != b:
            sys.exit("%s: %s %r, %s has %r" % (p, field, b, sys.argv[1], a))
    if sorted(first[5]) != sorted(other[5]):
        sys.exit("%s: keys %s, %s has %s" % (p, sorted(other[5]), sys.argv[1], sorted(first[5])))
    for k in first[5]:
        if first[5][k] != other[5][k]:
            sys.exit("%s: %s differs from %s's" % (p, k, sys.argv[1]))
PY
}

check() { # FORMAT TYPE FILE...
  local format=$1 type=$2 dir="$T/out-$1/east" from=() f
  shift 2
  host bundle east --out "$T/out-$format" --format "$format" --kustomize --secret-yaml >"$T/b.out" ||
    { cat "$T/b.out"; fail "bundle --format $format --kustomize"; }
  grep -q 'kubectl apply -k' "$T/b.out" || fail "bundle does not say how to apply the kustomization"
  for f in "$@"; do from+=("--from-file=$f=$dir/$f"); done
  # kubectl kustomize from another directory: the paths are the kustomization's.
  (cd / && "$KUBECTL" kustomize "$dir") >"$T/kust-$format.yaml" 2>"$T/kust.err" ||
    { cat "$T/kust.err"; fail "kubectl kustomize $dir"; }
  "$KUBECTL" create secret generic cacerts -n istio-system --type="$type" "${from[@]}" \
    --dry-run=client -o yaml >"$T/kubectl-$format.yaml" 2>"$T/create.err" ||
    { cat "$T/create.err"; fail "kubectl create secret --dry-run=client"; }
  /usr/bin/python3 - "$T/kust-$format.yaml" "$dir" "$type" "$@" <<'PY' || fail "kustomize ($format) rendered the wrong Secret"
import base64, sys, yaml
path, d, type_, files = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
docs = [x for x in yaml.safe_load_all(open(path)) if x is not None]
assert len(docs) == 1, "%d documents" % len(docs)
s = docs[0]
assert s["kind"] == "Secret" and s["apiVersion"] == "v1", (s["kind"], s["apiVersion"])
assert s["metadata"]["name"] == "cacerts", "name %r: not exactly cacerts" % s["metadata"]["name"]
assert s["metadata"]["namespace"] == "istio-system", s["metadata"]["namespace"]
assert s.get("type") == type_, s.get("type")
assert sorted(s["data"]) == sorted(files), sorted(s["data"])
for f in files:
    assert base64.b64decode(s["data"][f]) == open("%s/%s" % (d, f), "rb").read(), f + " differs"
PY
  same_secret "$T/kubectl-$format.yaml" "$T/kust-$format.yaml" "$dir/cacerts.yaml" ||
    fail "--format $format: the Secrets differ"
  # A changed file changes the rendered Secret: the comparison can fail.
  printf '\n' >>"$dir/$3"
  (cd / && "$KUBECTL" kustomize "$dir") >"$T/kust-changed.yaml"
  ! same_secret "$T/kubectl-$format.yaml" "$T/kust-changed.yaml" 2>/dev/null ||
    fail "a changed file went unnoticed"
}

check cacerts Opaque ca-cert.pem ca-key.pem root-cert.pem cert-chain.pem
check tls kubernetes.io/tls tls.crt tls.key ca.crt
echo "ok: kustomize and --secret-yaml make the Secret kubectl makes"

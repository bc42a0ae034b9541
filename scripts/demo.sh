#!/usr/bin/env bash
# `make demo`, for now: what the project can do without a cluster. It renders
# the bundled control plane into a directory, shows what is in it, and checks
# it with `kubectl kustomize`. (Installing on the sandbox cluster comes with
# the install command and the sandbox.)
set -euo pipefail
bin=${1:?usage: $0 EXO_INSTALL}
out=${DEMO_DIR:-$(mktemp -d)/exo-manifests}

echo "== exo-install render -o $out"
"$bin" render -o "$out"
echo
echo "== objects, in apply order (from $out/kustomization.yaml)"
sed -n 's/^- /  /p' "$out/kustomization.yaml"
if command -v kubectl >/dev/null; then
  echo
  echo "== kubectl kustomize $out: $(kubectl kustomize "$out" | grep -c '^kind:') objects accepted"
fi
echo
echo "== a bad flag gets one line and exit 2:"
"$bin" render --postgres=false 2>&1 || echo "   (exit $?)"

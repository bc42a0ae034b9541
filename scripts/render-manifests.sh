#!/usr/bin/env bash
# Renders the checked-in GitOps manifests: the default bundled rendering in
# manifests/, and a managed-database example in manifests/examples/managed/.
# Usage: scripts/render-manifests.sh EXO_INSTALL [OUT_ROOT]
# (OUT_ROOT defaults to manifests/; the freshness test renders elsewhere and
# compares.)
set -euo pipefail
bin=${1:?usage: $0 EXO_INSTALL [OUT_ROOT]}
here=$(cd "$(dirname "$0")/.." && pwd)
out=${2:-$here/manifests}

"$bin" render -o "$out"
mkdir -p "$out/examples"
# The example DSN holds no password: GitOps repositories must not. Provide the
# real exo-database Secret out of band (docs/gitops.md).
"$bin" render --postgres=false \
  --db-dsn "postgresql://exo@db.example.com:5432/exo?sslmode=verify-full" \
  --db-ca-file "$here/docs/examples/database-ca.pem" \
  -o "$out/examples/managed"

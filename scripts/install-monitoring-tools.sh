#!/usr/bin/env bash
# install-monitoring-tools.sh — the Prometheus ecosystem's own checkers for
# the monitoring objects (tests/monitoring), at pinned versions from the Go
# module proxy, cached outside the clone like Go's own caches:
#   promtool  built from github.com/prometheus/prometheus (cmd/promtool);
#   the Prometheus Operator's CRDs (ServiceMonitor, PodMonitor,
#   PrometheusRule) from its module's zip (example/prometheus-operator-crd).
# Prints "promtool=PATH" and "crds=DIR" on stdout; progress on stderr.
# A second run finds both in the cache and takes well under a second.
set -euo pipefail

prometheus_version=v0.316.0         # Prometheus 3.16's Go module version
operator_version=v0.85.0            # the newest the proxy lists for the root module
cache=${EXO_TOOLS_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/exo-tools}

command -v go >/dev/null || { echo "install-monitoring-tools: Go is needed (go not found)" >&2; exit 1; }

promtool_dir=$cache/promtool-$prometheus_version
promtool=$promtool_dir/promtool
if ! "$promtool" --version >/dev/null 2>&1; then
  echo "install-monitoring-tools: building promtool $prometheus_version (a first build compiles" \
       "Prometheus: minutes on 2 cores)" >&2
  start=$SECONDS
  mkdir -p "$promtool_dir"
  # GOFLAGS: no VCS stamping (the module cache has no .git); the build cache
  # is Go's own, shared with the sandbox's build.
  GOBIN=$promtool_dir GOFLAGS=-buildvcs=false \
    go install "github.com/prometheus/prometheus/cmd/promtool@$prometheus_version"
  echo "install-monitoring-tools: promtool built in $((SECONDS - start)) s" >&2
fi

crds=$cache/prometheus-operator-crds-$operator_version
if [ ! -f "$crds/.complete" ]; then
  echo "install-monitoring-tools: fetching the Prometheus Operator $operator_version module" >&2
  dir=$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$operator_version" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["Dir"])')
  mkdir -p "$crds"
  for kind in servicemonitors podmonitors prometheusrules; do
    cp "$dir/example/prometheus-operator-crd/monitoring.coreos.com_$kind.yaml" "$crds/"
  done
  chmod u+w "$crds"/*.yaml
  touch "$crds/.complete"
fi

echo "promtool=$promtool"
echo "crds=$crds"

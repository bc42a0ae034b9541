#!/usr/bin/env bash
# Render speed against a baseline run in the same script: `kubectl kustomize`
# of the same manifests (what a GitOps tool runs on every sync).
# Usage: bench/render.sh EXO_INSTALL   (make bench)
set -euo pipefail
bin=${1:?usage: $0 EXO_INSTALL}
bench=$(dirname "$bin")/../bench/render_bench
runs=${RUNS:-20}

inproc=$("$bench" 1000)
echo "$inproc"
inproc_us=$(awk '{for (i = 1; i <= NF; i++) if ($i == "us") print $(i - 1)}' <<<"$inproc")

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" render -o "$tmp/m"

time_runs() { # seconds per run of "$@", over $runs runs
  local start end
  start=$(date +%s%N)
  for ((i = 0; i < runs; i++)); do "$@" >/dev/null; done
  end=$(date +%s%N)
  awk -v s="$start" -v e="$end" -v n="$runs" 'BEGIN { printf "%.6f", (e - s) / 1e9 / n }'
}
proc=$(time_runs "$bin" render)
kust=$(time_runs kubectl kustomize "$tmp/m")
awk -v p="$proc" -v k="$kust" -v u="$inproc_us" -v n="$runs" 'BEGIN {
  printf "process:    exo-install render: %.2f ms per run (%d runs)\n", p * 1000, n
  printf "baseline:   kubectl kustomize of the same manifests: %.2f ms per run (%d runs)\n", k * 1000, n
  printf "ratio:      kubectl kustomize / exo-install render: %.1fx as processes, %.0fx against the in-process render\n", k / p, k * 1e6 / u
}'

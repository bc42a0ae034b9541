#!/usr/bin/env bash
# `make demo-stop`: stops the demo's kubelet (and every pod process) and its
# sandbox cluster, and removes DEMO_DIR (default /tmp/exo-demo).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${DEMO_DIR:-/tmp/exo-demo}
[ -d "$dir" ] || { echo "demo-stop: nothing in $dir"; exit 0; }
"$root/e2e/kubelet/stop.sh" "$dir" || true
"$root/e2e/sandbox/down.sh" "$dir" || true
rm -rf "$dir"
echo "demo-stop: stopped and removed $dir"

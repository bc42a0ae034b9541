#!/usr/bin/env bash
# Starts the process kubelet for the sandbox in DIR, in the background.
#   e2e/kubelet/run.sh DIR [--backend BIN] [--controller BIN]
# Log DIR/kubelet.log, pid DIR/kubelet.pid. Needs root.
set -euo pipefail
dir=$(cd "${1:?usage: run.sh DIR [--backend BIN] [--controller BIN]}" && pwd); shift
here=$(cd "$(dirname "$0")" && pwd)
[ -e "$dir/ready" ] || { echo "kubelet: $dir/ready missing: is the sandbox up?" >&2; exit 1; }
if [ -f "$dir/kubelet.pid" ] && kill -0 "$(cat "$dir/kubelet.pid")" 2>/dev/null; then
  echo "kubelet: already running (pid $(cat "$dir/kubelet.pid"))" >&2; exit 1
fi
echo "${EXO_E2E_NET:-0}" >"$dir/kubelet.net"
# Its own session: stop.sh can then find every process it started by session.
setsid python3 "$here/kubelet.py" "$dir" "$@" >>"$dir/kubelet.log" 2>&1 </dev/null &
echo $! >"$dir/kubelet.pid"
# Up when the Node exists with our heartbeat (or the process died).
for _ in $(seq 1 60); do
  kill -0 "$(cat "$dir/kubelet.pid")" 2>/dev/null || { tail -n 30 "$dir/kubelet.log" >&2; exit 1; }
  grep -q "registered\|exists; updating" "$dir/kubelet.log" 2>/dev/null && break
  sleep 0.5
done
echo "kubelet: pid $(cat "$dir/kubelet.pid"), log $dir/kubelet.log" >&2

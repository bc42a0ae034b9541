#!/usr/bin/env bash
# down.sh DIR — stop the sandbox started by up.sh DIR (SIGTERM, then SIGKILL
# after SANDBOX_STOP_TIMEOUT seconds, default 30) and make sure its process
# is gone. The state in DIR (etcd data, certificates, kubeconfigs) is kept:
# up.sh DIR starts the same cluster again; delete DIR to start afresh.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
[ -d "$1" ] || { echo "down.sh: no directory $1" >&2; exit 0; }
dir=$(cd "$1" && pwd)
timeout=${SANDBOX_STOP_TIMEOUT:-30}

# alive PID: the process exists and is not a zombie waiting to be reaped.
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

pid=$(cat "$dir/sandbox.pid" 2>/dev/null || true)
if [ -z "$pid" ]; then
  echo "down.sh: no sandbox.pid in $dir: nothing to stop" >&2
  rm -f "$dir/ready"
  exit 0
fi
# Only signal the process if it really is the sandbox for this DIR (a stale
# pid file may name a pid that now belongs to something else).
if ! alive "$pid" || ! tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "run --dir $dir"; then
  echo "down.sh: sandbox (pid $pid) is not running" >&2
  rm -f "$dir/sandbox.pid" "$dir/ready"
  exit 0
fi

kill -TERM "$pid"
deadline=$((SECONDS + timeout))
while alive "$pid"; do
  if [ $SECONDS -ge $deadline ]; then
    echo "down.sh: pid $pid still running after ${timeout}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    sleep 1
    break
  fi
  sleep 0.2
done
if alive "$pid"; then
  echo "down.sh: pid $pid did not exit" >&2
  exit 1
fi
rm -f "$dir/sandbox.pid" "$dir/ready"
echo "down.sh: stopped sandbox (pid $pid)" >&2

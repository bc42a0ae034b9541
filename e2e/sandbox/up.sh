#!/usr/bin/env bash
# up.sh DIR — start the sandbox control plane in the background on 127.0.0.1,
# wait until it is ready, print the admin kubeconfig path (DIR/kubeconfig).
#
# Builds the program into e2e/sandbox/.bin/sandbox first (a no-op when it is
# up to date), unless SANDBOX_BIN names an already-built binary.
# SANDBOX_TIMEOUT (seconds, default 120) bounds the wait for readiness.
# Logs of all components: DIR/sandbox.log. Stop with down.sh DIR.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
dir=$(cd "$1" && pwd)
timeout=${SANDBOX_TIMEOUT:-120}

# go build says nothing for minutes while it compiles Kubernetes on a cold
# cache (6 to 21 minutes measured on 2 cores): say what it has done every
# 15 s. A warm build finishes in seconds and prints one line.
build_sandbox() {
  local log pid ticks=0 rc=0
  log=$(mktemp)
  echo "up.sh: building $SANDBOX_BIN (a first build compiles Kubernetes: minutes; then seconds)" >&2
  go -C "$here" build -v -o "$SANDBOX_BIN" . 2>"$log" &
  pid=$!
  while kill -0 "$pid" 2>/dev/null; do
    sleep 1
    ticks=$((ticks + 1))
    if [ $((ticks % 15)) = 0 ]; then
      echo "up.sh: still building after ${ticks}s: $(grep -c '^go: downloading' "$log") modules" \
           "downloaded, $(grep -vc '^go: ' "$log") packages compiled" >&2
    fi
  done
  wait "$pid" || rc=$?
  if [ "$rc" != 0 ]; then
    grep -v '^go: downloading' "$log" | grep -v '^[a-z0-9./_-]*$' >&2 || true
    rm -f "$log"
    echo "up.sh: go build failed (exit $rc)" >&2
    return "$rc"
  fi
  rm -f "$log"
}

if [ -z "${SANDBOX_BIN:-}" ]; then
  SANDBOX_BIN=$here/.bin/sandbox
  build_sandbox
fi

if [ -f "$dir/sandbox.pid" ]; then
  old=$(cat "$dir/sandbox.pid")
  if [ -n "$old" ] && kill -0 "$old" 2>/dev/null && tr '\0' ' ' <"/proc/$old/cmdline" 2>/dev/null | grep -q -- "--dir $dir"; then
    echo "up.sh: a sandbox is already running in $dir (pid $old); stop it with down.sh $dir" >&2
    exit 1
  fi
  rm -f "$dir/sandbox.pid"
fi
rm -f "$dir/ready"

# setsid: own session, so a Ctrl-C or hang-up of the caller's terminal does
# not reach it; only down.sh (SIGTERM) stops it.
echo "=== $(date -u +%FT%TZ) up.sh starting $SANDBOX_BIN" >>"$dir/sandbox.log"
setsid "$SANDBOX_BIN" run --dir "$dir" </dev/null >>"$dir/sandbox.log" 2>&1 &
launcher=$!

deadline=$((SECONDS + timeout))
while [ ! -f "$dir/ready" ]; do
  pid=$(cat "$dir/sandbox.pid" 2>/dev/null || true)
  if [ -z "$pid" ] && ! kill -0 "$launcher" 2>/dev/null; then
    pid=$launcher
  fi
  if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
    echo "up.sh: the sandbox exited before it was ready; last lines of $dir/sandbox.log:" >&2
    tail -n 30 "$dir/sandbox.log" >&2
    exit 1
  fi
  if [ $SECONDS -ge $deadline ]; then
    echo "up.sh: not ready after ${timeout}s; stopping it; see $dir/sandbox.log" >&2
    "$here/down.sh" "$dir" >&2 || true
    exit 1
  fi
  sleep 0.2
done
echo "$dir/kubeconfig"

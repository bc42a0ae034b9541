#!/usr/bin/env bash
# Stops the process kubelet of DIR and every process it started.
# SIGTERM lets it stop the pods' containers (their grace periods, SIGKILL
# after); anything left in its session after 120 s is killed.
set -uo pipefail
dir=$(cd "${1:?usage: stop.sh DIR}" && pwd)
pidf=$dir/kubelet.pid
[ -f "$pidf" ] || { echo "kubelet: no $pidf" >&2; exit 0; }
pid=$(cat "$pidf")
# run.sh started it with setsid: its session holds it and its helpers.
session_pids() { ps -e -o pid=,sid= | awk -v s="$1" '$2==s {print $1}'; }
if kill -0 "$pid" 2>/dev/null && grep -q kubelet.py "/proc/$pid/cmdline" 2>/dev/null; then
  kill -TERM "$pid"
  for _ in $(seq 1 240); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
  kill -0 "$pid" 2>/dev/null && kill -KILL "$pid"
fi
# Containers run in their own sessions (the kubelet stops them itself on
# SIGTERM); whatever is still left runs in a pod network namespace.
for p in $(session_pids "$pid"); do kill -KILL "$p" 2>/dev/null; done
# Only this kubelet's net (EXO_E2E_NET when it started, kept in DIR/kubelet.net).
net=$(cat "$dir/kubelet.net" 2>/dev/null || echo 0)
prefix=exopod-; [ "$net" = 0 ] || prefix=exopod$net-
for ns in $(ip netns list 2>/dev/null | awk -v p="$prefix" 'index($1, p) == 1 {print $1}'); do
  for p in $(ip netns pids "$ns"); do kill -KILL "$p" 2>/dev/null; done
  ip netns del "$ns"
done
# The bridge the kubelet made for this net (kubelet_common.py): nothing is
# attached to it any more, and a later kubelet makes it again.
ip link del "exokube$net" 2>/dev/null || true
rm -f "$pidf"
echo "kubelet: stopped" >&2

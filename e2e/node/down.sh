#!/usr/bin/env bash
# down.sh DIR — stop the node of the sandbox in DIR and leave the host as it
# was: its processes (and every container's shim), mounts, cgroups, network
# namespace (with it the veth pair, the bridge and kube-proxy's iptables
# rules, which live only there) and the host route; the sysctls the kubelet
# changed are restored when the last node on the machine stops. The node's
# files stay in DIR/node (logs). Safe to run twice, or after a failed up.sh.
set -uo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
[ -d "$1" ] || exit 0
sb=$(cd "$1" && pwd)
# shellcheck source=e2e/node/lib.sh
. "$(dirname "$0")/lib.sh"
node_lane || exit 1

# stop NAME: SIGTERM, 10 s, SIGKILL.
stop() {
  local pid
  pid=$(ours "$1")
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null
  for _ in $(seq 50); do alive "$pid" || break; sleep 0.2; done
  alive "$pid" && kill -KILL "$pid" 2>/dev/null && sleep 0.5
  rm -f "$nd/$1.pid"
}
stop provisioner
stop coredns
stop kube-proxy
stop kubelet
# The containers outlive the kubelet: kill them through containerd, then stop it.
if [ -S "$sock" ]; then
  c=(timeout 20 ctr -a "$sock" -n k8s.io)
  for t in $("${c[@]}" tasks ls -q 2>/dev/null); do "${c[@]}" tasks kill -s SIGKILL "$t" >/dev/null 2>&1; done
  sleep 1
  for t in $("${c[@]}" tasks ls -q 2>/dev/null); do "${c[@]}" tasks delete -f "$t" >/dev/null 2>&1; done
  for t in $("${c[@]}" containers ls -q 2>/dev/null); do "${c[@]}" containers delete "$t" >/dev/null 2>&1; done
fi
stop containerd
# Shims left behind (a containerd killed hard): theirs is our socket's address.
shims() {
  local p
  for p in /proc/[0-9]*; do
    tr '\0' ' ' 2>/dev/null <"$p/cmdline" | grep -q -- "-address $sock " && echo "${p#/proc/}"
  done
}
for _ in $(seq 20); do
  pids=$(shims)
  [ -n "$pids" ] || break
  # shellcheck disable=SC2086 # a list of pids
  kill -KILL $pids 2>/dev/null
  sleep 0.5
done

# Mounts: overlay rootfs, pod netns, kubelet volumes, under DIR/node or /run/exonodeN.
for m in $(findmnt -rn -o TARGET | grep -E "^($nd|$run)(/|$)" | sort -r); do
  umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null
done
# cgroups: whatever still runs in the kubelet's tree (a container whose
# shim was killed lives on, reparented to init) is killed; then the tree is
# removed in every hierarchy, deepest first.
for _ in $(seq 40); do
  pids=$(find /sys/fs/cgroup/*/"$cgroot" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
  [ -n "$pids" ] || break
  # shellcheck disable=SC2086 # a list of pids
  kill -KILL $pids 2>/dev/null
  sleep 0.25
done
for _ in $(seq 20); do
  for h in /sys/fs/cgroup/*/; do
    [ -d "$h$cgroot" ] && find "$h$cgroot" -depth -type d -exec rmdir {} + 2>/dev/null
  done
  ls -d /sys/fs/cgroup/*/"$cgroot" >/dev/null 2>&1 || break
  sleep 0.25
done
ip route del "$pod_cidr" via "$node_ip" 2>/dev/null
[ -e "/run/netns/$netns" ] && ip netns del "$netns"
ip link del "$veth" 2>/dev/null
rm -rf "$run"

# The host-wide sysctls: back to what they were when the first node started.
(
  flock -w 30 9
  rm -f "$registry/nodes/$netns"
  if [ -z "$(ls -A "$registry/nodes" 2>/dev/null)" ] && [ -f "$registry/sysctls" ]; then
    # shellcheck disable=SC2046 # one name=value a line
    sysctl -qw $(cat "$registry/sysctls") && rm -f "$registry/sysctls"
  fi
) 9>"$registry/lock"

left=$(findmnt -rn -o TARGET | grep -E "^($nd|$run)(/|$)"; for h in /sys/fs/cgroup/*/; do [ -d "$h$cgroot" ] && echo "$h$cgroot"; done)
if [ -n "$left" ]; then
  echo "node: down: left behind:" "${left//$'\n'/ }" >&2
  exit 1
fi
echo "node: stopped lane $N" >&2

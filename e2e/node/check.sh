#!/usr/bin/env bash
# check.sh DIR — what a node needs before anything starts; each problem is one
# line naming it and its fix, and the exit status is 1 if there is any.
set -uo pipefail
sb=$(cd "${1:?usage: check.sh DIR}" && pwd) || exit 1
# shellcheck source=e2e/node/lib.sh
. "$(dirname "$0")/lib.sh"
bad=0
fail() { echo "node: $*" >&2; bad=1; }

[ "$(id -u)" = 0 ] || fail "must run as root (network namespaces, mounts, cgroups): run it with sudo"
for c in containerd:containerd runc:runc ctr:containerd iptables:iptables ip:iproute2 nsenter:util-linux \
         openssl:openssl kubectl:kubectl findmnt:util-linux flock:util-linux buildah:buildah debootstrap:debootstrap; do
  command -v "${c%%:*}" >/dev/null || fail "${c%%:*} is missing: apt-get install ${c##*:} (scripts/install-deps.sh)"
done
[ -x /usr/sbin/runc ] || fail "/usr/sbin/runc is missing: apt-get install runc"
for p in bridge host-local loopback portmap; do
  [ -x "/usr/lib/cni/$p" ] || fail "CNI plugin /usr/lib/cni/$p is missing: apt-get install containernetworking-plugins"
done
[ -d /proc/sys/net/bridge ] || fail "kernel module br_netfilter is not loaded: modprobe br_netfilter"
grep -qw overlay /proc/filesystems || fail "kernel module overlay is not loaded: modprobe overlay"
# cgroup v1 (with or without the hybrid cgroup2 at unified/) needs these
# hierarchies; a pure cgroup2 mount has cgroup.controllers at the top.
if [ ! -f /sys/fs/cgroup/cgroup.controllers ]; then
  for h in cpu cpuacct cpuset memory pids devices freezer systemd; do
    [ -d "/sys/fs/cgroup/$h" ] || fail "cgroup v1 hierarchy /sys/fs/cgroup/$h is not mounted: mount the cgroup controllers (or boot with cgroup v2 only)"
  done
fi
[ -f "$sb/ready" ] || fail "no sandbox is ready in $sb: start it with EXO_SANDBOX_NODE_ADDRESS=10.250.N.1 e2e/sandbox/up.sh $sb"
if node_lane; then
  [ ! -e "/run/netns/$netns" ] || fail "network namespace $netns exists: a node of lane $N is running or was not stopped; run e2e/node/down.sh DIR for it (or ip netns del $netns)"
  ! ip link show "$veth" >/dev/null 2>&1 || fail "interface $veth exists on the host: another node of lane $N; stop it with e2e/node/down.sh"
  if ip -4 -o addr show | awk '{print $4}' | grep -q "^10\.25[01]\.$N\."; then
    fail "an address in 10.250.$N.0/30 or $pod_cidr is already on a host interface: pick another lane N"
  fi
  [ ! -e "$run" ] || fail "$run exists: a node of lane $N is running or was not stopped; run e2e/node/down.sh"
  # The ports the node's processes take in its namespace are its own; on
  # the host it only needs the sandbox's API on the node address.
  ss -Htln "sport = :$api_port" 2>/dev/null | grep -q "$host_ip:$api_port" ||
    fail "the sandbox does not listen on $host_ip:$api_port: restart it with EXO_SANDBOX_NODE_ADDRESS=$host_ip"
fi
for b in kubelet kube-proxy coredns; do
  [ -x "$bin/$b" ] || fail "$bin/$b is not built: run e2e/node/build.sh"
done
exit $bad

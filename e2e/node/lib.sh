#!/usr/bin/env bash
# shellcheck disable=SC2034,SC2154 # variables for the scripts that source it, which set sb
# lib.sh — names and paths of a node, sourced by up.sh, down.sh and check.sh
# with $sb (the sandbox's DIR) set. One node per sandbox; its lane N comes
# from the address the sandbox serves the API on for it (EXO_SANDBOX_NODE_ADDRESS
# = 10.250.N.1, N in 0..63), and everything host-visible is named after N:
#
#   netns exonodeN          the node's own network namespace: its bridge,
#                           pod veths, kube-proxy's iptables rules and the
#                           kubelet/containerd/CoreDNS ports live in it, so
#                           two nodes (or the process kubelet's lanes, bridges
#                           exokube0/1 on 10.244.N.0/24) never meet
#   veth exonodeN           host side 10.250.N.1/30 (the API), node side eth0
#                           10.250.N.2/30 (the node's InternalIP)
#   10.251.N.0/24           pods, on bridge cni0 inside the netns (10.251.N.1:
#                           gateway and cluster DNS); routed from the host
#   /exonodeN               the kubelet's cgroupRoot in every hierarchy
#   /run/exonodeN           containerd's state and sockets
node_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
nd=$sb/node                               # the node's own files
bin=$node_here/.bin
cache=${EXO_NODE_CACHE:-/var/cache/exo/node}
node_name=sandbox-node

# node_lane: set lane variables from the sandbox's DIR/env; fails with the
# fix when the sandbox was started without a node address.
node_lane() {
  local a
  a=$(sed -n "s/^SANDBOX_NODE_ADDRESS='\(.*\)'$/\1/p" "$sb/env" 2>/dev/null || true)
  if ! [[ $a =~ ^10\.250\.([0-9]+)\.1$ ]] || ((BASH_REMATCH[1] > 63)); then
    echo "node: the sandbox in $sb does not serve the API on a node address (got '${a}');" \
      "start it with EXO_SANDBOX_NODE_ADDRESS=10.250.N.1 e2e/sandbox/up.sh $sb (N in 0..63)" >&2
    return 1
  fi
  N=${BASH_REMATCH[1]}
  netns=exonode$N
  veth=exonode$N
  host_ip=10.250.$N.1
  node_ip=10.250.$N.2
  pod_cidr=10.251.$N.0/24
  pod_gw=10.251.$N.1
  cgroot=/exonode$N
  run=/run/exonode$N
  sock=$run/containerd.sock
  api_port=$(sed -n "s/^SANDBOX_APISERVER_PORT='\(.*\)'$/\1/p" "$sb/env")
}

# innet CMD...: run CMD in the node's network namespace only (the host's
# mount namespace: the kubelet's and containerd's mounts must see each other,
# which `ip netns exec`, with a mount namespace of its own, would prevent).
innet() { nsenter --net="/run/netns/$netns" -- "$@"; }

# alive PID: exists and is not a zombie.
alive() {
  local st
  st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# ours NAME: the pid in $nd/NAME.pid if that process is still the one we
# started (its command line names $nd), else nothing.
ours() {
  local pid
  pid=$(cat "$nd/$1.pid" 2>/dev/null) || return 0
  if [ -n "$pid" ] && alive "$pid" && tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "$nd"; then
    echo "$pid"
  fi
}

# The host-wide settings the kubelet changes (setupKernelTunables); saved by
# the first node that starts, restored by the last one that stops.
host_sysctls=(vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
              kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
registry=/run/exo-node

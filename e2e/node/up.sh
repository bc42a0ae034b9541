#!/usr/bin/env bash
# up.sh DIR — start a real node for the sandbox in DIR (started with
# EXO_SANDBOX_NODE_ADDRESS=10.250.N.1 e2e/sandbox/up.sh DIR): containerd and
# runc, the CNI bridge, the kubelet, kube-proxy (iptables) and CoreDNS, in the
# network namespace exonodeN (see lib.sh), plus a default StorageClass with a
# provisioner (provisioner.sh). Imports the images of images/build.sh. Waits
# for the Node Ready and DNS, then prints DIR/kubeconfig. Every wait is
# bounded (NODE_TIMEOUT, default 120 s); on failure it stops what it started
# (down.sh) and shows the end of the logs. Logs: DIR/node/*.log.
set -euo pipefail
[ $# -eq 1 ] || { echo "usage: $0 DIR" >&2; exit 2; }
here=$(cd "$(dirname "$0")" && pwd)
sb=$(cd "$1" && pwd)
# shellcheck source=e2e/node/lib.sh
. "$here/lib.sh"
timeout=${NODE_TIMEOUT:-120}
"$here/build.sh"
"$here/check.sh" "$sb"
node_lane
images=$("$here/images/build.sh")
# shellcheck source=/dev/null # written by images/build.sh
. "$images/current"
t0=$SECONDS
log() { echo "node: $* ($((SECONDS - t0)) s)" >&2; }

mkdir -p "$nd" "$run"
failed() {
  echo "node: up failed; last lines of the logs in $nd:" >&2
  for f in "$nd"/*.log; do [ -f "$f" ] && { echo "--- $f" >&2; tail -n 15 "$f" >&2; }; done
  "$here/down.sh" "$sb" >&2 || true
}
trap failed ERR

# wait_for WHAT CMD...: poll CMD every 0.5 s for $timeout s.
wait_for() {
  local what=$1 deadline=$((SECONDS + timeout)); shift
  until "$@" >/dev/null 2>&1; do
    if [ $SECONDS -ge $deadline ]; then echo "node: $what not ready after ${timeout}s" >&2; return 1; fi
    sleep 0.5
  done
}
# start NAME CMD...: run CMD in the node's netns, in its own session, logging
# to $nd/NAME.log, pid in $nd/NAME.pid.
start() {
  local name=$1; shift
  # exec all the way (nsenter and setsid exec too): the pid is the program's,
  # which down.sh recognises by its command line.
  (exec nsenter --net="/run/netns/$netns" -- setsid "$@" </dev/null >>"$nd/$name.log" 2>&1) &
  echo $! >"$nd/$name.pid"
}

# ---- host-wide state: register, save the sysctls the kubelet changes ---------
mkdir -p "$registry/nodes"
(
  flock -w 30 9
  if [ -z "$(ls -A "$registry/nodes")" ] || [ ! -f "$registry/sysctls" ]; then
    sysctl -e "${host_sysctls[@]}" | sed 's/ = /=/' >"$registry/sysctls"
  fi
  echo "$sb" >"$registry/nodes/$netns"
) 9>"$registry/lock"

# ---- network namespace, veth, bridge -----------------------------------------
ip netns add "$netns"
ip link add "$veth" type veth peer name "$veth-n"
ip link set "$veth-n" netns "$netns"
ip addr add "$host_ip/30" dev "$veth"
ip link set "$veth" up
innet ip link set lo up
innet ip link set "$veth-n" name eth0
innet ip addr add "$node_ip/30" dev eth0
innet ip link set eth0 up
innet ip route add default via "$host_ip"
# The host reaches the pods (tests, pg_isready from the host).
ip route add "$pod_cidr" via "$node_ip"
innet ip link add cni0 type bridge
innet ip addr add "$pod_gw/24" dev cni0
innet ip link set cni0 up
# In the node's namespace only (per-namespace on this kernel): bridged pod
# traffic through iptables (Services between pods on the bridge), forwarding.
innet sysctl -qw net.bridge.bridge-nf-call-iptables=1 net.ipv4.ip_forward=1
wait_for "the API on $host_ip:$api_port" innet curl -sk --max-time 2 "https://$host_ip:$api_port/readyz"
log "network namespace $netns ready"

# ---- certificates and kubeconfigs --------------------------------------------
ca=$sb/pki/ca.crt
pki=$nd/pki
mkdir -p "$pki"
# cert NAME SUBJECT EXT: a P-256 key and a certificate signed by the sandbox CA.
cert() {
  [ -f "$pki/$1.crt" ] && return 0
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$pki/$1.key" 2>/dev/null
  openssl req -new -key "$pki/$1.key" -subj "$2" -out "$pki/$1.csr" 2>/dev/null
  printf '%s\n' "$3" >"$pki/$1.ext"
  openssl x509 -req -in "$pki/$1.csr" -CA "$ca" -CAkey "$sb/pki/ca.key" -set_serial "0x$(openssl rand -hex 16)" \
    -days 365 -extfile "$pki/$1.ext" -out "$pki/$1.crt" 2>/dev/null
}
client_ext=$'keyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth'
cert kubelet-serving "/O=system:nodes/CN=system:node:$node_name" \
  $'keyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n'"subjectAltName=IP:$node_ip,DNS:$node_name"
cert kube-proxy "/CN=system:kube-proxy" "$client_ext"
cert coredns "/CN=system:coredns" "$client_ext"
# kubeconfig FILE CERT KEY: the API on the node address; the API server's
# certificate names "kubernetes", not that address.
kubeconfig() {
  local k=(kubectl --kubeconfig "$1" config)
  rm -f "$1"
  "${k[@]}" set-cluster node --server "https://$host_ip:$api_port" --certificate-authority "$ca" \
    --embed-certs --tls-server-name kubernetes >/dev/null
  "${k[@]}" set-credentials node --client-certificate "$2" --client-key "$3" --embed-certs >/dev/null
  "${k[@]}" set-context node --cluster node --user node >/dev/null
  "${k[@]}" use-context node >/dev/null
}
kubeconfig "$nd/kubeconfig-kubelet" "$sb/pki/node-$node_name.crt" "$sb/pki/node-$node_name.key"
kubeconfig "$nd/kubeconfig-proxy" "$pki/kube-proxy.crt" "$pki/kube-proxy.key"
kubeconfig "$nd/kubeconfig-coredns" "$pki/coredns.crt" "$pki/coredns.key"
kc=(kubectl --kubeconfig "$sb/kubeconfig")

# ---- containerd ----------------------------------------------------------------
mkdir -p "$nd/cni/net.d" "$nd/cni/ipam"
cat >"$nd/cni/net.d/10-exonode.conflist" <<EOT
{"cniVersion": "0.4.0", "name": "exonode$N", "plugins": [
  {"type": "bridge", "bridge": "cni0", "isGateway": true, "ipMasq": false, "hairpinMode": true,
   "ipam": {"type": "host-local", "dataDir": "$nd/cni/ipam", "ranges": [[{"subnet": "$pod_cidr", "gateway": "$pod_gw"}]],
            "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "portmap", "capabilities": {"portMappings": true}}]}
EOT
cat >"$nd/containerd.toml" <<EOT
version = 2
root = "$nd/containerd"
state = "$run/containerd"
[grpc]
  address = "$sock"
[ttrpc]
  address = "$run/containerd-ttrpc.sock"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        BinaryName = "/usr/sbin/runc"
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$nd/cni/net.d"
    max_conf_num = 1
EOT
start containerd containerd --config "$nd/containerd.toml"
wait_for containerd ctr -a "$sock" version
for t in $IMAGE_TARS; do
  ctr -a "$sock" -n k8s.io images import --no-unpack "$t" >>"$nd/images.log" 2>&1
done
log "containerd ready, images imported"

# ---- kubelet -------------------------------------------------------------------
# Its cgroupRoot must exist in every v1 hierarchy (cpuset: with cpus and mems).
for h in /sys/fs/cgroup/*/; do
  [ -f "$h/cgroup.procs" ] || continue
  mkdir -p "$h$cgroot"
  if [ -f "$h/cpuset.cpus" ]; then
    cat "$h/cpuset.cpus" >"$h$cgroot/cpuset.cpus"
    cat "$h/cpuset.mems" >"$h$cgroot/cpuset.mems"
  fi
done
: >"$nd/resolv.conf"   # no host resolvers in the pods
mkdir -p "$nd/kubelet" "$nd/pod-logs"
cat >"$nd/kubelet.yaml" <<EOT
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $node_ip
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $ca}
authorization: {mode: Webhook}
tlsCertFile: $pki/kubelet-serving.crt
tlsPrivateKeyFile: $pki/kubelet-serving.key
containerRuntimeEndpoint: unix://$sock
cgroupDriver: cgroupfs
cgroupRoot: $cgroot
failSwapOn: false
failCgroupV1: false
protectKernelDefaults: false
makeIPTablesUtilChains: false
clusterDNS: [$pod_gw]
clusterDomain: cluster.local
resolvConf: $nd/resolv.conf
podLogsDir: $nd/pod-logs
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
serializeImagePulls: false
EOT
start kubelet "$bin/kubelet" --config "$nd/kubelet.yaml" --kubeconfig "$nd/kubeconfig-kubelet" \
  --hostname-override "$node_name" --node-ip "$node_ip" --root-dir "$nd/kubelet" --cert-dir "$pki"
wait_for "Node $node_name" sh -c "${kc[*]} get node $node_name -o jsonpath='{.status.conditions[?(@.type==\"Ready\")].status}' | grep -qx True"
log "Node $node_name Ready"

# ---- kube-proxy ----------------------------------------------------------------
cat >"$nd/kube-proxy.yaml" <<EOT
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $nd/kubeconfig-proxy}
hostnameOverride: $node_name
mode: iptables
clusterCIDR: $pod_cidr
detectLocalMode: ClusterCIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
nodePortAddresses: [$node_ip/32]
iptables: {masqueradeAll: true, localhostNodePorts: false}
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOT
start kube-proxy "$bin/kube-proxy" --config "$nd/kube-proxy.yaml"
wait_for kube-proxy innet curl -sf --max-time 2 http://127.0.0.1:10256/healthz
log "kube-proxy ready"

# ---- CoreDNS -------------------------------------------------------------------
"${kc[@]}" apply -f - >/dev/null <<EOT
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: "system:coredns"}
rules:
- {apiGroups: [""], resources: [endpoints, services, pods, namespaces], verbs: [list, watch]}
- {apiGroups: [discovery.k8s.io], resources: [endpointslices], verbs: [list, watch]}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: "system:coredns"}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "system:coredns"}
subjects: [{apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}]
EOT
cat >"$nd/Corefile" <<EOT
.:53 {
    bind $pod_gw
    errors
    log
    health 127.0.0.1:8080
    ready 127.0.0.1:8181
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $nd/kubeconfig-coredns node
        pods insecure
        fallthrough in-addr.arpa ip6.arpa
    }
    cache 30
}
EOT
start coredns "$bin/coredns" -conf "$nd/Corefile"
wait_for CoreDNS innet curl -sf --max-time 2 http://127.0.0.1:8181/ready
log "CoreDNS ready"

# ---- storage -------------------------------------------------------------------
"${kc[@]}" apply -f - >/dev/null <<EOT
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations: {storageclass.kubernetes.io/is-default-class: "true"}
provisioner: exo.node/local-dir
reclaimPolicy: Delete
volumeBindingMode: Immediate
EOT
(exec setsid "$here/provisioner.sh" "$nd" </dev/null >>"$nd/provisioner.log" 2>&1) &
echo $! >"$nd/provisioner.pid"
log "node up"
trap - ERR
echo "$sb/kubeconfig"

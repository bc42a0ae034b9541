#!/usr/bin/env bash
# smoke_test.sh — build the sandbox, start it in a temporary directory, check
# the real control plane with the real kubectl, stop it, and check that no
# sandbox process is left. Exits non-zero on the first failure.
#
# Needs: go, kubectl on PATH. Env: SANDBOX_BIN (use this binary, skip the
# build), KEEP_SANDBOX_DIR=1 (leave the temporary DIR for inspection).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
passed=0
failed=0
step() { echo "--- $*"; }
ok() { passed=$((passed + 1)); echo "ok: $*"; }
fail() {
  failed=$((failed + 1))
  echo "FAIL: $*" >&2
  if [ -n "${dir:-}" ] && [ -f "$dir/sandbox.log" ]; then
    echo "--- last lines of $dir/sandbox.log" >&2
    tail -n 40 "$dir/sandbox.log" >&2
  fi
  echo "$passed passed, $failed failed"
  exit 1
}
# poll SECONDS DESCRIPTION COMMAND...: run COMMAND until it succeeds.
poll() {
  local t=$1 what=$2
  shift 2
  local end=$((SECONDS + t))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -lt $end ] || fail "timed out after ${t}s waiting for $what"
    sleep 0.5
  done
}

tmp=$(mktemp -d "${TMPDIR:-/tmp}/sandbox-smoke.XXXXXX")
dir=$tmp/sb
cleanup() {
  "$here/down.sh" "$dir" >/dev/null 2>&1 || true
  if [ "${KEEP_SANDBOX_DIR:-}" = 1 ]; then
    echo "kept $tmp"
  else
    rm -rf "$tmp"
  fi
}
trap cleanup EXIT

if [ -z "${SANDBOX_BIN:-}" ]; then
  step "go build"
  export SANDBOX_BIN=$here/.bin/sandbox
  t0=$SECONDS
  go -C "$here" build -o "$SANDBOX_BIN" . || fail "go build"
  ok "built $SANDBOX_BIN in $((SECONDS - t0))s"
fi

step "up.sh"
t0=$(date +%s.%N)
kc=$("$here/up.sh" "$dir") || fail "up.sh"
t1=$(date +%s.%N)
[ "$kc" = "$dir/kubeconfig" ] || fail "up.sh printed '$kc', expected $dir/kubeconfig"
ok "up.sh ready in $(awk "BEGIN{printf \"%.1f\", $t1-$t0}")s: $kc"
pid=$(cat "$dir/sandbox.pid")
k() { kubectl --kubeconfig "$kc" --request-timeout=20s "$@"; }

step "version, readyz, namespaces"
k version || fail "kubectl version"
[ "$(k get --raw /readyz)" = ok ] || fail "/readyz is not ok"
ok "/readyz ok"
k get --raw '/readyz?verbose' | grep -q 'poststarthook/rbac/bootstrap-roles ok' || fail "readyz: bootstrap roles"
for ns in default kube-system kube-public kube-node-lease; do
  k get ns "$ns" -o name >/dev/null || fail "namespace $ns missing"
done
ok "namespaces default, kube-system, kube-public, kube-node-lease"
grep -q 'certificate-authority-data' "$kc" || fail "kubeconfig lacks the embedded CA"
grep -q 'client-certificate-data' "$kc" || fail "kubeconfig lacks the embedded client cert"
grep -q 'server: https://127.0.0.1:' "$kc" || fail "kubeconfig server is not https://127.0.0.1:PORT"

step "CRD and custom resource (server-side apply)"
cat >"$tmp/crd.yaml" <<'YAML'
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.smoke.example.com
spec:
  group: smoke.example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget}
  versions:
  - name: v1
    served: true
    storage: true
    subresources: {status: {}}
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              size: {type: integer, minimum: 1}
          status:
            type: object
            x-kubernetes-preserve-unknown-fields: true
YAML
cat >"$tmp/cr.yaml" <<'YAML'
apiVersion: smoke.example.com/v1
kind: Widget
metadata: {name: w1, namespace: default}
spec: {size: 3}
YAML
k apply --server-side -f "$tmp/crd.yaml" || fail "apply CRD"
k wait --for condition=established --timeout=60s crd/widgets.smoke.example.com || fail "CRD not established"
ok "CRD established"
poll 30 "widgets in discovery" k api-resources --api-group=smoke.example.com -o name
k apply --server-side -f "$tmp/cr.yaml" || fail "apply CR"
[ "$(k get widget w1 -o jsonpath='{.spec.size}')" = 3 ] || fail "CR spec.size"
k get widget w1 -o jsonpath='{.metadata.managedFields[0].operation}' | grep -q Apply || fail "CR managedFields lack Apply"
echo '{"apiVersion":"smoke.example.com/v1","kind":"Widget","metadata":{"name":"w2"},"spec":{"size":0}}' >"$tmp/bad.json"
if k apply --server-side -f "$tmp/bad.json" 2>"$tmp/bad.err"; then fail "schema validation did not reject size: 0"; fi
grep -q 'spec.size' "$tmp/bad.err" || fail "unexpected rejection: $(cat "$tmp/bad.err")"
ok "custom resource applied; invalid one rejected by the CRD schema"

step "Deployment -> ReplicaSet -> Pod (Pending, no node)"
k create deployment x --image=busybox -- sleep 3600 || fail "create deployment"
poll 60 "ReplicaSet of deployment x" sh -c "kubectl --kubeconfig '$kc' get rs -l app=x -o name | grep -q ."
poll 60 "Pod of deployment x" sh -c "kubectl --kubeconfig '$kc' get pod -l app=x -o name | grep -q ."
phase=$(k get pod -l app=x -o jsonpath='{.items[0].status.phase}')
node=$(k get pod -l app=x -o jsonpath='{.items[0].spec.nodeName}')
[ "$phase" = Pending ] || fail "pod phase is '$phase', expected Pending"
[ -z "$node" ] || fail "pod is bound to '$node' although no node exists"
sa=$(k get pod -l app=x -o jsonpath='{.items[0].spec.serviceAccountName}')
[ "$sa" = default ] || fail "ServiceAccount admission did not set serviceAccountName ($sa)"
ok "ReplicaSet and Pod created; pod Pending and unbound; serviceAccountName=default"
poll 60 "PodScheduled=False (scheduler saw the pod)" sh -c \
  "kubectl --kubeconfig '$kc' get pod -l app=x -o jsonpath='{.items[0].status.conditions[?(@.type==\"PodScheduled\")].status}' | grep -q False"
ok "scheduler marked the pod unschedulable (no nodes)"

step "garbage collection"
k delete deployment x --wait=true || fail "delete deployment"
poll 60 "ReplicaSet and Pod of x to be garbage-collected" sh -c \
  "[ -z \"\$(kubectl --kubeconfig '$kc' get rs,pod -l app=x -o name)\" ]"
ok "ReplicaSet and Pod garbage-collected"

step "PodSecurity admission"
k create ns restricted-ns >/dev/null || fail "create ns"
k label ns restricted-ns pod-security.kubernetes.io/enforce=restricted >/dev/null || fail "label ns"
if k -n restricted-ns run priv --image=busybox --privileged 2>"$tmp/psa.err"; then fail "privileged pod admitted in restricted namespace"; fi
grep -qi 'violates PodSecurity' "$tmp/psa.err" || fail "unexpected rejection: $(cat "$tmp/psa.err")"
ok "PodSecurity rejected a privileged pod in a restricted namespace"

step "bearer-token user (DIR/kubeconfig-token)"
kt() { kubectl --kubeconfig "$dir/kubeconfig-token" --request-timeout=20s "$@"; }
user=$(kt auth whoami -o jsonpath='{.status.userInfo.username}') || fail "auth whoami with token"
[ "$user" = sandbox-user ] || fail "token user is '$user'"
kt get ns default -o name >/dev/null || fail "token user cannot get ns"
grep -q 'token:' "$dir/kubeconfig-token" || fail "kubeconfig-token has no token"
ok "token user '$user' authenticated and authorized (RBAC)"

step "a node registers (DIR/kubeconfig-node) and the scheduler binds a pending pod"
k create deployment y --image=busybox -- sleep 3600 || fail "create deployment y"
poll 60 "Pod of deployment y" sh -c "kubectl --kubeconfig '$kc' get pod -l app=y -o name | grep -q ."
kn() { kubectl --kubeconfig "$dir/kubeconfig-node" --request-timeout=20s "$@"; }
nodename=$(jq -r .nodeName "$dir/ready" 2>/dev/null || sed -n 's/.*"nodeName": "\(.*\)".*/\1/p' "$dir/ready")
[ -n "$nodename" ] || fail "no nodeName in $dir/ready"
[ "$(kn auth whoami -o jsonpath='{.status.userInfo.username}')" = "system:node:$nodename" ] || fail "node credentials"
# Registered as a kubelet does: created by the node itself, with its status.
# (TaintNodesByCondition adds the not-ready taint on create; the node
# lifecycle controller removes it once it sees Ready=True.)
now=$(date -u +%FT%TZ)
cat >"$tmp/node.json" <<JSON
{"apiVersion":"v1","kind":"Node",
 "metadata":{"name":"$nodename","labels":{"kubernetes.io/hostname":"$nodename","kubernetes.io/os":"linux"}},
 "status":{
  "capacity":{"cpu":"2","memory":"4Gi","pods":"110"},
  "allocatable":{"cpu":"2","memory":"4Gi","pods":"110"},
  "addresses":[{"type":"InternalIP","address":"127.0.0.1"},{"type":"Hostname","address":"$nodename"}],
  "conditions":[{"type":"Ready","status":"True","reason":"KubeletReady","message":"smoke test",
                 "lastHeartbeatTime":"$now","lastTransitionTime":"$now"}]}}
JSON
kn create -f "$tmp/node.json" || fail "node could not register itself"
[ "$(k get node "$nodename" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}')" = True ] || fail "node status not kept"
ok "node $nodename registered with its own credentials and reported Ready"
sed "s/\"name\":\"$nodename\"/\"name\":\"other-node\"/" "$tmp/node.json" >"$tmp/other.json"
if kn create -f "$tmp/other.json" 2>"$tmp/nr.err"; then fail "NodeRestriction let $nodename create other-node"; fi
grep -qi 'forbidden' "$tmp/nr.err" || fail "unexpected error: $(cat "$tmp/nr.err")"
ok "NodeRestriction: node may not create another Node"
poll 90 "pod of y to be bound to $nodename" sh -c \
  "[ \"\$(kubectl --kubeconfig '$kc' get pod -l app=y -o jsonpath='{.items[0].spec.nodeName}')\" = '$nodename' ]"
ok "scheduler bound the pending pod to $nodename"
podname=$(k get pod -l app=y -o jsonpath='{.items[0].metadata.name}')
kn get pod "$podname" -o name >/dev/null || fail "node cannot read a pod bound to it"
ok "node authorizer: node reads its own pod"

step "idle memory"
rss=$(awk '/VmRSS/{print $2}' "/proc/$pid/status")
ok "sandbox RSS $((rss / 1024)) MiB"

step "down.sh"
"$here/down.sh" "$dir" || fail "down.sh"
sleep 0.5
if [ -e "/proc/$pid" ] && [ "$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null)" != Z ]; then fail "sandbox pid $pid still running"; fi
left=$(pgrep -f -- "run --dir $dir" || true)
[ -z "$left" ] || fail "processes left: $left"
if kubectl --kubeconfig "$kc" --request-timeout=3s get --raw /readyz >/dev/null 2>&1; then fail "API still answers after down.sh"; fi
ok "no sandbox process left; API gone"

echo "$passed passed, $failed failed"

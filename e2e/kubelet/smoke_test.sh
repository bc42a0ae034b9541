#!/usr/bin/env bash
# Smoke test of the process kubelet: a sandbox cluster, the kubelet, the
# project's exo-postgres StatefulSet (manifests 00, 06, 07 plus a Secret),
# PostgreSQL 16 answering with the Secret's password at the address the
# Service name resolves to, data surviving the pod's deletion (the PVC's
# directory outlives the pod), and no process left after stopping.
# Needs root, kubectl, psql; the sandbox binary (built by up.sh if needed).
# Ends with "N passed, M failed"; exit status 0 only when nothing failed.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
export SANDBOX_BIN=${SANDBOX_BIN:-$root/e2e/sandbox/.bin/sandbox}
dir=$(mktemp -d /tmp/kubelet-smoke.XXXXXX)
passed=0 failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
check() { local what=$1; shift; if "$@"; then ok "$what"; else bad "$what"; fi; }
finish() {
  echo "$passed passed, $failed failed"
  [ "$failed" = 0 ]
  exit $?
}
stopped=0
stop_all() {
  [ "$stopped" = 1 ] && return; stopped=1
  "$here/stop.sh" "$dir" >/dev/null 2>&1
  "$root/e2e/sandbox/down.sh" "$dir" >/dev/null 2>&1
}
abort() {
  bad "$*"
  echo "--- kubelet.log (end)"; tail -n 40 "$dir/kubelet.log" 2>/dev/null
  for f in "$dir"/pods/*/*.log; do [ -f "$f" ] && { echo "--- $f"; tail -n 20 "$f"; }; done
  stop_all; finish
}
trap 'stop_all' EXIT

kc=$("$root/e2e/sandbox/up.sh" "$dir") || abort "sandbox up"
ok "sandbox up in $dir"
k() { kubectl --kubeconfig "$kc" --request-timeout=20s "$@"; }
"$here/run.sh" "$dir" 2>/dev/null || abort "kubelet start"
ok "kubelet started (pid $(cat "$dir/kubelet.pid"))"

k wait --for=condition=Ready node/sandbox-node --timeout=60s >/dev/null || abort "node Ready"
ok "node sandbox-node Ready"
check "node allocatable cpu 2, memory 8Gi, pods 110" \
  test "$(k get node sandbox-node -o jsonpath='{.status.allocatable.cpu}/{.status.allocatable.memory}/{.status.allocatable.pods}')" = "2/8Gi/110"
check "Lease kube-node-lease/sandbox-node held by the node" \
  test "$(k -n kube-node-lease get lease sandbox-node -o jsonpath='{.spec.holderIdentity}')" = sandbox-node

password=$(head -c 12 /dev/urandom | base64 | tr -dc 'A-Za-z0-9')
k apply -f "$root/manifests/00-namespace-exo.yaml" >/dev/null || abort "apply namespace"
k -n exo create secret generic exo-postgres --from-literal=password="$password" >/dev/null \
  || abort "create secret"
k apply -f "$root/manifests/06-service-exo-postgres.yaml" \
  -f "$root/manifests/07-statefulset-exo-postgres.yaml" >/dev/null || abort "apply service+statefulset"
ok "applied namespace, Secret, Service, StatefulSet"

wait_ready() {  # wait until pod exo-postgres-0 exists (with another uid than $1) and is Ready
  local end=$((SECONDS + 60))
  until uid=$(k -n exo get pod exo-postgres-0 -o jsonpath='{.metadata.uid}' 2>/dev/null) \
        && [ -n "$uid" ] && [ "$uid" != "${1:-}" ]; do
    [ $SECONDS -lt $end ] || return 1; sleep 1
  done
  k -n exo wait --for=condition=Ready pod/exo-postgres-0 --timeout=180s >/dev/null
}
wait_ready || abort "pod exo-postgres-0 Ready within 180 s"
ok "pod exo-postgres-0 Ready"
uid1=$(k -n exo get pod exo-postgres-0 -o jsonpath='{.metadata.uid}')
podip=$(k -n exo get pod exo-postgres-0 -o jsonpath='{.status.podIP}')
check "podIP $podip is a bridge address" test "${podip#"10.244.${EXO_E2E_NET:-0}."}" != "$podip"
check "PVC data-exo-postgres-0 Bound" \
  test "$(k -n exo get pvc data-exo-postgres-0 -o jsonpath='{.status.phase}')" = Bound
check "containerStatuses: running, ready" \
  test "$(k -n exo get pod exo-postgres-0 -o jsonpath='{.status.containerStatuses[0].ready}/{.status.containerStatuses[0].state.running.startedAt}' | cut -c1-6)" = "true/2"

# Where the Service name resolves (the /etc/hosts the kubelet writes).
svc_ip() { awk '{for (i = 2; i <= NF; i++) if ($i == "exo-postgres.exo.svc") {print $1; exit}}' "$dir/hosts"; }
end=$((SECONDS + 15)); until [ -n "$(svc_ip)" ] || [ $SECONDS -ge $end ]; do sleep 1; done
addr=$(svc_ip)
check "exo-postgres.exo.svc resolves to the pod ($addr)" test "$addr" = "$podip"
check "the pod's own /etc/hosts names the Service" \
  grep -q "^$podip.*exo-postgres.exo.svc.cluster.local" "$dir"/pods/exo_exo-postgres-0_"$uid1"/hosts
pq() { PGPASSWORD=$1 PGCONNECT_TIMEOUT=5 psql -h "$addr" -p 5432 -U exo -d exo -XAtqc "$2" 2>&1; }
v=$(pq "$password" "show server_version")
check "PostgreSQL 16 answers with the Secret's password (server_version $v)" \
  test "${v%%.*}" = 16
check "a wrong password is refused" sh -c "PGPASSWORD=wrong PGCONNECT_TIMEOUT=5 psql -h '$addr' -U exo -d exo -Xc 'select 1' 2>&1 | grep -q 'password authentication failed'"
pq "$password" "create table smoke(v text); insert into smoke values ('kept-$uid1')" >/dev/null
check "wrote a row" test "$(pq "$password" "select v from smoke")" = "kept-$uid1"
eps=$(k -n exo get endpointslices -l kubernetes.io/service-name=exo-postgres -o jsonpath='{.items[*].endpoints[*].addresses[*]}')
check "EndpointSlice of the Service lists the pod IP ($eps)" test "$eps" = "$podip"
pgpid=$(grep -o "exo/exo-postgres-0 postgres started pid [0-9]*" "$dir/kubelet.log" | tail -1 | awk '{print $NF}')

k -n exo delete pod exo-postgres-0 --timeout=90s >/dev/null || abort "delete pod"
ok "pod deleted (the kubelet confirmed the deletion)"
check "its postgres (pid $pgpid) has exited" sh -c "! kill -0 $pgpid 2>/dev/null"
wait_ready "$uid1" || abort "the StatefulSet's new pod Ready"
uid2=$(k -n exo get pod exo-postgres-0 -o jsonpath='{.metadata.uid}')
ok "new pod exo-postgres-0 ($uid2) Ready"
end=$((SECONDS + 15)); until [ "$(svc_ip)" = "$(k -n exo get pod exo-postgres-0 -o jsonpath='{.status.podIP}')" ] || [ $SECONDS -ge $end ]; do sleep 1; done
addr=$(svc_ip)
check "the row written before the deletion is still there" \
  test "$(pq "$password" "select v from smoke")" = "kept-$uid1"

pids=$(grep -o "started pid [0-9]*" "$dir/kubelet.log" | awk '{print $NF}')
kpid=$(cat "$dir/kubelet.pid")
"$here/stop.sh" "$dir" >/dev/null 2>&1
"$root/e2e/sandbox/down.sh" "$dir" >/dev/null 2>&1
stopped=1
left=""
for p in $kpid $pids; do kill -0 "$p" 2>/dev/null && left="$left $p"; done
check "no kubelet or container process left${left:+ (left:$left)}" test -z "$left"
net=${EXO_E2E_NET:-0}; prefix=exopod-; [ "$net" = 0 ] || prefix=exopod$net-
check "no pod network namespace left" test -z "$(ip netns list | grep "^$prefix")"
check "no bridge exokube$net left" test -z "$(ip -o link show "exokube$net" 2>/dev/null)"
check "no process mentions $dir" test -z "$(pgrep -f -- "$dir")"
rm -rf "$dir"
finish

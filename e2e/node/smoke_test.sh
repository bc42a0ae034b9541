#!/usr/bin/env bash
# smoke_test.sh — the real node end to end (ctest e2e_node_smoke): a sandbox
# serving lane EXO_NODE_NET (default 2) and the node (up.sh); PostgreSQL 16
# (images/postgres) with POSTGRES_* on a dynamically provisioned claim as uid
# 70 with fsGroup, answering pg_isready; exo-backend as uid 65532 on a
# read-only root, its Service port 80 -> 8080 reached by DNS name through
# kube-proxy from another pod; the database pod replaced and its data read
# back; then down.sh and a check that the host is as it was. Prints each
# phase's time, and on failure the node's logs (last lines first). Every wait
# is bounded; the whole run by ctest's TIMEOUT.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
N=${EXO_NODE_NET:-2}
tmp=$(mktemp -d /tmp/exo-node-smoke.XXXXXX)
sb=$tmp/sb
T=${NODE_TEST_TIMEOUT:-180}s
t0=$SECONDS tp=$SECONDS
phase() { echo "PHASE $1: $((SECONDS - tp)) s (total $((SECONDS - t0)) s)"; tp=$SECONDS; }

host_state() {
  echo "kube chains: $(iptables-save 2>/dev/null | grep -c '^:KUBE-' || true)"
  # Only what this node could leave (other tests' bridges come and go).
  echo "bridges: $(ip -o link show type bridge | awk -F': ' '{print $2}' | grep -cE '^(cni0|exonode)' || true)"
  echo "links: $(ip -o link show | grep -c exonode || true)"
  echo "netns: $(ip netns list | grep -c "^exonode$N\b" || true)"
  echo "mounts: $(findmnt -rn -o TARGET | grep -c -E "^($tmp|/run/exonode$N)" || true)"
  echo "cgroups: $(find /sys/fs/cgroup/ -mindepth 2 -maxdepth 2 -name "exonode$N" | wc -l)"
  [ -n "$(ls -A /run/exo-node/nodes 2>/dev/null)" ] || sysctl vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
}
before=$(host_state)

finish() {
  local rc=$?
  if [ $rc -ne 0 ]; then
    echo "FAILED (exit $rc); node logs, last lines first:"
    for f in "$sb"/node/{kubelet,containerd,kube-proxy,coredns,provisioner}.log "$sb/sandbox.log"; do
      [ -f "$f" ] && { echo "--- $f"; tail -n 40 "$f" | tac; }
    done
    kubectl --kubeconfig "$sb/kubeconfig" get pods,pvc,pv -o wide 2>/dev/null || true
    for p in pg backend client; do
      echo "--- logs of pod $p (previous, then current)"
      kubectl --kubeconfig "$sb/kubeconfig" --request-timeout=10s logs "$p" --previous --tail 20 2>/dev/null || true
      kubectl --kubeconfig "$sb/kubeconfig" --request-timeout=10s logs "$p" --tail 20 2>/dev/null || true
    done
    kubectl --kubeconfig "$sb/kubeconfig" get events --sort-by=.lastTimestamp 2>/dev/null | tail -n 20 || true
  fi
  timeout 120 "$here/down.sh" "$sb" || rc=1
  timeout 60 "$here/../sandbox/down.sh" "$sb" 2>/dev/null || rc=1
  rm -rf "$tmp"
  exit $rc
}
trap finish EXIT

# ---- start --------------------------------------------------------------------
export SANDBOX_BIN=${SANDBOX_BIN:-$here/../sandbox/.bin/sandbox}
timeout 600 "$here/images/build.sh" >/dev/null
phase "images (cached unless their inputs changed)"
EXO_SANDBOX_NODE_ADDRESS=10.250.$N.1 timeout 180 "$here/../sandbox/up.sh" "$sb" >/dev/null
phase "sandbox ready"
timeout 300 "$here/up.sh" "$sb" >/dev/null
phase "node up and Ready"
# shellcheck source=/dev/null # written by images/build.sh
. "${EXO_NODE_CACHE:-/var/cache/exo/node}/images/current"
k=(kubectl --kubeconfig "$sb/kubeconfig" --request-timeout=30s)

# ---- PostgreSQL 16 on a provisioned claim ----------------------------------------
pg_pod() {
  "${k[@]}" apply -f - >/dev/null <<EOT
apiVersion: v1
kind: Pod
metadata: {name: pg, labels: {app: pg}}
spec:
  securityContext: {runAsUser: 70, runAsGroup: 70, fsGroup: 70, runAsNonRoot: true}
  containers:
  - name: postgres
    image: $POSTGRES_IMAGE
    imagePullPolicy: Never
    env:
    - {name: POSTGRES_USER, value: exo}
    - {name: POSTGRES_PASSWORD, value: smoke-secret}
    - {name: POSTGRES_DB, value: exodb}
    - {name: PGDATA, value: /var/lib/postgresql/data/pgdata}
    ports: [{containerPort: 5432}]
    readinessProbe:
      exec: {command: [pg_isready, -U, exo, -d, exodb, -h, 127.0.0.1]}
      periodSeconds: 2
    volumeMounts: [{name: data, mountPath: /var/lib/postgresql/data}]
  volumes: [{name: data, persistentVolumeClaim: {claimName: pgdata}}]
EOT
}
"${k[@]}" apply -f - >/dev/null <<EOT
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: pgdata}
spec: {accessModes: [ReadWriteOnce], resources: {requests: {storage: 1Gi}}}
---
apiVersion: v1
kind: Service
metadata: {name: pg}
spec: {selector: {app: pg}, ports: [{port: 5432, targetPort: 5432}]}
EOT
pg_pod
"${k[@]}" wait --for=jsonpath='{.status.phase}'=Bound pvc/pgdata --timeout="$T" >/dev/null
phase "PVC bound (default StorageClass, provisioner)"
"${k[@]}" wait --for=condition=Ready pod/pg --timeout="$T" >/dev/null
phase "postgres:16 Ready (initdb on the empty claim)"
"${k[@]}" exec pg -- pg_isready -U exo -d exodb -h 127.0.0.1
"${k[@]}" exec pg -- psql -U exo -d exodb -h 127.0.0.1 -tAc 'SELECT version()' | grep -q 'PostgreSQL 16'
"${k[@]}" exec pg -- psql -U exo -d exodb -h 127.0.0.1 -qc "CREATE TABLE smoke (v text); INSERT INTO smoke VALUES ('kept')"
owner=$("${k[@]}" exec pg -- stat -c '%u:%g %a' /var/lib/postgresql/data/pgdata)
[ "$owner" = "70:70 700" ] || { echo "PGDATA is $owner, want 70:70 700"; exit 1; }
echo "ok: pg_isready, PostgreSQL 16, PGDATA $owner on the claim"

# ---- exo-backend behind a Service, reached by name from another pod ----------------
key=$(head -c 32 /dev/urandom | base64)
"${k[@]}" apply -f - >/dev/null <<EOT
apiVersion: v1
kind: Pod
metadata: {name: backend, labels: {app: backend}}
spec:
  securityContext: {runAsUser: 65532, runAsGroup: 65532, runAsNonRoot: true}
  containers:
  - name: backend
    image: $BACKEND_IMAGE
    imagePullPolicy: Never
    env:
    - {name: EXO_DATABASE_DSN, value: "postgresql://exo:smoke-secret@pg.default.svc.cluster.local:5432/exodb?sslmode=disable"}
    - {name: EXO_ENCRYPTION_KEY, value: "$key"}
    securityContext: {readOnlyRootFilesystem: true, allowPrivilegeEscalation: false}
    ports: [{containerPort: 8080}]
    readinessProbe: {httpGet: {path: /readyz, port: 8080}, periodSeconds: 2}
    volumeMounts: [{name: casts, mountPath: /var/lib/exo/casts}]
  volumes: [{name: casts, emptyDir: {}}]
---
apiVersion: v1
kind: Service
metadata: {name: backend}
spec: {selector: {app: backend}, ports: [{port: 80, targetPort: 8080}]}
EOT
"${k[@]}" wait --for=condition=Ready pod/backend --timeout="$T" >/dev/null
phase "exo-backend Ready (uid 65532, read-only root, DSN by Service name)"
"${k[@]}" exec backend -- /usr/local/bin/exo-backend --version
if "${k[@]}" exec backend -- touch /probe 2>/dev/null; then
  echo "the backend's root filesystem is writable"; exit 1
fi
"${k[@]}" exec backend -- id -u | grep -qx 65532
"${k[@]}" apply -f - >/dev/null <<EOT
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  restartPolicy: Never
  securityContext: {runAsUser: 70}
  containers:
  - name: client
    image: $POSTGRES_IMAGE
    imagePullPolicy: Never
    command: [bash, -c]
    args:
    - |
      exec 3<>/dev/tcp/backend.default.svc.cluster.local/80 || exit 1
      printf 'GET /readyz HTTP/1.0\r\nHost: backend\r\n\r\n' >&3
      head -n1 <&3
EOT
"${k[@]}" wait --for=jsonpath='{.status.phase}'=Succeeded pod/client --timeout="$T" >/dev/null
status=$("${k[@]}" logs client)
echo "client: backend.default.svc.cluster.local:80 -> $status"
[[ $status == *" 200 "* ]] || { echo "want HTTP 200 from the backend through its Service"; exit 1; }
phase "Service port 80 -> 8080 by DNS name from another pod"

# ---- the database pod replaced: the claim's data is still there ----------------------
"${k[@]}" delete pod pg --wait=true --timeout="$T" >/dev/null
pg_pod
"${k[@]}" wait --for=condition=Ready pod/pg --timeout="$T" >/dev/null
got=$("${k[@]}" exec pg -- psql -U exo -d exodb -h 127.0.0.1 -tAc 'SELECT v FROM smoke')
[ "$got" = kept ] || { echo "after the pod was replaced: got '$got', want 'kept'"; exit 1; }
phase "pod replaced, data read back from the claim"

# ---- footprint, stop, the host as it was --------------------------------------------
rss() { local p; p=$(cat "$sb/node/$1.pid" 2>/dev/null) && awk '/VmRSS/ {printf "%d MB", $2/1024}' "/proc/$p/status"; }
echo "memory (RSS): kubelet $(rss kubelet), kube-proxy $(rss kube-proxy), containerd $(rss containerd), coredns $(rss coredns)," \
  "sandbox $(awk '/VmRSS/ {printf "%d MB", $2/1024}' "/proc/$(cat "$sb/sandbox.pid")/status")"
"${k[@]}" delete pod client backend pg --wait=true --timeout="$T" >/dev/null
"${k[@]}" delete pvc pgdata --wait=true --timeout="$T" >/dev/null
timeout 60 bash -c "while kubectl --kubeconfig '$sb/kubeconfig' get pv -o name | grep -q .; do sleep 1; done"
[ -z "$(ls -A "$sb/node/volumes")" ] || { echo "the released volume's directory is still there"; exit 1; }
timeout 120 "$here/down.sh" "$sb"
phase "node stopped"
after=$(host_state)
if [ "$before" != "$after" ]; then
  echo "the host is not as it was:"; diff <(echo "$before") <(echo "$after"); exit 1
fi
echo "ok: host clean (no netns, veth, bridge, KUBE- chains, mounts or cgroups left; sysctls restored)"
echo "PASS in $((SECONDS - t0)) s"

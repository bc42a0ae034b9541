#!/usr/bin/env bash
# `make demo`: from a fresh checkout to a ready Exo control plane on the
# sandbox cluster (e2e/README.md): the real Kubernetes control plane on
# loopback plus the process kubelet, `exo-install install` of the bundled
# PostgreSQL 16, exo-controller making the backend, the backend migrating the
# database at boot. Leaves it running and says what to try; `make demo-stop`
# stops it. Needs root (the process kubelet makes network namespaces).
#   scripts/demo.sh BUILD_DIR        (DEMO_DIR, default /tmp/exo-demo)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:?usage: $0 BUILD_DIR}" && pwd)
dir=${DEMO_DIR:-/tmp/exo-demo}
install=$build/installer/exo-install
backend=$build/backend/exo-backend
controller=$build/controller/exo-controller
for b in "$install" "$backend" "$controller"; do
  [ -x "$b" ] || { echo "demo: $b is not built (make build)" >&2; exit 1; }
done
[ "$(id -u)" = 0 ] || { echo "demo: the process kubelet needs root (network namespaces)" >&2; exit 1; }

mkdir -p "$dir"
if [ -f "$dir/sandbox.pid" ] && kill -0 "$(cat "$dir/sandbox.pid")" 2>/dev/null; then
  echo "== the sandbox in $dir is already running"
  kc=$dir/kubeconfig
else
  echo "== starting the sandbox cluster in $dir (the first build of Kubernetes takes minutes)"
  kc=$("$root/e2e/sandbox/up.sh" "$dir")
fi
if ! { [ -f "$dir/kubelet.pid" ] && kill -0 "$(cat "$dir/kubelet.pid")" 2>/dev/null; }; then
  "$root/e2e/kubelet/run.sh" "$dir" --backend "$backend" --controller "$controller"
fi

echo
echo "== exo-install install --kubeconfig $kc"
"$install" install --kubeconfig "$kc" --timeout 10m
echo
echo "== exo-install status"
"$install" status --kubeconfig "$kc"
echo
echo "== what the backend did at boot on PostgreSQL 16 (its log)"
# The process kubelet keeps each container's output under DIR/pods/.
log=$(find "$dir/pods" -path '*exo_exo-backend-*/backend.log' -printf '%T@ %p\n' 2>/dev/null \
        | sort -rn | head -n 1 | cut -d' ' -f2-)
if [ -n "$log" ]; then
  echo "  $(grep -c '"msg":"migration"' "$log") migration statements, then:"
  grep -E '"msg":"(boot done|maintenance done)"' "$log" | sed 's/^/  /'
fi

ip=$(kubectl --kubeconfig "$kc" -n exo get pods -l app.kubernetes.io/name=exo-backend \
       -o jsonpath='{.items[0].status.podIP}' 2>/dev/null || true)
cat <<NEXT

Exo is ready. To try next:
  export KUBECONFIG=$kc
  kubectl get exocontrolplanes -n exo
  kubectl -n exo get deploy,sts,pods,pvc
  export EXO_URL=http://${ip:-POD_IP}:8080
  export EXO_TOKEN=\$(kubectl -n exo get secret exo-bootstrap -o jsonpath='{.data.token}' | base64 -d)
  $build/cli/exo deployment create demo --retention-days 30
  $build/cli/exo deployment list
  $install key export            # the encryption key: store it apart from backups
  $install uninstall             # keeps the data; install again brings it back
Stop everything: make demo-stop
NEXT

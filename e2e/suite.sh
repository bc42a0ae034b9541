#!/usr/bin/env bash
# The end-to-end suite: one set of assertions, two targets.
#   EXO_E2E_TARGET=sandbox (default): starts the sandbox cluster and the
#     process kubelet in a temporary directory (e2e/README.md), runs the
#     tests, stops everything.
#   EXO_E2E_TARGET=kind: runs against the cluster KUBECONFIG points to
#     (kind/e2e.sh creates it and loads the images).
# EXO_INSTALL (default build/installer/exo-install), EXO_BACKEND and
# EXO_CONTROLLER (the binaries the process kubelet runs for the images;
# default build/backend/exo-backend, build/controller/exo-controller when
# built). Extra arguments go to pytest (e.g. -k install).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/.." && pwd)
target=${EXO_E2E_TARGET:-sandbox}
export EXO_E2E_TARGET=$target
export EXO_INSTALL=${EXO_INSTALL:-$root/build/installer/exo-install}
[ -x "$EXO_INSTALL" ] || { echo "suite: $EXO_INSTALL not built (make build)" >&2; exit 2; }

case $target in
kind)
  [ -n "${KUBECONFIG:-}" ] || { echo "suite: EXO_E2E_TARGET=kind needs KUBECONFIG" >&2; exit 2; }
  exec python3 -m pytest -q -p no:cacheprovider "$here/suite" "$@"
  ;;
sandbox) ;;
*) echo "suite: EXO_E2E_TARGET=$target: want sandbox or kind" >&2; exit 2 ;;
esac

backend=${EXO_BACKEND:-$root/build/backend/exo-backend}
controller=${EXO_CONTROLLER:-$root/build/controller/exo-controller}
[ -n "$controller" ] || controller=$root/build/controller/exo-controller
args=(--backend "$backend")
if [ -x "$controller" ]; then args+=(--controller "$controller"); export EXO_CONTROLLER=$controller
else unset EXO_CONTROLLER; fi
export SANDBOX_BIN=${SANDBOX_BIN:-$root/e2e/sandbox/.bin/sandbox}
[ -x "$SANDBOX_BIN" ] || unset SANDBOX_BIN
dir=$(mktemp -d /tmp/exo-e2e.XXXXXX)
# shellcheck disable=SC2317  # called by the EXIT trap
stop_all() {
  "$root/e2e/kubelet/stop.sh" "$dir" >/dev/null 2>&1 || true
  "$root/e2e/sandbox/down.sh" "$dir" >/dev/null 2>&1 || true
  rm -rf "$dir"
}
trap stop_all EXIT
KUBECONFIG=$("$root/e2e/sandbox/up.sh" "$dir")
export KUBECONFIG EXO_E2E_DIR=$dir
"$root/e2e/kubelet/run.sh" "$dir" "${args[@]}"
status=0
python3 -m pytest -q -p no:cacheprovider "$here/suite" "$@" || status=$?
if [ "$status" != 0 ]; then
  echo "--- kubelet.log (end)"; tail -n 40 "$dir/kubelet.log" 2>/dev/null || true
fi
exit "$status"

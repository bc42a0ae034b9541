#!/usr/bin/env bash
# The end-to-end suite on a real kind cluster, with the project's images:
#   1. checks that docker (with a daemon), kind, kubectl and cmake are there;
#   2. creates the kind cluster (kind/cluster.yaml), or reuses it if it exists;
#   3. builds the images (scripts/build-images.sh) and loads them into the
#      cluster's node with `kind load docker-image`;
#   4. builds exo-install (CMake);
#   5. runs e2e/suite.sh with EXO_E2E_TARGET=kind, the same assertions that
#      run against the sandbox cluster: its tests run `exo-install install`
#      (fresh, again, uninstall, --purge, managed) with the loaded image
#      references in EXO_INSTALL_FLAGS (tagged with the version, so the
#      rendered imagePullPolicy is IfNotPresent: the node never pulls them);
#   6. deletes the cluster, unless --keep.
#
# Usage: kind/e2e.sh [--keep]
# Environment:
#   KIND_CLUSTER_NAME   cluster name (default exo-e2e)
#   KIND_NODE_IMAGE     kindest/node image (default: the kind release's own)
#   EXO_INSTALL         a built exo-install to use (default: build it in BUILD)
#   BUILD               CMake build directory (default: build)
#   EXO_INSTALL_FLAGS   extra flags for every `exo-install install` of the suite
#   EXO_E2E_ARTIFACTS   a directory: on failure, `kind export logs` goes there
#   EXO_E2E_SUITE       the suite to run (default e2e/suite.sh)
# Exit status: 0 the suite passed; 2 a tool is missing or a bad argument;
# otherwise that of the step or suite that failed. The cluster is deleted
# (also one it reused) unless --keep.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cluster=${KIND_CLUSTER_NAME:-exo-e2e}
suite=${EXO_E2E_SUITE:-$root/e2e/suite.sh}
keep=0

usage() { echo "usage: kind/e2e.sh [--keep]   (kind/e2e.sh --help: what it does)"; }
for a in "$@"; do
  case $a in
    --keep) keep=1 ;;
    -h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit 0 ;;
    *) echo "kind/e2e.sh: unknown argument \"$a\"" >&2; usage >&2; exit 2 ;;
  esac
done

say() { echo "kind/e2e.sh: $*" >&2; }

# 1. Tools, all checked before anything is changed; one line per missing one.
missing=0
need() { # need TOOL HOW-TO-GET-IT
  command -v "$1" >/dev/null 2>&1 && return
  say "$1 is missing: $2"
  missing=1
}
need docker "install Docker Engine (https://docs.docker.com/engine/install/)"
need kind "install kind (go install sigs.k8s.io/kind@v0.30.0, or https://kind.sigs.k8s.io/docs/user/quick-start/#installation)"
need kubectl "install kubectl (https://kubernetes.io/docs/tasks/tools/)"
if [ -z "${EXO_INSTALL:-}" ]; then
  need cmake "install cmake and the build dependencies (scripts/install-deps.sh), or set EXO_INSTALL"
fi
((missing == 0)) || exit 2
if ! docker info >/dev/null 2>&1; then
  say "docker is installed but no Docker daemon answers (docker info failed): start dockerd"
  exit 2
fi
if [ ! -x "$suite" ]; then
  say "the suite $suite is missing or not executable"
  exit 2
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/exo-kind.XXXXXX")
kc=$work/kubeconfig
created=0
finish() {
  local rc=$?
  if ((rc != 0)) && [ -s "$kc" ]; then
    say "failed (exit $rc); cluster state:"
    kubectl --kubeconfig "$kc" get nodes,pods,pvc -A -o wide >&2 || true
    kubectl --kubeconfig "$kc" -n exo get events --sort-by=.lastTimestamp >&2 || true
    kubectl --kubeconfig "$kc" -n exo logs deploy/exo-controller --tail=100 >&2 || true
    kubectl --kubeconfig "$kc" -n exo logs deploy/exo-backend --tail=100 >&2 || true
    if [ -n "${EXO_E2E_ARTIFACTS:-}" ]; then
      kind export logs --name "$cluster" "$EXO_E2E_ARTIFACTS" >&2 || true
    fi
  elif ((rc != 0)); then
    say "failed (exit $rc)"
  fi
  if ((keep)); then
    say "kept cluster $cluster (kubeconfig: kind get kubeconfig --name $cluster; delete: kind delete cluster --name $cluster)"
  elif ((created)) || kind get clusters 2>/dev/null | grep -qx "$cluster"; then
    say "deleting cluster $cluster"
    kind delete cluster --name "$cluster" >&2 || true
  fi
  rm -rf "$work"
  exit "$rc"
}
trap finish EXIT

# 2. The cluster.
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  say "reusing cluster $cluster"
  kind get kubeconfig --name "$cluster" >"$kc"
else
  say "creating cluster $cluster"
  image_flag=()
  [ -z "${KIND_NODE_IMAGE:-}" ] || image_flag=(--image "$KIND_NODE_IMAGE")
  created=1
  kind create cluster --name "$cluster" --config "$root/kind/cluster.yaml" \
    --kubeconfig "$kc" --wait 120s "${image_flag[@]}" >&2
fi
kubectl --kubeconfig "$kc" wait --for=condition=Ready nodes --all --timeout=120s >&2

# 3. The images, tagged as exo-install renders them by default.
mapfile -t refs < <("$root/scripts/build-images.sh" --print)
((${#refs[@]} == 2)) || { say "scripts/build-images.sh --print gave no image references"; exit 1; }
"$root/scripts/build-images.sh" >&2
for ref in "${refs[@]}"; do
  say "loading $ref"
  kind load docker-image --name "$cluster" "$ref" >&2
done
backend_image="" controller_image=""
for ref in "${refs[@]}"; do
  case $ref in
    */exo-backend:*) backend_image=$ref ;;
    */exo-controller:*) controller_image=$ref ;;
  esac
done

# 4. exo-install, for the suite.
if [ -z "${EXO_INSTALL:-}" ]; then
  build=${BUILD:-$root/build}
  say "building exo-install in $build"
  cmake -S "$root" -B "$build" >/dev/null
  cmake --build "$build" --target exo-install -j "${JOBS:-2}" >&2
  EXO_INSTALL=$build/installer/exo-install
fi
flags="--backend-image $backend_image --controller-image $controller_image ${EXO_INSTALL_FLAGS:-}"

# 5. The suite, as against the sandbox; it installs.
say "running $suite against kind"
EXO_E2E_TARGET=kind KUBECONFIG=$kc EXO_INSTALL=$EXO_INSTALL EXO_INSTALL_FLAGS=$flags "$suite"

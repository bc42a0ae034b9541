#!/usr/bin/env bash
# images/build.sh — make the node's images without a registry and print the
# directory of their archives (docker-archive tars, for `ctr images import`):
#
#   base.tar       debian:12 and debian:12-slim: debootstrap --variant=minbase
#                  bookworm from the machine's apt mirror
#   pause.tar      localhost/exo-node/pause:HASH (images/pause.c, static)
#   exo-backend.tar  images/Dockerfile --target exo-backend, tagged as
#                  exo-install renders it (scripts/build-images.sh --print)
#   postgres.tar   postgres:16-alpine's behaviour on debian:12-slim with the
#                  pinned npm PostgreSQL 16 binaries (images/postgres/)
#
# Each archive is named after a hash of its inputs (scripts, Dockerfile, the
# source tree the Dockerfile copies, the base's hash) and kept in
# EXO_NODE_CACHE (default /var/cache/exo/node): rebuilt only when an input
# changes. buildah keeps its layers in EXO_NODE_CACHE/buildah, not in the
# machine's containers storage. One build at a time (flock).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
cache=${EXO_NODE_CACHE:-/var/cache/exo/node}
out=$cache/images
mkdir -p "$out" "$cache/buildah"
exec 9>"$cache/images.lock"
flock -w 3600 9 || { echo "images: another build holds $cache/images.lock for an hour" >&2; exit 1; }

log() { echo "images: $*" >&2; }
bah() { buildah --root "$cache/buildah/root" --runroot /run/exo-node-buildah --storage-driver overlay "$@"; }
sha() { sha256sum | cut -c1-16; }
# timed NAME CMD...: run, report how long it took
timed() { local t=$SECONDS n=$1; shift; "$@"; log "$n built in $((SECONDS - t)) s"; }

# archive NAME HASH: the path of NAME's archive for inputs HASH; old ones of
# NAME are removed once the new one exists.
archive() { echo "$out/$1-$2.tar"; }
keep_only() { find "$out" -maxdepth 1 -name "$1-*.tar" ! -name "$(basename "$2")" -delete; }

mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $3 == "bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || { log "no Debian mirror in /etc/apt/sources.list.d/debian.sources or /etc/apt/sources.list"; exit 1; }

# ---- base: debian:12 and debian:12-slim --------------------------------------
build_base() {
  local rootfs=$cache/rootfs.tmp c
  rm -rf "$rootfs"
  timeout 1200 debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$cache/debootstrap.log" 2>&1 ||
    { tail -n 20 "$cache/debootstrap.log" >&2; log "debootstrap failed (log: $cache/debootstrap.log)"; return 1; }
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/log/*
  c=$(bah from scratch)
  bah copy --quiet "$c" "$rootfs" / >/dev/null
  bah config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --cmd bash "$c"
  bah commit --quiet --format docker "$c" debian:12 >/dev/null
  bah rm "$c" >/dev/null
  bah tag debian:12 debian:12-slim
  rm -rf "$rootfs"
  bah push --quiet debian:12 "docker-archive:$base_tar.tmp:debian:12"
  mv "$base_tar.tmp" "$base_tar"
  keep_only base "$base_tar"
}
# A recipe's hash is its function's text: editing another part of this
# script rebuilds nothing.
base_hash=$( { declare -f build_base; echo "$mirror"; } | sha)
base_tar=$(archive base "$base_hash")
if [ ! -f "$base_tar" ] || ! bah inspect --type image debian:12 >/dev/null 2>&1; then
  timed base build_base
fi

# ---- pause -------------------------------------------------------------------
build_pause() {
  local tmp c
  tmp=$(mktemp -d)
  gcc -O2 -static -o "$tmp/pause" "$here/pause.c"
  c=$(bah from scratch)
  bah copy --quiet "$c" "$tmp/pause" /pause >/dev/null
  bah config --entrypoint '["/pause"]' --user 65535:65535 "$c"
  bah commit --quiet --format docker "$c" "$pause_ref" >/dev/null
  bah rm "$c" >/dev/null
  rm -rf "$tmp"
  bah push --quiet "$pause_ref" "docker-archive:$pause_tar.tmp:$pause_ref"
  mv "$pause_tar.tmp" "$pause_tar"
  keep_only pause "$pause_tar"
}
pause_hash=$( { declare -f build_pause; cat "$here/pause.c"; gcc --version | head -n1; } | sha)
pause_ref=localhost/exo-node/pause:$pause_hash
pause_tar=$(archive pause "$pause_hash")
[ -f "$pause_tar" ] || timed pause build_pause

# ---- exo-backend ----------------------------------------------------------------
# The inputs: the Dockerfile, the files its builder copies (.dockerignore's
# allow-list, tracked and modified), the base.
ctx=(CMakeLists.txt cmake lib installer templates backend cli controller bench tests)
backend_ref=$("$root/scripts/build-images.sh" --print exo-backend)
build_backend() {
  local version
  version=${backend_ref##*:}
  timeout 2400 buildah --root "$cache/buildah/root" --runroot /run/exo-node-buildah --storage-driver overlay \
    bud --runtime /usr/sbin/runc --layers --pull=never --network host --format docker \
    -f "$root/images/Dockerfile" --target exo-backend --build-arg EXO_VERSION="$version" \
    -t "$backend_ref" "$root" >"$cache/exo-backend.log" 2>&1 ||
    { tail -n 30 "$cache/exo-backend.log" >&2; log "exo-backend build failed (log: $cache/exo-backend.log)"; return 1; }
  bah push --quiet "$backend_ref" "docker-archive:$backend_tar.tmp:$backend_ref"
  mv "$backend_tar.tmp" "$backend_tar"
  keep_only exo-backend "$backend_tar"
}
backend_hash=$( { echo "$base_hash $backend_ref"; declare -f build_backend; cat "$root/images/Dockerfile" "$root/.dockerignore";
                  git -C "$root" ls-files -s -- "${ctx[@]}"; git -C "$root" diff HEAD -- "${ctx[@]}"; } | sha)
backend_tar=$(archive exo-backend "$backend_hash")
[ -f "$backend_tar" ] || timed exo-backend build_backend

# ---- postgres:16 ---------------------------------------------------------------
pg_bin=$("$root/scripts/install-postgres.sh")
pg_root=$(dirname "$pg_bin")
pg_ref=localhost/exo-node/postgres:16
build_postgres() {
  local tmp
  tmp=$(mktemp -d)
  cp -a "$pg_root/bin" "$pg_root/lib" "$pg_root/share" "$tmp/"
  cp "$here/postgres/docker-entrypoint.sh" "$tmp/"
  timeout 1200 buildah --root "$cache/buildah/root" --runroot /run/exo-node-buildah --storage-driver overlay \
    bud --runtime /usr/sbin/runc --layers --pull=never --network host --format docker \
    -f "$here/postgres/Containerfile" -t "$pg_ref" "$tmp" >"$cache/postgres.log" 2>&1 ||
    { tail -n 30 "$cache/postgres.log" >&2; rm -rf "$tmp"; log "postgres build failed (log: $cache/postgres.log)"; return 1; }
  rm -rf "$tmp"
  bah push --quiet "$pg_ref" "docker-archive:$pg_tar.tmp:$pg_ref"
  mv "$pg_tar.tmp" "$pg_tar"
  keep_only postgres "$pg_tar"
}
pg_hash=$( { echo "$base_hash $pg_root"; declare -f build_postgres; cat "$here/postgres/Containerfile" "$here/postgres/docker-entrypoint.sh"; } | sha)
pg_tar=$(archive postgres "$pg_hash")
[ -f "$pg_tar" ] || timed postgres build_postgres

# What the node imports, and the references a test uses.
cat >"$out/current.tmp" <<EOT
PAUSE_IMAGE=$pause_ref
BACKEND_IMAGE=$backend_ref
POSTGRES_IMAGE=$pg_ref
IMAGE_TARS='$pause_tar $backend_tar $pg_tar'
EOT
mv "$out/current.tmp" "$out/current"
echo "$out"

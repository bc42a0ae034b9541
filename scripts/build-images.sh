#!/usr/bin/env bash
# Builds the project's images with docker build, tagged as `exo-install`
# renders them by default: REGISTRY/exo-backend:VERSION and
# REGISTRY/exo-controller:VERSION. VERSION and REGISTRY are read from
# CMakeLists.txt (project VERSION, EXO_IMAGE_REGISTRY), the one place that
# holds them. Used by kind/e2e.sh and CI.
#
# Usage: scripts/build-images.sh [--print] [IMAGE...]
#   IMAGE     exo-backend and/or exo-controller (default: both)
#   --print   print the image references, one a line, and build nothing
# Environment:
#   EXO_IMAGE_REGISTRY  another registry prefix (default: from CMakeLists.txt)
#   EXO_IMAGE_SOURCE    repository URL for the org.opencontainers.image.source label
#   DOCKER_BUILD_FLAGS  extra flags for docker build (e.g. --progress=plain)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

usage() { echo "usage: scripts/build-images.sh [--print] [exo-backend] [exo-controller]"; }

print=0 images=()
for a in "$@"; do
  case $a in
    --print) print=1 ;;
    exo-backend | exo-controller) images+=("$a") ;;
    -h | --help) usage; exit 0 ;;
    *) echo "build-images: unknown argument \"$a\"" >&2; usage >&2; exit 2 ;;
  esac
done
((${#images[@]})) || images=(exo-backend exo-controller)

# project(exo VERSION x.y.z ...) and set(EXO_IMAGE_REGISTRY "..." CACHE ...)
version=$(sed -n 's/^project([a-z]* VERSION \([0-9][0-9.]*\).*/\1/p' "$root/CMakeLists.txt")
registry=$(sed -n 's/^set(EXO_IMAGE_REGISTRY "\([^"]*\)" CACHE.*/\1/p' "$root/CMakeLists.txt")
[ -n "$version" ] || { echo "build-images: no project VERSION in $root/CMakeLists.txt" >&2; exit 1; }
[ -n "$registry" ] || { echo "build-images: no EXO_IMAGE_REGISTRY in $root/CMakeLists.txt" >&2; exit 1; }
registry=${EXO_IMAGE_REGISTRY:-$registry}

if ((print)); then
  for i in "${images[@]}"; do echo "$registry/$i:$version"; done
  exit 0
fi

command -v docker >/dev/null || { echo "build-images: docker is not installed" >&2; exit 2; }
revision=$(git -C "$root" rev-parse HEAD 2>/dev/null || true)
read -r -a extra <<<"${DOCKER_BUILD_FLAGS:-}"
for i in "${images[@]}"; do
  ref=$registry/$i:$version
  echo "build-images: $ref" >&2
  docker build -f "$root/images/Dockerfile" --target "$i" \
    --build-arg EXO_VERSION="$version" \
    --build-arg EXO_REVISION="$revision" \
    --build-arg EXO_SOURCE="${EXO_IMAGE_SOURCE:-}" \
    "${extra[@]}" -t "$ref" "$root"
  echo "$ref"
done

#!/usr/bin/env bash
# build.sh — kubelet and kube-proxy from the sandbox's own module graph
# (e2e/sandbox/go.mod: the same k8s.io/kubernetes release, the Go build cache
# shared with the sandbox), and CoreDNS from coredns/ (a workspace pinned to
# the same versions), into e2e/node/.bin. A no-op when up to date. At most 2
# compile jobs (the machines are shared).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
sbmod=$here/../sandbox
v=$(go -C "$sbmod" list -m -f '{{.Version}}' k8s.io/kubernetes)
IFS=. read -r major minor _ <<<"${v#v}"
# What Kubernetes' release build sets (hack/lib/version.sh): without it the
# node reports v0.0.0-master.
pkg=k8s.io/component-base/version
ldflags="-X $pkg.gitVersion=$v -X $pkg.gitMajor=$major -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
mkdir -p "$here/.bin"
t=$SECONDS
go -C "$sbmod" build -p 2 -ldflags "$ldflags" -o "$here/.bin/" k8s.io/kubernetes/cmd/kubelet k8s.io/kubernetes/cmd/kube-proxy
go -C "$here/coredns" build -p 2 -o "$here/.bin/coredns" .
echo "build: kubelet, kube-proxy $v and coredns in $((SECONDS - t)) s" >&2
# The workspace must not have raised a module the sandbox's go.mod requires
# (that would recompile client-go and more): name any that differ.
mapfile -t required < <(go -C "$sbmod" mod edit -json | sed -n 's/.*"Path": "\(.*\)",*$/\1/p' | sort -u)
mods() { go -C "$1" list -m -f '{{.Path}} {{if .Replace}}{{.Replace.Version}}{{else}}{{.Version}}{{end}}' all | sort; }
drift=$(join <(mods "$sbmod") <(mods "$here/coredns") | awk '$2 != $3 {print $1, $2, "->", $3}' |
        grep -Ff <(printf '%s \n' "${required[@]}") || true)
[ -z "$drift" ] || echo "build: CoreDNS's workspace changed modules the sandbox requires (pin them in coredns/go.work):
$drift" >&2

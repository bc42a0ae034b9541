#!/bin/sh
# exo-controller's command line: --help names every flag the parser knows
# (read from options.c), bad flags give one line naming the flag and exit 2,
# and an unreachable API server is a clean error, not a crash.
#   cli_test.sh BIN OPTIONS_C
set -u
bin=$1 src=$2
fail=0
bad() { echo "FAIL - $*"; fail=1; }
help=$("$bin" --help) || bad "--help exits 0"
for f in $(grep -o '"--[a-z-]*"' "$src" | tr -d '"' | sort -u); do
  echo "$help" | grep -q -- "$f" || bad "--help does not mention $f"
done
for args in "--bogus" "--namespace" "--lease-duration=soon" "--log-level=loud" "stray"; do
  # shellcheck disable=SC2086
  out=$("$bin" $args 2>&1); rc=$?
  [ "$rc" = 2 ] || bad "$args: exit $rc, want 2"
  [ "$(printf '%s\n' "$out" | wc -l)" = 1 ] || bad "$args: more than one line: $out"
  flag=${args%%=*}
  printf '%s' "$out" | grep -q -- "$flag" || bad "$args: message does not name $flag: $out"
done
"$bin" --version | grep -q '^exo-controller [0-9]' || bad "--version"
# An API server that is not there: a JSON error line and exit 1.
tmp=$(mktemp -d)
cat >"$tmp/kc" <<KC
apiVersion: v1
kind: Config
current-context: x
clusters: [{name: x, cluster: {server: "https://127.0.0.1:1", insecure-skip-tls-verify: true}}]
users: [{name: x, user: {token: t}}]
contexts: [{name: x, context: {cluster: x, user: x, namespace: exo}}]
KC
out=$(timeout 20 "$bin" --kubeconfig "$tmp/kc" --health-addr 127.0.0.1:0 --leader-elect 2>&1 &
      pid=$!; sleep 3; kill -TERM $pid; wait $pid; echo "rc=$?")
rm -rf "$tmp"
echo "$out" | grep -q '"msg":"lease: cannot take or renew"' || bad "unreachable API: no warning line: $out"
echo "$out" | grep -q 'rc=0' || bad "SIGTERM while waiting for the lease: exit 0 ($out)"
[ "$fail" = 0 ] && echo "ok - exo-controller command line"
exit $fail

#!/usr/bin/env bash
# Runs each libFuzzer harness of tests/fuzz/ for a bounded time, two at a
# time, each from a copy of its checked-in corpus (the source tree is never
# written). Fails when any harness finds a crash, a leak, a timeout or a
# broken property, and prints where the reproducer is.
#
#   scripts/fuzz.sh BUILD_DIR [TARGET...]     (BUILD_DIR: cmake -DEXO_FUZZ=ON)
#
# FUZZ_SECONDS (default 30) is the time of each harness; FUZZ_JOBS (default
# 2) how many run at once.
set -euo pipefail

build=${1:?usage: scripts/fuzz.sh BUILD_DIR [TARGET...]}
shift
src=$(cd "$(dirname "$0")/.." && pwd)
seconds=${FUZZ_SECONDS:-30}
jobs=${FUZZ_JOBS:-2}
targets=("$@")
((${#targets[@]})) || targets=(yamljson dsn kube_config template casts api_json api_list)

# The longest input each harness is given: what its real inputs need.
max_len() {
  case $1 in
    dsn | api_list) echo 512 ;;
    template) echo 1024 ;;
    kube_config | casts) echo 8192 ;;
    *) echo 4096 ;;
  esac
}

work=$(mktemp -d "${TMPDIR:-/tmp}/exo-fuzz.XXXXXX")
run_one() {
  local name=$1 dir=$work/$1
  mkdir -p "$dir/corpus" "$dir/artifacts" "$dir/tmp"
  cp "$src/tests/fuzz/corpus/$name/"* "$dir/corpus/" 2>/dev/null || true
  # The regressions are read, never added to.
  local rc=0
  TMPDIR=$dir/tmp "$build/tests/fuzz/fuzz_$name" -max_total_time="$seconds" \
    -max_len="$(max_len "$name")" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$dir/artifacts/" "$dir/corpus" "$src/tests/fuzz/regressions/$name" \
    >"$dir/log" 2>&1 || rc=$?
  echo "$rc" >"$dir/rc"
}

start=$(date +%s)
for name in "${targets[@]}"; do
  [ -x "$build/tests/fuzz/fuzz_$name" ] || { echo "fuzz: no $build/tests/fuzz/fuzz_$name" >&2; exit 2; }
done
for name in "${targets[@]}"; do
  while (($(jobs -rp | wc -l) >= jobs)); do wait -n || true; done
  run_one "$name" &
done
wait

failed=0
for name in "${targets[@]}"; do
  rc=$(cat "$work/$name/rc")
  log=$work/$name/log
  # The last status line has the coverage; the final stats the totals.
  status=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -nE 's/.* cov: ([0-9]+) ft: ([0-9]+).*/cov \1, ft \2/p' <<<"$status")
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
  printf 'fuzz %-12s %s execs, %s execs/s, %s\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}"
  if ((rc != 0)); then
    failed=1
    echo "fuzz $name FAILED (exit $rc); the end of its log ($log):" >&2
    tail -n 40 "$log" >&2
    for f in "$work/$name/artifacts/"*; do
      [ -e "$f" ] && echo "fuzz $name: reproducer $f (replay: $build/tests/fuzz/fuzz_$name $f)" >&2
    done
  fi
done
echo "fuzz: ${#targets[@]} harnesses, ${seconds}s each, $jobs at a time: $(($(date +%s) - start))s"
if ((failed)); then
  echo "fuzz: kept $work for the reproducers; docs/testing.md says how a finding becomes a regression test" >&2
  exit 1
fi
rm -rf "$work"

#!/usr/bin/env bash
# make test: every test of the normal build, the sanitizer build's tests
# alongside them, then a bounded fuzzing run.
#
#   scripts/test.sh BUILD ASAN_BUILD FUZZ_BUILD JOBS
#
# Most of the normal build's time is end-to-end tests waiting on clusters
# (two lanes, see e2e/CMakeLists.txt), so the sanitizer build's unit, CLI and
# integration tests run meanwhile, one at a time, into a log printed after.
# Its end-to-end test (e2e_memcheck) runs after, when no other ctest builds
# or replaces the sandbox binary it starts.
set -uo pipefail
build=$1 asan=$2 fuzz=$3 jobs=$4
here=$(cd "$(dirname "$0")" && pwd)
log=$asan/ctest-alongside.log

ctest --test-dir "$asan" --output-on-failure -j 1 -LE 'valgrind|e2e' >"$log" 2>&1 &
asan_pid=$!
ctest --test-dir "$build" --output-on-failure -j "$jobs"
normal=$?
wait "$asan_pid"
alongside=$?
echo "--- the sanitizer build's unit, CLI and integration tests (ran alongside): $log"
cat "$log"
ctest --test-dir "$asan" --output-on-failure -j 1 -L e2e -LE valgrind
asan_e2e=$?
"$here/fuzz.sh" "$fuzz"
fuzzed=$?
echo "make test: normal build $([ $normal = 0 ] && echo passed || echo FAILED)," \
  "sanitizer build $([ $alongside = 0 ] && [ $asan_e2e = 0 ] && echo passed || echo FAILED)," \
  "fuzzing $([ $fuzzed = 0 ] && echo passed || echo FAILED)"
[ $normal = 0 ] && [ $alongside = 0 ] && [ $asan_e2e = 0 ] && [ $fuzzed = 0 ]

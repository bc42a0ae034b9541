# Thin wrapper over CMake. `make` builds, `make test` runs every test,
# `make demo` shows the main job. Missing system packages are installed first.
BUILD      ?= build
ASAN_BUILD ?= build-asan
FUZZ_BUILD ?= build-fuzz
FUZZ_TARGETS := fuzz_yamljson fuzz_dsn fuzz_kube_config fuzz_template fuzz_casts fuzz_api_json fuzz_api_list
JOBS       ?= $(shell nproc)
TEST_JOBS  ?= $(shell echo $$(($(JOBS) + 1)))
MAKEFLAGS  += --no-print-directory
INSTALL    := $(BUILD)/installer/exo-install

.PHONY: all deps build asan fuzz-build fuzz test test-unit test-asan demo demo-stop manifests docs bench clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS)

asan: deps
	@cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DEXO_SANITIZE=ON >/dev/null
	@cmake --build $(ASAN_BUILD) -j $(JOBS)

# The libFuzzer harnesses of tests/fuzz/ (clang, ASan, UBSan).
fuzz-build: deps
	@CC=clang cmake -S . -B $(FUZZ_BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEXO_FUZZ=ON -DEXO_E2E=OFF >/dev/null
	@cmake --build $(FUZZ_BUILD) -j $(JOBS) --target $(FUZZ_TARGETS)

# Each harness for FUZZ_SECONDS (default 30), two at a time, from a copy of
# its checked-in corpus; fails on any finding (docs/testing.md).
fuzz: fuzz-build
	@scripts/fuzz.sh $(FUZZ_BUILD)

# Everything in the normal build (unit, CLI, valgrind, e2e), with the unit,
# CLI and backend integration tests of the AddressSanitizer/UBSan build (leaks
# included) alongside, then its e2e_memcheck, then a bounded fuzzing run. The
# normal build's ctest runs TEST_JOBS tests at once: its end-to-end tests
# mostly wait on their clusters (scripts/test.sh).
test: build asan fuzz-build
	@scripts/test.sh $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD) $(TEST_JOBS)

# From a fresh checkout to a ready control plane on the sandbox cluster; leaves
# it running (make demo-stop stops it).
# Installs and builds only what the demo runs (no test tools, no test
# binaries): the four programs.
demo:
	@scripts/install-deps.sh --demo
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	@cmake --build $(BUILD) -j $(JOBS) --target exo-install exo-backend exo-controller exo-cli
	@scripts/demo.sh $(BUILD)

demo-stop:
	@scripts/demo-stop.sh

# Regenerates the checked-in GitOps manifests; a test fails when they are stale.
manifests: build
	@scripts/render-manifests.sh $(INSTALL)

# Renders the architecture picture; a test fails when the SVG is stale.
docs: deps
	@dot -Tsvg docs/architecture.dot -o docs/architecture.svg

bench: build
	@bench/render.sh $(INSTALL)
	@python3 bench/backend.py $(BUILD)
	@python3 bench/controller.py $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(FUZZ_BUILD)

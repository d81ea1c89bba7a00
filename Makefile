# ief_exporter: every entry point does its own set-up (packages, configure, build).
#   make demo   run the exporter against the built-in IEF simulator on http://127.0.0.1:10038/
#   make unit   the contributor's fast path: only the unit tests, needing only the build packages and Catch2
#   make test   build with -Werror and run every test (unit + integration with real promtool); configuring fails
#               when a tool a test needs is missing
#   make asan   the same tests under AddressSanitizer + UndefinedBehaviorSanitizer
#   make fuzz   libFuzzer targets (job parser, list parser, config loaders, HTTP responses), FUZZ_SECONDS each (default 30)
#   make thread-safety   the product built with clang and -Wthread-safety -Werror: the lock annotations checked
#   make check-hardening   asan + fuzz + thread-safety (CI runs it after `make test`)
#   make bench  benchmarks against their baselines, printing figures and ratios (docs/performance.md)
#   make soak   the exporter against churning jobs and reloads for SOAK_MINUTES (default 30): RSS, fds, threads
#   make deb    the Debian package of the built binary: $(BUILD_DIR)/deb/ief-exporter_<version>_amd64.deb
#   make container-test   build the image and run it, the compose pod, the Kubernetes pod and the package under
#               systemd, with buildah and podman (CI runs it after check-hardening)
BUILD_DIR ?= build
ASAN_DIR  ?= build-asan
UNIT_DIR  ?= build-unit
TSA_DIR   ?= build-thread-safety
JOBS      ?= $(shell nproc)
FUZZ_SECONDS ?= 30
CTEST_ARGS ?= --output-on-failure --no-tests=error -j $(JOBS)

.PHONY: all deps build unit test demo asan fuzz thread-safety check-hardening bench soak deb container-test clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	cmake -S . -B $(BUILD_DIR) -DCMAKE_BUILD_TYPE=Release -DIEF_WERROR=ON -DIEF_UNIT_TESTS_ONLY=OFF
	cmake --build $(BUILD_DIR) -j $(JOBS)

# Its own build directory, unoptimised and without debug information (it compiles fastest): fresh clone to green
# unit tests in about 2.5 minutes on two cores.
unit:
	@scripts/install-deps.sh build unit
	cmake -S . -B $(UNIT_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 -DCMAKE_C_FLAGS_DEBUG=-O0 \
	  -DIEF_WERROR=ON -DIEF_UNIT_TESTS_ONLY=ON
	cmake --build $(UNIT_DIR) -j $(JOBS)
	ctest --test-dir $(UNIT_DIR) -L unit $(CTEST_ARGS)

test: build
	ctest --test-dir $(BUILD_DIR) $(CTEST_ARGS)

demo: build
	$(BUILD_DIR)/ief_exporter --demo

asan: deps
	cmake -S . -B $(ASAN_DIR) -DCMAKE_BUILD_TYPE=Debug -DIEF_WERROR=ON -DIEF_SANITIZE=ON -DIEF_UNIT_TESTS_ONLY=OFF
	cmake --build $(ASAN_DIR) -j $(JOBS)
	ctest --test-dir $(ASAN_DIR) $(CTEST_ARGS)

fuzz: deps
	FUZZ_SECONDS=$(FUZZ_SECONDS) scripts/fuzz.sh

# Only the analysis matters here: unoptimised, and only the two programs (every library of the product).
thread-safety: deps
	CC=clang CXX=clang++ cmake -S . -B $(TSA_DIR) -DCMAKE_BUILD_TYPE=Debug -DCMAKE_CXX_FLAGS_DEBUG=-O0 \
	  -DCMAKE_C_FLAGS_DEBUG=-O0 -DIEF_WERROR=ON -DIEF_THREAD_SAFETY=ON -DIEF_TESTS=OFF
	cmake --build $(TSA_DIR) -j $(JOBS) --target ief_exporter ief_simulator

check-hardening: asan fuzz thread-safety

bench: build
	BUILD_DIR=$(BUILD_DIR) scripts/bench.sh

SOAK_MINUTES ?= 30
soak: build
	$(BUILD_DIR)/tests/bench/soak --minutes $(SOAK_MINUTES)

deb: build
	packaging/build-deb.sh $(BUILD_DIR)/ief_exporter $(BUILD_DIR)/deb

container-test: deb
	@scripts/install-deps.sh container
	BUILD_DIR=$(BUILD_DIR) tests/deploy/container_test.sh

clean:
	rm -rf $(BUILD_DIR) $(ASAN_DIR) $(UNIT_DIR) $(TSA_DIR) build-fuzz

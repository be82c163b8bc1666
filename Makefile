# The commands people type. Each installs the Debian packages it needs
# (packaging/debian-deps.txt) when they are missing, then configures and
# builds with CMake. Build trees live under build/.

JOBS ?= $(shell nproc 2>/dev/null || echo 2)
CMAKE_FLAGS ?=

.PHONY: all build release test check fuzz bench demo format clean deps

all: build

deps:
	@sh packaging/install-deps.sh build

# A plain debug build.
build: deps
	cmake -S . -B build/debug -DCMAKE_BUILD_TYPE=Debug $(CMAKE_FLAGS)
	cmake --build build/debug -j $(JOBS)

release: deps
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build build/release -j $(JOBS)

# The whole test suite, under AddressSanitizer and UBSan.
test:
	@sh packaging/install-deps.sh build test
	cmake -S . -B build/sanitize -DCMAKE_BUILD_TYPE=Debug -DSANITIZE=ON $(CMAKE_FLAGS)
	cmake --build build/sanitize -j $(JOBS)
	cd build/sanitize && ctest --output-on-failure -j $(JOBS) $(CTEST_FLAGS)

check: test

# Runs each libFuzzer target for FUZZ_SECONDS (default 60) on its corpus.
FUZZ_SECONDS ?= 60
fuzz:
	@sh packaging/install-deps.sh build fuzz
	CC=clang cmake -S . -B build/fuzz -DCMAKE_BUILD_TYPE=RelWithDebInfo -DFUZZ=ON $(CMAKE_FLAGS)
	cmake --build build/fuzz -j $(JOBS)
	sh tests/run-fuzz.sh build/fuzz $(FUZZ_SECONDS)

# A Debian package of the release build:
# build/release/saltbridge_VERSION_ARCH.deb (README.md, Installing from
# the package).
.PHONY: package
package: release
	cd build/release && cpack -G DEB

# Benchmarks: each prints ratios against a baseline measured in the same run.
bench:
	@sh packaging/install-deps.sh build bench
	$(MAKE) release
	sh bench/run.sh build/release

# The two programs of the release build, then `saltbridge demo` in the
# foreground: saltmaild with two accounts and sample mail, and the bridge
# with their settings, until Ctrl-C. DEMO_FLAGS passes options
# (saltbridge demo --help), e.g. DEMO_FLAGS="--dir /tmp/demo".
DEMO_FLAGS ?=
demo: deps
	cmake -S . -B build/release -DCMAKE_BUILD_TYPE=Release $(CMAKE_FLAGS)
	cmake --build build/release -j $(JOBS) --target saltbridge saltmaild
	build/release/bridge/saltbridge demo $(DEMO_FLAGS)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf build

# Makefile - everyday commands for shmap, wrapping CMake.  The main build
# lives in build/ (RelWithDebInfo); sanitizer and -Werror builds get their
# own build-*/ directories.  `make help` lists the targets.

CMAKE ?= cmake
CTEST ?= ctest
PREFIX ?= /usr/local
BUILD_DIR := build
BUILD_TYPE := RelWithDebInfo

# Sub-makes (CMake's generated Makefiles) need not announce directories.
MAKEFLAGS += --no-print-directory

# Parallel jobs: the number of CPUs, at least 2.
JOBS := $(shell n=$$(nproc 2>/dev/null || echo 2); [ "$$n" -ge 2 ] 2>/dev/null || n=2; echo $$n)

# Sanitizer builds: `make sanitize SAN=address,undefined` or `SAN=thread`.
SAN ?= address,undefined
SAN_CC := clang
SAN_DIR = $(if $(findstring thread,$(SAN)),build-tsan,build-asan)
# Make any sanitizer report fail the test that triggered it.
export UBSAN_OPTIONS ?= print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS ?= second_deadlock_stack=1

# `make werror CC=gcc|clang`; without CC, make's default (cc).
WERROR_DIR = build-werror-$(notdir $(CC))

# The plain build builds the tests only when cmocka is there (`make check`
# installs it and always builds them).
TESTS_AUTO = $(shell pkg-config --exists cmocka 2>/dev/null && echo ON || echo OFF)

# $(call configure,DIR,EXTRA-CMAKE-ARGS[,COMPILER]): configure (or refresh)
# DIR.  The compiler of a directory is set when it is first configured.
define configure
$(CMAKE) -S . -B $(1) -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) $(2)$(if $(3),$(if $(wildcard $(1)/CMakeCache.txt),, -DCMAKE_C_COMPILER=$(3)))
endef

# $(call build,DIR)
define build
$(CMAKE) --build $(1) -j $(JOBS)
endef

.PHONY: all check deps demo install sanitize werror bench stress fuzz valgrind format lint clean help

all:
	@if [ "$(TESTS_AUTO)" = OFF ]; then \
	    echo "shmap: cmocka not found: building without tests (make check installs it)"; fi
	$(call configure,$(BUILD_DIR),-DSHMAP_BUILD_TESTS=$(TESTS_AUTO))
	$(call build,$(BUILD_DIR))

deps:
	@bash tools/ensure-deps.sh

check: deps
	$(call configure,$(BUILD_DIR),-DSHMAP_BUILD_TESTS=ON)
	$(call build,$(BUILD_DIR))
	cd $(BUILD_DIR) && $(CTEST) --output-on-failure -j$(JOBS)

demo: all
	@if [ ! -x $(BUILD_DIR)/examples/demo ]; then \
	    echo "shmap: no examples/demo.c to run" >&2; exit 1; fi
	$(BUILD_DIR)/examples/demo

install: all
	$(CMAKE) --install $(BUILD_DIR) --prefix "$(PREFIX)"

# Built with clang, warnings as errors; the tests run under the sanitizer.
# Sanitizer runtimes of older compilers fail to start on kernels with high
# ASLR entropy: a trivial program is tried first, and if it only runs with
# ASLR off, ctest runs under `setarch -R`.
sanitize: deps
	@case "$(SAN)" in \
	    address,undefined|undefined,address|address|undefined|thread) ;; \
	    *) echo "usage: make sanitize SAN=address,undefined|thread" >&2; exit 1;; \
	esac
	$(call configure,$(SAN_DIR),-DSHMAP_SANITIZE=$(SAN) -DSHMAP_WERROR=ON -DSHMAP_BUILD_TESTS=ON,$(SAN_CC))
	$(call build,$(SAN_DIR))
	@set -e; probe=$(SAN_DIR)/sanitizer-probe; \
	printf '%s\n' '#include <pthread.h>' '#include <stdlib.h>' \
	    'static void *run(void *p) { return p; }' \
	    'int main(void) { pthread_t t; void *m = malloc(16);' \
	    '    if (pthread_create(&t, NULL, run, m)) return 1;' \
	    '    pthread_join(t, NULL); free(m); return 0; }' > $$probe.c; \
	$(SAN_CC) -fsanitize=$(SAN) -g -pthread -o $$probe $$probe.c; \
	wrap=""; \
	if ! $$probe >/dev/null 2>&1; then \
	    if setarch "$$(uname -m)" -R $$probe >/dev/null 2>&1; then \
	        wrap="setarch $$(uname -m) -R"; \
	        echo "shmap: -fsanitize=$(SAN) needs ASLR off on this kernel: ctest runs under '$$wrap'"; \
	    else \
	        echo "shmap: a trivial -fsanitize=$(SAN) program fails on this machine:" >&2; \
	        $$probe || true; exit 1; \
	    fi; \
	fi; \
	echo "cd $(SAN_DIR) && $${wrap:+$$wrap }$(CTEST) --output-on-failure -j$(JOBS)"; \
	cd $(SAN_DIR) && $$wrap $(CTEST) --output-on-failure -j$(JOBS)

werror: deps
	$(call configure,$(WERROR_DIR),-DSHMAP_WERROR=ON -DSHMAP_BUILD_TESTS=ON,$(CC))
	$(call build,$(WERROR_DIR))

# Benchmarks: shmap side by side with raw POSIX, pthread, futex, pipes,
# memcpy and Boost.Interprocess, interleaved in one run; prints a Markdown
# report and writes bench/results/latest.md.  `make bench QUICK=1` runs every
# scenario briefly (CI); PLOTS=1 installs gnuplot for the PNGs.  shmap's
# side of the sync scenarios is built when include/shmap.h declares the sync
# API and libshmap.a defines it (BENCH_SYNC=0|1 forces either).
BENCH_DIR := $(BUILD_DIR)/bench
BENCH_CFLAGS := -std=c11 -O2 -g -Wall -Wextra -D_GNU_SOURCE -Iinclude

bench:
	$(call configure,$(BUILD_DIR),-DSHMAP_BUILD_TESTS=$(TESTS_AUTO))
	$(CMAKE) --build $(BUILD_DIR) --target shmap_static -j $(JOBS)
	@mkdir -p $(BENCH_DIR)
	@sync=$(BENCH_SYNC); \
	if [ -z "$$sync" ]; then \
	    if grep -q 'shmap_wait_multiple' include/shmap.h && \
	       nm $(BUILD_DIR)/libshmap.a 2>/dev/null | grep -q ' T shmap_wait_multiple$$'; then sync=1; \
	    else sync=0; echo "bench: no sync API in include/shmap.h + libshmap.a: shmap's sync figures skipped"; fi; \
	fi; \
	echo "$(CC) $(BENCH_CFLAGS) -DBENCH_SYNC=$$sync -o $(BENCH_DIR)/shmap-bench bench/*.c $(BUILD_DIR)/libshmap.a -lpthread -lrt -lm"; \
	$(CC) $(BENCH_CFLAGS) -DBENCH_SYNC=$$sync -o $(BENCH_DIR)/shmap-bench \
	    $(wildcard bench/*.c) $(BUILD_DIR)/libshmap.a -lpthread -lrt -lm
	@bash bench/run.sh "$(BENCH_DIR)" "$(QUICK)" "$(PLOTS)" "$(CC)" "$(CXX)"

# ---- stress, fuzz, valgrind ------------------------------------------------
# Long runs of the kill storm (tests/test_stress.c) and of the name races
# (tests/test_races.c), which `make check` runs briefly.  The storm runs for
# STRESS_SECONDS (default 60), or SHMAP_STRESS_ROUNDS kills if that is set
# in the environment; SHMAP_STRESS_SEED replays a storm's printed seed.
# RACE_ITERS: iterations per racing process.
STRESS_SECONDS ?= $(if $(SHMAP_STRESS_ROUNDS),0,60)
RACE_ITERS ?= 20000

stress: deps
	$(call configure,$(BUILD_DIR),-DSHMAP_BUILD_TESTS=ON)
	$(CMAKE) --build $(BUILD_DIR) --target test_stress test_races -j $(JOBS)
	cd $(BUILD_DIR) && SHMAP_STRESS_SECONDS=$(STRESS_SECONDS) ./tests/test_stress
	cd $(BUILD_DIR) && SHMAP_RACE_ITERS=$(RACE_ITERS) ./tests/test_races

# libFuzzer targets (fuzz/fuzz_*.c), built with clang in their own tree
# under $(BUILD_DIR) (so `make clean` takes it too), each run for
# FUZZ_SECONDS (default 60) from its seeds in fuzz/corpus/NAME/.  New inputs
# go to $(FUZZ_DIR)/corpus/NAME/, crashes to $(FUZZ_DIR)/artifacts/NAME/:
# copy a crash into fuzz/corpus/NAME/ and `make check` replays it.
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(BUILD_DIR)/fuzz-clang

fuzz:
	$(call configure,$(FUZZ_DIR),-DSHMAP_FUZZ=ON -DSHMAP_BUILD_TESTS=OFF,clang)
	$(CMAKE) --build $(FUZZ_DIR) --target shmap_fuzzers -j $(JOBS)
	@set -e; wrap=""; first=$$(ls $(FUZZ_DIR)/fuzz/fuzz_* | head -n 1); \
	if ! $$first -runs=0 >/dev/null 2>&1; then \
	    if setarch "$$(uname -m)" -R $$first -runs=0 >/dev/null 2>&1; then \
	        wrap="setarch $$(uname -m) -R"; \
	        echo "shmap: the sanitizer runtime needs ASLR off here: fuzzers run under '$$wrap'"; \
	    else \
	        echo "shmap: $$first does not start:" >&2; $$first -runs=0; exit 1; \
	    fi; \
	fi; \
	failed=""; \
	for src in fuzz/fuzz_*.c; do \
	    t=$$(basename $$src .c); name=$${t#fuzz_}; \
	    mkdir -p $(FUZZ_DIR)/corpus/$$name $(FUZZ_DIR)/artifacts/$$name; \
	    echo "==== $$t: $(FUZZ_SECONDS) s"; \
	    $$wrap $(FUZZ_DIR)/fuzz/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$(FUZZ_DIR)/artifacts/$$name/ \
	        $(FUZZ_DIR)/corpus/$$name fuzz/corpus/$$name || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then \
	    echo "shmap: fuzz targets that failed:$$failed (inputs in $(FUZZ_DIR)/artifacts/)" >&2; \
	    exit 1; \
	fi

# Valgrind memcheck over the tests whose work is done in the test process
# (the children some fork run under valgrind too) and over the fuzz corpus
# replays.  Not the tests that probe unmapped or read-only memory on purpose
# (test_view, test_win32*), nor the kill storm, races, resource exhaustion
# and hostile-store tests (timing, rlimits and alarms that valgrind's
# slowdown and own mappings would upset).  Installs valgrind with apt-get
# when it is missing and run as root.
VALGRIND_TESTS := tests/test_errors tests/test_store tests/test_names tests/test_mapping \
    tests/test_filebacked tests/test_sharing tests/test_sync tests/test_lifetime
VALGRIND := valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite,indirect \
    --error-exitcode=1 --child-silent-after-fork=no --track-origins=yes

valgrind: deps
	@if ! command -v valgrind >/dev/null; then \
	    if [ "$$(id -u)" -eq 0 ] && command -v apt-get >/dev/null; then \
	        echo "shmap: installing valgrind"; \
	        DEBIAN_FRONTEND=noninteractive apt-get -qq -o Dpkg::Lock::Timeout=300 update >/dev/null && \
	        DEBIAN_FRONTEND=noninteractive apt-get -qq -o Dpkg::Lock::Timeout=300 install -y \
	            --no-install-recommends valgrind >/dev/null; \
	    else \
	        echo "shmap: valgrind is not installed: run 'sudo apt-get install valgrind'" >&2; exit 1; \
	    fi; \
	fi
	$(call configure,$(BUILD_DIR),-DSHMAP_BUILD_TESTS=ON)
	$(call build,$(BUILD_DIR))
	@cd $(BUILD_DIR); failed=""; \
	for t in $(VALGRIND_TESTS); do \
	    echo "==== valgrind $$t"; \
	    SHMAP_TEST_BIN_DIR=$$PWD CMOCKA_MESSAGE_OUTPUT=stdout $(VALGRIND) ./$$t >/dev/null || \
	        failed="$$failed $$t"; \
	done; \
	for r in fuzz/fuzz_replay_*; do \
	    name=$${r#fuzz/fuzz_replay_}; \
	    echo "==== valgrind $$r"; \
	    $(VALGRIND) ./$$r $(CURDIR)/fuzz/corpus/$$name >/dev/null || failed="$$failed $$r"; \
	done; \
	if [ -n "$$failed" ]; then echo "shmap: failed under valgrind:$$failed" >&2; exit 1; fi

# Every .c and .h of the tree, outside .git and the build directories.
SOURCES = $(shell find . -type d \( -name .git -o -name 'build*' \) -prune -o \
                         -type f \( -name '*.c' -o -name '*.h' \) -print)

format:
	@command -v clang-format >/dev/null || { echo "shmap: clang-format not installed" >&2; exit 1; }
	$(if $(SOURCES),clang-format -i $(SOURCES))

lint:
	@command -v clang-tidy >/dev/null || { echo "shmap: clang-tidy not installed" >&2; exit 1; }
	@command -v cppcheck >/dev/null || { echo "shmap: cppcheck not installed" >&2; exit 1; }
	$(call configure,$(BUILD_DIR),-DSHMAP_BUILD_TESTS=$(TESTS_AUTO))
	clang-tidy -p $(BUILD_DIR) --quiet --warnings-as-errors='*' \
	    --checks='-*,clang-diagnostic-*,clang-analyzer-*,-clang-analyzer-security.insecureAPI.DeprecatedOrUnsafeBufferHandling' \
	    src/*.c
	cppcheck --enable=warning,performance,portability --error-exitcode=1 --quiet \
	    --std=c11 -D_GNU_SOURCE -D__GLIBC__=2 -I include -I src --inline-suppr src/

clean:
	rm -rf $(BUILD_DIR) build-asan build-tsan build-werror-*

help:
	@echo "make                  configure and build everything in $(BUILD_DIR)/"
	@echo "make check            install test dependencies, build, run the tests"
	@echo "make demo             build, then run $(BUILD_DIR)/examples/demo"
	@echo "make install [PREFIX=/usr/local]"
	@echo "make sanitize SAN=address,undefined|thread   clang + sanitizer build and tests"
	@echo "make werror CC=gcc|clang                      build with -Werror"
	@echo "make format | lint    clang-format -i / clang-tidy + cppcheck"
	@echo "make bench [QUICK=1]          shmap against its peers; writes bench/results/latest.md"
	@echo "make stress [STRESS_SECONDS=60]   long kill storm and name races"
	@echo "make fuzz [FUZZ_SECONDS=60]       run each libFuzzer target (clang)"
	@echo "make valgrind         memcheck over the single-process tests and fuzz corpora"
	@echo "make clean            remove every build directory"

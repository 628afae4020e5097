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

.PHONY: all check deps demo install sanitize werror bench stress fuzz format lint clean help

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

# Placeholders, filled in later.
stress fuzz:
	@echo "shmap: make $@: not yet available" >&2; exit 1

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
	    --std=c11 -D_GNU_SOURCE -I include -I src --inline-suppr src/

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
	@echo "make clean            remove every build directory"

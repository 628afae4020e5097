#!/usr/bin/env bash
# bench/run.sh - second half of `make bench` (the Makefile has built
# libshmap.a and the harness BENCH_DIR/shmap-bench): builds the Boost peer
# (installing Debian's libboost-dev first when root and missing, else the
# Boost column is skipped with the reason), looks for gnuplot (installed only
# with PLOTS=1), then runs the harness, which prints the Markdown report and
# writes bench/results/latest.md.
#
# Usage: bash bench/run.sh BENCH_DIR QUICK PLOTS CC CXX
set -uo pipefail

bench_dir=$1
quick=${2:-}
plots=${3:-}
cc=${4:-cc}
cxx=${5:-g++}

args=()
[ -n "$quick" ] && [ "$quick" != 0 ] && args+=(--quick)
[ -n "${BENCH_ONLY:-}" ] && args+=(--only "$BENCH_ONLY")

# Run apt-get only as root, non-interactively, quietly; 0 if it installed.
apt_install() {
    [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1 || return 1
    echo "bench: installing $* (apt-get)" >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1 && return 0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null 2>&1
}

# ---- Boost.Interprocess peer ---------------------------------------------------
boost_header=/usr/include/boost/interprocess/shared_memory_object.hpp
boost_reason=""
if ! command -v "$cxx" >/dev/null 2>&1; then
    boost_reason="no C++ compiler ($cxx)"
elif [ ! -f "$boost_header" ]; then
    if [ "$(id -u)" != 0 ]; then
        boost_reason="libboost-dev not installed, and not root to install it"
    elif ! apt_install libboost-dev || [ ! -f "$boost_header" ]; then
        boost_reason="libboost-dev not installed and apt-get install failed"
    fi
fi
if [ -z "$boost_reason" ]; then
    echo "$cxx -std=c++17 -O2 -Wall -Wextra -o $bench_dir/boost_peer bench/boost_peer.cpp -lpthread -lrt"
    if "$cxx" -std=c++17 -O2 -Wall -Wextra -o "$bench_dir/boost_peer" bench/boost_peer.cpp \
        -lpthread -lrt; then
        args+=(--boost "$bench_dir/boost_peer" --cxx "$("$cxx" --version | head -n1)")
    else
        boost_reason="bench/boost_peer.cpp failed to build"
    fi
fi
if [ -n "$boost_reason" ]; then
    echo "bench: Boost column skipped: $boost_reason" >&2
    args+=(--no-boost "$boost_reason")
fi

# ---- gnuplot -------------------------------------------------------------------------
if ! command -v gnuplot >/dev/null 2>&1 && [ -n "$plots" ] && [ "$plots" != 0 ]; then
    apt_install gnuplot-nox || echo "bench: could not install gnuplot-nox" >&2
fi
if command -v gnuplot >/dev/null 2>&1; then
    args+=(--plots bench/results)
elif [ -n "$plots" ] && [ "$plots" != 0 ]; then
    args+=(--no-plots "skipped: gnuplot could not be installed")
else
    args+=(--no-plots "skipped: gnuplot not installed (make bench PLOTS=1 installs it)")
fi

mkdir -p "$bench_dir/data" bench/results
exec "$bench_dir/shmap-bench" --cc "$("$cc" --version | head -n1)" \
    --data "$bench_dir/data" --out bench/results/latest.md "${args[@]}"

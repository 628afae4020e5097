#!/usr/bin/env bash
# tests/win32_unicode.sh - one Win32 program (tests/win32_program.c),
# compiled twice against the built library and shmap's <windows.h> (the
# include/shmap/compat directory): once with -DUNICODE (TEXT("...") is a
# UTF-16 literal, the unsuffixed macros call the W functions) and once
# without (the A functions).  Both builds must compile without a warning
# (-Wall -Wextra -Werror, C11, with each of gcc and clang that is there),
# and then run against each other: the UNICODE build creates the named
# objects and the ANSI build opens the same names, and the other way round,
# exchanging data, which proves the W and A paths reach the same objects,
# non-ASCII names included.  Uses a store and a build directory of its own
# under /dev/shm, removed at exit.
#
# Needs SHMAP_BIN_DIR (the build directory, holding libshmap.so or .a) and
# SHMAP_SRC_DIR (default: this script's parent directory).  Ends with "N
# passed, M failed".
set -uo pipefail

: "${SHMAP_BIN_DIR:?set SHMAP_BIN_DIR to the build directory}"
SRC_DIR=${SHMAP_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
PROGRAM=$SRC_DIR/tests/win32_program.c

top=$(mktemp -d /dev/shm/shmap-unicode.XXXXXX) || exit 1
export SHMAP_ROOT=$top/store
background=()

cleanup() {
    local pid
    for pid in "${background[@]}"; do
        kill -9 "$pid" 2>/dev/null
    done
    wait 2>/dev/null
    rm -rf "$top"
}
trap cleanup EXIT

passed=0
failed=0

pass() {
    passed=$((passed + 1))
    printf 'ok   %s\n' "$1"
}

fail() {
    failed=$((failed + 1))
    printf 'FAIL %s\n' "$1"
}

# ---- Building ------------------------------------------------------------------

if [[ -f $SHMAP_BIN_DIR/libshmap.so ]]; then
    link=(-L"$SHMAP_BIN_DIR" -Wl,-rpath,"$SHMAP_BIN_DIR" -lshmap -pthread)
elif [[ -f $SHMAP_BIN_DIR/libshmap.a ]]; then
    link=("$SHMAP_BIN_DIR/libshmap.a" -pthread)
else
    echo "win32_unicode.sh: no libshmap.so or libshmap.a in $SHMAP_BIN_DIR" >&2
    exit 1
fi

compilers=()
for cc in gcc clang; do
    command -v "$cc" >/dev/null && compilers+=("$cc")
done
if [[ ${#compilers[@]} -eq 0 ]]; then
    compilers=(cc)
fi
# A sanitizer build of the library (SHMAP_SANITIZE, set by the build) needs
# programs built by the same compiler with the same sanitizer.
if [[ -n ${SHMAP_SANITIZE:-} ]]; then
    compilers=(clang)
    link+=(-fsanitize="$SHMAP_SANITIZE")
fi

# build CC KIND: compiles the program with CC as KIND (unicode or ansi) into
# $top/CC-KIND.
build() {
    local cc=$1 kind=$2 defs=()
    [[ $kind == unicode ]] && defs=(-DUNICODE -D_UNICODE)
    if "$cc" -std=c11 -Wall -Wextra -Werror "${defs[@]}" \
        -I"$SRC_DIR/include" -I"$SRC_DIR/include/shmap/compat" \
        -o "$top/$cc-$kind" "$PROGRAM" "${link[@]}" 2>"$top/$cc-$kind.log"; then
        pass "$cc builds the $kind program without a warning"
    else
        fail "$cc does not build the $kind program:"
        sed 's/^/     | /' "$top/$cc-$kind.log"
    fi
}

for cc in "${compilers[@]}"; do
    build "$cc" unicode
    build "$cc" ansi
done

# ---- Running ------------------------------------------------------------------

# info BINARY WANT: the binary says which build it is.
info() {
    local got
    got=$("$top/$1" info 2>&1)
    if [[ $got == "$2" ]]; then pass "$1: $2"; else fail "$1 says \"$got\", want \"$2\""; fi
}

# pair SERVER VISITOR: SERVER creates the objects and waits, VISITOR opens
# them; both must exit 0 and see each other's data.
pair() {
    local server=$1 visitor=$2 line out vout vstatus sstatus
    local skind=${server##*-} vkind=${visitor##*-}
    local sbuild=${skind^^} vbuild=${vkind^^}
    if [[ ! -x $top/$server || ! -x $top/$visitor ]]; then
        fail "$server / $visitor: not built"
        return
    fi
    rm -f "$top/serve.out"
    mkfifo "$top/serve.out"
    ("$top/$server" serve >"$top/serve.out" 2>&1) &
    local spid=$!
    background+=("$spid")
    exec 3<"$top/serve.out"
    out=""
    while IFS= read -r -t 30 line <&3; do
        out+="$line"$'\n'
        [[ $line == "serve $sbuild: ready" ]] && break
    done
    if [[ $out != *"serve $sbuild: ready"* ]]; then
        fail "$server never got ready: $out"
        exec 3<&-
        kill -9 "$spid" 2>/dev/null
        wait "$spid" 2>/dev/null
        return
    fi
    vout=$("$top/$visitor" visit 2>&1)
    vstatus=$?
    out+=$(cat <&3)
    exec 3<&-
    wait "$spid"
    sstatus=$?
    if [[ $vstatus -eq 0 && $vout == *"visit $vbuild: read \"hello from the $sbuild build\""* ]]; then
        pass "$visitor opens what $server created and reads its greeting"
    else
        fail "$visitor (exit $vstatus): $vout"
    fi
    if [[ $sstatus -eq 0 && $out == *"serve $sbuild: got \"reply from the $vbuild build\""* ]]; then
        pass "$server gets the reply of $visitor"
    else
        fail "$server (exit $sstatus): $out"
    fi
    local left
    left=$(find "$SHMAP_ROOT" -type f 2>/dev/null)
    if [[ -z $left ]]; then
        pass "$server + $visitor leave the store empty"
    else
        fail "$server + $visitor leave in the store: $left"
    fi
}

first=${compilers[0]}
last=${compilers[${#compilers[@]} - 1]}
info "$first-unicode" "UNICODE build: TCHAR is 2 byte(s)"
info "$first-ansi" "ANSI build: TCHAR is 1 byte(s)"
pair "$first-unicode" "$first-ansi"
pair "$first-ansi" "$first-unicode"
if [[ $last != "$first" ]]; then
    # Across compilers too.
    pair "$last-unicode" "$first-ansi"
    pair "$first-unicode" "$last-ansi"
fi

echo "$passed passed, $failed failed"
((failed == 0))

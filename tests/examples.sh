#!/usr/bin/env bash
# tests/examples.sh - runs every example program of $SHMAP_BIN_DIR/examples
# as a user would, checks its exit status and the lines it prints, and then
# that the store it ran against holds nothing.  Each run gets a fresh
# SHMAP_ROOT and working directory under one mktemp -d directory in
# /dev/shm, removed at exit.  Programs that need a partner (win32_writer and
# win32_reader) are run together: the writer's output comes through a fifo,
# and the reader starts once the writer says it waits (no sleeping).
#
# Needs SHMAP_BIN_DIR (the build directory); SHMAP_SRC_DIR is the source
# tree (default: this script's parent directory).  Ends with "N passed, M
# failed" and exits non-zero if anything failed.
set -uo pipefail

: "${SHMAP_BIN_DIR:?set SHMAP_BIN_DIR to the build directory}"
SRC_DIR=${SHMAP_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
EX=$SHMAP_BIN_DIR/examples
if [[ ! -d $EX ]]; then
    echo "examples.sh: $EX: no such directory" >&2
    exit 1
fi

top=$(mktemp -d /dev/shm/shmap-examples.XXXXXX) || exit 1
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

# ---- Checks ------------------------------------------------------------------

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

# fresh NAME: a new store and working directory for one run: sets
# SHMAP_ROOT (exported) and $work.
fresh() {
    local dir
    dir=$(mktemp -d "$top/$1.XXXXXX") || exit 1
    export SHMAP_ROOT=$dir/store
    work=$dir/work
    mkdir "$work"
}

# run NAME ARGS...: runs example NAME in $work; sets $status and $out.
run() {
    out=$(cd "$work" && timeout 120 "$EX/$1" "${@:2}" 2>&1)
    status=$?
}

# exits WHAT WANT: the last run exited with status WANT.
exits() {
    if [[ $status -eq $2 ]]; then
        pass "$1 exits $2"
    else
        fail "$1 exits $status, want $2; it printed:"
        printf '%s\n' "$out" | sed 's/^/     | /'
    fi
}

# says WHAT TEXT...: every TEXT (a fixed string) is in the output $out.
says() {
    local what=$1 text
    shift
    for text in "$@"; do
        if grep -qF -- "$text" <<<"$out"; then
            pass "$what says: $text"
        else
            fail "$what does not say: $text"
        fi
    done
}

# says_re WHAT REGEX...: every extended REGEX matches a line of $out.
says_re() {
    local what=$1 re
    shift
    for re in "$@"; do
        if grep -qE -- "$re" <<<"$out"; then
            pass "$what prints /$re/"
        else
            fail "$what prints nothing like /$re/"
        fi
    done
}

# store_empty WHAT: nothing is left in the store of the last run.
store_empty() {
    local left
    left=$(find "$SHMAP_ROOT" -type f 2>/dev/null)
    if [[ -z $left ]]; then
        pass "$1 leaves the store empty"
    else
        fail "$1 leaves in the store: $left"
    fi
}

# ---- Every example source was built ------------------------------------------

declare -A known=()
for src in "$SRC_DIR"/examples/*.c; do
    name=$(basename "$src" .c)
    if [[ $name == lib* ]]; then
        [[ -f $EX/$name.so ]] && pass "$name.so is built" || fail "$name.so is not built"
    else
        [[ -x $EX/$name ]] && pass "$name is built" || fail "$name is not built"
    fi
done

# ---- demo ---------------------------------------------------------------------

known[demo]=1
if [[ -x $EX/demo ]]; then
    fresh demo
    run demo
    exits demo 0
    says demo "Demo completed successfully." "Nothing: no object, no file, no leaked memory."
    store_empty demo
fi

# ---- win32_writer and win32_reader ------------------------------------------

known[win32_writer]=1
known[win32_reader]=1

fresh win32_reader
run win32_reader
exits "win32_reader alone" 1
says "win32_reader alone" "OpenFileMapping failed (error 2): no writer is running"
store_empty "win32_reader alone"

fresh win32_writer
run win32_writer 0
exits "win32_writer with no reader and no patience" 1
says "win32_writer with no reader" "no reader came within 0 s"
store_empty "win32_writer with no reader"

fresh win32_pair
mkfifo "$work/writer.out"
(cd "$work" && exec timeout 120 "$EX/win32_writer" 60 >"$work/writer.out" 2>&1) &
writer_pid=$!
background+=("$writer_pid")
exec 3<"$work/writer.out"
writer_log=""
while IFS= read -r -t 60 line <&3; do
    writer_log+="$line"$'\n'
    [[ $line == "writer: waiting for a reader"* ]] && break
done
if [[ $writer_log == *"writer: waiting for a reader"* ]]; then
    pass "win32_writer waits for a reader"
    run win32_reader
    exits "win32_reader (the writer waiting)" 0
    says_re "win32_reader" '^reader: the message is: Hello from the writer \(process [0-9]+\), through shared memory!$'
    says "win32_reader" "a write view through the read-only handle is refused" \
        "reader: told the writer the message was read"
else
    fail "win32_writer never said it waits; it printed: $writer_log"
fi
writer_log+=$(cat <&3)
exec 3<&-
wait "$writer_pid"
status=$?
out=$writer_log
exits "win32_writer (a reader came)" 0
says "win32_writer" "writer: created the mapping Local\\shmap-example-message (4096 bytes)" \
    "writer: the reader has read the message" "writer: done"
store_empty "win32_writer and win32_reader"

# ---- win32_dll_parent, win32_dll_child and libsharedmem.so -------------------

known[win32_dll_parent]=1
known[win32_dll_child]=1

fresh win32_dll_parent
run win32_dll_parent
exits win32_dll_parent 0
says win32_dll_parent "parent: loaded libsharedmem.so; its shared memory was created by this load" \
    "child: my copy of the library opened the existing shared memory" \
    "parent: the child exited with status 0" "parent: unloaded the library: success"
says_re win32_dll_parent '^child: read "greetings from the parent, process [0-9]+"$' \
    '^parent: the child left "thanks from the child, process [0-9]+"$'
store_empty win32_dll_parent

fresh win32_dll_child
run win32_dll_child
exits "win32_dll_child alone" 1
says "win32_dll_child alone" "child: the shared memory is new: no parent holds it"
store_empty "win32_dll_child alone"

# ---- win32_file_view ----------------------------------------------------------

known[win32_file_view]=1
fresh win32_file_view
run win32_file_view
exits win32_file_view 0
says win32_file_view "allocation granularity: 65536 bytes" \
    "created win32_file_view.dat: 3200049 bytes" \
    "MapViewOfFile at offset 2000003: ERROR_MAPPED_ALIGNMENT, as on Windows" \
    "view from offset 1966080 (= 2000003 rounded down to 65536), + 33923 to reach 2000003" \
    "100000 bytes checked, 0 wrong" "1001 bytes checked, 0 wrong" \
    "ReadFile at offset 1234567 finds \"written through a view\": the same" "all checks passed"
if [[ -z $(ls -A "$work") ]]; then
    pass "win32_file_view deletes its file"
else
    fail "win32_file_view leaves: $(ls -A "$work")"
fi
store_empty win32_file_view

# ---- win32_counter --------------------------------------------------------------

known[win32_counter]=1
fresh win32_counter
run win32_counter
exits win32_counter 0
says win32_counter "worker: 20000 increments done" \
    "worker: owns the mutex, in the middle of an update (counter now 41000)" \
    "parent: killed the worker (signal 9) while it owned the mutex" \
    "parent: WaitForSingleObject returned WAIT_ABANDONED" \
    "parent: an update was left half done: rolling the counter back from 41000 to 40000" \
    "parent: counter = 40000, consistent: 2 x 20000 increments, none lost" \
    "parent: 5 more increments; final counter = 40005 (expected 40005)" "parent: success"
store_empty "win32_counter (its worker killed holding names)"

# ---- Any other example: it runs alone and succeeds ----------------------------

for prog in "$EX"/*; do
    name=$(basename "$prog")
    [[ -f $prog && -x $prog && $name != *.so && -z ${known[$name]:-} ]] || continue
    fresh "$name"
    run "$name"
    exits "$name (no checks of its own here)" 0
    store_empty "$name"
done

echo "$passed passed, $failed failed"
((failed == 0))

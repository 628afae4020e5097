#!/usr/bin/env bash
# tests/tool.sh - drives the shmap tool as real processes against objects
# that other processes hold: `shmap create` (and create-mutex, -event,
# -semaphore) in the background holds names (its ready line is read through
# a fifo: no sleeping), and every other command looks at, reads, writes,
# removes and sweeps them, or signals, resets and waits on them (`shmap
# wait` in the background is itself the synchronization).  Uses a store of
# its own under /dev/shm, removed at exit.
#
# Needs SHMAP_BIN_DIR (the tool is $SHMAP_BIN_DIR/shmap); SHMAP_SRC_DIR is
# the source tree (default: this script's parent directory).
set -uo pipefail

: "${SHMAP_BIN_DIR:?set SHMAP_BIN_DIR to the directory holding the shmap tool}"
SHMAP=$SHMAP_BIN_DIR/shmap
SRC_DIR=${SHMAP_SRC_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
if [[ ! -x $SHMAP ]]; then
    echo "tool.sh: $SHMAP: no such executable" >&2
    exit 1
fi

top=$(mktemp -d /dev/shm/shmap-tool-test.XXXXXX) || exit 1
export SHMAP_ROOT=$top/store
holders=()

cleanup() {
    local pid
    for pid in "${holders[@]}"; do
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

# check DESCRIPTION COMMAND...: passes when COMMAND succeeds.
check() {
    local what=$1
    shift
    if "$@"; then pass "$what"; else fail "$what"; fi
}

# verdict DESCRIPTION: passes when the command just before succeeded.
verdict() {
    if [[ $? -eq 0 ]]; then pass "$1"; else fail "$1"; fi
}

# run ARGS...: runs the tool; sets $status, $out and $err.
run() {
    "$SHMAP" "$@" >"$top/stdout" 2>"$top/stderr"
    status=$?
    out=$(<"$top/stdout")
    err=$(<"$top/stderr")
}

# fails_with STATUS DESCRIPTION ARGS...: the tool exits with STATUS and says
# why in exactly one line on stderr.
fails_with() {
    local want=$1 what=$2
    shift 2
    run "$@"
    local lines
    lines=$(wc -l <"$top/stderr")
    if [[ $status -eq $want && $lines -eq 1 && $err == "shmap: "* ]]; then
        pass "$what (exit $want)"
    else
        fail "$what: exit $status, want $want; stderr: $err"
    fi
}

# ---- Holders -----------------------------------------------------------------

fifo_count=0

# hold_with COMMAND ARGS...: starts `shmap COMMAND ARGS` (create, or
# create-mutex and the like) in the background and reads its ready line;
# sets $holder_pid and $ready_line ("" if it failed).  The line is the
# synchronization; the timeout only keeps a broken tool from hanging the
# test.
hold_with() {
    local fifo=$top/ready.$((fifo_count += 1))
    mkfifo "$fifo"
    "$SHMAP" "$@" >"$fifo" &
    holder_pid=$!
    holders+=("$holder_pid")
    ready_line=
    read -r -t 30 ready_line <"$fifo"
    rm -f "$fifo"
}

# hold ARGS...: hold_with create ARGS.
hold() {
    hold_with create "$@"
}

# background_wait ARGS...: starts `shmap wait ARGS` in the background (its
# stderr in $top/waiter.err); sets $waiter_pid.
background_wait() {
    "$SHMAP" wait "$@" 2>"$top/waiter.err" &
    waiter_pid=$!
    holders+=("$waiter_pid")
}

# reap PID: waits for the background process PID; sets $reaped to its
# exit status.
reap() {
    {
        wait "$1"
        reaped=$?
    } 2>/dev/null # no "Interrupt" notice
}

# ls_row NAME [LS-ARGS]: the row of NAME in `shmap ls`, or nothing.
ls_row() {
    local name=$1 first rest
    shift
    "$SHMAP" ls "$@" | while read -r first rest; do
        if [[ $first == "$name" ]]; then printf '%s %s\n' "$first" "$rest"; fi
    done
}

# ls_field NAME N [LS-ARGS]: field N of NAME's row, counted from the end (1: PIDS).
ls_field() {
    local name=$1 n=$2 fields
    shift 2
    read -ra fields <<<"$(ls_row "$name" "$@")"
    ((${#fields[@]} >= n)) && printf '%s\n' "${fields[${#fields[@]} - n]}"
}

# ls_state NAME [LS-ARGS]: the STATE column of NAME's row (which may hold
# spaces: it lies between OWNER, the sixth column, and HOLDERS).
ls_state() {
    local name=$1 fields
    shift
    read -ra fields <<<"$(ls_row "$name" "$@")"
    ((${#fields[@]} >= 9)) && printf '%s\n' "${fields[*]:6:${#fields[@]}-8}"
}

# state_is NAME STATE: ls shows NAME in STATE.
state_is() {
    [[ $(ls_state "$1") == "$2" ]]
}

listed() {
    [[ -n $(ls_row "$@") ]]
}

# until_held_by NAME PID: looks (at most some thousands of times; nothing
# sleeps) until ls shows PID among NAME's holders: a background `shmap wait`
# holds the name while it waits.
until_held_by() {
    local i
    for ((i = 0; i < 5000; i++)); do
        [[ ,$(ls_field "$1" 1), == *",$2,"* ]] && return 0
    done
    return 1
}

# not_listed NAME [LS-ARGS]: ls works, and does not show NAME.
not_listed() {
    local rows
    rows=$(ls_row "$@") || return 1
    [[ -z $rows ]]
}

json_valid() {
    python3 -c 'import json,sys; json.load(sys.stdin)' <"$1"
}

# json_check FILE EXPRESSION [ARGS]: EXPRESSION is true of `d`, FILE's JSON
# (ARGS in `argv`).
json_check() {
    local file=$1 expr=$2
    shift 2
    python3 -c "import json,os,sys
d = json.load(open(sys.argv[1]))
argv = sys.argv[2:]
sys.exit(0 if ($expr) else 1)" "$file" "$@"
}

# ---- Version and help --------------------------------------------------------

version=$(sed -n 's/^#define SHMAP_VERSION_STRING "\(.*\)"/\1/p' "$SRC_DIR/include/shmap.h")
run --version
[[ $status -eq 0 && $out == "shmap $version" ]]
verdict "--version prints SHMAP_VERSION_STRING"
help_lists_commands() {
    local c
    run --help
    [[ $status -eq 0 ]] || return 1
    for c in ls info create create-mutex create-event create-semaphore signal reset wait \
        cat write rm gc; do
        [[ $out == *"  $c "* ]] || return 1
    done
}
check "--help lists every command" help_lists_commands
run create --help
[[ $status -eq 0 && $out == "usage: shmap create "* ]]
verdict "create --help prints its usage"

# ---- create, ls, info --------------------------------------------------------

hold t1 1M
t1_pid=$holder_pid
check "create prints its ready line with its pid" \
    [ "$ready_line" = "created Local\\t1 (1.0M), holding it; pid $t1_pid" ]
check "ls shows the holder's pid" [ "$(ls_field 'Local\t1' 1)" = "$t1_pid" ]
check "ls counts one holder" [ "$(ls_field 'Local\t1' 2)" = 1 ]
hold brief 4K --for 1 # waited for at the end of the signal checks
brief_pid=$holder_pid
[[ $ready_line == "created Local\brief (4.0K), holding it; pid $brief_pid" ]] && listed 'Local\brief'
verdict "create --for holds the name"
run ls
[[ $status -eq 0 && $out == "NAME "* ]]
verdict "ls prints a header"

"$SHMAP" ls --json >"$top/ls.json"
check "ls --json parses" json_valid "$top/ls.json"
check "ls --json has the expected fields" json_check "$top/ls.json" \
    '[(o["type"], o["size"], o["protection"], o["mode"], o["stale"], o["holders"], o["pids"])
      for o in d if o["name"] == "Local\\t1"] == [("mapping", 1048576, "rw", "0600", False, 1, [int(argv[0])])]' \
    "$t1_pid"

run info t1
grep -q '^size: *1048576 (1.0M)$' <<<"$out" && grep -q "^holders: *1 (pid $t1_pid)$" <<<"$out"
verdict "info shows size and holder"
"$SHMAP" info --json 'Local\t1' >"$top/info.json"
check "info --json parses" json_valid "$top/info.json"
check "info --json has header fields" json_check "$top/info.json" \
    'd["name"] == "Local\\t1" and d["size"] == 1048576 and d["pids"] == [int(argv[0])]
     and d["header"]["creator_pid"] == int(argv[0]) and d["header"]["data_offset"] > 0
     and d["object_file"].endswith("/t1")' "$t1_pid"

fails_with 4 "create --new of an existing name" create t1 2M --new
run create t1 2M --for 0
[[ $status -eq 0 && $out == "opened existing Local\t1 (1.0M), holding it; pid "* ]]
verdict "create of an existing name opens it"

# ---- cat and write: 100 MiB, byte for byte -----------------------------------

hold big 100M
head -c 100M /dev/urandom >"$top/random"
run write big <"$top/random"
check "write of 100 MiB from a file" [ "$status" -eq 0 ]
"$SHMAP" cat big >"$top/copy"
check "cat gives back the same 100 MiB" cmp -s "$top/random" "$top/copy"
head -c 3M /dev/urandom >"$top/small"
run write big --offset 100001 < <(cat "$top/small")
check "write from a pipe at an unaligned offset" [ "$status" -eq 0 ]
check "cat at an unaligned offset reads it back" \
    cmp -s "$top/small" <("$SHMAP" cat big --offset 100001 --length 3M)
check "bytes before the offset are untouched" \
    cmp -s <(head -c 100001 "$top/random") <("$SHMAP" cat big --length 100001)
check "bytes after it are untouched" \
    cmp -s <(tail -c +3245730 "$top/random") <("$SHMAP" cat big --offset 3245729)

# A progress bar on a terminal (script(1) gives the tool one), none when
# piped: the transfers above wrote nothing on stderr.
run cat big
check "no progress bar when stderr is no terminal" [ -z "$err" ]
if command -v script >/dev/null; then
    script -qec "'$SHMAP' cat big >/dev/null" /dev/null >"$top/tty" 2>&1
    check "a progress bar on a terminal" grep -q "100%" "$top/tty"
    script -qec "'$SHMAP' write big <'$top/random'" /dev/null >"$top/tty" 2>&1
    check "... for write too" grep -q "100%" "$top/tty"
fi

# ---- write past the end ------------------------------------------------------

hold fit 64K
head -c 64K /dev/urandom >"$top/fit"
"$SHMAP" write fit <"$top/fit"
head -c 65537 /dev/zero >"$top/long"
fails_with 2 "write of a longer file" write fit <"$top/long"
check "... changed nothing" cmp -s "$top/fit" <("$SHMAP" cat fit)
fails_with 2 "write of a longer pipe" write fit < <(cat "$top/long")
check "... changed nothing" cmp -s "$top/fit" <("$SHMAP" cat fit)
fails_with 2 "write past the end from an offset" write fit --offset 65000 < <(head -c 537 /dev/zero)
check "... changed nothing" cmp -s "$top/fit" <("$SHMAP" cat fit)
run write fit --offset 65000 < <(head -c 536 /dev/zero)
check "write that just fits" [ "$status" -eq 0 ]

# ---- Bad usage and missing names ---------------------------------------------

fails_with 2 "unknown command" frobnicate
fails_with 2 "bad size 12Q" create bad 12Q
fails_with 2 "missing name" cat
fails_with 2 "bad offset" cat t1 --offset 12x
fails_with 2 "offset past the end" cat t1 --offset 2M
fails_with 2 "unknown option" ls --frob
fails_with 2 "malformed name" info 'a\b'
fails_with 3 "cat of a missing name" cat nosuch
fails_with 3 "write to a missing name" write nosuch </dev/null
fails_with 3 "info of a missing name" info nosuch
fails_with 3 "rm of a missing name" rm nosuch
check "no command left a name behind" not_listed 'Local\nosuch'
check "... nor an object file" [ ! -e "$SHMAP_ROOT/local-$(id -u)/nosuch" -a ! -e "$SHMAP_ROOT/local-$(id -u)/bad" ]
hold cow 64K --protection cow
fails_with 5 "write to a copy-on-write object" write cow </dev/null
mkdir -m 0777 "$top/unsafe"
chmod 0777 "$top/unsafe"
SHMAP_ROOT=$top/unsafe fails_with 7 "a world-writable store without sticky bit" create x 4K --for 0

# ---- Global names ------------------------------------------------------------

hold 'Global\g1' 64K --reserve
check "ls does not show Global names" not_listed 'Global\g1'
check "ls --global shows them" [ "$(ls_field 'Global\g1' 1 --global)" = "$holder_pid" ]
listed 'Global\g1' --all && listed 'Local\t1' --all
verdict "ls --all shows both"

# ---- Names with odd bytes, in text and JSON ----------------------------------

odd=$'we"ird\n\t\x01\xc3\xa9\xff'
hold "$odd" 4K
"$SHMAP" ls --json >"$top/odd.json"
check "ls --json of odd names parses" json_valid "$top/odd.json"
check "... and gives the name's exact bytes" json_check "$top/odd.json" \
    'b"Local\\" + os.fsencode(argv[0]) in [o["name"].encode("utf-8", "surrogateescape") for o in d]' \
    "$odd"
check "ls keeps it on one line" [ "$(ls_field $'Local\\we"ird???\xc3\xa9\xff' 1)" = "$holder_pid" ]

# ---- File-backed -------------------------------------------------------------

hold fb 64K --file "$top/backing"
check "create --file creates the file" [ "$(stat -c %s "$top/backing")" -eq 65536 ]
"$SHMAP" write fb <"$top/fit"
check "write goes to the backing file" cmp -s "$top/fit" "$top/backing"
"$SHMAP" info fb | grep -q "^backing: *file $top/backing (present)$"
verdict "info names the backing file"
fails_with 3 "create --file of a missing read-only file" create fbro --file "$top/none" --protection ro

# ---- Events ------------------------------------------------------------------

# A waiter's --timeout 30000 only keeps a broken tool from hanging the test.
hold_with create-event ev
ev_pid=$holder_pid
check "create-event prints its ready line with its state" \
    [ "$ready_line" = "created Local\\ev (event, not set, auto), holding it; pid $ev_pid" ]
check "ls shows an event's state" state_is 'Local\ev' "not set, auto"
run wait ev --timeout 100
check "wait on an event not set times out (exit 8)" [ "$status" -eq 8 ]
background_wait ev --timeout 30000
check "a waiting wait holds the name" until_held_by 'Local\ev' "$waiter_pid"
run signal ev
check "signal of an event" [ "$status" -eq 0 ]
reap "$waiter_pid"
check "... lets a waiting wait through" [ "$reaped" -eq 0 ]
check "... which resets an auto-reset event" state_is 'Local\ev' "not set, auto"
"$SHMAP" signal ev
check "a set auto-reset event shows as set" state_is 'Local\ev' "set, auto"
run wait ev --timeout 0
check "... lets one wait through" [ "$status" -eq 0 ]
run wait ev --timeout 0
check "... and only one (exit 8)" [ "$status" -eq 8 ]

hold_with create-event evm --manual --set
check "create-event --manual --set" \
    [ "$ready_line" = "created Local\\evm (event, set, manual), holding it; pid $holder_pid" ]
run wait evm --timeout 1000
first=$status
run wait evm --timeout 1000
check "a set manual-reset event lets two waits through" [ "$first" -eq 0 -a "$status" -eq 0 ]
check "... and stays set" state_is 'Local\evm' "set, manual"
run reset evm
check "reset of an event" [ "$status" -eq 0 ]
check "... shows in ls" state_is 'Local\evm' "not set, manual"
run wait evm --timeout 100
check "... and the next wait times out (exit 8)" [ "$status" -eq 8 ]
fails_with 4 "create-event --new of an existing name" create-event evm --new

# ---- Semaphores --------------------------------------------------------------

hold_with create-semaphore sem --max 5 --initial 1
check "create-semaphore prints its count" \
    [ "$ready_line" = "created Local\\sem (semaphore, count 1/max 5), holding it; pid $holder_pid" ]
check "ls shows a semaphore's count" state_is 'Local\sem' "count 1/max 5"
run signal sem --count 2
check "signal --count 2 raises it by 2" state_is 'Local\sem' "count 3/max 5"
run wait sem --timeout 1000
check "wait on a semaphore" [ "$status" -eq 0 ]
check "... lowers its count by 1" state_is 'Local\sem' "count 2/max 5"
fails_with 2 "signal past the maximum" signal sem --count 4
check "... changes nothing" state_is 'Local\sem' "count 2/max 5"
run info sem
grep -q '^count: *2$' <<<"$out" && grep -q '^maximum: *5$' <<<"$out"
verdict "info shows count and maximum"

hold_with create-semaphore sem0 --max 5
check "a semaphore starts at 0" state_is 'Local\sem0' "count 0/max 5"
background_wait sem0 --timeout 30000
check "a waiting wait holds the name" until_held_by 'Local\sem0' "$waiter_pid"
"$SHMAP" signal sem0
reap "$waiter_pid"
check "signal lets a waiting wait through" [ "$reaped" -eq 0 ]
check "... which takes the unit" state_is 'Local\sem0' "count 0/max 5"

# SIGINT ends a wait without taking anything (the tool blocks it before it
# opens the name, so once it holds the name the signal cannot be lost).
background_wait sem0 --timeout 30000
check "... another one too" until_held_by 'Local\sem0' "$waiter_pid"
kill -INT "$waiter_pid"
reap "$waiter_pid"
check "SIGINT interrupts a wait: it dies of SIGINT (130)" [ "$reaped" -eq 130 ]
"$SHMAP" signal sem0
check "... having taken nothing" state_is 'Local\sem0' "count 1/max 5"

# ---- Mutexes -----------------------------------------------------------------

hold_with create-mutex mx
check "create-mutex prints its ready line" \
    [ "$ready_line" = "created Local\\mx (mutex, free), holding it; pid $holder_pid" ]
check "ls shows a free mutex as free" state_is 'Local\mx' free
run wait mx --timeout 1000
check "wait on a free mutex" [ "$status" -eq 0 ]
check "... takes and releases it" state_is 'Local\mx' free
fails_with 6 "signal of a mutex" signal mx

hold_with create-mutex mxo --owned
owner_pid=$holder_pid # its main thread owns it: tid = pid
check "ls shows a mutex's owner thread" state_is 'Local\mxo' "owned by tid $owner_pid (x1)"
run wait mxo --timeout 100
check "wait on an owned mutex times out (exit 8)" [ "$status" -eq 8 ]
hold_with create-mutex mxo
check "create-mutex of an existing mutex opens it" \
    [ "$ready_line" = "opened existing Local\\mxo (mutex, owned by tid $owner_pid (x1)), holding it; pid $holder_pid" ]
background_wait mxo --timeout 30000
check "a wait on an owned mutex waits" until_held_by 'Local\mxo' "$waiter_pid"
kill -TERM "$owner_pid"
reap "$owner_pid"
check "an owner ended by SIGTERM exits cleanly" [ "$reaped" -eq 0 ]
reap "$waiter_pid"
check "... releasing the mutex: the waiting wait gets it, not abandoned" \
    [ "$reaped" -eq 0 ]
check "... and it is free" state_is 'Local\mxo' free

hold_with create-mutex mxa --owned
owner_pid=$holder_pid
hold_with create-mutex mxa # keeps the name once the owner is gone
{
    kill -9 "$owner_pid"
    wait "$owner_pid"
} 2>/dev/null
check "a mutex whose owner died shows as abandoned" state_is 'Local\mxa' abandoned
fails_with 9 "wait on an abandoned mutex" wait mxa --timeout 1000
check "... leaves it free" state_is 'Local\mxa' free
run wait mxa --timeout 0
check "... and it works again" [ "$status" -eq 0 ]

# ---- States in JSON; wrong types and bad arguments ---------------------------

"$SHMAP" ls --json >"$top/sync.json"
check "ls --json with synchronization objects parses" json_valid "$top/sync.json"
check "... and has their states" json_check "$top/sync.json" \
    '{o["name"]: (o["type"], o["state"], o["sync"]) for o in d if o["name"] in
      ("Local\\sem", "Local\\evm", "Local\\mx", "Local\\fit")} == {
      "Local\\sem": ("semaphore", "count 2/max 5", dict(owner_tid=0, recursion=0,
          abandoned=False, manual_reset=False, signaled=False, count=2, maximum=5)),
      "Local\\evm": ("event", "not set, manual", dict(owner_tid=0, recursion=0,
          abandoned=False, manual_reset=True, signaled=False, count=0, maximum=0)),
      "Local\\mx": ("mutex", "free", dict(owner_tid=0, recursion=0,
          abandoned=False, manual_reset=False, signaled=False, count=0, maximum=0)),
      "Local\\fit": ("mapping", "memory", None)}'
hold_with create-mutex mxj --owned
"$SHMAP" info --json mxj >"$top/mxj.json"
check "info --json shows a mutex's owner" json_check "$top/mxj.json" \
    'd["type"] == "mutex" and d["size"] is None and d["sync"]["owner_tid"] == int(argv[0])
     and d["sync"]["recursion"] == 1 and d["sync"]["abandoned"] is False' "$holder_pid"

fails_with 6 "reset of a mapping" reset fit
fails_with 6 "reset of a semaphore" reset sem
fails_with 6 "signal of a mapping" signal fit
fails_with 6 "wait on a mapping" wait fit
fails_with 3 "wait on a missing name" wait nosuch
fails_with 3 "signal of a missing name" signal nosuch
fails_with 3 "reset of a missing name" reset nosuch
fails_with 2 "signal --count of an event" signal ev --count 2
fails_with 2 "signal --count 0" signal sem --count 0
fails_with 2 "wait with a bad timeout" wait ev --timeout 1.5
fails_with 2 "create-semaphore without --max" create-semaphore nosem
fails_with 2 "create-semaphore with the count above the maximum" create-semaphore nosem --max 2 --initial 3
check "no command left a name behind" not_listed 'Local\nosem'

# ---- Signals and --for -------------------------------------------------------

hold term 4K
term_pid=$holder_pid
check "a second holder is listed" [ "$(ls_field 'Local\term' 1)" = "$term_pid" ]
kill -TERM "$term_pid"
wait "$term_pid"
check "SIGTERM ends a holder cleanly" [ $? -eq 0 ]
check "... and its name goes with it" not_listed 'Local\term'
wait "$brief_pid"
check "create --for exits by itself" [ $? -eq 0 ]
check "... and its name goes with it" not_listed 'Local\brief'

# ---- Crashed holders, stale names, gc ----------------------------------------

hold victim 4K
victim_pid=$holder_pid
check "a held name is not stale" [ "$(ls_field 'Local\victim' 1)" = "$victim_pid" ]
{
    kill -9 "$victim_pid"
    wait "$victim_pid"
} 2>/dev/null # no "Killed" notice
check "kill -9 of its holder makes it STALE" \
    [ "$(ls_field 'Local\victim' 1)" = STALE -a "$(ls_field 'Local\victim' 2)" = 0 ]
run gc --dry-run
[[ $status -eq 0 && $out == $'stale Local\\victim\n1 stale name found (dry run: nothing removed)' ]]
verdict "gc --dry-run lists it"
check "... and keeps it" listed 'Local\victim'
run gc
[[ $status -eq 0 && $out == $'removed Local\\victim\n1 stale name removed' ]]
verdict "gc removes it, and says so"
check "... and ls no longer shows it" not_listed 'Local\victim'
check "... while held names stay" listed 'Local\t1'

# ---- rm while held -----------------------------------------------------------

run rm t1
check "rm of a held name" [ "$status" -eq 0 ]
check "... is gone from ls" not_listed 'Local\t1'
check "... while its holder still runs" kill -0 "$t1_pid"
run create t1 4K --for 0
[[ $out == "created Local\t1 (4.0K), holding it; pid "* ]]
verdict "... and the name is free again"

echo "$passed passed, $failed failed"
((failed == 0))

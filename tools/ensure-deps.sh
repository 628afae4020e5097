#!/usr/bin/env bash
# tools/ensure-deps.sh - makes sure what the tests need is installed: cmocka
# (found through pkg-config), pkg-config itself and python3.  As root with
# apt-get it installs what is missing; otherwise it names what is missing and
# exits 1.  Quiet and fast when everything is already there.
set -euo pipefail

missing=()

have_cmocka() {
    if command -v pkg-config >/dev/null 2>&1; then
        pkg-config --exists cmocka
    else
        # No pkg-config to ask: look for cmocka's .pc file where Debian puts it.
        compgen -G "/usr/lib/*/pkgconfig/cmocka.pc" >/dev/null ||
            compgen -G "/usr/lib/pkgconfig/cmocka.pc" >/dev/null ||
            compgen -G "/usr/local/lib/pkgconfig/cmocka.pc" >/dev/null
    fi
}

find_missing() {
    missing=()
    have_cmocka || missing+=(libcmocka-dev)
    command -v pkg-config >/dev/null 2>&1 || missing+=(pkg-config)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
}

# "a", "a and b", "a, b and c"
join_and() {
    local out=$1
    shift
    while (($# > 1)); do
        out+=", $1"
        shift
    done
    if (($# == 1)); then
        out+=" and $1"
    fi
    printf '%s' "$out"
}

find_missing
if ((${#missing[@]} == 0)); then
    exit 0
fi

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "shmap: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-qq -o Dpkg::Lock::Timeout=300 -o Dpkg::Use-Pty=0)
    apt-get "${apt_opts[@]}" update >/dev/null
    apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}" >/dev/null
    hash -r
    find_missing
    if ((${#missing[@]} == 0)); then
        exit 0
    fi
    echo "shmap: still missing after apt-get install: ${missing[*]}" >&2
    exit 1
fi

echo "shmap: missing $(join_and "${missing[@]}"): run 'sudo apt-get install ${missing[*]}'" >&2
exit 1

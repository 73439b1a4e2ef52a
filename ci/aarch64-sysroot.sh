#!/usr/bin/env bash
# Build an arm64 "sysroot" with Debian's libnftnl/libmnl so that the firewall crate
# (nftnl-sys / mnl-sys) can be cross-linked for aarch64-unknown-linux-gnu.
#
# Usage, either of:
#   source ci/aarch64-sysroot.sh            # exports LIBNFTNL_LIB_DIR and LIBMNL_LIB_DIR
#                                           # (plus MAMORI_AARCH64_SYSROOT, QEMU_SET_ENV)
#   eval "$(bash ci/aarch64-sysroot.sh)"    # same, via printed `export` lines
#
# The sysroot lives in target/aarch64-sysroot (override: MAMORI_AARCH64_SYSROOT). If it is
# already complete, nothing is downloaded. Progress goes to stderr; stdout carries only
# the export lines.
#
# How: the .debs are fetched with `apt-get download` from the machine's own Debian sources,
# but through a private, throw-away apt state (lists, cache, dpkg status) whose only
# architecture is arm64. This needs no `dpkg --add-architecture arm64`, changes nothing in
# the host's apt/dpkg state and does not slow down later `apt-get update`s. The packages are
# unpacked with `dpkg-deb -x`. Needs root only if the host apt sources require it (they
# normally do not), and network access to the Debian mirror.

_mamori_aarch64_sysroot() (
    set -euo pipefail

    local root sysroot libdir stamp wanted work pkg
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    sysroot=${MAMORI_AARCH64_SYSROOT:-$root/target/aarch64-sysroot}
    libdir=$sysroot/usr/lib/aarch64-linux-gnu
    stamp=$sysroot/.complete
    wanted="libnftnl-dev libnftnl11 libmnl-dev libmnl0"

    log() { printf '[aarch64-sysroot] %s\n' "$*" >&2; }

    if [[ -f $stamp && $(cat "$stamp") == "$wanted" && -e $libdir/libnftnl.so && -e $libdir/libmnl.so ]]; then
        log "up to date: $sysroot"
    else
        for tool in apt-get dpkg-deb; do
            command -v "$tool" >/dev/null || { log "ERROR: $tool not found (Debian host needed)"; exit 1; }
        done
        work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-sysroot.XXXXXX")
        # shellcheck disable=SC2064  # expand $work now
        trap "rm -rf '$work'" EXIT
        mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
        : >"$work/status"
        local -a apt=(
            apt-get -q
            -o "Dir::State::Lists=$work/lists"
            -o "Dir::Cache=$work/cache"
            -o "Dir::State::status=$work/status"
            -o "APT::Architecture=arm64"
            -o "APT::Architectures::=arm64"
            -o "APT::Sandbox::User=root"
            -o "Acquire::Languages=none"
            -o "Acquire::IndexTargets::deb::DEP-11::DefaultEnabled=false"
            -o "Acquire::IndexTargets::deb::DEP-11-icons::DefaultEnabled=false"
            -o "Acquire::Retries=3"
        )
        log "fetching arm64 package lists (private apt state in $work)"
        "${apt[@]}" update >&2
        log "downloading: $wanted (arm64)"
        local -a debs=()
        for pkg in $wanted; do debs+=("$pkg:arm64"); done
        (cd "$work/debs" && "${apt[@]}" download "${debs[@]}" >&2)
        rm -rf "$sysroot"
        mkdir -p "$sysroot"
        for pkg in "$work"/debs/*.deb; do
            log "unpacking $(basename "$pkg")"
            dpkg-deb -x "$pkg" "$sysroot"
        done
        [[ -e $libdir/libnftnl.so && -e $libdir/libmnl.so ]] \
            || { log "ERROR: libnftnl.so/libmnl.so missing in $libdir after unpacking"; exit 1; }
        printf '%s\n' "$wanted" >"$stamp"
        log "ready: $sysroot"
    fi

    printf 'export LIBNFTNL_LIB_DIR=%q\n' "$libdir"
    printf 'export LIBMNL_LIB_DIR=%q\n' "$libdir"
    printf 'export MAMORI_AARCH64_SYSROOT=%q\n' "$sysroot"
    # So that aarch64 binaries linked against these .so files also start under qemu-user
    # (the cargo runner gives qemu `-L /usr/aarch64-linux-gnu`, which lacks libnftnl).
    printf 'export QEMU_SET_ENV=%q\n' "LD_LIBRARY_PATH=$libdir"
)

if [[ ${BASH_SOURCE[0]} != "$0" ]]; then
    # Sourced: export into the caller's shell without touching its options.
    if _mamori_sysroot_env=$(_mamori_aarch64_sysroot); then
        eval "$_mamori_sysroot_env"
        unset _mamori_sysroot_env
    else
        unset _mamori_sysroot_env
        return 1
    fi
else
    _mamori_aarch64_sysroot "$@"
fi

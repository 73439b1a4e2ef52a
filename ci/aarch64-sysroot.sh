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
# How: ci/arm64-debs.sh fetches the .debs through a private apt state whose only
# architecture is arm64 (nothing in the host's apt/dpkg state changes) and unpacks them.
# Needs root only if the host apt sources require it (they normally do not), and network
# access to the Debian mirror.

_mamori_aarch64_sysroot() (
    set -euo pipefail

    local root sysroot libdir stamp wanted
    root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    sysroot=${MAMORI_AARCH64_SYSROOT:-$root/target/aarch64-sysroot}
    libdir=$sysroot/usr/lib/aarch64-linux-gnu
    stamp=$sysroot/.complete
    wanted="libnftnl-dev libnftnl11 libmnl-dev libmnl0"

    log() { printf '[aarch64-sysroot] %s\n' "$*" >&2; }

    if [[ -f $stamp && $(cat "$stamp") == "$wanted" && -e $libdir/libnftnl.so && -e $libdir/libmnl.so ]]; then
        log "up to date: $sysroot"
    else
        rm -rf "$sysroot"
        # shellcheck disable=SC2086  # the package names are words
        bash "$root/ci/arm64-debs.sh" "$sysroot" $wanted
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

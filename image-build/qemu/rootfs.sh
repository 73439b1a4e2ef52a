#!/usr/bin/env bash
# The Debian arm64 base of the qemu image: a root file system made with mmdebstrap (systemd,
# udev, D-Bus and polkit for the update daemon's reboot, dnsmasq for the LAN, Debian's cloud
# kernel with a small initramfs), as a tar file in a cache outside the clone, named by the
# hash of its inputs (this script and the package list), so that a second build takes
# seconds. Prints the tar file's path on stdout; progress goes to stderr.
#
#   bash image-build/qemu/rootfs.sh            # MAMORI_CACHE (default /var/cache/mamori) holds it
#
# Needs root (mmdebstrap's root mode makes device nodes and owners), mmdebstrap, and
# qemu-user-static registered with binfmt_misc (done here when missing), because the
# packages' maintainer scripts run arm64 code.
set -euo pipefail

CACHE=${MAMORI_CACHE:-/var/cache/mamori}/qemu-rootfs
SUITE=bookworm

log() { printf '[rootfs] %s\n' "$*" >&2; }

# What goes in: the box's own needs, nothing for a person to log in with (no shell
# account has a password; the console shows only the boot report).
PACKAGES=(
    systemd systemd-sysv udev dbus polkitd
    systemd-timesyncd systemd-resolved
    libnftnl11 libmnl0
    dnsmasq-base iproute2 kmod
    e2fsprogs
    ca-certificates
    linux-image-cloud-arm64 initramfs-tools zstd
)
# The initramfs needs only what finds and mounts a root slot (virtio disk, GPT label,
# squashfs); a list instead of Debian's "most" keeps it small and the boot fast.
INITRD_MODULES=(virtio_pci virtio_blk squashfs)

# The data partition is mounted at /var in the initramfs (initramfs/mamori-data, with its
# hook), before systemd starts: the machine-id lives there.
INITRD_FILES=("$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"/initramfs/mamori-data{,-hook})

key=$(
    {
        cat "${BASH_SOURCE[0]}" "${INITRD_FILES[@]}"
        printf '%s\n' "$SUITE" "${PACKAGES[@]}" "${INITRD_MODULES[@]}"
    } | sha256sum | cut -c1-16
)
out=$CACHE/rootfs-$SUITE-arm64-$key.tar
if [[ -s $out ]]; then
    log "cached: $out"
    printf '%s\n' "$out"
    exit 0
fi

[[ $(id -u) == 0 ]] || { log "ERROR: run as root (mmdebstrap's root mode)"; exit 1; }
command -v mmdebstrap >/dev/null || { log "ERROR: mmdebstrap missing (bash ci/install-deps.sh)"; exit 1; }

# arm64 maintainer scripts under qemu-user: binfmt_misc mounted and qemu-aarch64 known.
if [[ ! -e /proc/sys/fs/binfmt_misc/register ]]; then
    mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
fi
if [[ ! -e /proc/sys/fs/binfmt_misc/qemu-aarch64 ]]; then
    conf=/usr/lib/binfmt.d/qemu-aarch64.conf
    [[ -f $conf ]] || { log "ERROR: $conf missing (qemu-user-static)"; exit 1; }
    grep -v '^#' "$conf" | head -n1 >/proc/sys/fs/binfmt_misc/register
    log "registered qemu-aarch64 with binfmt_misc"
fi

mkdir -p "$CACHE"
tmp=$(mktemp "$CACHE/.rootfs.XXXXXX.tar")
trap 'rm -f "$tmp"' EXIT
modules=$(printf '%s\\n' "${INITRD_MODULES[@]}")
log "mmdebstrap $SUITE arm64 (a few minutes; cached as $out)"
t0=$SECONDS
include=$(IFS=,; printf '%s' "${PACKAGES[*]}")
# The hooks run in mmdebstrap's shell, where $1 is the new root.
# shellcheck disable=SC2016
mmdebstrap --arch=arm64 --variant=minbase --mode=root --format=tar \
    --include="$include" \
    --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --dpkgopt='path-exclude=/usr/share/doc/*' \
    --dpkgopt='path-include=/usr/share/doc/*/copyright' \
    --dpkgopt='path-exclude=/usr/share/info/*' \
    --essential-hook='mkdir -p "$1/etc/initramfs-tools/conf.d" && printf "MODULES=list\nCOMPRESS=zstd\n" >"$1/etc/initramfs-tools/conf.d/mamori.conf"' \
    --customize-hook="printf '$modules' >\"\$1/etc/initramfs-tools/modules\"" \
    --customize-hook="copy-in ${INITRD_FILES[0]} /etc/initramfs-tools/scripts/local-bottom" \
    --customize-hook="copy-in ${INITRD_FILES[1]} /etc/initramfs-tools/hooks" \
    --customize-hook='chroot "$1" update-initramfs -u -k all' \
    --customize-hook='rm -rf "$1"/var/cache/apt/* "$1"/var/lib/apt/lists/* "$1"/var/log/*.log' \
    "$SUITE" "$tmp" >&2
mv "$tmp" "$out"
trap - EXIT
log "made $out ($(du -h "$out" | cut -f1)) in $((SECONDS - t0)) s"
printf '%s\n' "$out"

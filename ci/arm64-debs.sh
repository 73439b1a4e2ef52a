#!/usr/bin/env bash
# Unpacks Debian arm64 packages into a directory, without touching the host's apt or dpkg
# state: `apt-get download` through a private, throw-away apt state (lists, cache, dpkg
# status) whose only architecture is arm64, from the machine's own Debian sources, then
# `dpkg-deb -x`. No `dpkg --add-architecture`, nothing installed. Progress on stderr.
#
#   bash ci/arm64-debs.sh DEST PACKAGE...
#
# Used for the cross-linking sysroot (ci/aarch64-sysroot.sh) and for GRUB's arm64 EFI
# modules in the qemu image (image-build/qemu/assemble.sh).
set -euo pipefail

(($# >= 2)) || { echo "usage: $0 DEST PACKAGE..." >&2; exit 2; }
dest=$1
shift
for tool in apt-get dpkg-deb; do
    command -v "$tool" >/dev/null || { echo "[arm64-debs] ERROR: $tool not found (Debian host needed)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-arm64-debs.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/lists/partial" "$work/cache/archives/partial" "$work/debs"
: >"$work/status"
apt=(
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
echo "[arm64-debs] fetching arm64 package lists (private apt state in $work)" >&2
"${apt[@]}" update >&2
echo "[arm64-debs] downloading: $* (arm64)" >&2
debs=()
for pkg in "$@"; do debs+=("$pkg:arm64"); done
(cd "$work/debs" && "${apt[@]}" download "${debs[@]}" >&2)
mkdir -p "$dest"
for deb in "$work"/debs/*.deb; do
    echo "[arm64-debs] unpacking $(basename "$deb")" >&2
    dpkg-deb -x "$deb" "$dest"
done

#!/usr/bin/env bash
# THE image command (README): builds the qemu image of the board qemu-aarch64-virt.
#
#   bash image-build/qemu/build.sh [OUT]        # OUT defaults to target/image/qemu-aarch64-virt
#
# 1. ci/install-deps.sh (idempotent: the cross toolchain, mmdebstrap, qemu, image tools)
# 2. the aarch64 sysroot (libnftnl, libmnl) and `cargo build --release` of `mamori` for
#    aarch64-unknown-linux-gnu (the same release build CI's cross tests use)
# 3. the Debian arm64 base (rootfs.sh; cached outside the clone by the hash of its inputs)
# 4. the image (assemble.sh): OUT/disk.img, OUT/slot.sqfs, OUT/release.json, and
#    OUT/repo, the development update repository whose root the image trusts (kept
#    between builds, so bundles signed with its keys keep installing)
# Then boot it: bash image-build/qemu/run.sh OUT/disk.img
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cd "$ROOT"
OUT=${1:-$ROOT/target/image/qemu-aarch64-virt}
AARCH64=aarch64-unknown-linux-gnu
t0=$SECONDS

if [[ -z ${MAMORI_DEPS_DONE:-} ]]; then
    bash ci/install-deps.sh
fi
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
# shellcheck disable=SC1091
. ci/aarch64-sysroot.sh
cargo build --release --locked --target "$AARCH64" -p mamori
mkdir -p "$OUT"
# The image's binary without its symbol table (backtraces keep their addresses).
aarch64-linux-gnu-strip -o "$OUT/mamori" "target/$AARCH64/release/mamori"
version=$(awk -F'"' '/^version *=/ { print $2; exit }' Cargo.toml)
bash image-build/qemu/assemble.sh --binary "$OUT/mamori" --out "$OUT" \
    --version "$version" --repo "$OUT/repo"
rm -f "$OUT/disk.img.vars"
printf '\nqemu image of Mamori %s in %d s:\n  %s\n  %s (%s)\n  %s (the update repository)\n' \
    "$version" "$((SECONDS - t0))" "$OUT/disk.img" "$OUT/slot.sqfs" \
    "$(du -h "$OUT/slot.sqfs" | cut -f1)" "$OUT/repo"
printf 'Boot it: bash image-build/qemu/run.sh %s\n' "$OUT/disk.img"

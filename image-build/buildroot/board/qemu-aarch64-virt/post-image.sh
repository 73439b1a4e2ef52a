#!/bin/sh
# qemu-aarch64-virt post-image: boot.scr, the U-Boot environment, disk.img;
# then start-qemu.sh, which boots disk.img through U-Boot with two NICs.
set -eu

BOARD_DIR="$(cd "$(dirname "${0}")" && pwd)"
"${BOARD_DIR}/../common/post-image.sh" "${1}" "${BOARD_DIR}"
install -m 0755 "${BOARD_DIR}/start-qemu.sh" "${1}/start-qemu.sh"

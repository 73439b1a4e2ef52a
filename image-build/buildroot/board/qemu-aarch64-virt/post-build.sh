#!/bin/sh
# qemu-aarch64-virt post-build: the common fix-ups, then the boot environment
# the board defaults name. board-configs/qemu-aarch64-virt/defaults.toml is
# written for the Debian-based qemu image (GRUB EFI, grubenv on the EFI
# system partition); this image boots through U-Boot, whose environment
# /etc/fw_env.config describes.
set -eu

BOARD_DIR="$(cd "$(dirname "${0}")" && pwd)"
"${BOARD_DIR}/../common/post-build.sh" "${1}" "${BOARD_DIR}"

# The boot partition is mounted at /boot/efi here, as in the qemu image.
mkdir -p "${1}/boot/efi"

defaults="${1}/usr/share/mamori/board.toml"
if [ -f "${defaults}" ] && grep -q '^boot_env = "grub:' "${defaults}"; then
	sed -i 's|^boot_env = "grub:.*"|boot_env = "uboot:/etc/fw_env.config"|' "${defaults}"
	echo "post-build: ${defaults}: boot_env = uboot:/etc/fw_env.config (U-Boot image)"
fi

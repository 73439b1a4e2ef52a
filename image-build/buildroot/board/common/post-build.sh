#!/bin/sh
# Common post-build step of the Mamori boards, called by each board's
# post-build.sh with the board's directory:
#   post-build.sh TARGET_DIR BOARD_DIR
set -eu

TARGET="${1}"
BOARD_DIR="${2}"

# Buildroot removes /usr/share/doc when it finalizes the target; the mamori
# package keeps its documentation under /usr/share/mamori/doc, where the
# units' Documentation= (file:///usr/share/doc/mamori/...) finds it through
# this link.
if [ -d "${TARGET}/usr/share/mamori/doc" ]; then
	mkdir -p "${TARGET}/usr/share/doc"
	ln -sfn ../mamori/doc "${TARGET}/usr/share/doc/mamori"
fi

# /boot is the boot (FAT) partition's mount point; the slot's own kernel
# (/boot/Image, read by U-Boot from the slot) stays under it.
mkdir -p "${TARGET}/boot"

# The board's fstab must have replaced the skeleton's.
grep -q '[[:space:]]/var[[:space:]]' "${TARGET}/etc/fstab" || {
	echo "post-build: ${TARGET}/etc/fstab does not mount the data partition at /var" >&2
	exit 1
}
test -f "${TARGET}/etc/fw_env.config" || {
	echo "post-build: /etc/fw_env.config missing" >&2
	exit 1
}
echo "post-build: common Mamori target fix-ups done for $(basename "${BOARD_DIR}")"

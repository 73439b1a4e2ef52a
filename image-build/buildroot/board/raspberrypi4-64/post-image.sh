#!/bin/sh
# raspberrypi4-64 post-image: boot.scr, the U-Boot environment, and
# sdcard.img with the firmware, U-Boot and the two slots.
set -eu

BOARD_DIR="$(cd "$(dirname "${0}")" && pwd)"
"${BOARD_DIR}/../common/post-image.sh" "${1}" "${BOARD_DIR}"

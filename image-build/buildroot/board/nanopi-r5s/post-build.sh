#!/bin/sh
# nanopi-r5s post-build: the common fix-ups.
set -eu

BOARD_DIR="$(cd "$(dirname "${0}")" && pwd)"
"${BOARD_DIR}/../common/post-build.sh" "${1}" "${BOARD_DIR}"

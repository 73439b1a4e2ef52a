#!/usr/bin/env bash
# Common post-image step of the Mamori boards, called by each board's
# post-image.sh:
#   post-image.sh BINARIES_DIR BOARD_DIR
# 1. boot.scr: the board's part (BOARD_DIR/board.cmd) and the common A/B
#    boot script (boot.cmd), compiled with mkimage;
# 2. uboot.env and uboot-redund.env: U-Boot's default environment (as
#    built, /etc/u-boot-initial-env) with BOOT_ORDER="A B" and three
#    attempts per slot, both copies valid, for the boot partition;
# 3. the disk image: genimage with BOARD_DIR/genimage.cfg (boot FAT,
#    root A, root B, data).
set -euo pipefail

IMAGES="${1}"
BOARD_DIR="${2}"
COMMON_DIR="$(cd "$(dirname "${0}")" && pwd)"
ENV_SIZE=0x4000

log() { printf 'post-image: %s\n' "$*"; }
die() { printf 'post-image: ERROR: %s\n' "$*" >&2; exit 1; }

for tool in mkimage mkenvimage genimage; do
	test -x "${HOST_DIR}/bin/${tool}" || die "${HOST_DIR}/bin/${tool} missing (host-uboot-tools, host-genimage)"
done

cat "${BOARD_DIR}/board.cmd" "${COMMON_DIR}/boot.cmd" > "${IMAGES}/boot.cmd"
"${HOST_DIR}/bin/mkimage" -A arm64 -O linux -T script -C none \
	-n "Mamori A/B boot" -d "${IMAGES}/boot.cmd" "${IMAGES}/boot.scr"
log "boot.scr made"

initial="${TARGET_DIR}/etc/u-boot-initial-env"
test -s "${initial}" || die "${initial} missing (BR2_TARGET_UBOOT_INITIAL_ENV)"
{
	grep -v -E '^(BOOT_ORDER|BOOT_A_LEFT|BOOT_B_LEFT)=' "${initial}"
	printf 'BOOT_ORDER=A B\nBOOT_A_LEFT=3\nBOOT_B_LEFT=3\n'
} > "${IMAGES}/uboot-env.txt"
"${HOST_DIR}/bin/mkenvimage" -r -s "${ENV_SIZE}" \
	-o "${IMAGES}/uboot.env" "${IMAGES}/uboot-env.txt"
cp "${IMAGES}/uboot.env" "${IMAGES}/uboot-redund.env"
log "uboot.env and uboot-redund.env made"

# The Raspberry Pi's boot partition also holds its firmware and device
# trees: genimage.cfg.in lists them where it says #RPI_BOOT_FILES#.
GENIMAGE_CFG="${IMAGES}/genimage.cfg"
if [ -f "${BOARD_DIR}/genimage.cfg.in" ]; then
	files=()
	for f in "${IMAGES}"/*.dtb "${IMAGES}"/rpi-firmware/*; do
		[ -e "${f}" ] && files+=( "${f#"${IMAGES}"/}" )
	done
	boot_files=$(printf '\\t\\t\\t"%s",\\n' "${files[@]}")
	sed "s|#RPI_BOOT_FILES#|${boot_files}|" "${BOARD_DIR}/genimage.cfg.in" > "${GENIMAGE_CFG}"
else
	cp "${BOARD_DIR}/genimage.cfg" "${GENIMAGE_CFG}"
fi

# An empty root path: genimage only packs images made before, and makes
# the data partition's file system empty.
ROOTPATH_TMP="$(mktemp -d)"
trap 'rm -rf "${ROOTPATH_TMP}"' EXIT
rm -rf "${BUILD_DIR}/genimage.tmp"
"${HOST_DIR}/bin/genimage" \
	--rootpath "${ROOTPATH_TMP}" \
	--tmppath "${BUILD_DIR}/genimage.tmp" \
	--inputpath "${IMAGES}" \
	--outputpath "${IMAGES}" \
	--config "${GENIMAGE_CFG}"
log "$(basename "${BOARD_DIR}"): disk image in ${IMAGES}"

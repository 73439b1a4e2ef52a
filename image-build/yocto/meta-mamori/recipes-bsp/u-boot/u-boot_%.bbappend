# Mamori boards with U-Boot (MAMORI_BOOTLOADER = "u-boot"): the environment lives in
# uboot.env on the boot (FAT) partition, where the boot script saves the slot counts and
# the update daemon and fw_setenv (libubootenv, /etc/fw_env.config) write them. The
# fragment is generated from the board's MAMORI_UBOOT_ENV_* (conf/mamori-board.inc).
require conf/mamori-board.inc

FILESEXTRAPATHS:prepend := "${THISDIR}/files:"
SRC_URI:append = "${@' file://mamori-env-fat.cfg' if d.getVar('MAMORI_BOOTLOADER') == 'u-boot' else ''}"

do_configure:prepend() {
    if [ -e ${UNPACKDIR}/mamori-env-fat.cfg ]; then
        sed -i -e 's#@@IFACE@@#${MAMORI_UBOOT_ENV_IFACE}#' \
               -e 's#@@DEVPART@@#${MAMORI_UBOOT_ENV_DEVPART}#' \
               -e 's#@@SIZE@@#${MAMORI_UBOOT_ENV_SIZE}#' \
               ${UNPACKDIR}/mamori-env-fat.cfg
    fi
}

SUMMARY = "Mamori A/B boot: the U-Boot boot script or GRUB configuration that picks the root slot"
DESCRIPTION = "Implements the boot rule of the Mamori update daemon (RAUC's BOOT_ORDER, BOOT_A_LEFT, \
BOOT_B_LEFT): U-Boot's boot.scr plus /etc/fw_env.config (uboot.env on the boot partition), or \
GRUB EFI's grub.cfg plus an empty environment block EFI/mamori/grubenv. The files for the boot \
partition are deployed for the image's IMAGE_BOOT_FILES."
LICENSE = "Apache-2.0 | MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10 \
                    file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

require conf/mamori-board.inc

SRC_URI = "file://boot.cmd.in file://grub.cfg.in"
S = "${UNPACKDIR}"

inherit deploy

PACKAGE_ARCH = "${MACHINE_ARCH}"
# U-Boot's boot.scr is made with mkimage; meta-raspberrypi boards pick a boot script by
# this name (PREFERRED_PROVIDER_u-boot-default-script = "mamori-boot").
DEPENDS = "${@'u-boot-tools-native' if d.getVar('MAMORI_BOOTLOADER') == 'u-boot' else ''}"
PROVIDES += "${@'u-boot-default-script' if d.getVar('MAMORI_BOOTLOADER') == 'u-boot' else ''}"

python () {
    if d.getVar('MAMORI_BOOTLOADER') not in ('u-boot', 'grub-efi'):
        raise bb.parse.SkipRecipe("MAMORI_BOOTLOADER must be u-boot or grub-efi, not %r" % d.getVar('MAMORI_BOOTLOADER'))
}

MAMORI_GRUB_CONSOLE ??= "console=ttyAMA0,115200"

do_compile() {
    sed -e 's#@@MAMORI_CONSOLE@@#${MAMORI_CONSOLE}#g' \
        -e 's#@@MAMORI_GRUB_CONSOLE@@#${MAMORI_GRUB_CONSOLE}#g' \
        -e 's#@@MAMORI_FDTFILE@@#${MAMORI_FDTFILE}#g' \
        -e 's#@@MAMORI_UBOOT_ENV_IFACE@@#${MAMORI_UBOOT_ENV_IFACE}#g' \
        -e 's#@@KERNEL_IMAGETYPE@@#${KERNEL_IMAGETYPE}#g' \
        ${S}/boot.cmd.in > ${B}/boot.cmd
    sed -e 's#@@MAMORI_CONSOLE@@#${MAMORI_CONSOLE}#g' \
        -e 's#@@MAMORI_GRUB_CONSOLE@@#${MAMORI_GRUB_CONSOLE}#g' \
        -e 's#@@KERNEL_IMAGETYPE@@#${KERNEL_IMAGETYPE}#g' \
        ${S}/grub.cfg.in > ${B}/grub.cfg

    if [ "${MAMORI_BOOTLOADER}" = "u-boot" ]; then
        mkimage -A arm64 -T script -C none -n "Mamori A/B boot" -d ${B}/boot.cmd ${B}/boot.scr
        # libubootenv (fw_printenv, fw_setenv) and the update daemon: the environment is
        # uboot.env on the boot partition, one copy of MAMORI_UBOOT_ENV_SIZE bytes.
        printf '# Mamori: U-Boot keeps its environment in uboot.env on the boot partition (ENV_IS_IN_FAT).\n%s\t0x0000\t%s\n' \
            "${MAMORI_BOOT_MOUNT}/uboot.env" "${MAMORI_UBOOT_ENV_SIZE}" > ${B}/fw_env.config
    else
        # An empty GRUB environment block: 1024 bytes, the header, then '#' padding.
        { printf '# GRUB Environment Block\n'; head -c 999 /dev/zero | tr '\0' '#'; } > ${B}/grubenv
    fi
}

do_install() {
    if [ "${MAMORI_BOOTLOADER}" = "u-boot" ]; then
        install -D -m 0644 ${B}/fw_env.config ${D}${sysconfdir}/fw_env.config
    fi
    # The boot partition's mount point (wic adds it to fstab).
    install -d ${D}${MAMORI_BOOT_MOUNT}
}
FILES:${PN} = "${sysconfdir}/fw_env.config ${MAMORI_BOOT_MOUNT}"
ALLOW_EMPTY:${PN} = "1"
CONFFILES:${PN} = "${sysconfdir}/fw_env.config"

do_deploy() {
    install -d ${DEPLOYDIR}/mamori
    if [ "${MAMORI_BOOTLOADER}" = "u-boot" ]; then
        install -m 0644 ${B}/boot.scr ${DEPLOYDIR}/mamori/boot.scr
    else
        install -m 0644 ${B}/grub.cfg ${DEPLOYDIR}/mamori/grub.cfg
        install -m 0644 ${B}/grubenv ${DEPLOYDIR}/mamori/grubenv
    fi
}
addtask deploy after do_compile before do_build

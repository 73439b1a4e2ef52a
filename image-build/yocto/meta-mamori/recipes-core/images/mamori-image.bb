SUMMARY = "Mamori security gateway: a small read-only systemd image with A/B root slots"
DESCRIPTION = "The Mamori daemons (SMTP relay with DLP, nftables firewall manager, HTTPS admin panel, \
download links, A/B updates) on a read-only root, systemd-networkd naming the LAN and WAN ports, \
dnsmasq on the LAN, the boot loader's A/B arrangement, written as a wic disk image with two root \
slots and a data partition at /var."
LICENSE = "MIT"

require conf/mamori-board.inc

inherit core-image

IMAGE_FEATURES += "read-only-rootfs"
IMAGE_LINGUAS = ""

# systemd is the init (DISTRO_FEATURES must hold systemd, see README.md).
IMAGE_INSTALL = " \
    packagegroup-core-boot \
    kernel-image \
    ${@'kernel-devicetree' if d.getVar('KERNEL_DEVICETREE') else ''} \
    mamori \
    mamori-boot \
    mamori-network \
    dnsmasq \
    nftables \
    ca-certificates \
    tzdata \
    e2fsprogs-e2fsck \
    dosfstools \
    ${MAMORI_BOOTENV_TOOLS} \
    ${@bb.utils.contains('BBFILE_COLLECTIONS', 'openembedded-layer', 'polkit', '', d)} \
    ${CORE_IMAGE_EXTRA_INSTALL} \
"
# fw_printenv/fw_setenv (libubootenv) or grub-editenv, to look at the boot environment.
MAMORI_BOOTENV_TOOLS = "${@'grub-editenv' if d.getVar('MAMORI_BOOTLOADER') == 'grub-efi' else 'libubootenv-bin'}"

# The root file system is read-only and shared by both slots: its contents stay small.
IMAGE_ROOTFS_SIZE ?= "262144"
IMAGE_ROOTFS_EXTRA_SPACE = "0"
IMAGE_OVERHEAD_FACTOR = "1.0"

# The disk image: files/wic/mamori-ab.wks.in (boot, root A, root B, data).
IMAGE_FSTYPES = "wic wic.bmap wic.zst"
WKS_FILE = "mamori-ab.wks.in"
MAMORI_ROOT_SIZE ??= "512"
MAMORI_DATA_SIZE ??= "512"
# The boot partition belongs to the update daemon (mamori-updated, 804), which writes the
# boot environment (uboot.env or grubenv), and root, whose mamori-boot-notice writes the
# setup-code file; nobody else may read or write it (the panel never touches it).
MAMORI_BOOT_FSOPTIONS ??= "defaults,noatime,uid=804,gid=804,fmask=0177,dmask=0077,flush"
WICVARS:append = " MAMORI_BOOT_MOUNT MAMORI_ROOT_SIZE MAMORI_DATA_SIZE MAMORI_BOOT_FSOPTIONS"

# What goes on the boot partition (from DEPLOY_DIR_IMAGE, "source;destination").
MAMORI_BOOT_FILES_u-boot = "mamori/boot.scr;boot.scr"
MAMORI_BOOT_FILES_grub-efi = "grub-efi-bootaa64.efi;EFI/BOOT/bootaa64.efi mamori/grub.cfg;EFI/BOOT/grub.cfg mamori/grubenv;EFI/mamori/grubenv"
IMAGE_BOOT_FILES:append = " ${@d.getVar('MAMORI_BOOT_FILES_' + d.getVar('MAMORI_BOOTLOADER'))}"
do_image_wic[depends] += "mamori-boot:do_deploy ${@'grub-efi:do_deploy' if d.getVar('MAMORI_BOOTLOADER') == 'grub-efi' else 'virtual/bootloader:do_deploy'}"

# /var is the data partition (wic fills it from the image's /var and mounts it there): the
# daemons' state, the mail queue and the journal persist across restarts and updates.

python () {
    if not bb.utils.contains('DISTRO_FEATURES', 'systemd', True, False, d):
        raise bb.parse.SkipRecipe("mamori-image needs systemd in DISTRO_FEATURES (and INIT_MANAGER = \"systemd\")")
    if not d.getVar('MAMORI_BOARD'):
        raise bb.parse.SkipRecipe("MAMORI_BOARD is not set for MACHINE %s" % d.getVar('MACHINE'))
}

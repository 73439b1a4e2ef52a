SUMMARY = "Mamori security gateway: SMTP relay with DLP, nftables firewall manager, admin panel, A/B updates"
DESCRIPTION = "The one multi-call binary of the Mamori firmware (mamori smtpd|firewalld|admind|linkd|updated|...), \
its systemd units (one per daemon, each with its own system user), the daemons' users and groups, \
and the board defaults of MAMORI_BOARD."
HOMEPAGE = "https://github.com/mamori-firmware/mamori"
SECTION = "net"

# [workspace.package] license in the workspace's Cargo.toml ("Apache-2.0 OR MIT"). The
# repository has no LICENSE file at its root, so the checksum is over that line;
# ci/check-yocto.sh fails if the line moves or changes.
LICENSE = "Apache-2.0 | MIT"
LIC_FILES_CHKSUM = "file://Cargo.toml;beginline=25;endline=25;md5=b62ec12929096a5479d83e0aae7a4fe2"

SRC_URI = "git://github.com/mamori-firmware/mamori.git;protocol=https;branch=main"
# A release sets this to its tag's commit and regenerates mamori-crates.inc from that
# commit's Cargo.lock (image-build/yocto/update-crates.py, or bitbake -c update_crates
# mamori). To build a local checkout instead, see README.md (externalsrc).
SRCREV = "113bda8458db532f3817fbbc0218cd199b313a8d"
# The workspace version ([workspace.package] version); "+git" gets the commit appended.
PV = "0.1.0+git"

require conf/mamori-board.inc
# The crates of the workspace's Cargo.lock, fetched by bitbake (crate://), unpacked into
# cargo's vendor directory: do_compile needs no network.
require mamori-crates.inc

# Which Rust builds it. wrynose's own Rust is 1.94.1 and the workspace needs 1.95
# (rust-version), so on wrynose set MAMORI_RUST = "rust-bin" (meta-rust-bin, see
# README.md); "oe-core" is the cargo class of an oe-core whose Rust is new enough.
MAMORI_RUST ??= "oe-core"
require mamori-rust-${MAMORI_RUST}.inc

inherit cargo-update-recipe-crates systemd useradd

# `bitbake -c update_crates mamori` reads every Cargo.lock under CARGO_LOCK_SRC_DIR; fuzz/
# has its own, which is not part of the firmware. Point the task at the workspace's only.
CARGO_LOCK_SRC_DIR = "${WORKDIR}/mamori-cargo-lock"
do_update_crates[prefuncs] += "mamori_workspace_lock_only"
mamori_workspace_lock_only() {
    rm -rf ${CARGO_LOCK_SRC_DIR}
    install -d ${CARGO_LOCK_SRC_DIR}
    install -m 0644 ${S}/Cargo.lock ${CARGO_LOCK_SRC_DIR}/Cargo.lock
}

# The firewall crate (nftnl, mnl) links libnftnl and libmnl; their -sys crates look for
# them here before pkg-config. libnftnl is in meta-networking.
DEPENDS += "libnftnl libmnl"
export LIBNFTNL_LIB_DIR = "${STAGING_LIBDIR}"
export LIBMNL_LIB_DIR = "${STAGING_LIBDIR}"

# The board defaults make the package machine-specific.
PACKAGE_ARCH = "${MACHINE_ARCH}"

python () {
    if not d.getVar('MAMORI_BOARD'):
        raise bb.parse.SkipRecipe("MAMORI_BOARD is not set for MACHINE %s: set it in local.conf "
                                  "(qemu-aarch64-virt, raspberrypi4-64, nanopi-r5s)" % d.getVar('MACHINE'))
}

MAMORI_UNITDIR = "${S}/firmware/mamori/systemd"

do_install() {
    install -D -m 0755 ${MAMORI_CARGO_OUTDIR}/mamori ${D}${bindir}/mamori

    # Every unit of firmware/mamori/systemd/.
    install -d ${D}${systemd_system_unitdir}
    for unit in ${MAMORI_UNITDIR}/*.service ${MAMORI_UNITDIR}/*.path \
                ${MAMORI_UNITDIR}/*.socket ${MAMORI_UNITDIR}/*.timer; do
        [ -e "$unit" ] || continue
        install -m 0644 "$unit" ${D}${systemd_system_unitdir}/
    done
    # polkit: the update daemon's reboot (rules.d as polkit itself makes it: 0700).
    install -d -m 0700 ${D}${datadir}/polkit-1/rules.d
    install -m 0644 ${MAMORI_UNITDIR}/50-mamori-updated.rules ${D}${datadir}/polkit-1/rules.d/
    install -D -m 0644 ${MAMORI_UNITDIR}/mamori-update-uploads.conf \
        ${D}${nonarch_libdir}/tmpfiles.d/mamori-update-uploads.conf
    install -D -m 0644 ${MAMORI_UNITDIR}/mamori-modules.conf \
        ${D}${nonarch_libdir}/modules-load.d/mamori.conf
    install -D -m 0644 ${MAMORI_UNITDIR}/mamori.sysusers ${D}${nonarch_libdir}/sysusers.d/mamori.conf
    install -D -m 0644 ${MAMORI_UNITDIR}/mamori.preset \
        ${D}${systemd_unitdir}/system-preset/50-mamori.preset

    # The board's defaults: the settings layer under the box's own settings.
    install -D -m 0644 ${S}/board-configs/${MAMORI_BOARD}/defaults.toml ${D}${datadir}/mamori/board.toml
    # The board's settings for units outside the daemons (mamori-boot-notice), if any.
    if [ -e ${S}/board-configs/${MAMORI_BOARD}/board.env ]; then
        install -m 0644 ${S}/board-configs/${MAMORI_BOARD}/board.env ${D}${datadir}/mamori/board.env
    fi
    # The appliance's configuration directory (/etc/mamori/mamori.toml, optional).
    install -d -m 0755 ${D}${sysconfdir}/mamori
    # The documentation the units' Documentation= lines name.
    if [ -d ${S}/docs/daemons ]; then
        install -d ${D}${docdir}/mamori/daemons
        install -m 0644 ${S}/docs/daemons/*.md ${D}${docdir}/mamori/daemons/
    fi
}

# Every unit, enabled (the same set as mamori.preset).
SYSTEMD_SERVICE:${PN} = " \
    mamori-settings-seed.service \
    mamori-settingsd.service \
    mamori-firewalld.service \
    mamori-smtpd.service \
    mamori-admind.service \
    mamori-linkd.service \
    mamori-updated.service \
    mamori-time.path \
    mamori-time.service \
    mamori-boot-notice.service \
    mamori-boot-notice.path \
    mamori-lan-dns.service \
"
SYSTEMD_AUTO_ENABLE:${PN} = "enable"

# The users and groups of firmware/mamori/systemd/mamori.sysusers, made at build time (the
# root file system is read-only), with the fixed IDs of the Buildroot users table (800-809):
# /var outlives an A/B update, so an ID must not change between images, and the boot
# partition's mount options name mamori-updated by number. ci/check-yocto.sh compares. The units add
# systemd-journal (admind) and disk (updated) themselves (SupplementaryGroups=).
USERADD_PACKAGES = "${PN}"
GROUPADD_PARAM:${PN} = " \
    --system --gid 800 mamori; \
    --system --gid 801 mamori-settings; \
    --system --gid 802 mamori-admin; \
    --system --gid 803 mamori-links; \
    --system --gid 804 mamori-updated; \
    --system --gid 805 mamori-smtp; \
    --system --gid 806 mamori-fw; \
    --system --gid 807 mamori-admind; \
    --system --gid 809 mamori-lan \
"
MAMORI_USER_OPTS = "--system --no-create-home --shell ${base_sbindir}/nologin"
USERADD_PARAM:${PN} = " \
    ${MAMORI_USER_OPTS} --home-dir /var/lib/mamori/smtpd --gid mamori-smtp \
        --groups mamori,mamori-settings,mamori-links --comment 'Mamori SMTP relay' --uid 805 mamori-smtp; \
    ${MAMORI_USER_OPTS} --home-dir /var/lib/mamori/firewalld --gid mamori-fw \
        --groups mamori,mamori-settings --comment 'Mamori firewall manager' --uid 806 mamori-fw; \
    ${MAMORI_USER_OPTS} --home-dir /var/lib/mamori/settings --gid mamori-settings \
        --groups mamori --comment 'Mamori settings service' --uid 801 mamori-settings; \
    ${MAMORI_USER_OPTS} --home-dir /var/lib/mamori/admind --gid mamori-admind \
        --groups mamori,mamori-admin,mamori-updated,mamori-settings --comment 'Mamori admin panel' --uid 807 mamori-admind; \
    ${MAMORI_USER_OPTS} --home-dir /var/lib/mamori/links --gid mamori-links \
        --groups mamori-settings --comment 'Mamori download links' --uid 808 mamori-linkd; \
    ${MAMORI_USER_OPTS} --home-dir /var/lib/mamori/updated --gid mamori-updated \
        --groups mamori,mamori-settings --comment 'Mamori firmware updates' --uid 804 mamori-updated; \
    ${MAMORI_USER_OPTS} --home-dir /var/lib/mamori-lan --gid mamori-lan \
        --comment 'Mamori LAN DHCP and DNS' --uid 809 mamori-lan \
"

FILES:${PN} += " \
    ${systemd_system_unitdir} \
    ${systemd_unitdir}/system-preset \
    ${datadir}/polkit-1 \
    ${nonarch_libdir}/tmpfiles.d \
    ${nonarch_libdir}/modules-load.d \
    ${nonarch_libdir}/sysusers.d \
    ${datadir}/mamori \
"

# mamori-lan-dns.service runs dnsmasq (with /etc/mamori/dnsmasq-lan.conf, mamori-network).
RDEPENDS:${PN} += "dnsmasq"

# nftables for the administrator's inspection (nft list ruleset); the daemon itself talks
# netlink. polkit (meta-oe) lets the update daemon, and only it, restart the box; without
# meta-oe the box still runs, but an update's restart waits for someone to power-cycle it.
RRECOMMENDS:${PN} += "nftables ${@bb.utils.contains('BBFILE_COLLECTIONS', 'openembedded-layer', 'polkit', '', d)}"

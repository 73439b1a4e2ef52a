SUMMARY = "Mamori box network: LAN and WAN ports named by role (systemd-networkd) and dnsmasq on the LAN"
DESCRIPTION = "systemd .link files renaming the board's two Ethernet ports to lan and wan by device \
path (MAMORI_LAN_PATH, MAMORI_WAN_PATH), .network files (LAN: the box's static address; WAN: DHCP), \
and the dnsmasq configuration of mamori-lan-dns.service (DHCP and DNS on the LAN only)."
LICENSE = "Apache-2.0 | MIT"
LIC_FILES_CHKSUM = "file://${COMMON_LICENSE_DIR}/Apache-2.0;md5=89aea4e17d99a7cacdbeed46a0096b10 \
                    file://${COMMON_LICENSE_DIR}/MIT;md5=0835ade698e0bcf8506ecda2f7b4f302"

require conf/mamori-board.inc

PACKAGE_ARCH = "${MACHINE_ARCH}"
INHIBIT_DEFAULT_DEPS = "1"

python () {
    if not d.getVar('MAMORI_LAN_PATH') or not d.getVar('MAMORI_WAN_PATH'):
        raise bb.parse.SkipRecipe("MAMORI_LAN_PATH and MAMORI_WAN_PATH are not set for MACHINE %s" % d.getVar('MACHINE'))
}

do_install() {
    install -d ${D}${sysconfdir}/systemd/network
    for role in lan wan; do
        if [ $role = lan ]; then path='${MAMORI_LAN_PATH}'; else path='${MAMORI_WAN_PATH}'; fi
        cat > ${D}${sysconfdir}/systemd/network/10-mamori-$role.link <<MAMORI_EOF
# Mamori: the board's $(echo $role | tr a-z A-Z) port is "$role" (the firewall's zones name it).
[Match]
Path=$path

[Link]
Name=$role
MAMORI_EOF
    done
    cat > ${D}${sysconfdir}/systemd/network/20-mamori-lan.network <<MAMORI_EOF
# Mamori: the office side. The box's own address; dnsmasq serves DHCP and DNS here.
[Match]
Name=lan

[Link]
RequiredForOnline=no

[Network]
Address=${MAMORI_LAN_ADDRESS}
ConfigureWithoutCarrier=yes
IPv6AcceptRA=no
MAMORI_EOF
    cat > ${D}${sysconfdir}/systemd/network/20-mamori-wan.network <<MAMORI_EOF
# Mamori: the provider's side, by DHCP (the setup wizard may make it static).
[Match]
Name=wan

[Network]
DHCP=yes
IPv6AcceptRA=yes

[DHCPv4]
UseDNS=yes
MAMORI_EOF
    # mamori-lan-dns.service (the mamori package) runs dnsmasq with this file, as its own
    # user; the distribution's dnsmasq.service stays off (masked).
    install -d ${D}${sysconfdir}/mamori
    cat > ${D}${sysconfdir}/mamori/dnsmasq-lan.conf <<MAMORI_EOF
# Mamori: DHCP and DNS for the office, on the LAN port only (mamori-lan-dns.service).
interface=lan
bind-dynamic
except-interface=wan
dhcp-range=${MAMORI_LAN_DHCP_RANGE}
dhcp-authoritative
domain-needed
bogus-priv
MAMORI_EOF
    install -d ${D}${sysconfdir}/systemd/system
    ln -sf /dev/null ${D}${sysconfdir}/systemd/system/dnsmasq.service
}

FILES:${PN} = "${sysconfdir}/systemd/network ${sysconfdir}/mamori ${sysconfdir}/systemd/system"
CONFFILES:${PN} = "${sysconfdir}/mamori/dnsmasq-lan.conf"
RDEPENDS:${PN} = "dnsmasq"

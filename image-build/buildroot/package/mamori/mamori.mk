################################################################################
#
# mamori
#
################################################################################

# A release tag of the upstream repository. The download step clones it,
# vendors every crate of the workspace's Cargo.lock (cargo vendor --locked)
# and packs both in one tarball, so the build needs no network. For a
# local checkout, set MAMORI_OVERRIDE_SRCDIR in local.mk (see README.md).
MAMORI_VERSION = v0.1.0
MAMORI_SITE = https://github.com/mamori-firmware/mamori
MAMORI_SITE_METHOD = git
MAMORI_LICENSE = Apache-2.0 or MIT
MAMORI_DEPENDENCIES = libmnl libnftnl

# The hash of a release's tarball (sources and vendored crates) is added to
# mamori.hash when the release is made; see README.md.

MAMORI_BOARD = $(call qstrip,$(BR2_PACKAGE_MAMORI_BOARD))
MAMORI_BIN = $(@D)/target/$(RUSTC_TARGET_NAME)/release/mamori
MAMORI_UNITS_DIR = $(@D)/firmware/mamori/systemd

# The firewall's nftnl-sys and mnl-sys link the target's libraries from
# here instead of asking pkg-config. The workspace's release profile (thin
# LTO, 4 codegen units: a smaller binary) is kept over the infrastructure's
# defaults; the optimisation level follows BR2_OPTIMIZE_*.
MAMORI_CARGO_ENV = \
	LIBNFTNL_LIB_DIR=$(STAGING_DIR)/usr/lib \
	LIBMNL_LIB_DIR=$(STAGING_DIR)/usr/lib \
	CARGO_PROFILE_RELEASE_LTO="thin" \
	CARGO_PROFILE_RELEASE_CODEGEN_UNITS="4"

# The one binary of the workspace (the package "mamori" in firmware/mamori);
# always the release profile, whatever BR2_ENABLE_DEBUG says.
define MAMORI_BUILD_CMDS
	cd $(MAMORI_SRCDIR) && \
	$(TARGET_MAKE_ENV) \
		$(TARGET_CONFIGURE_OPTS) \
		$(PKG_CARGO_ENV) \
		$(MAMORI_CARGO_ENV) \
		cargo build \
			--offline \
			--release \
			--manifest-path Cargo.toml \
			--locked \
			--package mamori \
			--bin mamori
endef

# A local checkout (MAMORI_OVERRIDE_SRCDIR) skips the download step and with
# it the vendoring: vendor here, as the download step would have (this needs
# the network once; the crates are then cached in BR_CARGO_HOME). The
# checkout's own build output and .cargo/config.toml (a host cross linker)
# are left out.
MAMORI_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--exclude /target --exclude /fuzz/target --exclude /.cargo
define MAMORI_VENDOR_CRATES
	mkdir -p $(@D)/.cargo $(BR_CARGO_HOME)
	cd $(@D) && \
		$(HOST_MAKE_ENV) $(PKG_COMMON_CARGO_ENV) \
		cargo vendor --manifest-path Cargo.toml --locked VENDOR \
		> $(@D)/.cargo/config.toml
endef
MAMORI_POST_RSYNC_HOOKS += MAMORI_VENDOR_CRATES

# Documentation under /usr/share/mamori/doc: Buildroot removes
# /usr/share/doc when it finalizes the target; the board's post-build
# script links /usr/share/doc/mamori there, where the units' Documentation=
# points.
define MAMORI_INSTALL_TARGET_CMDS
	$(INSTALL) -D -m 0755 $(MAMORI_BIN) $(TARGET_DIR)/usr/bin/mamori
	$(INSTALL) -D -m 0644 $(MAMORI_UNITS_DIR)/50-mamori-updated.rules \
		$(TARGET_DIR)/usr/share/polkit-1/rules.d/50-mamori-updated.rules
	$(INSTALL) -D -m 0644 $(MAMORI_UNITS_DIR)/mamori-update-uploads.conf \
		$(TARGET_DIR)/usr/lib/tmpfiles.d/mamori-update-uploads.conf
	$(INSTALL) -D -m 0644 $(MAMORI_UNITS_DIR)/mamori-modules.conf \
		$(TARGET_DIR)/usr/lib/modules-load.d/mamori.conf
	$(INSTALL) -D -m 0644 $(MAMORI_UNITS_DIR)/mamori.sysusers \
		$(TARGET_DIR)/usr/lib/sysusers.d/mamori.conf
	rm -rf $(TARGET_DIR)/usr/share/mamori/doc
	mkdir -p $(TARGET_DIR)/usr/share/mamori/doc
	cp -dR --no-preserve=ownership $(@D)/docs/. \
		$(TARGET_DIR)/usr/share/mamori/doc/
	$(MAMORI_INSTALL_BOARD)
endef

# From board-configs/<board>/: the defaults (required), the appliance's
# configuration, the network (.link names the ports lan and wan), the LAN's
# dnsmasq configuration and the units' board facts, where the board has them.
MAMORI_BOARD_DIR = $(@D)/board-configs/$(MAMORI_BOARD)

ifneq ($(MAMORI_BOARD),)
define MAMORI_INSTALL_BOARD
	test -f $(MAMORI_BOARD_DIR)/defaults.toml || \
		{ echo "mamori: no board-configs/$(MAMORI_BOARD)/defaults.toml (BR2_PACKAGE_MAMORI_BOARD)"; exit 1; }
	$(INSTALL) -D -m 0644 $(MAMORI_BOARD_DIR)/defaults.toml \
		$(TARGET_DIR)/usr/share/mamori/board.toml
	if test -f $(MAMORI_BOARD_DIR)/mamori.toml; then \
		$(INSTALL) -D -m 0644 $(MAMORI_BOARD_DIR)/mamori.toml \
			$(TARGET_DIR)/etc/mamori/mamori.toml; \
	fi
	if test -f $(MAMORI_BOARD_DIR)/dnsmasq-lan.conf; then \
		$(INSTALL) -D -m 0644 $(MAMORI_BOARD_DIR)/dnsmasq-lan.conf \
			$(TARGET_DIR)/etc/mamori/dnsmasq-lan.conf; \
	fi
	if test -f $(MAMORI_BOARD_DIR)/board.env; then \
		$(INSTALL) -D -m 0644 $(MAMORI_BOARD_DIR)/board.env \
			$(TARGET_DIR)/usr/share/mamori/board.env; \
	fi
	if test -d $(MAMORI_BOARD_DIR)/network; then \
		$(INSTALL) -d $(TARGET_DIR)/etc/systemd/network && \
		$(INSTALL) -m 0644 -t $(TARGET_DIR)/etc/systemd/network \
			$(MAMORI_BOARD_DIR)/network/*; \
	fi
endef
else
define MAMORI_INSTALL_BOARD
	@echo "mamori: BR2_PACKAGE_MAMORI_BOARD is empty: no board defaults installed"
	@exit 1
endef
endif

# Every unit of firmware/mamori/systemd; the preset enables them all when
# Buildroot runs systemctl preset-all on the target.
define MAMORI_INSTALL_INIT_SYSTEMD
	$(INSTALL) -d $(TARGET_DIR)/usr/lib/systemd/system
	$(INSTALL) -m 0644 -t $(TARGET_DIR)/usr/lib/systemd/system \
		$(MAMORI_UNITS_DIR)/*.service $(MAMORI_UNITS_DIR)/*.path
	$(INSTALL) -D -m 0644 $(MAMORI_UNITS_DIR)/mamori.preset \
		$(TARGET_DIR)/usr/lib/systemd/system-preset/50-mamori.preset
endef

# The users and groups of firmware/mamori/systemd/mamori.sysusers, with
# fixed IDs: the data partition (/var) outlives an A/B update, so its files'
# owners must not change from one image to the next.
# ci/check-buildroot.sh checks that this table matches mamori.sysusers.
define MAMORI_USERS
	- - mamori 800 * - - - Mamori control sockets
	- - mamori-settings 801 * - - - Mamori settings store
	- - mamori-admin 802 * - - - Mamori administrators
	- - mamori-links 803 * - - - Mamori download links
	- - mamori-updated 804 * - - - Mamori firmware updates
	- - mamori-smtp 805 * - - - Mamori SMTP relay
	- - mamori-fw 806 * - - - Mamori firewall manager
	- - mamori-admind 807 * - - - Mamori admin panel
	- - mamori-lan 809 * - - - Mamori LAN DHCP and DNS
	mamori-smtp 805 mamori-smtp 805 * - - mamori,mamori-settings,mamori-links Mamori SMTP relay
	mamori-fw 806 mamori-fw 806 * - - mamori,mamori-settings Mamori firewall manager
	mamori-settings 801 mamori-settings 801 * - - mamori Mamori settings service
	mamori-admind 807 mamori-admind 807 * - - mamori,mamori-admin,mamori-updated,mamori-settings Mamori admin panel
	mamori-linkd 808 mamori-links 803 * - - mamori-settings Mamori download links
	mamori-updated 804 mamori-updated 804 * - - mamori,mamori-settings Mamori firmware updates
	mamori-lan 809 mamori-lan 809 * - - - Mamori LAN DHCP and DNS
endef

# No MAMORI_PERMISSIONS: what is installed is root's and world-readable
# (/etc/mamori/mamori.toml too: mamori-linkd, in none of the shared groups,
# reads it); the daemons' state is made at run time by the units'
# StateDirectory= and the tmpfiles.d file, on the data partition.

# What the firewall manager needs of the kernel (nf_tables over netlink,
# NAT for masquerade and port forwards, conntrack, AF_PACKET for the ARP
# sweep of the LAN).
define MAMORI_LINUX_CONFIG_FIXUPS
	$(call KCONFIG_ENABLE_OPT,CONFIG_NET)
	$(call KCONFIG_ENABLE_OPT,CONFIG_INET)
	$(call KCONFIG_ENABLE_OPT,CONFIG_IPV6)
	$(call KCONFIG_ENABLE_OPT,CONFIG_PACKET)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NETFILTER)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NETFILTER_ADVANCED)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NETFILTER_NETLINK)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_CONNTRACK)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_NAT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_TABLES)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_TABLES_INET)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_TABLES_IPV4)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NF_TABLES_IPV6)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_CT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_NAT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_MASQ)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_REDIR)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_REJECT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_REJECT_INET)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_LOG)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_LIMIT)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_FIB_INET)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_FIB_IPV4)
	$(call KCONFIG_ENABLE_OPT,CONFIG_NFT_FIB_IPV6)
	$(call KCONFIG_ENABLE_OPT,CONFIG_BRIDGE)
endef

$(eval $(cargo-package))

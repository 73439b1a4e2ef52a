#!/usr/bin/env bash
# Install everything the tests (default) or `mamori run` (--runtime-only) need on Debian 12.
#
# Idempotent: each apt package is checked with `dpkg -s` and apt is only touched (one
# `apt-get update` + one `apt-get install`) when something is missing; the Rust target and
# components are only added when `rustup` says they are missing. Non-interactive: safe under
# CI=true with no stdin. Run as root, or as a user with passwordless sudo for the apt part.
#
#   bash ci/install-deps.sh                 # tests: cross toolchain, qemu, Postfix tools, ...
#   bash ci/install-deps.sh --runtime-only  # just enough to `cargo build` and run mamori
set -euo pipefail

mode=full
for arg in "$@"; do
    case $arg in
        --runtime-only) mode=runtime ;;
        -h | --help)
            sed -n '2,10p' "$0"
            exit 0
            ;;
        *)
            echo "install-deps: unknown argument: $arg" >&2
            exit 2
            ;;
    esac
done

# From the repository root, so that a rust-toolchain file there (if any) is honoured.
cd "$(dirname "${BASH_SOURCE[0]}")/.."

log() { printf '[install-deps] %s\n' "$*" >&2; }
die() { printf '[install-deps] ERROR: %s\n' "$*" >&2; exit 1; }

# gcc + libc6-dev: rustc needs a C linker, and ring (rustls) compiles C.
# pkg-config, libnftnl-dev, libmnl-dev: the firewall crate links libnftnl/libmnl.
runtime_pkgs=(ca-certificates gcc libc6-dev pkg-config libnftnl-dev libmnl-dev)
test_pkgs=(
    "${runtime_pkgs[@]}"
    swaks
    # swaks' STARTTLS and implicit TLS: only Recommends of swaks, which
    # --no-install-recommends drops ("TLS not available: requires Net::SSLeay").
    libnet-ssleay-perl
    libio-socket-ssl-perl
    postfix # smtp-sink, smtp-source, and the reference relay for ci/bench-relay
    python3
    openssl
    gcc-aarch64-linux-gnu
    libc6-dev-arm64-cross
    qemu-user-static
    nftables
    iproute2
    iputils-ping # ping in the firewall's real-packet system tests
    curl # the admin panel's HTTP client in its system tests
    python3-prometheus-client # an independent parser of the panel's /metrics text
    testssl.sh # the panel's TLS scan (/usr/bin/testssl)
    systemd-journal-remote # writes real journal files for the panel's log-page test
    # The panel's browser tests: Debian's Chromium driven through chromedriver (nothing
    # downloads a browser), and a Japanese font so that the screenshots show text.
    chromium
    chromium-driver
    fonts-ipafont-gothic
    # Link mode's certificate by ACME: Let's Encrypt's test server and its mock DNS
    # (pebble-challtestsrv, in the same package).
    pebble
    # The DLP format corpus (firmware/dlp/tests/formats/generate.sh) is rebuilt by the
    # real tools in the tests: compressors, 7-Zip, jlha (LZH; pulls a Java runtime),
    # bsdtar, qpdf and reportlab.
    bzip2
    xz-utils
    zstd
    7zip
    jlha-utils
    libarchive-tools
    qpdf # PDF variants (encryption, object streams) and the oracle for hand-built PDFs
    python3-reportlab # PDFs with Japanese text, form fields and comments
    python3-docx      # DOCX
    python3-openpyxl  # XLSX
    python3-xlwt      # legacy XLS (BIFF8)
    python3-olefile   # OLE2 compound files, to edit a legacy XLS's Workbook stream
    python3-odf       # ODS and ODT (odfpy)
    python3-venv      # a virtual environment for python-pptx, which Debian does not package
    libreoffice-writer-nogui  # legacy .doc (Word 97), saved from DOCX
    libreoffice-impress-nogui # legacy .ppt (PowerPoint 97), saved from PPTX
    python3-uno               # LibreOffice over UNO, to save documents with a password
    unzip                     # the ZipCrypto oracle for encrypted attachments
    # Firmware updates: the boot-loader environments' reference tools (fw_printenv and
    # fw_setenv; grub-editenv), read and written against Mamori's adapters.
    libubootenv-tool
    grub-common
    # The qemu image (image-build/qemu/) and its whole-box test: the Debian arm64 base
    # (mmdebstrap; arch-test for its foreign-architecture check), the slot and disk
    # (squashfs-tools, dosfstools, mtools, gdisk, e2fsprogs), the emulator with edk2's
    # UEFI firmware, and dnsmasq as the WAN's DHCP and DNS in the test's namespace.
    mmdebstrap
    arch-test
    systemd # systemd-sysusers --root and systemctl --root on the image's tree
    squashfs-tools
    dosfstools
    mtools
    gdisk
    e2fsprogs
    qemu-system-arm
    qemu-efi-aarch64
    dnsmasq-base
    binutils-aarch64-linux-gnu # aarch64-linux-gnu-strip for the image's binary
    # The Buildroot and Yocto recipes, checked against the real tools offline
    # (ci/check-buildroot.sh, ci/check-yocto.sh): Buildroot's make and kconfig host tools and
    # utils/check-package (python3-magic, flake8, shellcheck); bitbake's HOSTTOOLS (chrpath,
    # diffstat, gawk ...) and the en_US.UTF-8 locale it insists on (made below).
    make
    g++
    bc
    cpio
    file
    unzip
    rsync
    wget
    patch
    perl
    python3-magic
    python3-flake8
    shellcheck
    git
    chrpath
    diffstat
    gawk
    lz4
    xz-utils
    rpcsvc-proto
    locales
    util-linux
)
if [[ $mode == runtime ]]; then
    pkgs=("${runtime_pkgs[@]}")
else
    pkgs=("${test_pkgs[@]}")
fi

# --- apt ---------------------------------------------------------------------------------
is_installed() {
    # No `dpkg -s | grep -q`: under pipefail grep's early exit can SIGPIPE dpkg and look
    # like "not installed".
    local status
    status=$(dpkg -s "$1" 2>/dev/null) || return 1
    [[ $'\n'$status$'\n' == *$'\nStatus: install ok installed\n'* ]]
}

missing=()
for p in "${pkgs[@]}"; do
    is_installed "$p" || missing+=("$p")
done

if ((${#missing[@]} == 0)); then
    log "apt: all ${#pkgs[@]} packages already installed ($mode)"
else
    log "apt: missing: ${missing[*]}"
    command -v apt-get >/dev/null || die "apt-get not found: this script targets Debian 12"
    sudo=()
    if [[ $EUID -ne 0 ]]; then
        command -v sudo >/dev/null || die "not root and no sudo: cannot install ${missing[*]}"
        sudo=(sudo -n)
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt_opts=(-q -o DPkg::Lock::Timeout=300 -o Acquire::Retries=3)

    installing_postfix=0
    for p in "${missing[@]}"; do [[ $p == postfix ]] && installing_postfix=1; done
    if ((installing_postfix)); then
        # Install the binaries only: no main.cf, no system instance on port 25.
        echo 'postfix postfix/main_mailer_type select No configuration' \
            | "${sudo[@]}" debconf-set-selections
    fi

    # Keep maintainer scripts from starting services while we install (restored after).
    policy=/usr/sbin/policy-rc.d
    made_policy=0
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\n# temporary, from mamori ci/install-deps.sh\nexit 101\n' \
            | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod 755 "$policy"
        made_policy=1
        # shellcheck disable=SC2064  # expand now
        trap "${sudo[*]} rm -f '$policy'" EXIT
    fi

    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" update
    "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get "${apt_opts[@]}" install -y \
        --no-install-recommends \
        -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
        "${missing[@]}"

    if ((made_policy)); then
        "${sudo[@]}" rm -f "$policy"
        trap - EXIT
    fi

    if ((installing_postfix)); then
        # We only want Postfix's tools; make sure no system instance is left running.
        if command -v systemctl >/dev/null && systemctl is-active --quiet postfix 2>/dev/null; then
            log "stopping the system Postfix service that the package started"
            "${sudo[@]}" systemctl stop postfix || true
        fi
        if "${sudo[@]}" postfix status >/dev/null 2>&1; then
            log "stopping the system Postfix instance that the package started"
            "${sudo[@]}" postfix stop || true
        fi
    fi

    still=()
    for p in "${missing[@]}"; do is_installed "$p" || still+=("$p"); done
    ((${#still[@]} == 0)) || die "apt: still not installed: ${still[*]}"
    log "apt: installed ${missing[*]}"
fi

# --- locale --------------------------------------------------------------------------------
# bitbake (ci/check-yocto.sh) needs en_US.UTF-8.
if [[ $mode == full ]] && ! locale -a 2>/dev/null | grep -qix 'en_US.utf8'; then
    log "locale: generating en_US.UTF-8 (bitbake needs it)"
    sed -i 's/^# *en_US.UTF-8 UTF-8/en_US.UTF-8 UTF-8/' /etc/locale.gen
    grep -q '^en_US.UTF-8 UTF-8' /etc/locale.gen || echo 'en_US.UTF-8 UTF-8' >>/etc/locale.gen
    locale-gen >/dev/null
fi

# --- Rust ----------------------------------------------------------------------------------
if ! command -v cargo >/dev/null && [[ -f $HOME/.cargo/env ]]; then
    # shellcheck disable=SC1091
    . "$HOME/.cargo/env"
fi
command -v cargo >/dev/null \
    || die "cargo not found: install Rust >= 1.95 with rustup (https://rustup.rs), then re-run"

if [[ $mode == full ]]; then
    command -v rustup >/dev/null \
        || die "rustup not found: the tests need 'rustup target add aarch64-unknown-linux-gnu'"
    installed_targets=$(rustup target list --installed)
    if grep -qx aarch64-unknown-linux-gnu <<<"$installed_targets"; then
        log "rust: target aarch64-unknown-linux-gnu already installed"
    else
        log "rust: adding target aarch64-unknown-linux-gnu"
        rustup target add aarch64-unknown-linux-gnu
    fi
    installed_components=$(rustup component list --installed)
    for c in rustfmt clippy; do
        if grep -q "^$c\(-\|$\)" <<<"$installed_components"; then
            log "rust: component $c already installed"
        else
            log "rust: adding component $c"
            rustup component add "$c"
        fi
    done
fi

# --- Python from PyPI (the DLP format corpus, the encrypted-ZIP oracle) --------------------
# python-pptx, msoffcrypto-tool and pyzipper are not packaged for Debian 12: a virtual
# environment in target/ that also sees Debian's reportlab, python-docx, openpyxl, xlwt,
# olefile and LibreOffice's uno. Pinned; created once.
if [[ $mode == full ]]; then
    venv=target/formats-venv
    imports='import pptx, msoffcrypto, pyzipper, docx, openpyxl, reportlab, xlwt, olefile, odf, uno, tuf.ngclient, securesystemslib.signer'
    if "$venv/bin/python" -c "$imports" 2>/dev/null; then
        log "python: $venv already has python-pptx, msoffcrypto-tool, pyzipper and tuf"
    else
        log "python: creating $venv with python-pptx, msoffcrypto-tool, pyzipper and tuf"
        rm -rf "$venv"
        /usr/bin/python3 -m venv --system-site-packages "$venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
            python-pptx==1.0.2 msoffcrypto-tool==5.4.2 pyzipper==0.3.6 pycryptodomex==3.24.2 \
            tuf==6.0.0 securesystemslib==1.6.0 cryptography==51.0.1
        "$venv/bin/python" -c "$imports" || die "python: $venv cannot import the corpus libraries"
    fi
fi

log "done ($mode): $(cargo --version)"

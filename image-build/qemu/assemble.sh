#!/usr/bin/env bash
# Assembles the qemu image from the cached Debian arm64 base (rootfs.sh), the cross-built
# `mamori` binary, the units and the board's folder:
#
#   slot.sqfs   a root slot: read-only squashfs (kernel and initramfs inside, for GRUB)
#   disk.img    GPT: EFI system partition (GRUB, its boot rule, grubenv), root slots A and
#               B (A holds slot.sqfs, B is empty until the first update), data (ext4, /var)
#   release.json, and the update repository's root (root.json) the slot trusts
#
#   bash image-build/qemu/assemble.sh --binary PATH --out DIR --version X [--repo DIR]
#       [--board DIR] [--slot-only] [--broken] [--debug-console]
#
# --repo: the update repository (`mamori repo`) whose root the image trusts; made there
# (development keys) when it does not exist yet. --slot-only: only slot.sqfs (an update's
# image). --broken: a slot whose relay cannot start (the whole-box test's bad update).
# --debug-console: a developer's image whose serial console is a root shell without
# login (image-build/qemu/measure.sh reads memory and `systemd-analyze security` there);
# never for a box anyone uses.
# Needs root (the base's owners and device nodes), squashfs-tools, dosfstools, mtools,
# gdisk, e2fsprogs, grub-common (grub-mkimage, grub-editenv) and GRUB's arm64 EFI
# modules (fetched from Debian's archive, cached).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
CACHE=${MAMORI_CACHE:-/var/cache/mamori}
log() { printf '[assemble] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

binary="" out="" version="" repo="" board="$ROOT/board-configs/qemu-aarch64-virt"
slot_only=0 broken=0 debug_console=0
while (($#)); do
    case $1 in
    --binary) binary=$2; shift 2 ;;
    --out) out=$2; shift 2 ;;
    --version) version=$2; shift 2 ;;
    --repo) repo=$2; shift 2 ;;
    --board) board=$2; shift 2 ;;
    --slot-only) slot_only=1; shift ;;
    --broken) broken=1; shift ;;
    --debug-console) debug_console=1; shift ;;
    *) die "unknown argument $1" ;;
    esac
done
[[ -x $binary ]] || die "--binary: no executable at '$binary'"
[[ -n $out && -n $version ]] || die "--out and --version are required"
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+$ ]] || die "--version '$version': MAJOR.MINOR.PATCH"
[[ $(id -u) == 0 ]] || die "run as root (the base's owners and device nodes)"
board_name=$(basename "$board")

# The host runs the aarch64 tool through qemu-user (no native build needed).
mamori_host() { qemu-aarch64-static -L /usr/aarch64-linux-gnu "$binary" "$@"; }

base=$(bash "$HERE/rootfs.sh")
mkdir -p "$out"
work=$(mktemp -d "${TMPDIR:-/tmp}/mamori-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
R=$work/root
mkdir -p "$R"
t0=$SECONDS
tar -C "$R" -xpf "$base"

# --- the update trust root -----------------------------------------------------------
if [[ -n $repo && ! -f $repo/repository/metadata/1.root.json ]]; then
    log "making a development update repository in $repo (its keys sign the test's bundles)"
    mamori_host repo init "$repo" >&2
fi

# --- Mamori ----------------------------------------------------------------------------
S=$ROOT/firmware/mamori/systemd
install -D -m 0755 "$binary" "$R/usr/bin/mamori"
for f in "$S"/*.service "$S"/*.path; do
    install -D -m 0644 "$f" "$R/usr/lib/systemd/system/$(basename "$f")"
done
install -D -m 0644 "$S/mamori.sysusers" "$R/usr/lib/sysusers.d/mamori.conf"
install -D -m 0644 "$S/mamori.preset" "$R/usr/lib/systemd/system-preset/50-mamori.preset"
install -D -m 0644 "$S/mamori-update-uploads.conf" "$R/usr/lib/tmpfiles.d/mamori-update-uploads.conf"
install -D -m 0644 "$S/mamori-modules.conf" "$R/usr/lib/modules-load.d/mamori.conf"
install -D -m 0644 "$S/50-mamori-updated.rules" "$R/usr/share/polkit-1/rules.d/50-mamori-updated.rules"
mkdir -p "$R/usr/share/doc/mamori"
cp -r "$ROOT/docs/." "$R/usr/share/doc/mamori/"
install -D -m 0644 "$board/defaults.toml" "$R/usr/share/mamori/board.toml"
install -D -m 0644 "$board/mamori.toml" "$R/etc/mamori/mamori.toml"
install -D -m 0644 "$board/board.env" "$R/usr/share/mamori/board.env"
install -D -m 0644 "$board/dnsmasq-lan.conf" "$R/etc/mamori/dnsmasq-lan.conf"
printf '{"board": "%s", "version": "%s", "built": "%s"}\n' "$board_name" "$version" \
    "$(date -u '+%Y-%m-%dT%H:%M:%SZ')" >"$R/usr/share/mamori/release.json"
if [[ -n $repo ]]; then
    install -D -m 0644 "$repo/repository/metadata/1.root.json" "$R/usr/share/mamori/update/root.json"
fi
if ((broken)); then
    # A firmware whose relay cannot start (the settings on /var are the box's, so the break
    # must be in the slot itself).
    mkdir -p "$R/etc/systemd/system/mamori-smtpd.service.d"
    cat >"$R/etc/systemd/system/mamori-smtpd.service.d/broken.conf" <<'UNIT'
# --broken: the whole-box test's bad update.
[Service]
ExecStart=
ExecStart=/bin/false
UNIT
fi

# --- the appliance around it -----------------------------------------------------------
cp -r "$HERE/overlay/." "$R/"
if [[ -d $board/network ]]; then
    install -d "$R/etc/systemd/network"
    install -m 0644 "$board"/network/* "$R/etc/systemd/network/"
fi
systemd-sysusers --root="$R" >&2
# Nobody logs in: root's password is locked (the console shows the boot report only).
sed -i 's/^root:[^:]*:/root:!*:/' "$R/etc/shadow"
if ((debug_console)); then
    mkdir -p "$R/etc/systemd/system/serial-getty@ttyAMA0.service.d"
    cat >"$R/etc/systemd/system/serial-getty@ttyAMA0.service.d/debug.conf" <<'UNIT'
# --debug-console: a root shell on the serial console without a password (developers only).
[Service]
ExecStart=
ExecStart=-/sbin/agetty --autologin root --noclear --keep-baud 115200,57600,38400,9600 %I $TERM
UNIT
    sed -i 's/^root:[^:]*:/root::/' "$R/etc/shadow"
fi
gid() { awk -F: -v n="$1" '$1 == n { print $3 }' "$R/etc/group"; }
uid() { awk -F: -v n="$1" '$1 == n { print $3 }' "$R/etc/passwd"; }
# The EFI system partition belongs to the update daemon (it writes grubenv) and root;
# nobody else may write there (the panel's setup-code file is written by root's notice).
sed -i "s/@UPDATED_UID@/$(uid mamori-updated)/; s/@UPDATED_GID@/$(gid mamori-updated)/" "$R/etc/fstab"
# Mamori's units as its preset file says (Debian's own packages enabled theirs when they
# were installed; preset-all would enable everything Debian ships).
# shellcheck disable=SC2046  # unit names are words
systemctl --root="$R" enable $(awk '$1 == "enable" { print $2 }' "$S/mamori.preset") >&2
systemctl --root="$R" enable systemd-networkd.service systemd-resolved.service \
    systemd-timesyncd.service >&2
systemctl --root="$R" disable apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
    e2scrub_all.timer e2scrub_reap.service fstrim.timer >&2 2>/dev/null || true
ln -sf ../run/systemd/resolve/stub-resolv.conf "$R/etc/resolv.conf"
# The machine-id lives on the data partition, made on the first boot by the initramfs
# (initramfs/mamori-data, which mounts /var before systemd starts): one identity for the
# journal's directory and networkd's DHCP client identifier across boots and slots.
ln -sfn ../var/lib/machine-id "$R/etc/machine-id"
# Nothing asks questions on the console: the box is set up from its panel.
systemctl --root="$R" mask systemd-firstboot.service >&2
echo mamori >"$R/etc/hostname"
# /var is the data partition: what the base put there is hidden by the mount and made
# again by systemd-tmpfiles where it matters.
rm -rf "${R:?}/var/"* && mkdir -p "$R/boot/efi"

mksquashfs "$R" "$work/slot.sqfs" -comp lzo -noappend -quiet -no-progress >&2
mv "$work/slot.sqfs" "$out/slot.sqfs"
cp "$R/usr/share/mamori/release.json" "$out/release.json"
log "slot: $(du -h "$out/slot.sqfs" | cut -f1) ($version$( ((broken)) && echo ', broken'))"
if ((slot_only)); then
    exit 0
fi

# --- GRUB ------------------------------------------------------------------------------
grub_dir=$CACHE/grub-arm64-efi
if [[ ! -f $grub_dir/.complete ]]; then
    log "fetching GRUB's arm64 EFI modules (Debian grub-efi-arm64-bin)"
    rm -rf "$grub_dir" && mkdir -p "$grub_dir"
    bash "$ROOT/ci/arm64-debs.sh" "$grub_dir" grub-efi-arm64-bin >&2
    touch "$grub_dir/.complete"
fi
mods=$grub_dir/usr/lib/grub/arm64-efi
grub-mkimage -O arm64-efi -d "$mods" -p /EFI/mamori -o "$work/BOOTAA64.EFI" \
    part_gpt fat squash4 ext2 normal configfile linux loadenv test echo regexp search \
    gzio lzopio
# Slot B is empty until the first update: the order names A alone, so that a box whose
# first boots are cut short (power pulled three times before its health window) boots A
# again (the contract's rule 2) instead of an empty slot.
grub-editenv "$work/grubenv" create
grub-editenv "$work/grubenv" set BOOT_ORDER=A BOOT_A_LEFT=3 BOOT_B_LEFT=0

# --- the disk --------------------------------------------------------------------------
esp_mib=64 slot_mib=512 data_mib=256
mkfs.vfat -n MAMORIBOOT -C "$work/esp.img" $((esp_mib * 1024)) >/dev/null
mmd -i "$work/esp.img" ::/EFI ::/EFI/BOOT ::/EFI/mamori
mcopy -i "$work/esp.img" "$work/BOOTAA64.EFI" ::/EFI/BOOT/BOOTAA64.EFI
mcopy -i "$work/esp.img" "$HERE/grub.cfg" ::/EFI/mamori/grub.cfg
mcopy -i "$work/esp.img" "$work/grubenv" ::/EFI/mamori/grubenv
mkfs.ext4 -q -L mamori-data -E root_owner=0:0 "$work/data.img" "${data_mib}M"

disk=$work/disk.img
total=$((1 + esp_mib + 2 * slot_mib + data_mib + 1))
truncate -s "${total}M" "$disk"
sgdisk --clear \
    -n 1:1M:+${esp_mib}M -t 1:EF00 -c 1:mamori-boot \
    -n 2:0:+${slot_mib}M -t 2:B921B045-1DF0-41C3-AF44-4C6F280D3FAE -c 2:mamori-root-a \
    -n 3:0:+${slot_mib}M -t 3:B921B045-1DF0-41C3-AF44-4C6F280D3FAE -c 3:mamori-root-b \
    -n 4:0:+${data_mib}M -t 4:8300 -c 4:mamori-data \
    "$disk" >/dev/null
put() { # put IMAGE PARTNO
    local start
    start=$(sgdisk -i "$2" "$disk" | awk '/First sector/ { print $3 }')
    dd if="$1" of="$disk" bs=512 seek="$start" conv=notrunc,sparse status=none
}
put "$work/esp.img" 1
put "$out/slot.sqfs" 2
put "$work/data.img" 4
mv "$disk" "$out/disk.img"
log "disk: $out/disk.img ($total MiB, $(du -h "$out/disk.img" | cut -f1) used) in $((SECONDS - t0)) s"

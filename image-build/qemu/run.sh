#!/usr/bin/env bash
# Boots the qemu image under qemu-system-aarch64 (-M virt, TCG here): edk2's UEFI firmware,
# GRUB from the disk's EFI system partition choosing the root slot (the box's own A/B
# rule, not this script's), two virtio NICs (LAN at PCI 00:02.0, WAN at 00:03.0), the
# serial console on stdout.
#
#   bash image-build/qemu/run.sh DISK [--lan NETDEV] [--wan NETDEV] [--vars FILE] [-- QEMU ARGS]
#
# Without --lan/--wan (the try-out) both are qemu's user-mode networking: the LAN is
# 192.168.1.0/24 with the host forwarding 127.0.0.1:8443 to the panel (443), :8080 to its
# redirect (80), :2525 to the relay (25) and :2587 to submission (587); the WAN gets an
# address by DHCP from qemu (10.0.2.15) and reaches nothing but the host. The tests pass
# tap devices in network namespaces instead (`--lan tap,fd=3`).
# The UEFI variable store is a copy beside DISK (DISK.vars), made on the first boot.
set -euo pipefail

disk=${1:?usage: run.sh DISK [--lan NETDEV] [--wan NETDEV] [--vars FILE] [-- QEMU ARGS]}
shift
lan="user,net=192.168.1.0/24,host=192.168.1.2,dhcpstart=192.168.1.200,hostfwd=tcp:127.0.0.1:8443-192.168.1.1:443,hostfwd=tcp:127.0.0.1:8080-192.168.1.1:80,hostfwd=tcp:127.0.0.1:2525-192.168.1.1:25,hostfwd=tcp:127.0.0.1:2587-192.168.1.1:587"
wan="user,net=10.0.2.0/24"
vars=$disk.vars
extra=()
while (($#)); do
    case $1 in
    --lan) lan=$2; shift 2 ;;
    --wan) wan=$2; shift 2 ;;
    --vars) vars=$2; shift 2 ;;
    --) shift; extra=("$@"); break ;;
    *) echo "run.sh: unknown argument $1" >&2; exit 2 ;;
    esac
done
code=/usr/share/AAVMF/AAVMF_CODE.fd
[[ -f $code ]] || { echo "run.sh: $code missing (apt-get install qemu-efi-aarch64)" >&2; exit 1; }
[[ -f $vars ]] || cp /usr/share/AAVMF/AAVMF_VARS.fd "$vars"

exec qemu-system-aarch64 \
    -M virt -cpu cortex-a72 -smp 2 -m 1024 \
    -nographic -serial mon:stdio \
    -drive if=pflash,format=raw,readonly=on,file="$code" \
    -drive if=pflash,format=raw,file="$vars" \
    -drive if=none,id=disk,format=raw,file="$disk",cache=unsafe \
    -device virtio-blk-pci,drive=disk \
    -netdev "$lan,id=lan" -device virtio-net-pci,netdev=lan,addr=0x2,mac=52:54:00:4d:00:01,romfile= \
    -netdev "$wan,id=wan" -device virtio-net-pci,netdev=wan,addr=0x3,mac=52:54:00:4d:00:02,romfile= \
    -device virtio-rng-pci \
    "${extra[@]}"

#!/bin/sh
# Boots disk.img (next to this script) under qemu-system-aarch64 through
# U-Boot: the LAN NIC in PCI slot 2 (a user-mode network with the host's
# port 8443 forwarded to the panel), the WAN NIC in slot 3 (user-mode
# network, the Internet through the host). Extra arguments go to QEMU.
set -eu

cd "$(dirname "${0}")"
exec qemu-system-aarch64 \
	-M virt -cpu cortex-a53 -smp 2 -m 1024 -nographic \
	-bios u-boot.bin \
	-drive file=disk.img,if=none,format=raw,id=hd0 \
	-device virtio-blk-pci,drive=hd0 \
	-netdev user,id=lan,net=192.168.1.0/24,host=192.168.1.2,dhcpstart=192.168.1.50,hostfwd=tcp::8443-192.168.1.1:443 \
	-device virtio-net-pci,netdev=lan,addr=2 \
	-netdev user,id=wan \
	-device virtio-net-pci,netdev=wan,addr=3 \
	"$@"

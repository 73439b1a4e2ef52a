# qemu-aarch64-virt: U-Boot (qemu_arm64) as the machine's firmware, one virtio
# disk with a GPT: 1 mamori-boot, 2 mamori-root-a, 3 mamori-root-b,
# 4 mamori-data; the device tree is QEMU's.
test -n "${devtype}" || setenv devtype virtio
test -n "${devnum}" || setenv devnum 0
# The environment again, now that the virtio disk is up (U-Boot may have
# looked for it before); the boot device found by the scan is kept.
mamori_devtype=${devtype}
mamori_devnum=${devnum}
env load
setenv devtype ${mamori_devtype}
setenv devnum ${mamori_devnum}
setenv mamori_part_A 2
setenv mamori_part_B 3
setenv mamori_root_A PARTLABEL=mamori-root-a
setenv mamori_root_B PARTLABEL=mamori-root-b
setenv mamori_console console=ttyAMA0
setenv mamori_fdtfile
setenv mamori_fdt_addr ${fdtcontroladdr}


# raspberrypi4-64: the firmware starts U-Boot (rpi_arm64) from the boot
# partition and hands it its device tree (with the config.txt overlays); the
# SD card has a GPT: 1 mamori-boot, 2 mamori-root-a, 3 mamori-root-b,
# 4 mamori-data.
test -n "${devtype}" || setenv devtype mmc
test -n "${devnum}" || setenv devnum 0
setenv mamori_part_A 2
setenv mamori_part_B 3
setenv mamori_root_A PARTLABEL=mamori-root-a
setenv mamori_root_B PARTLABEL=mamori-root-b
setenv mamori_console "console=tty1 console=ttyAMA0,115200"
setenv mamori_fdtfile
setenv mamori_fdt_addr ${fdt_addr}


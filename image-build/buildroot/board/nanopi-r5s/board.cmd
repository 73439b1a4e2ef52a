# nanopi-r5s: U-Boot (nanopi-r5s-rk3568) from the SD card or the eMMC,
# whichever it was started from (its environment is on that device: the
# board's ":1"); GPT: 1 mamori-boot, 2 mamori-root-a, 3 mamori-root-b,
# 4 mamori-data. The device tree comes from the slot with its kernel.
test -n "${devtype}" || setenv devtype mmc
test -n "${devnum}" || setenv devnum 1
setenv mamori_part_A 2
setenv mamori_part_B 3
setenv mamori_root_A PARTLABEL=mamori-root-a
setenv mamori_root_B PARTLABEL=mamori-root-b
setenv mamori_console console=ttyS2,1500000n8
setenv mamori_fdtfile rockchip/rk3568-nanopi-r5s.dtb
setenv mamori_fdt_addr ${fdt_addr_r}


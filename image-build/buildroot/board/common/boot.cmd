# Mamori A/B boot script (U-Boot), common to every board; post-image.sh puts
# the board's part (board.cmd: where the slots are, console, device tree) in
# front of it and compiles both into boot.scr on the boot partition.
#
# The boot rule of docs/daemons/updated.md ("The boot-environment contract"),
# on RAUC's variables:
#   BOOT_ORDER   slots, first first (missing: "A B")
#   BOOT_A_LEFT  attempts left of slot A, decimal 0-99 (missing: 3)
#   BOOT_B_LEFT  attempts left of slot B, decimal 0-99 (missing: 3)
# 1. Take the first slot in BOOT_ORDER whose BOOT_<slot>_LEFT is above 0,
#    take one from it, save the environment, boot that slot.
# 2. If no slot in the order has attempts left, set the last slot of the
#    order to 2, save, boot it.
# 3. The kernel gets mamori.slot=<slot> and the slot's root, read-only.
# An order naming no slot (U-Boot cannot hold an empty one) boots A.
#
# From the board part: mamori_part_A, mamori_part_B (partition numbers on
# ${devtype} ${devnum}), mamori_root_A, mamori_root_B (root=), mamori_console
# (console=), mamori_fdtfile (a DTB in the slot's /boot, or empty: the device
# tree U-Boot was given, ${mamori_fdt_addr}).

test -n "${BOOT_ORDER}" || setenv BOOT_ORDER "A B"
test -n "${BOOT_A_LEFT}" || setenv BOOT_A_LEFT 3
test -n "${BOOT_B_LEFT}" || setenv BOOT_B_LEFT 3

setenv mamori_slot
setenv mamori_last
setenv mamori_left
for s in ${BOOT_ORDER}; do
	if test "${s}" = "A"; then
		setenv mamori_last A
		if test -z "${mamori_slot}" -a ${BOOT_A_LEFT} -gt 0; then
			setenv mamori_slot A
			setenv mamori_left ${BOOT_A_LEFT}
		fi
	elif test "${s}" = "B"; then
		setenv mamori_last B
		if test -z "${mamori_slot}" -a ${BOOT_B_LEFT} -gt 0; then
			setenv mamori_slot B
			setenv mamori_left ${BOOT_B_LEFT}
		fi
	fi
done

if test -n "${mamori_slot}"; then
	# One attempt less, counted in decimal (setexpr counts in hexadecimal,
	# which is wrong from 10 on).
	setenv mamori_new 0
	setenv mamori_prev 0
	for n in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30 31 32 33 34 35 36 37 38 39 40 41 42 43 44 45 46 47 48 49 50 51 52 53 54 55 56 57 58 59 60 61 62 63 64 65 66 67 68 69 70 71 72 73 74 75 76 77 78 79 80 81 82 83 84 85 86 87 88 89 90 91 92 93 94 95 96 97 98 99; do
		if test "${n}" = "${mamori_left}"; then
			setenv mamori_new ${mamori_prev}
		fi
		setenv mamori_prev ${n}
	done
	if test "${mamori_slot}" = "A"; then
		setenv BOOT_A_LEFT ${mamori_new}
	else
		setenv BOOT_B_LEFT ${mamori_new}
	fi
	echo "mamori: slot ${mamori_slot} (${mamori_new} attempts left after this one)"
elif test -n "${mamori_last}"; then
	setenv mamori_slot ${mamori_last}
	if test "${mamori_slot}" = "A"; then
		setenv BOOT_A_LEFT 2
	else
		setenv BOOT_B_LEFT 2
	fi
	echo "mamori: no slot has attempts left: the last in the order, ${mamori_slot}"
else
	setenv mamori_slot A
	echo "mamori: BOOT_ORDER names no slot: A"
fi

setenv mamori_new
setenv mamori_prev
setenv mamori_left
setenv mamori_last
saveenv

if test "${mamori_slot}" = "A"; then
	setenv mamori_part ${mamori_part_A}
	setenv mamori_root ${mamori_root_A}
else
	setenv mamori_part ${mamori_part_B}
	setenv mamori_root ${mamori_root_B}
fi

setenv bootargs "root=${mamori_root} rootfstype=squashfs ro rootwait ${mamori_console} mamori.slot=${mamori_slot}"

if load ${devtype} ${devnum}:${mamori_part} ${kernel_addr_r} /boot/Image; then
	if test -n "${mamori_fdtfile}"; then
		load ${devtype} ${devnum}:${mamori_part} ${fdt_addr_r} /boot/${mamori_fdtfile}
		setenv mamori_fdt_addr ${fdt_addr_r}
	fi
	booti ${kernel_addr_r} - ${mamori_fdt_addr}
fi

# The slot did not boot: start again; its attempt is spent, so the rule
# moves on to the next slot in time.
echo "mamori: slot ${mamori_slot} did not boot; resetting"
sleep 3
reset

# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# natk_kernels: every installed kernel we can both boot and build for,
# oldest first, restricted to NATK_KERNELS (space separated) if set.
# With NATK_KDIR (build tree) and NATK_VMLINUZ (image) set, as
# tests/check-debug.sh does for a kernel that is not installed, the kernels
# are exactly those of NATK_KERNELS, checked against those two paths.
natk_kernels() {
	local d k
	if [ -n "${NATK_KDIR:-}" ] && [ -n "${NATK_VMLINUZ:-}" ]; then
		for k in ${NATK_KERNELS:-}; do
			[ -e "$NATK_VMLINUZ" ] && [ -e "$NATK_KDIR/Makefile" ] && echo "$k"
		done
		return 0
	fi
	for d in /lib/modules/*; do
		k=${d##*/}
		[ -e "/boot/vmlinuz-$k" ] && [ -e "$d/build/Makefile" ] || continue
		if [ -n "${NATK_KERNELS:-}" ]; then
			case " $NATK_KERNELS " in *" $k "*) ;; *) continue ;; esac
		fi
		echo "$k"
	done | sort -V
}

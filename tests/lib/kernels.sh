# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
# natk_kernels: every installed kernel we can both boot and build for,
# oldest first, restricted to NATK_KERNELS (space separated) if set.
natk_kernels() {
	local d k
	for d in /lib/modules/*; do
		k=${d##*/}
		[ -e "/boot/vmlinuz-$k" ] && [ -e "$d/build/Makefile" ] || continue
		if [ -n "${NATK_KERNELS:-}" ]; then
			case " $NATK_KERNELS " in *" $k "*) ;; *) continue ;; esac
		fi
		echo "$k"
	done | sort -V
}

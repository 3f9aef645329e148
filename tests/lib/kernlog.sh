# SPDX-License-Identifier: GPL-2.0
# Shared between host and guest: what counts as a kernel problem in a log.
# shellcheck shell=bash

# Extended regex, matched against kernel log lines.
KERNEL_PROBLEM_RE='WARNING:|BUG:|Oops|KASAN|UBSAN|general protection|RCU stall|self-detected stall|rcu_.* detected stalls|soft lockup|hung_task|blocked for more than|refcount_t|list_add corruption|list_del corruption|kmemleak|Call Trace|Kernel panic|kernel BUG|stack-protector|double free|use-after-free|underflow;|saturated;|unregister_netdevice: waiting for'

# kernel_problems FILE: print "LINENO:PATTERN" for each distinct problem,
# one per pattern (the first occurrence). Lines matching the extended regex
# NATK_KERNEL_PROBLEM_IGNORE, if set, do not count (tests/check-debug.sh:
# kmemleak's own notices, since its leak reports are judged separately).
kernel_problems() {
	if [ -n "${NATK_KERNEL_PROBLEM_IGNORE:-}" ]; then
		[ -r "$1" ] || return 0
		awk -v re="$NATK_KERNEL_PROBLEM_IGNORE" '{ print ($0 ~ re) ? "" : $0 }' "$1" |
			grep -nEo "$KERNEL_PROBLEM_RE" | awk -F: '!seen[$2]++'
		return 0
	fi
	grep -nEo "$KERNEL_PROBLEM_RE" "$1" 2>/dev/null | awk -F: '!seen[$2]++'
}

# kernel_context FILE LINENO [BEFORE] [AFTER]: the console around a line.
kernel_context() {
	local f=$1 n=$2 b=${3:-5} a=${4:-25}
	local s=$((n - b))
	[ "$s" -lt 1 ] && s=1
	sed -n "${s},$((n + a))p" "$f"
}

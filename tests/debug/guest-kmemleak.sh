#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk debug-kernel lane, guest side: the last step of the scenario run
# (tests/vm/guest-run.sh runs it when NATK_KMEMLEAK_CHECK=1, which
# tests/check-debug.sh sets). Unloads natk, has kmemleak scan twice and
# FAILs if an unreferenced object mentions natk: a natk function or the
# natkctl command in its report, or an allocation backtrace frame that
# no longer resolves to a symbol, which on this kernel (everything else
# built in) can only be an address inside an unloaded module.
# Then the same check must catch a leak on purpose: the canary module
# tests/debug/leaktest, loaded with insmod (natk comes from modprobe),
# leaks one object and is unloaded.
# The reports are kept as kmemleak.txt and kmemleak-canary.txt on the
# results share.
REPO=${NATK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/netns.sh"
KL=/sys/kernel/debug/kmemleak
dir=$(dirname "$NATK_RESULTS")
canary=$REPO/build/$(uname -r)/leaktest/natk_leaktest.ko

# kmemleak_scan FILE: scan twice (objects freed through RCU or workqueues
# right after rmmod, and ones younger than kmemleak's minimum age of 5 s,
# only settle on the second scan) and save the report to FILE.
kmemleak_scan() {
	{ sleep 5; echo scan > "$KL"; sleep 5; echo scan > "$KL"; } 2>/dev/null || return 1
	cat "$KL" > "$1" 2>&1
}

# kmemleak_unloaded FILE: print the reports in FILE that mention natk or
# hold a backtrace frame that is a bare address (an unloaded module).
kmemleak_unloaded() {
	awk '/^unreferenced object/ { if (hit) printf "%s", rec; rec = ""; hit = 0 }
		{ rec = rec $0 "\n" }
		/natk/ || /^ +0x[0-9a-f]+$/ { hit = 1 }
		END { if (hit) printf "%s", rec }' "$1"
}

echo "=== scenario kmemleak ($(date +%T))"
t0=$(date +%s)
rc=0
if natk_loaded && ! rmmod natk; then
	fail kmemleak-rmmod "rmmod natk failed: $(lsmod | grep '^natk')"
	rc=1
fi
mountpoint -q /sys/kernel/debug || mount -t debugfs debugfs /sys/kernel/debug 2>/dev/null
if [ ! -e "$KL" ]; then
	fail kmemleak-natk "no $KL: kernel without CONFIG_DEBUG_KMEMLEAK, or debugfs not mounted"
	echo "=== end kmemleak rc=1 $(( $(date +%s) - t0 ))s"
	exit 1
fi
if ! kmemleak_scan "$dir/kmemleak.txt"; then
	# Writes fail with EPERM/EBUSY once kmemleak has disabled itself.
	fail kmemleak-natk "kmemleak cannot scan (disabled?): $(dmesg | grep -i kmemleak | tail -n 3)"
	echo "=== end kmemleak rc=1 $(( $(date +%s) - t0 ))s"
	exit 1
fi
total=$(grep -c '^unreferenced object' "$dir/kmemleak.txt")
natk=$(kmemleak_unloaded "$dir/kmemleak.txt")
n=$(printf '%s' "$natk" | grep -c '^unreferenced object')
echo "  # kmemleak: $total unreferenced object(s) in all, $n of them natk's (report: kmemleak.txt)"
if [ "$n" -gt 0 ]; then
	fail kmemleak-natk "$n unreferenced object(s) allocated by natk"
	printf '%s\n' "$natk" | head -n 200 | sed 's/^/  | /'
	rc=1
else
	pass kmemleak-natk
fi

# The canary: the check above must be able to fail.
if [ ! -r "$canary" ]; then
	fail kmemleak-catches-leak "no $canary (tests/check-debug.sh builds it)"
	rc=1
elif ! insmod "$canary" || ! rmmod natk_leaktest; then
	fail kmemleak-catches-leak "could not load and unload $canary"
	rc=1
elif ! kmemleak_scan "$dir/kmemleak-canary.txt"; then
	fail kmemleak-catches-leak "kmemleak cannot scan after the canary"
	rc=1
elif kmemleak_unloaded "$dir/kmemleak-canary.txt" | grep -q '^ *comm "insmod"'; then
	# (natk itself is loaded by modprobe: only the canary comes from insmod)
	pass kmemleak-catches-leak
else
	fail kmemleak-catches-leak "the canary's leak (allocated by insmod) was not reported as an unloaded module's"
	rc=1
fi
echo "=== end kmemleak rc=$rc $(( $(date +%s) - t0 ))s"
exit $rc

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk debug-kernel lane, guest side: the last step of the scenario run
# (tests/vm/guest-run.sh runs it when NATK_KMEMLEAK_CHECK=1, which
# tests/check-debug.sh sets). Unloads natk, has kmemleak scan twice and
# FAILs if an unreferenced object mentions natk: a natk function or the
# natkctl command in its report, or an allocation backtrace frame that
# no longer resolves to a symbol, which on this kernel (everything else
# built in) can only be an address inside an unloaded natk.ko.
# The whole report is kept as kmemleak.txt on the results share.
REPO=${NATK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/netns.sh"
KL=/sys/kernel/debug/kmemleak
out=$(dirname "$NATK_RESULTS")/kmemleak.txt

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
	rc=1
elif ! { sleep 5; echo scan > "$KL"; } 2>/dev/null; then
	# Writes fail with EPERM/EBUSY once kmemleak has disabled itself.
	fail kmemleak-natk "kmemleak cannot scan (disabled?): $(dmesg | grep -i kmemleak | tail -n 3)"
	rc=1
else
	# Objects freed through RCU or workqueues right after rmmod, and ones
	# younger than kmemleak's minimum age, only settle on the second scan.
	sleep 5
	echo scan > "$KL"
	cat "$KL" > "$out" 2>&1
	total=$(grep -c '^unreferenced object' "$out")
	# One report per "unreferenced object" paragraph; keep those that
	# mention natk or hold a frame that is a bare address.
	natk=$(awk '/^unreferenced object/ { if (hit) printf "%s", rec; rec = ""; hit = 0 }
		{ rec = rec $0 "\n" }
		/natk/ || /^ +0x[0-9a-f]+$/ { hit = 1 }
		END { if (hit) printf "%s", rec }' "$out")
	n=$(printf '%s' "$natk" | grep -c '^unreferenced object')
	echo "  # kmemleak: $total unreferenced object(s) in all, $n of them natk's (report: kmemleak.txt)"
	if [ "$n" -gt 0 ]; then
		fail kmemleak-natk "$n unreferenced object(s) allocated by natk"
		printf '%s\n' "$natk" | head -n 200 | sed 's/^/  | /'
		rc=1
	else
		pass kmemleak-natk
	fi
fi
echo "=== end kmemleak rc=$rc $(( $(date +%s) - t0 ))s"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: boot a VM with the newest kernel, put a private subnet behind
# natk and show traffic crossing it plus natkctl status/stats/flows.
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1
. "$HERE/lib/kernels.sh"

[ "${NATK_SKIP_DEPS:-0}" = 1 ] || "$HERE/deps.sh" || exit 1
KVER=$(natk_kernels | tail -n1)
[ -n "$KVER" ] || { echo "demo: no bootable kernel with headers" >&2; exit 1; }
if [ "${NATK_SKIP_BUILD:-0}" != 1 ]; then
	echo "demo: building natk.ko for $KVER and natkctl ..."
	make --no-print-directory module KVER="$KVER" > /dev/null || { echo "demo: module build failed" >&2; exit 1; }
	make --no-print-directory natkctl > /dev/null || { echo "demo: natkctl build failed" >&2; exit 1; }
fi

res=$(mktemp -d /tmp/natk-demo.XXXXXX)
log=${NATK_LOG_DIR:-$REPO/build/test-logs}/demo-console.log
trap 'rm -rf "$res"' EXIT
echo "demo: booting $KVER in QEMU (TCG, ~10-20 s) ..."
# Show the guest's own output live; keep kernel chatter in the log file.
"$HERE/vm/boot.sh" "$KVER" "$res" "$log" demo &
vm=$!
shown=0
while kill -0 "$vm" 2>/dev/null; do
	sleep 1
	n=$(cat "$res/guest.log" 2>/dev/null | wc -l)
	if [ "$n" -gt "$shown" ]; then
		sed -n "$((shown + 1)),${n}p" "$res/guest.log"
		shown=$n
	fi
done
wait "$vm"
n=$(cat "$res/guest.log" 2>/dev/null | wc -l)
[ "$n" -gt "$shown" ] && sed -n "$((shown + 1)),${n}p" "$res/guest.log"
if [ ! -e "$res/done" ]; then
	echo "demo: the VM did not finish; console log: $log" >&2
	tail -n 30 "$log" >&2
	exit 1
fi
if grep -q '^FAIL' "$res/results.txt" 2>/dev/null; then
	echo "demo: something did not work (see above); console log: $log"
	exit 1
fi
echo "demo: done (console log: $log)"

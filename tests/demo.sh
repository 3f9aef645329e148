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
# The demo takes a minute or two under TCG; a VM that has not powered off
# after 10 minutes is stuck (boot.sh stops it).
export NATK_VM_TIMEOUT=${NATK_VM_TIMEOUT:-600}
# Both vCPUs on one QEMU thread: the demo tests no race, and this way it
# cannot die of TCG's static-key patching race (see boot.sh); on a busy
# 2-CPU host it is no slower.
export NATK_VM_TCG=${NATK_VM_TCG-thread=single}

failed() { # WHY: the last line says the demo failed, status 1
	echo "demo: FAILED: $*" >&2
	exit 1
}

# boot: one VM, the guest's own output shown live (kernel chatter stays in
# the console log); sets rc to boot.sh's status.
boot() {
	local vm n shown=0
	"$HERE/vm/boot.sh" "$KVER" "$res" "$log" demo &
	vm=$!
	while kill -0 "$vm" 2>/dev/null; do
		sleep 1
		n=$(cat "$res/guest.log" 2>/dev/null | wc -l)
		if [ "$n" -gt "$shown" ]; then
			sed -n "$((shown + 1)),${n}p" "$res/guest.log"
			shown=$n
		fi
	done
	wait "$vm"
	rc=$?
	n=$(cat "$res/guest.log" 2>/dev/null | wc -l)
	[ "$n" -gt "$shown" ] && sed -n "$((shown + 1)),${n}p" "$res/guest.log"
	return 0
}

echo "demo: booting $KVER in QEMU (TCG; the whole demo takes a minute or two) ..."
boot
# A guest that hung while booting, before the demo started (boot.sh status
# 126), ran nothing of natk: boot once more.
if [ "$rc" -eq 126 ]; then
	mv "$log" "${log%.log}-boot-hang.log"
	mv "${log%.log}-hang.txt" "${log%.log}-boot-hang-regs.txt" 2>/dev/null
	rm -rf "${res:?}"/*
	echo "demo: the VM hung while booting (console log: ${log%.log}-boot-hang.log); booting again ..."
	boot
fi
if [ ! -e "$res/done" ]; then
	tail -n 30 "$log" >&2
	case $rc in
	124) failed "the VM did not power off within ${NATK_VM_TIMEOUT}s; console log: $log" ;;
	126) failed "the VM hung while booting, twice; console log: $log" ;;
	*) failed "the VM did not finish (boot.sh status $rc); console log: $log" ;;
	esac
fi
if grep -q '^FAIL' "$res/results.txt" 2>/dev/null; then
	failed "$(grep '^FAIL' "$res/results.txt" | sed 's/^FAIL //' | paste -sd ';' | sed 's/;/; /g') (see above; console log: $log)"
fi
job_rc=$(cat "$res/job-rc" 2>/dev/null)
[ "$job_rc" = 0 ] || failed "the demo's script in the VM ended with status ${job_rc:-unknown} (see above; console log: $log)"
echo "demo: console log: $log"
echo "demo: done"

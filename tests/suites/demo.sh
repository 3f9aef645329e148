#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host suite for make check: make demo must end on its own. Once it
# printed every step and then hung until its 45-minute timeout (a server
# left running in the guest held its output open), and nothing noticed.
# Runs tests/demo.sh (no deps, no build: make check built natk.ko) on one
# kernel, the newest of those make check tests, one VM boot, about two
# minutes on TCG:
#   PASS demo           it ended with status 0 and "demo: done"
#   FAIL demo: why      it failed, hung or took longer than the limit
# NATK_DEMO_TIMEOUT (seconds, default 300): for the VM (boot.sh stops it
# and says why); the whole demo, a second boot after a boot hang included,
# gets twice that plus a minute. NATK_SKIP_DEMO=1: "SKIP demo" (quick
# runs; the summary counts it as skipped).
set -uo pipefail

if [ "${NATK_SKIP_DEMO:-0}" = 1 ]; then
	echo "SKIP demo: NATK_SKIP_DEMO=1"
	exit 0
fi
echo "PLAN demo"

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/.." && pwd)
. "$HERE/lib/kernels.sh"
LOGDIR=${NATK_LOG_DIR:-$REPO/build/test-logs}
mkdir -p "$LOGDIR"
OUT=$LOGDIR/demo-run.log
VM_LIMIT=${NATK_DEMO_TIMEOUT:-300}
LIMIT=$(( 2 * VM_LIMIT + 60 ))

KVER=$(natk_kernels | tail -n 1)
if [ -z "$KVER" ]; then
	echo "FAIL demo: no kernel to boot"
	exit 0
fi

t0=$(date +%s)
NATK_SKIP_DEPS=1 NATK_SKIP_BUILD=1 NATK_VM_TIMEOUT=$VM_LIMIT \
	timeout -k 10 "$LIMIT" "$HERE/demo.sh" > "$OUT" 2>&1 < /dev/null
rc=$?
t=$(( $(date +%s) - t0 ))
last=$(tr -d '\r' < "$OUT" | grep -a . | tail -n 1)
echo "demo: $KVER, status $rc after ${t}s, output in $OUT"
if [ "$rc" -eq 0 ] && [ "$last" = "demo: done" ]; then
	echo "PASS demo"
	exit 0
fi
tail -n 25 "$OUT" | sed 's/^/  | /'
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "FAIL demo: did not end within ${LIMIT}s (log $OUT)"
elif [ "$rc" -eq 0 ]; then
	echo "FAIL demo: status 0 but the last line is '$last', not 'demo: done' (log $OUT)"
else
	echo "FAIL demo: status $rc: $(echo "$last" | cut -c1-200) (log $OUT)"
fi
exit 0

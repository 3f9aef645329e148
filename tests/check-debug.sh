#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-debug: the scenario suite on natk's debug kernel (KASAN,
# KFENCE, UBSAN, lockdep, DEBUG_OBJECTS, kmemleak, ...; docs/debug-kernel.md).
# Builds the kernel if needed (tests/debug/build-kernel.sh, cached in
# /var/cache/natk/debug), then runs tests/check.sh with that kernel as its
# only kernel: natk.ko is built against the debug build tree, the VM boots
# with panic_on_warn=1 kmemleak=on, and after the last scenario the guest
# unloads natk and FAILs on any kmemleak report that mentions natk; then a
# canary module that leaks on purpose must be caught (kmemleak-catches-leak).
# natk.ko is the NATK_RACE=y build (build/<kver>-race/natk.ko): every race
# window of the datapath (natk_race(), docs/design.md) is widened by a
# delay, so that the stress scenarios (45-stress, 48-dump-resize,
# 49-race-stress) land inside them under KASAN and lockdep. NATK_RACE=n
# tests the normal build instead.
# Ends with "N passed, N failed" like make check; exit status 0 iff none
# failed.
#
# Environment: everything tests/check.sh takes (NATK_TESTS=GLOB for a
# subset, NATK_LOG_DIR, ...), except that NATK_KERNELS is the debug kernel.
# Defaults differ: NATK_SCENARIO_TIMEOUT 1200, NATK_VM_TIMEOUT 10800 and
# NATK_TIME_SCALE 4 (4x: KASAN under TCG), NATK_STRESS_SECONDS 300,
# NATK_PKTFUZZ_FRAMES 100000 (50-pktfuzz), NATK_RESIZE_DST 100 and
# NATK_RESIZE_SECONDS 60 (48-dump-resize), NATK_VM_MEM 3G, NATK_SKIP_SUITES=1 and
# NATK_SKIP_CHECKPATCH=1 (nothing kernel-specific there; make check runs
# them), NATK_LOG_DIR build/test-logs-debug. NATK_RACE (y): the race build
# or (n) the normal one; NATK_KO follows it.
# NATK_DEBUG_CACHE, NATK_DEBUG_JOBS: see tests/debug/build-kernel.sh.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)

if [ "${NATK_SKIP_DEPS:-0}" != 1 ]; then
	echo "==== dependencies"
	"$HERE/deps.sh" || echo "check-debug: tests/deps.sh failed; trying anyway" >&2
fi
export NATK_SKIP_DEPS=1

echo "==== debug kernel (tests/debug/build-kernel.sh)"
t0=$(date +%s)
if ! env=$("$HERE/debug/build-kernel.sh"); then
	echo "FAIL debug-kernel: tests/debug/build-kernel.sh failed"
	echo "0 passed, 1 failed"
	exit 1
fi
# shellcheck disable=SC1090
. "$env"
echo "==== debug kernel $NATK_DEBUG_KVER ready after $(( $(date +%s) - t0 ))s" \
	"(last build took $(cat "$(dirname "$env")/build-seconds" 2>/dev/null || echo '?')s)"

# The kmemleak check's canary (tests/debug/leaktest): a module that leaks on
# purpose, so the check shows it can fail. Built outside the source tree.
lt=$REPO/build/$NATK_DEBUG_KVER/leaktest
rm -rf "$lt" && mkdir -p "$lt" && cp "$HERE"/debug/leaktest/{Kbuild,natk_leaktest.c} "$lt"/
if ! make -C "$NATK_KDIR" M="$lt" modules > "$lt/build.log" 2>&1; then
	echo "check-debug: the kmemleak canary did not build ($lt/build.log);" \
		"kmemleak-catches-leak will fail" >&2
fi

export NATK_KERNELS=$NATK_DEBUG_KVER NATK_KDIR NATK_VMLINUZ NATK_MODDIR
# The race build: check.sh's make module sees NATK_RACE=y in the
# environment and builds build/<kver>-race/natk.ko, which the VM loads
# (NATK_KO). Its windows (module parameters race_delay_us, 200, and
# race_one_in, 4) can be changed on the kernel command line:
# NATK_CMDLINE_EXTRA="natk.race_delay_us=500 natk.race_one_in=2".
export NATK_RACE=${NATK_RACE:-y}
if [ "$NATK_RACE" = y ]; then
	export NATK_KO=$REPO/build/$NATK_DEBUG_KVER-race/natk.ko
fi
# The hung-task and soft-lockup detectors get the same 4x as the timeouts
# below: KASAN under TCG is that much slower, not stuck.
export NATK_CMDLINE_EXTRA="panic_on_warn=1 kmemleak=on sysctl.kernel.hung_task_timeout_secs=480 watchdog_thresh=40 ${NATK_CMDLINE_EXTRA:-}"
export NATK_KMEMLEAK_CHECK=1
# Not problems: kmemleak's own notices (its reports are judged by
# tests/debug/guest-kmemleak.sh: natk's leaks only), the command line
# (kmemleak=on, hung_task_...) and DEBUG_OBJECTS_RCU_HEAD's boot banner.
NATK_KERNEL_PROBLEM_IGNORE='kmemleak: (Kernel memory leak detector initialized|Automatic memory scanning thread (started|ended)|[0-9]+ new suspected memory leaks)'
NATK_KERNEL_PROBLEM_IGNORE+='|[Cc]ommand line: |RCU callback double-/use-after-free debug is enabled'
export NATK_KERNEL_PROBLEM_IGNORE
# Several minutes of concurrent stress (scenarios 45 and 49) on this
# kernel: 5, 1 and 0.5 under make check.
export NATK_STRESS_SECONDS=${NATK_STRESS_SECONDS:-300}
# 50-pktfuzz throws 100,000 frames at natk's live flows (30,000 under make
# check), so KASAN sees every translate and ICMP-rewrite path many times.
export NATK_PKTFUZZ_FRAMES=${NATK_PKTFUZZ_FRAMES:-100000}
export NATK_SCENARIO_TIMEOUT=${NATK_SCENARIO_TIMEOUT:-1200}
# 48-dump-resize grows the table to 5,000 flows over 60 s instead of 20,000
# over 20 s: a KASAN dump of 20,000 flows takes 20-50 s, and the scenario
# needs whole dumps inside each growth phase. 5,000 flows still take the
# table (minimum 4 buckets, doubling at 75% load) through 11 resizes.
export NATK_RESIZE_DST=${NATK_RESIZE_DST:-100}
export NATK_RESIZE_SECONDS=${NATK_RESIZE_SECONDS:-60}
# Every poll deadline inside the scenarios (tests/lib/netns.sh) stretches
# by the same factor; what a scenario asserts does not change.
export NATK_TIME_SCALE=${NATK_TIME_SCALE:-4}
export NATK_VM_TIMEOUT=${NATK_VM_TIMEOUT:-10800}
export NATK_VM_MEM=${NATK_VM_MEM:-3G}
export NATK_SKIP_SUITES=${NATK_SKIP_SUITES:-1}
export NATK_SKIP_CHECKPATCH=${NATK_SKIP_CHECKPATCH:-1}
export NATK_LOG_DIR=${NATK_LOG_DIR:-$REPO/build/test-logs-debug}
exec "$HERE/check.sh"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: natk against plain forwarding, nf_conntrack masquerade and the
# nftables flowtable, in one VM boot (tests/bench/guest.sh does the work).
# A benchmark reports; it never fails a build (make check does not run it).
#
# Writes bench/results/<date>-<kernel>.{md,json,svg} and latest.{md,json,svg};
# tests/bench/readme.py then copies the latest table into README.md.
#
# Environment:
#   NATK_BENCH_KERNEL=K      kernel release to boot (default: newest installed)
#   NATK_BENCH_ICOUNT=0      run TCG without -icount (wall-clock guest time)
#   NATK_BENCH_ICOUNT_SHIFT  icount shift (default 0: 1 ns per instruction)
#   NATK_VM_MEM, NATK_VM_SMP VM size (default 4G, 1 vCPU)
#   NATK_VM_CPU              QEMU CPU model (default max, as every recorded run)
#   BENCH_RUNS=5             interleaved runs (a b c d, a b c d, ...)
#   BENCH_PPS_COUNT=50000    packets per single-flow measurement
#   BENCH_NEWFLOWS=20000     flows per new-flow measurement
#   BENCH_SIZES="1000 100000 1000000"  preloaded table sizes
#   BENCH_LOAD_RUNS          measurements per preloaded size (default BENCH_RUNS)
#   BENCH_LOAD_COUNT=20000   packets per such measurement
#   BENCH_IPERF_TIME=1       seconds (guest time) per iperf3 run
#   BENCH_VARIANTS="a b c d" BENCH_SKIP="newflows iperf load"  (debugging)
#   BENCH_FP_MODE=auto       natkctl fast-path mode of variant e (on: what
#                            the per-packet hook check in auto costs)
#   BENCH_PHASES="basic load teardown"  phases to run (basic: one flow, new
#                            flows, iperf3; load: preloaded tables; teardown:
#                            netns deletion and rmmod with a full table), e.g.
#                            BENCH_PHASES=teardown BENCH_VARIANTS="b e" alone
#                            smp, run alone on 2 vCPUs without icount:
#                            NATK_VM_SMP=2 NATK_VM_TCG= NATK_BENCH_ICOUNT=0
#                            NATK_VM_CPU=Nehalem BENCH_PHASES=smp
#                            BENCH_VARIANTS="a c e" (does a second CPU add
#                            throughput? noisy: a range; NATK_VM_TCG= gives
#                            each vCPU its own host thread); kept as
#                            latest-smp.md, which readme.py adds to README;
#                            profile, run alone: BENCH_PHASES=profile
#                            BENCH_VARIANTS=e (where natk's time goes, per
#                            function, from the function_graph tracer; kept
#                            as latest-profile.md)
#                            insns, run alone: BENCH_PHASES=insns
#                            BENCH_VARIANTS="a d e" (every instruction the
#                            guest kernel runs, by function, for one new-flow
#                            run and one one-flow run of each variant: a QEMU
#                            plugin, tests/bench/insnprof.c, built here with
#                            gcc; report tests/bench/insns.py, kept as
#                            latest-insns.md; exact, so one run suffices)
#   BENCH_FLOWS_HINT=65535   natk.flows_hint in the guest (tables sized for
#                            that many flows from a netns's start, as
#                            nf_conntrack's hashsize 1048576; 0: grow)
#   BENCH_PROFILE_COUNT=5000 packets per profiled run; BENCH_PROFILE_FNS
#                            the functions traced (tests/bench/guest.sh)
#   BENCH_TEARDOWN_SIZE=1000000  flows in the table at teardown
#   BENCH_TEARDOWN_VARIANTS="e b"  natk (d or e) and nf_conntrack (b or c)
#   BENCH_TEARDOWN_LIMIT=600  guest seconds a teardown may take at most
#   BENCH_OUT=DIR            results directory (default bench/results)
#   NATK_SKIP_DEPS=1, NATK_SKIP_BUILD=1 as for make check
# Read whole before running (the file may be edited during a long run).
{
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1
. "$HERE/lib/kernels.sh"

[ "${NATK_SKIP_DEPS:-0}" = 1 ] || "$HERE/deps.sh" || exit 1
KVER=${NATK_BENCH_KERNEL:-$(natk_kernels | tail -n1)}
[ -n "$KVER" ] && [ -e "/boot/vmlinuz-$KVER" ] || { echo "bench: no bootable kernel '$KVER'" >&2; exit 1; }
if [ "${NATK_SKIP_BUILD:-0}" != 1 ]; then
	echo "bench: building natk.ko for $KVER and natkctl ..."
	make --no-print-directory module KVER="$KVER" > /dev/null || { echo "bench: module build failed" >&2; exit 1; }
	make --no-print-directory natkctl > /dev/null || { echo "bench: natkctl build failed" >&2; exit 1; }
fi

OUT=${BENCH_OUT:-$REPO/bench/results}
mkdir -p "$OUT"
res=$(mktemp -d /tmp/natk-bench.XXXXXX)
trap 'rm -rf "$res"' EXIT
# (boot.sh snapshots build/$KVER/natk.ko into the guest's module index,
# so a rebuild by someone else meanwhile does not change what is measured.)

{
	for var in RUNS PPS_COUNT LOAD_COUNT NEWFLOWS SIZES LOAD_RUNS IPERF_TIME VARIANTS SKIP \
		PHASES TEARDOWN_SIZE TEARDOWN_VARIANTS TEARDOWN_LIMIT FP_MODE PROFILE_COUNT PROFILE_FNS FLOWS_HINT; do
		eval "val=\${BENCH_$var:-}"
		# shellcheck disable=SC2154
		[ -n "$val" ] && printf 'BENCH_%s=%q\n' "$var" "$val"
	done
} > "$res/bench.env"

export NATK_VM_MEM=${NATK_VM_MEM:-4G}
export NATK_VM_SMP=${NATK_VM_SMP:-1}
export NATK_VM_TIMEOUT=${NATK_VM_TIMEOUT:-3600}
# Every recorded run used -cpu max (one vCPU, -icount: single-threaded TCG,
# not the two-vCPU boot hang that made boot.sh's default Nehalem); another
# model runs other code paths (memcpy, checksums), so keep max to stay
# comparable with bench/results/.
export NATK_VM_CPU=${NATK_VM_CPU:-max}
ICOUNT="-icount shift=${NATK_BENCH_ICOUNT_SHIFT:-0},sleep=off"
[ "${NATK_BENCH_ICOUNT:-1}" = 0 ] && ICOUNT=
export NATK_QEMU_EXTRA="${NATK_QEMU_EXTRA:-} $ICOUNT"

# Phase insns: the plugin counts, the marker program tells it when to dump
# (at a fixed address: the guest runs without user-space ASLR).
if [ "${BENCH_PHASES:-}" = insns ]; then
	gcc -O2 -shared -fPIC -fvisibility=hidden -o "$res/insnprof.so" "$HERE/bench/insnprof.c" &&
		gcc -O1 -static -no-pie -Wl,-Ttext-segment=0x13370000 -o "$res/insn-marker" "$HERE/bench/insnmark.c" ||
		{ echo "bench: cannot build the insns plugin (gcc, static libc)" >&2; exit 1; }
	mark=$(nm "$res/insn-marker" | awk '$3 == "natk_insn_marker" { print "0x" $1 }')
	NATK_QEMU_EXTRA+=" -plugin $res/insnprof.so,arg=mark=$mark,arg=out=$res/snap"
	echo "BENCH_INSN_MARKER=insn-marker" >> "$res/bench.env"
fi

log=${NATK_LOG_DIR:-$REPO/build/test-logs}/bench-$KVER-console.log
load0=$(cut -d' ' -f1-3 /proc/loadavg)
t0=$(date +%s)
echo "bench: booting $KVER (TCG${ICOUNT:+, $ICOUNT}, $NATK_VM_SMP vCPU, $NATK_VM_MEM), host load $load0"
"$HERE/vm/boot.sh" "$KVER" "$res" "$log" tests/bench/guest.sh &
vm=$!
shown=0
while kill -0 "$vm" 2> /dev/null; do
	sleep 2
	n=$(cat "$res/guest.log" 2> /dev/null | wc -l)
	if [ "$n" -gt "$shown" ]; then
		sed -n "$((shown + 1)),${n}p" "$res/guest.log"
		shown=$n
	fi
done
wait "$vm"
n=$(cat "$res/guest.log" 2> /dev/null | wc -l)
[ "$n" -gt "$shown" ] && sed -n "$((shown + 1)),${n}p" "$res/guest.log"
t1=$(date +%s)
load1=$(cut -d' ' -f1-3 /proc/loadavg)
if [ "${BENCH_PHASES:-}" = insns ]; then
	[ -s "$res/insn-windows" ] || { echo "bench: the VM measured nothing; console log: $log" >&2; exit 1; }
	python3 "$HERE/bench/insns.py" "$res" "$OUT/latest-insns.md" || exit 1
	echo "bench: $OUT/latest-insns.md"
	exit 0
fi
if [ ! -s "$res/raw.jsonl" ]; then
	echo "bench: the VM measured nothing; console log: $log" >&2
	tail -n 30 "$log" >&2
	exit 1
fi
[ -e "$res/done" ] || echo "bench: the VM did not finish (partial results); console log: $log" >&2

name=$(date -u +%Y-%m-%d-%H%M)-$KVER
# boot.sh runs every vCPU on one QEMU thread unless NATK_VM_TCG says otherwise
TCG_THREADS=${NATK_VM_TCG-thread=single}
TCG_THREADS=${TCG_THREADS:-a thread per vCPU}
python3 "$HERE/bench/report.py" "$res/raw.jsonl" "$OUT/$name" \
	--kernel "$KVER" --wall $((t1 - t0)) --qemu "TCG ${ICOUNT:-no icount}, $TCG_THREADS, -cpu ${NATK_VM_CPU}, ${NATK_VM_SMP} vCPU, ${NATK_VM_MEM}" \
	--host "$(nproc) CPU $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'), load average $load0 at start, $load1 at end" ||
	{ echo "bench: report failed" >&2; exit 1; }
gnuplot "$OUT/$name.gp" > /dev/null 2>&1 || echo "bench: gnuplot failed (no plot)" >&2
# A run of phase smp or profile alone is kept beside the main one.
latest=latest
[ "${BENCH_PHASES:-}" = smp ] && latest=latest-smp
[ "${BENCH_PHASES:-}" = profile ] && latest=latest-profile
for ext in md json svg; do
	[ -e "$OUT/$name.$ext" ] && cp "$OUT/$name.$ext" "$OUT/$latest.$ext"
done
[ -e "$OUT/$latest.md" ] && sed -i "s/$name\.svg/$latest.svg/g" "$OUT/$latest.md"
rm -f "$OUT/$name.gp" "$OUT/$name.dat"
cat "$OUT/$name.md"
echo "bench: $OUT/$name.md (.json, .svg), $((t1 - t0)) s"
exit 0
}

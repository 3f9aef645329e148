#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot one natk test VM and wait for it to power off.
#
#   tests/vm/boot.sh KVER RESULTS_DIR CONSOLE_LOG [MODE]
#
# KVER          kernel release (/boot/vmlinuz-KVER, /lib/modules/KVER)
# RESULTS_DIR   host directory shared read-write with the guest (mount tag
#               "results"); the job description job.env is written there and
#               the guest leaves results.txt, guest.log, dmesg.txt, done.
# CONSOLE_LOG   the serial console is written here
# MODE          check (default: run scenarios), demo, or a script path
#               relative to the repo to run as the guest job
#
# Environment: NATK_VM_TIMEOUT (seconds, default 4500), NATK_TESTS,
# NATK_VM_MEM (default 2G), NATK_VM_SMP (default 2), NATK_KVM=1 (use KVM
# if /dev/kvm exists; TCG otherwise), NATK_CONSOLE=1 (also copy the console
# to stdout), NATK_CMDLINE_EXTRA, NATK_QEMU_EXTRA (more QEMU arguments,
# split on spaces, e.g. "-icount shift=0,sleep=off" for tests/bench.sh).
# For a kernel that is not installed (tests/check-debug.sh): NATK_VMLINUZ
# (image instead of /boot/vmlinuz-KVER), NATK_MODDIR (instead of
# /lib/modules/KVER; the guest gets it there), and for the guest's job
# NATK_KMEMLEAK_CHECK=1, NATK_KERNEL_PROBLEM_IGNORE (tests/lib/kernlog.sh) and
# NATK_STRESS_SECONDS (scenario 45), NATK_PKTFUZZ_FRAMES and NATK_PKTFUZZ_SEED
# (50-pktfuzz), NATK_TIME_SCALE (poll deadlines, tests/lib/netns.sh),
# NATK_RESIZE_SRC, NATK_RESIZE_DST and NATK_RESIZE_SECONDS (48-dump-resize).
#
# NATK_VM_CPU: QEMU's CPU model under TCG (default Nehalem, see below).
# NATK_VM_TCG: options for -accel tcg, e.g. thread=single (all vCPUs on one
# host thread; see below; default: QEMU's, one thread per vCPU).
#
# NATK_VM_STALL (seconds, check mode; default NATK_SCENARIO_TIMEOUT + 300,
# 0 turns it off): stop a guest that shows no progress for that long.
# NATK_VM_BOOT_STALL (default 60) and NATK_VM_BOOT_LIMIT (default 300; 0
# turns both off), every mode: stop a guest that has not started its job
# (RESULTS_DIR/started, written by guest-init.sh before it runs the job)
# and shows no progress for BOOT_STALL seconds, or has not started it
# BOOT_LIMIT seconds after QEMU started: it hung while booting, before
# anything of natk ran (callers may retry once).
# The exit status is only about running QEMU (0 when the VM ran and powered
# off, 124 on timeout, 125 when hung, 126 when hung before the job
# started); pass/fail comes from RESULTS_DIR.
set -uo pipefail
# The whole script is one compound command, read before it runs, so that
# editing this file while it runs cannot derail it.
{

KVER=${1:?usage: boot.sh KVER RESULTS_DIR CONSOLE_LOG [MODE]}
RES=${2:?results dir}
LOG=${3:?console log}
MODE=${4:-check}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
TIMEOUT=${NATK_VM_TIMEOUT:-4500}

KERNEL=${NATK_VMLINUZ:-/boot/vmlinuz-$KVER}
[ -r "$KERNEL" ] || { echo "boot: no $KERNEL" >&2; exit 2; }
INITRD=$("$HERE/mkinitramfs.sh" "$KVER") || { echo "boot: initramfs for $KVER failed" >&2; exit 2; }

# Module index with natk.ko for the guest (see modindex.sh).
KO=${NATK_KO:-$REPO/build/$KVER/natk.ko}
MODINDEX=
if [ -r "$KO" ]; then
	MODINDEX=$("$HERE/modindex.sh" "$KVER" "$KO") || MODINDEX=
fi

mkdir -p "$RES" "$(dirname "$LOG")"
rm -f "$RES/done" "$RES/results.txt" "$RES/started" "$RES/job-rc"
{
	printf 'NATK_MODE=%q\n' "$MODE"
	printf 'NATK_REPO=%q\n' "$REPO"
	printf 'NATK_TESTS=%q\n' "${NATK_TESTS:-*}"
	printf 'NATK_SCENARIO_TIMEOUT=%q\n' "${NATK_SCENARIO_TIMEOUT:-300}"
	printf 'CI=%q\n' "${CI:-}"
	[ -n "$MODINDEX" ] && printf 'NATK_MODINDEX=%q\n' "$MODINDEX"
	[ -n "${NATK_MODDIR:-}" ] && printf 'NATK_GUEST_MODDIR=%q\n' "$NATK_MODDIR"
	# Optional settings the guest side reads (guest-init.sh exports them).
	for v in NATK_KO NATKCTL NATK_KMEMLEAK_CHECK NATK_KERNEL_PROBLEM_IGNORE NATK_STRESS_SECONDS NATK_PKTFUZZ_FRAMES NATK_PKTFUZZ_SEED NATK_FUZZ_SEED NATK_FUZZ_COUNT NATK_TIME_SCALE NATK_RESIZE_SRC NATK_RESIZE_DST NATK_RESIZE_SECONDS NATK_FAST_PATH; do
		[ -n "${!v:-}" ] && printf '%s=%q\n' "$v" "${!v}"
	done
} > "$RES/job.env"

# Not "-cpu max": with it and two vCPUs, a 6.12 guest once froze 4.7 s into
# boot (CPU0 idle in HLT, CPU1 spinning, console ending at "sched_clock:
# Marking stable"), while about two dozen boots with QEMU's default CPU
# model never hung. Nehalem is x86-64-v2 (SSSE3, SSE4.1/4.2, POPCNT; no
# AVX, x2APIC or TSC-deadline timer); Debian's kernels and userland need
# only x86-64-v1.
# The CPU model is not all of it: with one host thread per vCPU (QEMU's
# default), a 6.12 guest that flips a static key while the other vCPU runs
# the code it patches dies of "Oops: int3" within seconds (SO_TIMESTAMP
# sockets opened and closed on one vCPU, datagrams through a veth on the
# other), with qemu64, Nehalem and max alike; 6.1 survived that, and so
# did 6.12 with thread=single. make check once died so in 00-topology.
# So every VM runs both vCPUs on one QEMU thread unless NATK_VM_TCG says
# otherwise (NATK_VM_TCG= for QEMU's default): a full make check at
# c56551c died of that int3 on 6.12 in 17-one-armed, natk not loaded.
TCG_OPTS=${NATK_VM_TCG-thread=single}
ACCEL=(-accel "tcg${TCG_OPTS:+,$TCG_OPTS}" -cpu "${NATK_VM_CPU:-Nehalem}")
if [ "${NATK_KVM:-0}" = 1 ] && [ -w /dev/kvm ]; then
	ACCEL=(-accel kvm -cpu host)
fi

# log_buf_len: a whole make check's kernel log fits, so a scenario that
# reads the log since its mark (dmesg_since) finds it there.
CMDLINE="console=ttyS0 panic=-1 oops=panic loglevel=7 printk.time=1 mitigations=off log_buf_len=16M"
CMDLINE+=" rcupdate.rcu_cpu_stall_timeout=60 natk_init=$REPO/tests/vm/guest-init.sh"
CMDLINE+=" natk_repo=$REPO"
# norandmaps: no user-space ASLR in the guest. TCG finds the code it has
# already translated by virtual address, so with ASLR every new process
# translates libc and its program afresh; without, a python3 starts in
# 160 ms instead of 520, a natkctl in 60 instead of 120 (6.12, TCG), and
# the scenarios, which start thousands of processes, run that much faster.
# natk is in the kernel, whose own layout (KASLR) this does not touch.
CMDLINE+=" norandmaps"
# A hung guest: an NMI from the watch below panics it, and the panic
# prints every CPU's backtrace and every task.
CMDLINE+=" unknown_nmi_panic panic_print=0x41"
# The IO-APIC setup checks that the timer ticks within a few million TSC
# cycles of enabling interrupts. Under TCG on a loaded host it sometimes
# does not, and the kernel panics at 0.02 s: "IO-APIC + timer doesn't
# work!" (seen twice in a row under make check-mutants at load 8). KVM
# guests skip the check the same way.
CMDLINE+=" no_timer_check"
CMDLINE+=" ${NATK_CMDLINE_EXTRA:-}"

QEMU=(qemu-system-x86_64 "${ACCEL[@]}"
	-m "${NATK_VM_MEM:-2G}" -smp "${NATK_VM_SMP:-2}"
	-nographic -no-reboot -nic none -nodefaults -serial stdio
	-kernel "$KERNEL" -initrd "$INITRD" -append "$CMDLINE"
	-virtfs local,path=/,mount_tag=root,security_model=none,readonly=on,multidevs=remap
	-virtfs "local,path=$REPO,mount_tag=repo,security_model=none,readonly=on,multidevs=remap"
	-virtfs "local,path=$RES,mount_tag=results,security_model=none,multidevs=remap")
# shellcheck disable=SC2206
QEMU+=(${NATK_QEMU_EXTRA:-})

# Watch (every mode): a guest that neither prints on the console nor
# writes to the results share for a while is hung. Rather than wait out
# the whole VM timeout in silence, save the vCPUs' registers (QEMU
# monitor), inject an NMI so the guest panics with backtraces on the
# console, and stop the VM. Before the guest has started its job the limits
# are short (BOOT_STALL, BOOT_LIMIT): booting never goes quiet for long.
# After, in check mode only, STALL applies, since every scenario is killed
# (and says so) after NATK_SCENARIO_TIMEOUT; other jobs may be quiet.
STALL=${NATK_VM_STALL:-$(( ${NATK_SCENARIO_TIMEOUT:-300} + 300 ))}
[ "$MODE" = check ] || STALL=0
BOOT_STALL=${NATK_VM_BOOT_STALL:-60}
BOOT_LIMIT=${NATK_VM_BOOT_LIMIT:-300}
MON=${LOG%.log}.qmon
HANG=${LOG%.log}-hang.txt
rm -f "$MON" "$HANG"
hang() { # PID WHY WAIT: registers into $HANG, NMI, wait, stop the VM
	{
		echo "natk-host: $2 at $(date +%T): the guest is hung"
		echo "---- info registers -a"
		printf 'info registers -a\n' | socat -t 5 - "UNIX-CONNECT:$MON" 2>&1 |
			tr -d '\r' | grep -av '^(qemu)\|^QEMU .* monitor'
	} > "$HANG"
	printf 'nmi\n' | socat -t 2 - "UNIX-CONNECT:$MON" > /dev/null 2>&1
	sleep "$3"	# the panic's backtraces reach the console
	kill "$1" 2>/dev/null
}
vm_watch() { # PID
	local last now t0
	t0=$(date +%s)
	while sleep 5 && kill -0 "$1" 2>/dev/null; do
		now=$(date +%s)
		last=$(stat -c %Y "$LOG" "$RES" "$RES"/* 2>/dev/null | sort -n | tail -n 1)
		if [ ! -e "$RES/started" ] && [ "$BOOT_LIMIT" -gt 0 ]; then
			if [ $(( now - ${last:-0} )) -ge "$BOOT_STALL" ]; then
				hang "$1" "before the job started, no console output for ${BOOT_STALL}s" 15
				return 0
			elif [ $(( now - t0 )) -ge "$BOOT_LIMIT" ]; then
				hang "$1" "before the job started, not started ${BOOT_LIMIT}s after QEMU did" 15
				return 0
			fi
		elif [ "$STALL" -gt 0 ] && [ $(( now - ${last:-0} )) -ge "$STALL" ]; then
			hang "$1" "no console output and no result for ${STALL}s" 30
			return 0
		fi
	done
}

QEMU+=(-monitor "unix:$MON,server,nowait")
if [ "${NATK_CONSOLE:-0}" = 1 ]; then
	timeout -k 10 "$TIMEOUT" "${QEMU[@]}" < /dev/null > >(tee "$LOG") 2>&1 &
else
	timeout -k 10 "$TIMEOUT" "${QEMU[@]}" < /dev/null > "$LOG" 2>&1 &
fi
qpid=$!
# (Quiet: it is killed below, and neither bash's "Terminated" for its
# sleep nor an orphaned sleep may reach our caller's output.)
vm_watch "$qpid" > /dev/null 2>&1 &
wpid=$!
wait "$qpid"
rc=$?
pkill -P "$wpid" 2>/dev/null
kill "$wpid" 2>/dev/null
wait "$wpid" 2>/dev/null
rm -f "$MON"
if [ -s "$HANG" ]; then
	why=$(sed -n '1s/^natk-host: \(.*\) at [0-9:]*: the guest is hung$/\1/p' "$HANG")
	echo "boot: guest for $KVER hung ($why); NMI, registers in $HANG" >&2
	echo "natk-host: VM stopped: hung, $why (registers: $HANG)" >> "$LOG"
	case $why in before\ the\ job*) exit 126 ;; esac
	exit 125
fi
if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
	echo "boot: VM for $KVER killed after ${TIMEOUT}s" >&2
	echo "natk-host: VM killed after ${TIMEOUT}s timeout" >> "$LOG"
	exit 124
fi
exit "$rc"
exit
}

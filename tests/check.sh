#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: install deps, build natk.ko for every kernel and natkctl, run
# the host-side suites, then boot one QEMU VM per kernel (two at a time) that
# runs tests/scenarios/*.sh. Prints PASS/FAIL (and SKIP) lines and ends
# with "N skipped", then exactly "N passed, N failed"; exit status 0 iff
# nothing failed. A SKIP checked nothing: it is neither passed nor failed.
#
# What counts (nothing may be lost quietly):
#  - every PASS/FAIL line of the host suites (tests/suites/*.sh: kunit,
#    uapi-sync, userctl, demo) and of the guest's scenarios;
#  - a suite must declare its checks ("PLAN name..." lines) and report
#    them all; one declared and never reported, or PASSed undeclared,
#    FAILs; so does a suite that printed no result or exited non-zero
#    without a FAIL line (suite-NAME); a KUnit case that skipped checked
#    nothing and FAILs, unless NATK_KUNIT_SKIP_OK expects it (then SKIP);
#  - a scenario must declare its checks (plan, tests/lib/netns.sh) and
#    report them all (tests/vm/guest-run.sh FAILs the rest); it fails when
#    it times out, exits non-zero without a FAIL, reports nothing, or
#    leaves a process running after its trap;
#  - every kernel NATK_KERNELS names must be there (kernel-available), its
#    VM must complete (vm-completed) and run at least one scenario
#    (scenarios-ran); the console must show no kernel problem;
#  - checkpatch, and each build.
#
# Environment:
#   NATK_KERNELS="kver ..."  only these kernels (default: all installed
#                            with /boot/vmlinuz-K and headers)
#   NATK_TESTS=GLOB          only scenarios whose name (e.g. 03-tcp) matches
#   NATK_SKIP_DEPS=1         do not run tests/deps.sh
#   NATK_SKIP_BUILD=1        do not build (use what is in build/ and userctl/)
#   NATK_SKIP_CHECKPATCH=1   no checkpatch (a SKIP line)
#   NATK_SKIP_SUITES=1       do not run tests/suites/*.sh (a SKIP each)
#   NATK_FAST_PATH=MODE      natk.ko's fast_path= in the VMs (auto, on, off;
#                            make check-slowpath: off)
#   NATK_VM_TIMEOUT=SECONDS  per VM (default 4500); a killed VM is a failure
#   NATK_VM_STALL=SECONDS    a guest silent that long is hung: registers and
#                            NMI backtraces are saved, the VM stopped
#                            (default scenario timeout + 300; 0: off)
#   NATK_VM_BOOT_STALL=SECONDS, NATK_VM_BOOT_LIMIT=SECONDS  the same for a
#                            guest that hangs while booting, before the
#                            first scenario (default 60, 300; see boot.sh):
#                            such a VM is booted once more, and a "NOTE"
#                            line (not counted) says so
#   NATK_VM_CPU=MODEL        QEMU CPU model under TCG (default Nehalem)
#   NATK_VM_TCG=OPTS         -accel tcg options (default thread=single: both
#                            vCPUs on one QEMU thread; empty for QEMU's
#                            default, see boot.sh)
#   NATK_LOG_DIR=DIR         where logs go (default build/test-logs)
#   NATK_KVM=1               use KVM when /dev/kvm exists (default TCG)
#   NATK_KDIR, NATK_VMLINUZ, NATK_MODDIR  build tree, image and module
#                            directory of the one kernel in NATK_KERNELS when
#                            it is not installed (tests/check-debug.sh)
#   NATK_KO=PATH             the natk.ko the VM loads instead of
#                            build/<kernel>/natk.ko, with one kernel in
#                            NATK_KERNELS (tests/check-debug.sh: the
#                            NATK_RACE=y build, which make module builds
#                            when NATK_RACE=y is in the environment)
# Extra suites: every executable tests/suites/*.sh is run on the host;
# each prints PLAN, PASS, FAIL and SKIP lines (suites/demo.sh boots one VM:
# NATK_SKIP_DEMO=1 skips it; NATK_SKIP_KUNIT=1 skips KUnit). Skipping
# something (checkpatch, the suites, the demo, KUnit) prints a SKIP line.
set -uo pipefail
# The whole script is one compound command, read before it runs, so that
# editing this file while it runs cannot derail it.
{

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1
. "$HERE/lib/kernlog.sh"
. "$HERE/lib/kernels.sh"

LOGDIR=${NATK_LOG_DIR:-$REPO/build/test-logs}
mkdir -p "$LOGDIR"
SUMMARY=$(mktemp)
trap 'rm -f "$SUMMARY"' EXIT
T0=$(date +%s)

# result PASS|FAIL|SKIP PREFIX NAME [WHY]
result() {
	local line="$1 $2$3"
	[ -n "${4:-}" ] && line+=": $4"
	echo "$line"
	echo "$line" >> "$SUMMARY"
}

# count the PASS, FAIL and SKIP lines that a suite or a VM produced
record_lines() { # PREFIX < lines
	local pre=$1 line
	while IFS= read -r line; do
		case $line in
		PASS\ *) line="PASS $pre${line#PASS }" ;;
		FAIL\ *) line="FAIL $pre${line#FAIL }" ;;
		SKIP\ *) line="SKIP $pre${line#SKIP }" ;;
		*) continue ;;
		esac
		echo "$line"
		echo "$line" >> "$SUMMARY"
	done
}

# note PREFIX NAME WHAT...: a line that is neither PASS nor FAIL (a retry),
# shown now and again above the total
note() {
	local line="NOTE $1$2: ${*:3}"
	echo "$line"
	echo "$line" >> "$SUMMARY"
}

section() { echo "==== $* ($(( $(date +%s) - T0 ))s)"; }

# run_suite NAME CMD...: a host suite. Its PASS, FAIL and SKIP lines count;
# it must report something, declare what it reports ("PLAN name..." lines)
# and report all of that, and end with status 0 unless it FAILed
# something. Otherwise FAIL suite-NAME, or the check it declared and never
# reported (it stopped early), or the check it PASSed without declaring.
run_suite() {
	local name=$1 log=$LOGDIR/suite-$1.log rc planned reported c
	shift
	"$@" 2>&1 | tee "$log" | record_lines ""
	rc=${PIPESTATUS[0]}
	planned=$(sed -n 's/^PLAN //p' "$log" | tr ' ' '\n' | grep . | sort -u)
	reported=$(awk '$1 == "PASS" || $1 == "FAIL" || $1 == "SKIP" { n = $2; sub(/:$/, "", n); print $1, n }' "$log")
	if [ -z "$reported" ]; then
		result FAIL "" "suite-$name" "printed no PASS, FAIL or SKIP line (exit status $rc; log $log)"
		return
	fi
	if [ -z "$planned" ] && grep -q '^PASS ' <<< "$reported"; then
		result FAIL "" "suite-$name" "declared no checks (no PLAN line; log $log)"
	fi
	for c in $planned; do
		awk -v c="$c" '$2 == c { f = 1 } END { exit !f }' <<< "$reported" ||
			result FAIL "" "$c" "declared by suite $name but not reported: it stopped early? (exit status $rc; log $log)"
	done
	if [ -n "$planned" ]; then
		for c in $(awk '$1 == "PASS" { print $2 }' <<< "$reported" | sort -u); do
			grep -qxF -- "$c" <<< "$planned" ||
				result FAIL "" "$c" "reported by suite $name but not in its PLAN"
		done
	fi
	if [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' <<< "$reported"; then
		result FAIL "" "suite-$name" "exited with status $rc without a FAIL line (log $log)"
	fi
}

# ------------------------------------------------------------ deps, build
if [ "${NATK_SKIP_DEPS:-0}" != 1 ]; then
	section "dependencies"
	if ! "$HERE/deps.sh"; then
		result FAIL "" deps "tests/deps.sh failed"
	fi
fi

mapfile -t KERNELS < <(natk_kernels)
if [ ${#KERNELS[@]} -eq 0 ]; then
	result FAIL "" kernels "no kernel with /boot/vmlinuz-K and /lib/modules/K/build (NATK_KERNELS='${NATK_KERNELS:-}')"
fi
# Every kernel NATK_KERNELS names must be tested: one that is not there
# fails, it is not quietly left out.
for k in ${NATK_KERNELS:-}; do
	case " ${KERNELS[*]} " in
	*" $k "*) ;;
	*) result FAIL "[$k] " kernel-available "NATK_KERNELS names it, but there is no ${NATK_VMLINUZ:-/boot/vmlinuz-$k} with ${NATK_KDIR:-/lib/modules/$k/build}" ;;
	esac
done

declare -A BUILT=()
if [ "${NATK_SKIP_BUILD:-0}" != 1 ]; then
	for k in "${KERNELS[@]}"; do
		section "build natk.ko for $k"
		if make --no-print-directory module KVER="$k" ${NATK_KDIR:+KDIR="$NATK_KDIR"} \
			> "$LOGDIR/build-$k.log" 2>&1; then
			result PASS "[$k] " build-module
			BUILT[$k]=1
		else
			tail -n 30 "$LOGDIR/build-$k.log"
			result FAIL "[$k] " build-module "make module KVER=$k failed (log $LOGDIR/build-$k.log)"
		fi
	done
	section "build natkctl"
	if make --no-print-directory natkctl > "$LOGDIR/build-natkctl.log" 2>&1; then
		result PASS "" build-natkctl
	else
		tail -n 30 "$LOGDIR/build-natkctl.log"
		result FAIL "" build-natkctl "make natkctl failed (log $LOGDIR/build-natkctl.log)"
	fi
else
	for k in "${KERNELS[@]}"; do BUILT[$k]=1; done
fi

if [ "${NATK_SKIP_CHECKPATCH:-0}" = 1 ]; then
	result SKIP "" checkpatch "NATK_SKIP_CHECKPATCH=1"
elif [ -x "$HERE/checkpatch.sh" ]; then
	section "checkpatch"
	if "$HERE/checkpatch.sh" > "$LOGDIR/checkpatch.log" 2>&1; then
		result PASS "" checkpatch
	else
		tail -n 40 "$LOGDIR/checkpatch.log"
		result FAIL "" checkpatch "$(grep -E '^total:' "$LOGDIR/checkpatch.log" | tail -n1) (log $LOGDIR/checkpatch.log)"
	fi
fi

# ------------------------------------------------------------ host suites
for s in "$HERE"/suites/*.sh; do
	[ -x "$s" ] || continue
	if [ "${NATK_SKIP_SUITES:-0}" = 1 ]; then
		result SKIP "" "suite-$(basename "$s" .sh)" "NATK_SKIP_SUITES=1"
		continue
	fi
	section "suite $(basename "$s")"
	run_suite "$(basename "$s" .sh)" "$s"
done

# ------------------------------------------------------------ VMs
# vm_run KERNEL: boot KERNEL's VM, run the scenarios, report every check.
vm_run() {
	local k=$1 res klog ko t0 t1 attempt vm shown n rc why probs ln pat
	section "VM $k"
	res=$(mktemp -d /tmp/natk-results.XXXXXX)
	klog=$LOGDIR/$k
	rm -rf "$klog"
	mkdir -p "$klog"
	# A module that failed to build must not be replaced by a stale one.
	ko=${NATK_KO:-}
	[ -z "${BUILT[$k]:-}" ] && ko=/nonexistent/natk.ko
	t0=$(date +%s)
	for attempt in 1 2; do
		NATK_KO=$ko "$HERE/vm/boot.sh" "$k" "$res" "$klog/console.log" check &
		vm=$!
		shown=0
		while kill -0 "$vm" 2>/dev/null; do
			sleep 2
			n=$(cat "$res/results.txt" 2>/dev/null | wc -l)
			if [ "$n" -gt "$shown" ]; then
				sed -n "$((shown + 1)),${n}p" "$res/results.txt" | sed "s/^\(PASS\|FAIL\) /\1 [$k] /"
				shown=$n
			fi
		done
		wait "$vm"
		rc=$?
		# Hung while booting, before the first scenario (boot.sh status
		# 126): nothing of natk ran yet, so boot once more, and say so.
		# (Seen on TCG with -cpu max and two vCPUs; see boot.sh.)
		[ "$rc" -eq 126 ] && [ "$attempt" = 1 ] || break
		mv "$klog/console.log" "$klog/console-boot-hang.log"
		mv "$klog/console-hang.txt" "$klog/console-boot-hang-regs.txt" 2>/dev/null
		note "[$k] " vm-boot-hang "the guest hung while booting," \
			"$(sed -n '1s/^natk-host: \(.*\) at [0-9:]*: the guest is hung$/\1/p' "$klog/console-boot-hang-regs.txt" 2>/dev/null);" \
			"last console line '$(grep -av '^natk-host:\|^qemu-system' "$klog/console-boot-hang.log" | tr -d '\r' | grep -a . | tail -n 1 | cut -c1-100)';" \
			"console $klog/console-boot-hang.log; booted again"
		rm -rf "${res:?}"/*
	done
	t1=$(date +%s)
	cp -r "$res"/. "$klog"/ 2>/dev/null
	rm -rf "$res"
	if [ -s "$klog/results.txt" ]; then
		tail -n "+$((shown + 1))" "$klog/results.txt" | sed "s/^\(PASS\|FAIL\) /\1 [$k] /"
		record_lines "[$k] " < "$klog/results.txt" > /dev/null
	fi
	if [ ! -e "$klog/done" ]; then
		why="VM produced no complete result (boot.sh status $rc)"
		[ "$rc" -eq 124 ] && why="VM timed out after ${NATK_VM_TIMEOUT:-4500}s"
		[ "$rc" -eq 126 ] && why="guest hung while booting, before the first scenario, twice (the first: $klog/console-boot-hang.log); console below"
		[ "$rc" -eq 125 ] && why="guest hung: no progress for a while; NMI backtraces in the console below, registers in $klog/console-hang.txt"
		echo "---- last console lines ($klog/console.log)"
		tail -n 40 "$klog/console.log"
		result FAIL "[$k] " vm-completed "$why"
	else
		result PASS "[$k] " vm-completed
		# A VM that ran no scenario tested nothing (NATK_TESTS matched
		# none, or the scenarios are missing).
		n=$(grep -c '^=== scenario ' "$klog/guest.log" 2>/dev/null)
		if [ "${n:-0}" -gt 0 ]; then
			result PASS "[$k] " scenarios-ran
		else
			result FAIL "[$k] " scenarios-ran "no scenario ran (NATK_TESTS='${NATK_TESTS:-*}')"
		fi
	fi
	# Kernel problems on the serial console (kernel lines only).
	grep -E '\[ *[0-9]+\.[0-9]+\]' "$klog/console.log" > "$klog/console-kernel.log" 2>/dev/null
	probs=$(kernel_problems "$klog/console-kernel.log")
	if [ -z "$probs" ]; then
		result PASS "[$k] " kernel-console-clean
	else
		while IFS=: read -r ln pat; do
			echo "---- console around '$pat':"
			kernel_context "$klog/console-kernel.log" "$ln" 5 30
			result FAIL "[$k] " kernel-console "$pat"
		done <<< "$probs"
	fi
	# Show the whole output of every scenario that failed something.
	awk -v k="$k" '/^=== scenario / { buf = ""; bad = 0; n = 0 }
		{ if (n++ < 150) buf = buf "  | " $0 "\n" }
		/^FAIL / { bad = 1 }
		/^=== end / { if (bad) printf "---- [%s] output of a failing scenario:\n%s", k, buf; buf = "" }' \
		"$klog/guest.log" 2>/dev/null
	echo "==== VM $k took $((t1 - t0))s, logs in $klog"
}

# The VMs of the kernels run NATK_VM_PARALLEL at a time (default: 2 on a
# host with 2 CPUs or more, else 1). Each QEMU runs its vCPUs on one host
# thread (NATK_VM_TCG, boot.sh), so two VMs use the two CPUs of the CI host
# and make check takes the time of the slower kernel, not the sum. A VM
# that runs alongside another prints into its own file, streamed here as
# its lines come (each names its kernel). Side by side each VM runs slower
# than alone (2026-12-02: its scenarios took 2915 s, killed at the old
# 3300 s limit four scenarios before the end), but the pair still ends
# well before two VMs in a row would: hence NATK_VM_TIMEOUT 4500.
PAR=${NATK_VM_PARALLEL:-$([ "$(nproc)" -ge 2 ] && echo 2 || echo 1)}
if [ "$PAR" -le 1 ] || [ ${#KERNELS[@]} -le 1 ]; then
	for k in "${KERNELS[@]}"; do vm_run "$k"; done
else
	declare -A VMOUT=() VMSHOWN=()
	vm_stream() { # print what each VM's file gained since the last call
		local k n
		for k in "${!VMOUT[@]}"; do
			n=$(wc -l < "${VMOUT[$k]}")
			if [ "$n" -gt "${VMSHOWN[$k]}" ]; then
				sed -n "$((VMSHOWN[$k] + 1)),${n}p" "${VMOUT[$k]}"
				VMSHOWN[$k]=$n
			fi
		done
	}
	running=()
	for k in "${KERNELS[@]}"; do
		while [ "$(jobs -rp | wc -l)" -ge "$PAR" ]; do
			sleep 5
			vm_stream
		done
		VMOUT[$k]=$LOGDIR/vm-$k.out
		VMSHOWN[$k]=0
		vm_run "$k" > "${VMOUT[$k]}" 2>&1 &
		running+=($!)
	done
	while [ -n "$(jobs -rp)" ]; do
		sleep 5
		vm_stream
	done
	wait "${running[@]}"
	vm_stream
fi

passed=$(grep -c '^PASS' "$SUMMARY")
failed=$(grep -c '^FAIL' "$SUMMARY")
skipped=$(grep -c '^SKIP' "$SUMMARY")
if [ "$failed" -gt 0 ]; then
	echo "==== failures:"
	grep '^FAIL' "$SUMMARY"
fi
if [ "$skipped" -gt 0 ]; then
	echo "==== skipped (checked nothing; neither passed nor failed):"
	grep '^SKIP' "$SUMMARY"
fi
if grep -q '^NOTE' "$SUMMARY"; then
	echo "==== notes (not failures):"
	grep '^NOTE' "$SUMMARY"
fi
echo "==== total time $(( $(date +%s) - T0 ))s"
echo "$skipped skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
exit
}

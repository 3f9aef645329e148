#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk test VM: run every scenario (tests/scenarios/NN-*.sh matching
# NATK_TESTS, a shell glob on the file name without .sh, default all),
# each in its own bash process, then check the kernel log.
# PASS/FAIL lines go to stdout and to $NATK_RESULTS.
# One compound command, read whole before it runs: editing this file
# while a VM runs it cannot derail it.
{
REPO=${NATK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/netns.sh"
. "$REPO/tests/vm/session.sh"
SCEN_TIMEOUT=${NATK_SCENARIO_TIMEOUT:-300}
PATTERN=${NATK_TESTS:-*}
# Extended globs, e.g. NATK_TESTS='@(07-*|32-*)' (tests/check-mutants.sh).
shopt -s extglob

# plan_check NAME PLAN FROM RC: the checks scenario NAME declared in file
# PLAN (plan NAME..., tests/lib/netns.sh) against what it reported, the
# lines of $NATK_RESULTS from line FROM on. FAILs every declared check
# never reported (it stopped early, or the check's code never ran), and
# every check that PASSed without being declared (the plan is out of date,
# or a loop ran more often than declared). A check reported only as a
# FAIL (a setup step that gave up) need not be declared: it fails anyway.
# A scenario that declared nothing fails.
plan_check() {
	local name=$1 planf=$2 from=$3 rc=$4 why="stopped early?" reported c
	if ! grep -q . "$planf" 2>/dev/null; then
		fail "$name" "declared no checks (call plan NAME... after scenario_init, tests/lib/netns.sh)"
		return
	fi
	reported=$(tail -n "+$from" "$NATK_RESULTS" |
		awk '$1 == "PASS" || $1 == "FAIL" { n = $2; if ($1 == "FAIL") sub(/:$/, "", n); print $1, n }')
	[ "$rc" -eq 124 ] || [ "$rc" -eq 137 ] && why="timed out"
	[ "$rc" -ne 0 ] && [ "$why" != "timed out" ] && why="exited with status $rc"
	while IFS= read -r c; do
		[ -n "$c" ] || continue
		grep -qxF -e "PASS $c" -e "FAIL $c" <<< "$reported" ||
			fail "$c" "declared but not reported: scenario $name $why"
	done <<< "$(grep -v '^[[:space:]]*$' "$planf" | sort -u)"
	while IFS= read -r c; do
		[ -n "$c" ] || continue
		grep -qxF -- "$c" "$planf" ||
			fail "$c" "reported but not declared: scenario $name's plan does not list it"
	done <<< "$(awk '$1 == "PASS" { print $2 }' <<< "$reported" | sort -u)"
}

dmesg -n 7 2>/dev/null
echo "natk-guest: start $(date +%T)"
RESDIR=$(dirname "$NATK_RESULTS")
for f in "$REPO"/tests/scenarios/[0-9]*.sh; do
	name=$(basename "$f" .sh)
	# shellcheck disable=SC2254
	case $name in $PATTERN) ;; *) continue ;; esac
	before=$(wc -l < "$NATK_RESULTS")
	echo "=== scenario $name ($(date +%T))"
	echo "natk-test: scenario $name" > /dev/kmsg 2>/dev/null
	t0=$(date +%s)
	# xtrace of every scenario goes to the results share (trace-NAME.log)
	# for post-mortems; the console only gets the scenario's output.
	trace=$RESDIR/trace-$name.log
	# The checks it declares (plan, tests/lib/netns.sh) go to plan-NAME.txt.
	planf=$RESDIR/plan-$name.txt
	: > "$planf"
	# Each scenario leads a session of its own, in a cgroup of its own
	# (session.sh): whatever it leaves running in the background is found
	# and stopped when it ends.
	cg=$(cg_new scenario) || cg=
	(
		cg_enter "$cg"
		exec 9> "$trace"
		export PS4='+ ${EPOCHREALTIME} ' BASH_XTRACEFD=9 NATK_PLAN=$planf
		exec setsid timeout -k 10 "$SCEN_TIMEOUT" bash -u -x "$f"
	) &
	sid=$!
	wait "$sid"
	rc=$?
	left=
	job_stop "$sid" "$cg" "$name" || left=$JOB_LEFT
	job_end "$cg"
	t1=$(date +%s)
	after=$(wc -l < "$NATK_RESULTS")
	plan_check "$name" "$planf" "$((before + 1))" "$rc"
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "$name" "scenario timed out after ${SCEN_TIMEOUT}s"
	elif [ "$rc" -ne 0 ] && ! tail -n "+$((before + 1))" "$NATK_RESULTS" | grep -q '^FAIL'; then
		fail "$name" "scenario exited with status $rc"
	elif [ "$after" -eq "$before" ]; then
		fail "$name" "scenario reported nothing"
	fi
	# Its trap must stop what it started (after a time out it had no
	# chance to).
	if [ -n "$left" ] && [ "$rc" -ne 124 ] && [ "$rc" -ne 137 ]; then
		fail "$name" "left running after it ended (its trap should stop them): $left"
	fi
	echo "=== end $name rc=$rc $((t1 - t0))s"
	# Whatever the scenario left behind must not leak into the next one.
	reset_all
done

# Debug kernel (tests/check-debug.sh): natk must leave no leak behind.
[ "${NATK_KMEMLEAK_CHECK:-0}" = 1 ] && bash "$REPO/tests/debug/guest-kmemleak.sh"
kernel_log_check kernel-log-clean
echo "natk-guest: end $(date +%T)"
}

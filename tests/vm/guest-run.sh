#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk test VM: run every scenario (tests/scenarios/NN-*.sh matching
# NATK_TESTS, a shell glob on the file name without .sh, default all),
# each in its own bash process, then check the kernel log.
# PASS/FAIL lines go to stdout and to $NATK_RESULTS.
REPO=${NATK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/netns.sh"
. "$REPO/tests/vm/session.sh"
SCEN_TIMEOUT=${NATK_SCENARIO_TIMEOUT:-300}
PATTERN=${NATK_TESTS:-*}
# Extended globs, e.g. NATK_TESTS='@(07-*|32-*)' (tests/check-mutants.sh).
shopt -s extglob

dmesg -n 7 2>/dev/null
echo "natk-guest: start $(date +%T)"
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
	trace=$(dirname "$NATK_RESULTS")/trace-$name.log
	# Each scenario leads a session of its own (session.sh): whatever it
	# leaves running in the background is stopped when it ends.
	PS4='+ ${EPOCHREALTIME} ' BASH_XTRACEFD=9 \
		setsid timeout -k 10 "$SCEN_TIMEOUT" bash -u -x "$f" 9> "$trace" &
	sid=$!
	wait "$sid"
	rc=$?
	session_stop "$sid" "$name"
	t1=$(date +%s)
	after=$(wc -l < "$NATK_RESULTS")
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "$name" "scenario timed out after ${SCEN_TIMEOUT}s"
	elif [ "$rc" -ne 0 ] && ! tail -n "+$((before + 1))" "$NATK_RESULTS" | grep -q '^FAIL'; then
		fail "$name" "scenario exited with status $rc"
	elif [ "$after" -eq "$before" ]; then
		fail "$name" "scenario reported nothing"
	fi
	echo "=== end $name rc=$rc $((t1 - t0))s"
	# Whatever the scenario left behind must not leak into the next one.
	reset_all
done

# Debug kernel (tests/check-debug.sh): natk must leave no leak behind.
[ "${NATK_KMEMLEAK_CHECK:-0}" = 1 ] && bash "$REPO/tests/debug/guest-kmemleak.sh"
kernel_log_check kernel-log-clean
echo "natk-guest: end $(date +%T)"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host suite for make check: runs natk's KUnit suites in UML (tests/kunit.sh)
# and prints one line per test case:
#   PASS natk_<suite>.<case>
#   FAIL natk_<suite>.<case>: why
#   SKIP natk_<suite>.<case>: why     (not counted)
# A case also fails when the kernel logged a problem (KASAN, UBSAN, lockdep,
# RCU, list corruption, WARN, BUG) while it ran. The build failing gives
# "FAIL kunit-build: ...", a kernel that crashed or hung in a suite gives
# "FAIL natk_<suite>: ...".
# NATK_SKIP_KUNIT=1: print nothing and succeed (quick runs).
set -uo pipefail

[ "${NATK_SKIP_KUNIT:-0}" = 1 ] && exit 0

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/.." && pwd)
export NATK_KUNIT_OUT=${NATK_KUNIT_OUT:-$REPO/build/kunit}
. "$HERE/lib/kernlog.sh"
mkdir -p "$NATK_KUNIT_OUT"
LOG=$NATK_KUNIT_OUT/kunit-run.log

t0=$(date +%s)
"$HERE/kunit.sh" > "$LOG" 2>&1
rc=$?
echo "kunit: tests/kunit.sh exited $rc after $(( $(date +%s) - t0 ))s, log $LOG"

if [ "$rc" -eq 2 ] || [ "$rc" -eq 3 ]; then
	why=$(grep -m1 -E 'error:|Error [0-9]+|ERROR:' "$LOG" | sed 's/^[[:space:]]*//' | cut -c1-200)
	[ -n "$why" ] || why=$(grep -m1 '^kunit: ' "$LOG" | cut -c1-200)
	tail -n 30 "$LOG"
	echo "FAIL kunit-build: ${why:-tests/kunit.sh exited $rc} (log $LOG)"
	exit 1
fi

TESTLOG=$NATK_KUNIT_OUT/test.log
if [ ! -s "$TESTLOG" ]; then
	tail -n 30 "$LOG"
	echo "FAIL kunit-run: no kernel log (log $LOG)"
	exit 1
fi

# KTAP: "    # Subtest: natk_x", case results "    ok N natk_x_case", the
# suite result "ok N natk_x". Failed expectations print
# "    # natk_x_case: EXPECTATION FAILED at file:line" and the details.
out=$(sed -E 's/^\[[^]]*\] ?//' "$TESTLOG" | awk -v re="$KERNEL_PROBLEM_RE" '
function flush_case(name, status, rest,   short, why) {
	short = name
	if (index(short, suite "_") == 1)
		short = substr(short, length(suite) + 2)
	short = suite "." short
	if (status == "ok" && rest ~ /# SKIP/) {
		why = rest; sub(/.*# SKIP ?/, "", why)
		printf "SKIP %s: %s\n", short, why
	} else if (status == "ok" && prob == "") {
		printf "PASS %s\n", short
	} else {
		why = msg
		if (why == "") why = "test failed (see test.log)"
		if (prob != "") why = (status == "ok" ? "" : why "; ") "kernel: " prob
		printf "FAIL %s: %s\n", short, why
	}
	msg = ""; prob = ""; want = 0; ncases++
}
/# Subtest: natk_/ { suite = $NF; insuite = 1; msg = ""; prob = ""; ncases = 0; nsuites++; next }
!insuite { next }
/^(not )?ok [0-9]+ natk_/ {
	insuite = 0
	if ($1 == "not" && ncases == 0)
		printf "FAIL %s: suite failed with no case results\n", suite
	next
}
/^[ \t]+(not )?ok [0-9]+ / {
	st = ($1 == "not") ? "not ok" : "ok"
	name = ($1 == "not") ? $4 : $3
	rest = $0
	flush_case(name, st, rest)
	next
}
/EXPECTATION FAILED at|ASSERTION FAILED at/ {
	if (msg == "") { m = $0; sub(/.*FAILED at /, "", m); msg = m; want = 1 }
	next
}
want >= 1 && want <= 3 {
	l = $0; sub(/^[ \t#]+/, "", l)
	if (l != "") { msg = msg (want == 1 ? ": " : " ") l; want++ }
	next
}
$0 ~ re { if (prob == "") { p = $0; sub(/^[ \t]+/, "", p); prob = substr(p, 1, 150) } }
END {
	if (insuite)
		printf "FAIL %s: kernel crashed or hung in the suite (no result)\n", suite
	if (!nsuites)
		print "FAIL kunit-run: no natk suite ran"
}')
echo "$out"
if [ "$rc" -ne 0 ] && ! grep -q '^FAIL' <<< "$out"; then
	echo "FAIL kunit-run: tests/kunit.sh exited $rc (log $LOG)"
fi
! grep -q '^FAIL' <<< "$out" && [ "$rc" -eq 0 ]

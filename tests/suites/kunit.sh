#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Host suite for make check: runs natk's KUnit suites in UML (tests/kunit.sh)
# and prints one line per test case:
#   PASS natk_<suite>.<case>
#   FAIL natk_<suite>.<case>: why
# A case also fails when the kernel logged a problem (KASAN, UBSAN, lockdep,
# RCU, list corruption, WARN, BUG) while it ran. The build failing gives
# "FAIL kunit-build: ...", a kernel that crashed or hung in a suite gives
# "FAIL natk_<suite>: ...".
# The cases are declared first ("PLAN ...", every KUNIT_CASE of the suites
# in kmod/kunit/*.c that NATK_KUNIT_FILTER selects): one that never reports
# fails (tests/check.sh), as does a case that reports without being there.
# A case that SKIPs checked nothing (its precondition was missing): in the
# UML kernel every precondition is ours to provide, so a skip is a FAIL
# ("skipped: why"), unless NATK_KUNIT_SKIP_OK (space separated
# natk_<suite>.<case> names) expects it: then "SKIP natk_<suite>.<case>:
# why", which the summary counts as skipped, not passed.
# NATK_SKIP_KUNIT=1: "SKIP kunit" and nothing else (quick runs).
set -uo pipefail

if [ "${NATK_SKIP_KUNIT:-0}" = 1 ]; then
	echo "SKIP kunit: NATK_SKIP_KUNIT=1"
	exit 0
fi

HERE=$(cd "$(dirname "$0")/.." && pwd)
REPO=$(cd "$HERE/.." && pwd)
export NATK_KUNIT_OUT=${NATK_KUNIT_OUT:-$REPO/build/kunit}
. "$HERE/lib/kernlog.sh"
mkdir -p "$NATK_KUNIT_OUT"
LOG=$NATK_KUNIT_OUT/kunit-run.log

# kunit_cases FILE...: "SUITE CASE" for every KUNIT_CASE*(CASE) in the
# case array of every struct kunit_suite (.name = "SUITE") of the files
kunit_cases() {
	awk '
	/^static struct kunit_case [a-z0-9_]+\[\] *= *\{/ {
		arr = $4; sub(/\[\].*/, "", arr); incases = 1; next
	}
	incases && /^\};/ { incases = 0; next }
	incases && match($0, /KUNIT_CASE[A-Z_]*\([a-z0-9_]+/) {
		c = substr($0, RSTART, RLENGTH); sub(/.*\(/, "", c)
		cases[arr] = cases[arr] " " c
	}
	/^static struct kunit_suite [a-z0-9_]+ *= *\{/ { insuite = 1; sname = ""; sarr = ""; next }
	insuite && /\.name *=/ { split($0, q, "\""); sname = q[2] }
	insuite && /\.test_cases *=/ { sarr = $0; sub(/.*= */, "", sarr); sub(/[ ,].*/, "", sarr) }
	insuite && /^\};/ { insuite = 0; suite[sname] = sarr }
	END {
		for (s in suite) {
			n = split(cases[suite[s]], cs, " ")
			for (i = 1; i <= n; i++) print s, cs[i]
		}
	}' "$@"
}

# The plan: the cases NATK_KUNIT_FILTER (kunit.py's SUITE_GLOB[.CASE_GLOB])
# selects, named as below (natk_<suite>.<case without the suite prefix>).
fsuite=${NATK_KUNIT_FILTER:-*}
fcase='*'
case $fsuite in *.*) fcase=${fsuite#*.}; fsuite=${fsuite%%.*} ;; esac
planned=()
while read -r suite c; do
	# shellcheck disable=SC2053
	[[ $suite == $fsuite && $c == $fcase ]] || continue
	planned+=("$suite.${c#"$suite"_}")
done < <(kunit_cases "$REPO"/kmod/kunit/*.c | sort)
echo "PLAN ${planned[*]}"

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
out=$(sed -E 's/^\[[^]]*\] ?//' "$TESTLOG" | awk -v re="$KERNEL_PROBLEM_RE" -v skipok="${NATK_KUNIT_SKIP_OK:-}" '
function flush_case(name, status, rest,   short, why) {
	short = name
	if (index(short, suite "_") == 1)
		short = substr(short, length(suite) + 2)
	short = suite "." short
	if (status == "ok" && rest ~ /# SKIP/) {
		why = rest; sub(/.*# SKIP ?/, "", why)
		if (index(" " skipok " ", " " short " "))
			printf "SKIP %s: %s\n", short, why
		else
			printf "FAIL %s: skipped: %s (a skipped case checked nothing; NATK_KUNIT_SKIP_OK to expect it)\n", short, why
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

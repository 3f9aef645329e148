#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# natkctl's offline tests, as `make check` in userctl/ and make check's
# host suite tests/suites/userctl.sh run them (test_unit and test_nl built,
# natkctl built): no kernel module, no privileges.
#   test_nl      nk_request against the kernel's nlctrl family
#   test_unit    the printer, parsers and netlink callbacks, one line per
#                test function; the JSON it prints must parse
#   test_cli.sh  natkctl's command line
# Prints "PLAN name..." (every check below), then "PASS name" or
# "FAIL name: why" for each; a check that never reported (a test program
# that crashed half-way) FAILs. Exit status 0 iff all passed.
#
#   tests/run.sh        (from anywhere; works in the userctl directory)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

UNIT="printer parsers prefixes status save-apply stats flows event extack metrics doctor supervise times maplog journal who flowfile sync addresses addr-save-apply addr-forwards addr-metrics blocks block-log accounting"
NL="dump doit enoent policy-error policy-extack dump-after-errors batch batch-window batch-bench after-batch"
PLAN=()
for t in $UNIT; do PLAN+=("userctl-unit-$t"); done
PLAN+=(userctl-unit-json userctl-unit-promtool userctl-unit-emf)
for t in $NL; do PLAN+=("userctl-nl-$t"); done
PLAN+=(userctl-cli userctl-man)
echo "PLAN ${PLAN[*]}"

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

# step NAME CMD...: run CMD, its output shown and kept in $OUT/NAME; FAIL
# userctl-NAME-exit when it died of a signal (a crash) or ended non-zero without
# saying which check failed
step() {
	local name=$1 rc
	shift
	"$@" > "$OUT/$name" 2>&1
	rc=$?
	if [ "$rc" -ge 128 ]; then
		echo "FAIL userctl-$name-exit: $* died of signal $((rc - 128))" >> "$OUT/$name"
	elif [ "$rc" -ne 0 ] && ! grep -q '^FAIL ' "$OUT/$name"; then
		echo "FAIL userctl-$name-exit: $* exited with status $rc" >> "$OUT/$name"
	fi
	cat "$OUT/$name"
}

for p in test_nl test_unit natkctl; do
	[ -x "$p" ] || echo "userctl: ./$p is not built (make $p)"
done
step nl ./test_nl
mkdir "$OUT/samples"
TEST_OUT=$OUT/samples step unit ./test_unit
json() {
	local f n=0 bad=
	for f in "$OUT"/samples/*.json; do
		[ -e "$f" ] || continue
		n=$((n + 1))
		python3 -m json.tool "$f" > /dev/null 2>&1 || bad+=" $(basename "$f")"
	done
	if [ "$n" -eq 0 ]; then
		echo "FAIL userctl-unit-json: test_unit wrote no JSON sample"
	elif [ -n "$bad" ]; then
		echo "FAIL userctl-unit-json: not valid JSON:$bad"
	else
		echo "userctl: $n JSON samples of test_unit parse"
		echo "PASS userctl-unit-json"
	fi
}
step json json
# The Prometheus samples must pass promtool's parser and linter, the EMF
# line the documented structure (tests/emf_check.py).
promtool_check() {
	local f bad=
	if ! command -v promtool > /dev/null; then
		echo "SKIP userctl-unit-promtool: promtool is not installed (Debian: prometheus; tests/deps.sh installs it)"
		return
	fi
	for f in "$OUT"/samples/*.prom; do
		[ -e "$f" ] || { echo "FAIL userctl-unit-promtool: test_unit wrote no .prom sample"; return; }
		promtool check metrics < "$f" > "$OUT/promtool" 2>&1 || bad+=" $(basename "$f"): $(head -c 300 "$OUT/promtool")"
	done
	if [ -n "$bad" ]; then
		echo "FAIL userctl-unit-promtool:$bad"
	else
		echo "PASS userctl-unit-promtool"
	fi
}
step promtool promtool_check
emf_check() {
	if [ ! -s "$OUT/samples/emf.jsonl" ]; then
		echo "FAIL userctl-unit-emf: test_unit wrote no EMF sample"
	elif python3 tests/emf_check.py "$OUT/samples/emf.jsonl"; then
		echo "PASS userctl-unit-emf"
	else
		echo "FAIL userctl-unit-emf: see above"
	fi
}
step emf emf_check
step cli ./tests/test_cli.sh ./natkctl
# The man pages: groff finds no error or warning in them, and natkctl(8)
# has a section for every command of natkctl's table.
man_check() {
	local p cmd bad=
	for p in natkctl.8 natk.conf.5; do
		groff -man -ww -z "$p" > "$OUT/groff" 2>&1 || bad+=" $p: groff failed"
		[ -s "$OUT/groff" ] && bad+=" $p: $(head -c 300 "$OUT/groff")"
	done
	for cmd in $(./natkctl help 2>&1 | awk '/^  [a-z]/ { print $1 }' | sort -u); do
		grep -q "^\.SS natkctl $cmd\b" natkctl.8 || bad+=" natkctl.8 has no section for '$cmd'"
	done
	if [ -n "$bad" ]; then
		echo "FAIL userctl-man:$bad"
	else
		echo "PASS userctl-man"
	fi
}
step man man_check

# Every planned check must have reported.
cat "$OUT"/nl "$OUT"/unit "$OUT"/json "$OUT"/promtool "$OUT"/emf "$OUT"/cli "$OUT"/man > "$OUT/all"
for c in "${PLAN[@]}"; do
	grep -qE "^(PASS|FAIL|SKIP) $c(:| |\$)" "$OUT/all" ||
		echo "FAIL $c: never reported (its test program stopped early)"
done > "$OUT/missing"
cat "$OUT/missing"
! grep -q '^FAIL ' "$OUT/all" "$OUT/missing"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check-mutants: proof that the tests can fail. For each mutant of
# tests/mutants/mutants.txt (a natk.ko with one behaviour broken on purpose:
# natk_mutant(NAME) in kmod/, make module NATK_MUTANT=NAME), build it, boot
# one VM (the newest 6.12 kernel installed) that loads it and runs only the
# scenarios listed for it, and, where the list says "kunit", run the KUnit
# suites with natk built the same way. Mutants named ctl-NAME break
# natkctl instead (ctl_mutant(NAME) in userctl/, make NATKCTL_MUTANT=NAME,
# built in a copy under build/ctl-mutant-*), with the normal natk.ko. A
# mutant is caught when at least one check that passes on the
# normal build FAILs: "PASS mutant-NAME: caught by ...", else "FAIL
# mutant-NAME: survived". First the same scenarios and suites run on the
# normal build (the baseline): a check that fails there catches nothing.
# Ends with the table mutant -> catching checks (docs/compliance.md keeps
# the latest) and "N passed, N failed"; exit status 0 iff every mutant was
# caught and the baseline passed.
#
# Environment:
#   NATK_MUTANTS="a b"        only these mutants (default: every one listed)
#   NATK_MUTANT_KERNEL=KVER   the kernel (default: the newest 6.12 installed)
#   NATK_MUTANT_KUNIT=0       no KUnit runs (they add a minute or two each:
#                             natk's objects are rebuilt in the cached UML
#                             tree of make kunit, nothing else)
#   NATK_MUTANT_BASELINE=0    no baseline run (every check counts)
#   NATK_SKIP_DEPS=1          do not run tests/deps.sh
#   NATK_SKIP_BUILD=1         do not build the normal natk.ko and natkctl
#                             (mutants are always built)
#   NATK_LOG_DIR=DIR          logs (default build/mutant-logs): one
#                             directory per mutant, as tests/check.sh leaves
#   NATK_VM_TIMEOUT, NATK_VM_TCG, NATK_VM_CPU, NATK_KVM  as tests/check.sh
set -uo pipefail
# One compound command, read before it runs: editing this file while it
# runs cannot derail it.
{

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
cd "$REPO" || exit 1
. "$HERE/lib/kernels.sh"

T0=$(date +%s)
LOGDIR=${NATK_LOG_DIR:-$REPO/build/mutant-logs}
LIST=$HERE/mutants/mutants.txt
mkdir -p "$LOGDIR" "$REPO/build" || exit 1
# One run at a time: runs share the mutants' build directories.
exec 8> "$REPO/build/.check-mutants.lock"
flock -n 8 || { echo "check-mutants: another run holds $REPO/build/.check-mutants.lock" >&2; exit 1; }
SUMMARY=$LOGDIR/summary.txt
TABLE=$LOGDIR/table.md
: > "$SUMMARY"

result() { # PASS|FAIL NAME [WHY]
	local line="$1 $2"
	[ -n "${3:-}" ] && line+=": $3"
	echo "$line"
	echo "$line" >> "$SUMMARY"
}
section() { echo "==== $* ($(( $(date +%s) - T0 ))s)"; }

if [ "${NATK_SKIP_DEPS:-0}" != 1 ]; then
	section "dependencies"
	"$HERE/deps.sh" || result FAIL deps "tests/deps.sh failed"
fi

KVER=${NATK_MUTANT_KERNEL:-$(NATK_KERNELS='' natk_kernels | grep '^6\.12\.' | tail -n 1)}
if [ -z "$KVER" ]; then
	result FAIL kernel "no 6.12 kernel with /boot/vmlinuz-K and headers (make deps installs Debian's)"
	echo "0 passed, 1 failed"
	exit 1
fi

# ------------------------------------------------------------ the list
declare -A SCEN=() WHAT=()
NAMES=()
trim() { sed 's/^[[:space:]]*//; s/[[:space:]]*$//; s/[[:space:]][[:space:]]*/ /g' <<< "$1"; }
while IFS='|' read -r name scen what; do
	name=$(trim "$name")
	case $name in '' | '#'*) continue ;; esac
	SCEN[$name]=$(trim "$scen")
	WHAT[$name]=$(trim "$what")
	NAMES+=("$name")
done < "$LIST"
# Every mutant kmod/ and userctl/ have must be listed, and only those.
known=" $(make -s --no-print-directory list-mutants) "
for m in $(grep -ho 'ctl_mutant("[a-z0-9-]*")' "$REPO"/userctl/*.c | sed 's/ctl_mutant("\(.*\)")/ctl-\1/' | sort -u); do
	known+="$m "
done
for m in $known; do
	[ -n "${SCEN[$m]:-}" ] || result FAIL "mutant-$m" "kmod/ or userctl/ has it (natk_mutant(${m//-/_}), ctl_mutant(\"${m#ctl-}\")) but tests/mutants/mutants.txt does not list it"
done
for m in "${NAMES[@]}"; do
	case $known in *" $m "*) ;; *) result FAIL "mutant-$m" "listed in tests/mutants/mutants.txt, but no natk_mutant(${m//-/_}) in kmod/ nor ctl_mutant(\"${m#ctl-}\") in userctl/" ;; esac
done
RUN=("${NAMES[@]}")
[ -n "${NATK_MUTANTS:-}" ] && read -r -a RUN <<< "$NATK_MUTANTS"

# ------------------------------------------------------------ helpers
# pattern SCENARIOS...: a NATK_TESTS extended glob for exactly these
pattern() {
	local IFS='|'
	echo "@($*)"
}

# run_vm KO PATTERN DIR [NATKCTL]: boot one VM on KO with the scenarios of
# PATTERN (and that natkctl); leaves DIR/checks.txt, one "PASS|FAIL
# scenario:check" line each, and DIR/$KVER/done if the VM completed.
run_vm() {
	local ko=$1 pat=$2 dir=$3 ctl=${4:-$REPO/userctl/natkctl}
	rm -rf "$dir"
	mkdir -p "$dir"
	NATK_SKIP_DEPS=1 NATK_SKIP_BUILD=1 NATK_SKIP_CHECKPATCH=1 NATK_SKIP_SUITES=1 \
		NATK_KERNELS=$KVER NATK_KO=$ko NATKCTL=$ctl NATK_TESTS=$pat NATK_LOG_DIR=$dir \
		"$HERE/check.sh" > "$dir/check.log" 2>&1
	awk '/^=== scenario / { sc = $3 }
		/^(PASS|FAIL) / { n = $2; sub(/:$/, "", n); print $1, sc ":" n }' \
		"$dir/$KVER/guest.log" > "$dir/checks.txt" 2>/dev/null
}

# run_kunit DIR [MUTANT]: make kunit (natk built with MUTANT); leaves
# DIR/kunit-checks.txt, "PASS|FAIL kunit:suite.case" (and a FAIL
# kunit:kernel-problems line if kunit.sh failed for a kernel report).
run_kunit() {
	local dir=$1 m=${2:-} rc
	mkdir -p "$dir"
	NATK_MUTANT=$m NATK_KUNIT_OUT=$dir/kunit "$HERE/kunit.sh" > "$dir/kunit.log" 2>&1
	rc=$?
	python3 - "$dir/kunit/kunit.json" > "$dir/kunit-checks.txt" 2>/dev/null <<-'EOF'
		import json, sys
		def walk(g, pre):
		    for c in g.get("test_cases", []):
		        print("%s kunit:%s%s" % ("PASS" if c["status"] == "PASS" else c["status"], pre, c["name"]))
		    for s in g.get("sub_groups", []):
		        walk(s, s["name"] + ".")
		walk(json.load(open(sys.argv[1])), "")
	EOF
	if [ "$rc" -eq 1 ] && ! grep -q '^FAIL' "$dir/kunit-checks.txt"; then
		echo "FAIL kunit:kernel-problems" >> "$dir/kunit-checks.txt"
	fi
	return "$rc"
}

# ------------------------------------------------------------ build
if [ "${NATK_SKIP_BUILD:-0}" != 1 ]; then
	section "build natk.ko for $KVER and natkctl"
	if ! make --no-print-directory module KVER="$KVER" > "$LOGDIR/build-$KVER.log" 2>&1 ||
		! make --no-print-directory natkctl > "$LOGDIR/build-natkctl.log" 2>&1; then
		result FAIL build "make module KVER=$KVER or make natkctl failed (logs in $LOGDIR)"
		echo "0 passed, $(grep -c '^FAIL' "$SUMMARY") failed"
		exit 1
	fi
fi

# scenarios M: the scenarios listed for mutant M; kunit M: does it want KUnit
scenarios() {
	local w
	for w in ${SCEN[$1]}; do [ "$w" = kunit ] || echo "$w"; done
}
kunit() {
	[ "${NATK_MUTANT_KUNIT:-1}" = 1 ] || return 1
	case " ${SCEN[$1]} " in *" kunit "*) return 0 ;; esac
	return 1
}
ALL=()
KUNIT=0
for m in "${RUN[@]}"; do
	[ -n "${SCEN[$m]:-}" ] || { result FAIL "mutant-$m" "not in tests/mutants/mutants.txt"; continue; }
	mapfile -t -O ${#ALL[@]} ALL < <(scenarios "$m")
	kunit "$m" && KUNIT=1
done
mapfile -t ALL < <(printf '%s\n' "${ALL[@]}" | grep . | sort -u)

# ------------------------------------------------------------ baseline
# What passes on the normal build; only those checks can catch a mutant.
declare -A BASE=()
BASELINE=${NATK_MUTANT_BASELINE:-1}
# (KUnit's too: mutants that only KUnit catches need one as well.)
if [ "$BASELINE" = 1 ] && { [ ${#ALL[@]} -gt 0 ] || [ "$KUNIT" = 1 ]; }; then
	if [ ${#ALL[@]} -gt 0 ]; then
		section "baseline: normal build, ${ALL[*]}"
		run_vm "$REPO/build/$KVER/natk.ko" "$(pattern "${ALL[@]}")" "$LOGDIR/baseline"
	else
		rm -rf "$LOGDIR/baseline"
		mkdir -p "$LOGDIR/baseline/$KVER"
		: > "$LOGDIR/baseline/checks.txt"
		touch "$LOGDIR/baseline/$KVER/done"	# no VM to wait for
	fi
	if [ "$KUNIT" = 1 ]; then
		section "baseline: KUnit, normal build"
		run_kunit "$LOGDIR/baseline"
		cat "$LOGDIR/baseline/kunit-checks.txt" >> "$LOGDIR/baseline/checks.txt"
	fi
	while read -r st c; do
		[ "$st" = PASS ] && BASE[$c]=1
	done < "$LOGDIR/baseline/checks.txt"
	bad=$(grep -v '^PASS' "$LOGDIR/baseline/checks.txt" | cut -d' ' -f2 | tr '\n' ' ')
	if [ ! -e "$LOGDIR/baseline/$KVER/done" ]; then
		result FAIL baseline "the VM did not complete (log $LOGDIR/baseline/check.log)"
	elif [ -n "$bad" ]; then
		result FAIL baseline "on the normal build: $bad(these catch nothing)"
	else
		result PASS baseline "${#BASE[@]} checks pass on the normal build"
	fi
fi

# ------------------------------------------------------------ mutants
declare -A CAUGHT=()
for m in "${RUN[@]}"; do
	[ -n "${SCEN[$m]:-}" ] || continue
	d=$LOGDIR/$m
	rm -rf "$d"
	mkdir -p "$d"
	section "mutant $m: ${WHAT[$m]}; ${SCEN[$m]}"
	mapfile -t sc < <(scenarios "$m")
	if [ "${m#ctl-}" != "$m" ]; then
		# A natkctl mutant (userctl/sync.h): the normal natk.ko, and
		# natkctl built with NATKCTL_MUTANT in a copy of userctl/.
		c=$REPO/build/ctl-mutant-$m
		rm -rf "$c"
		mkdir -p "$c"
		cp -r "$REPO/userctl" "$c/"
		ln -s "$REPO/include" "$c/include"
		if ! { make -C "$c/userctl" clean && make -C "$c/userctl" natkctl NATKCTL_MUTANT="${m#ctl-}"; } > "$d/build.log" 2>&1; then
			tail -n 20 "$d/build.log"
			result FAIL "mutant-$m" "does not build (log $d/build.log)"
			CAUGHT[$m]="(does not build)"
			continue
		fi
		run_vm "$REPO/build/$KVER/natk.ko" "$(pattern "${sc[@]}")" "$d" "$c/userctl/natkctl"
	else
		if ! make --no-print-directory module KVER="$KVER" NATK_MUTANT="$m" > "$d/build.log" 2>&1; then
			tail -n 20 "$d/build.log"
			result FAIL "mutant-$m" "does not build (log $d/build.log)"
			CAUGHT[$m]="(does not build)"
			continue
		fi
		run_vm "$REPO/build/$KVER-mutant-$m/natk.ko" "$(pattern "${sc[@]}")" "$d"
	fi
	vm_ok=1
	[ -e "$d/$KVER/done" ] || vm_ok=0
	if kunit "$m"; then
		run_kunit "$d" "$m"
		[ $? -eq 2 ] && echo "  KUnit: natk did not build with the mutant (log $d/kunit.log)"
		cat "$d/kunit-checks.txt" >> "$d/checks.txt"
	fi
	# The checks that FAILed here and PASSed on the normal build. Not the
	# VM's own, nor a scenario's setup: natk that did not load (natk-up)
	# or a topology that failed proves nothing about the behaviour.
	caught=()
	while read -r st c; do
		[ "$st" = FAIL ] || continue
		case ${c#*:} in vm-completed | kernel-console* | kernel-log-clean | *-natk-up | *-setup) continue ;; esac
		[ "$BASELINE" = 1 ] && [ -z "${BASE[$c]:-}" ] && continue
		caught+=("$c")
	done < <(sort -u "$d/checks.txt")
	n=$(grep -c . "$d/checks.txt")
	setup=$(awk '$1 == "FAIL" && ($2 ~ /-natk-up$/ || $2 ~ /-setup$/) { print $2 }' "$d/checks.txt" | tr '\n' ' ')
	if [ -n "$setup" ]; then
		CAUGHT[$m]="(setup failed)"
		result FAIL "mutant-$m" "setup failed, nothing learnt: $setup(log $d/check.log)"
	elif [ "$vm_ok" = 0 ]; then
		# Every scenario listed must have run: a catch by KUnit alone
		# would hide a scenario that no longer catches the mutant.
		CAUGHT[$m]="(VM did not complete)"
		result FAIL "mutant-$m" "the VM did not complete, so its scenarios were not all seen (log $d/check.log)${caught[*]:+; caught meanwhile by ${caught[*]}}"
	elif [ ${#caught[@]} -gt 0 ]; then
		CAUGHT[$m]="${caught[*]}"
		result PASS "mutant-$m" "caught by ${caught[*]}"
	else
		CAUGHT[$m]="(survived)"
		result FAIL "mutant-$m" "survived: all $n checks passed (log $d/check.log)"
	fi
done

# ------------------------------------------------------------ table
{
	echo "| mutant | what is broken | caught by |"
	echo "|---|---|---|"
	for m in "${RUN[@]}"; do
		[ -n "${SCEN[$m]:-}" ] || continue
		c=${CAUGHT[$m]:-}
		# shellcheck disable=SC2016
		case $c in
		'(*' | '') ;;
		*)
			# At most 8 in the table (the log line above has them all).
			# shellcheck disable=SC2086
			set -- $c
			c=$(echo "${*:1:8}" | sed 's/\([^ ]*\)/`\1`/g; s/` `/`, `/g')
			[ $# -gt 8 ] && c+=" and $(( $# - 8 )) more"
			;;
		esac
		echo "| \`$m\` | ${WHAT[$m]} | $c |"
	done
} > "$TABLE"
section "mutant -> catching checks ($TABLE)"
cat "$TABLE"
passed=$(grep -c '^PASS' "$SUMMARY")
failed=$(grep -c '^FAIL' "$SUMMARY")
if [ "$failed" -gt 0 ]; then
	echo "==== failures:"
	grep '^FAIL' "$SUMMARY"
fi
echo "==== kernel $KVER, total time $(( $(date +%s) - T0 ))s"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
exit
}

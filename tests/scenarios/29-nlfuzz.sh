#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Generic netlink fuzzer (tests/fuzz/nlfuzz.py): thousands of random and
# mangled messages to the natk family from root in a scratch netns "fz"
# (natk enabled there on a dummy interface), then a shorter run as an
# unprivileged user in the init netns. Pass: every message that asked for
# an ack was answered, EINVAL/ERANGE carry an extack, the exact contract
# cases hold, admin commands are refused to the unprivileged user, natk
# still answers natkctl status afterwards, nothing in dmesg. Each run must
# end by itself within its time limit, without a Python traceback, and
# report every check it has (listed below): a crash half-way cannot lose
# the later checks.
# NATK_FUZZ_SEED=N replays a run; NATK_FUZZ_COUNT (default 10000) sets the
# number of messages.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
# What nlfuzz.py reports, by run (RESULT lines; see its docstring).
ROOT_CHECKS=()
for c in set-max-flows-0 set-port-min-alone set-port-min-above-max set-timeout-huge \
	set-timeout-zero set-unknown-attr set-not-settable-attr set-wrong-length \
	set-unknown-ifindex set-invalid-ifname set-ifname-and-ifindex set-long-ifname \
	set-prefix-host-bits set-prefix-len-33 set-prefix-no-len set-prefix-too-many; do
	ROOT_CHECKS+=("nlfuzz-contract-$c" "nlfuzz-contract-$c-nothing-applied")
done
for c in set-valid set-restore flows-filter-wrong-type flows-dump fwd-add-no-nest \
	fwd-add-sctp fwd-add-port-0 fwd-del-missing delete-flow-no-flow delete-flow-partial \
	delete-flow-missing unknown-cmd-unspec unknown-cmd-flow-new \
	unknown-cmd-flow-del unknown-cmd-state unknown-cmd-map-new unknown-cmd-map-del unknown-cmd-flow-update unknown-cmd-max-plus-1 unknown-cmd-99 unknown-cmd-255 dump-of-doit; do
	ROOT_CHECKS+=("nlfuzz-contract-$c")
done
UNPRIV_CHECKS=()
for c in family-alive sent every-message-answered replies-consistent alive-at-end; do
	ROOT_CHECKS+=("nlfuzz-$c")
	UNPRIV_CHECKS+=("nlfuzz-unpriv-$c")
done
ROOT_CHECKS+=(nlfuzz-einval-has-extack)
UNPRIV_CHECKS+=(nlfuzz-unpriv-admin-commands-refused)
plan nlfuzz-natk-load nlfuzz-natk-on-dummy "${ROOT_CHECKS[@]}" nlfuzz-time nlfuzz-no-crash \
	"${UNPRIV_CHECKS[@]}" nlfuzz-unpriv-time nlfuzz-unpriv-no-crash \
	nlfuzz-natkctl-status-fz nlfuzz-natkctl-status-fz-json nlfuzz-natkctl-stats-fz \
	nlfuzz-natkctl-flows-fz nlfuzz-natkctl-status-init nlfuzz-init-netns-untouched \
	nlfuzz-natk-reconfigure nlfuzz-natk-down nlfuzz-dmesg-clean nlfuzz-module-unload

require_natk nlfuzz-natk-built
check nlfuzz-natk-load natk_load || exit 1
dmesg_mark

FUZZ=$NATK_REPO/tests/fuzz/nlfuzz.py
COUNT=${NATK_FUZZ_COUNT:-10000}
SEED=${NATK_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# results TAG RC LIMIT OUT EXPECTED...: the run TAG of nlfuzz.py (exit
# status RC, time limit LIMIT s, output in file OUT): its RESULT lines
# become PASS/FAIL; each EXPECTED check it did not report FAILs; TAG-time
# FAILs when it was killed at its time limit, TAG-no-crash when it died of
# a Python exception (a traceback) or ended with a status other than 0
# (all passed) or 1 (something failed).
results() {
	local tag=$1 rc=$2 limit=$3 out=$4 line c seen=" " nfail=0
	shift 4
	while IFS= read -r line; do
		case $line in
		"RESULT PASS "*) line=${line#RESULT PASS }; pass "$line"; seen+="$line " ;;
		"RESULT FAIL "*)
			line=${line#RESULT FAIL }
			fail "${line%%: *}" "${line#*: }"
			seen+="${line%%: *} "
			nfail=$((nfail + 1))
			;;
		*) echo "  # $line" ;;
		esac
	done < "$out"
	for c in "$@"; do
		case $seen in
		*" $c "*) ;;
		*) fail "$c" "nlfuzz.py ($tag, exit status $rc) never reported it: it crashed or stopped early (seed $SEED)" ;;
		esac
	done
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		fail "$tag-time" "nlfuzz.py was killed at its limit of $limit s (seed $SEED)"
	else
		pass "$tag-time"
	fi
	if grep -q '^Traceback (most recent call last)' "$out"; then
		fail "$tag-no-crash" "nlfuzz.py raised an exception (seed $SEED): $(grep -A 30 '^Traceback' "$out" | tail -n 2 | tr '\n' ' ')"
	elif [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		pass "$tag-no-crash"	# killed, not crashed: $tag-time says so
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne 1 ]; then
		fail "$tag-no-crash" "nlfuzz.py exited with status $rc (seed $SEED): $(tail -n 3 "$out" | tr '\n' ' ')"
	elif [ "$rc" -eq 1 ] && [ "$nfail" -eq 0 ]; then
		fail "$tag-no-crash" "nlfuzz.py exited with status 1 but reported no failure (seed $SEED)"
	elif [ "$rc" -eq 0 ] && [ "$nfail" -gt 0 ]; then
		fail "$tag-no-crash" "nlfuzz.py exited with status 0 after $nfail failures (seed $SEED)"
	else
		pass "$tag-no-crash"
	fi
}

_ns_base fz || { fail nlfuzz-netns "cannot create netns fz"; exit 1; }
ip -n fz link add dummy0 type dummy && ip -n fz addr add 198.51.100.1/24 dev dummy0 &&
	ip -n fz link set dummy0 up || { fail nlfuzz-netns "dummy0 in fz"; exit 1; }
check nlfuzz-natk-on-dummy nsx fz "$NATKCTL" set external dummy0
before_init=$("$NATKCTL" -j status)

t0=$(date +%s)
nsx fz timeout 180 python3 "$FUZZ" --seed "$SEED" --count "$COUNT" --max-seconds 130 > "$CTL_TMP/fuzz.out" 2>&1
rc=$?
log "root run: exit $rc, $(( $(date +%s) - t0 ))s, seed $SEED"
results nlfuzz "$rc" 180 "$CTL_TMP/fuzz.out" "${ROOT_CHECKS[@]}"

# Unprivileged: nobody in the init netns, through a readable copy.
cp "$NATK_REPO/tests/fuzz/"*.py "$CTL_TMP/" && chmod 755 "$CTL_TMP" && chmod 644 "$CTL_TMP"/*.py
t0=$(date +%s)
setpriv --reuid 65534 --regid 65534 --clear-groups timeout 90 \
	python3 "$CTL_TMP/nlfuzz.py" --unpriv --seed "$SEED" --count $((COUNT / 5)) --max-seconds 50 > "$CTL_TMP/fuzz-unpriv.out" 2>&1
rc=$?
log "unprivileged run: exit $rc, $(( $(date +%s) - t0 ))s"
results nlfuzz-unpriv "$rc" 90 "$CTL_TMP/fuzz-unpriv.out" "${UNPRIV_CHECKS[@]}"

# natk still works for natkctl, in both namespaces.
expect_status nlfuzz-natkctl-status-fz fz -j status
json_expect nlfuzz-natkctl-status-fz-json "$CTL_OUT" '(.port_min | type) == "number" and (.timeouts | type) == "object"'
expect_ok nlfuzz-natkctl-stats-fz fz -j stats
expect_ok nlfuzz-natkctl-flows-fz fz -j flows
expect_inactive nlfuzz-natkctl-status-init - -j status
expect_eq nlfuzz-init-netns-untouched "$(printf '%s' "$before_init" | jq -c 'del(.hash_buckets)')" \
	"$(printf '%s' "$CTL_OUT" | jq -c 'del(.hash_buckets)')" "natkctl -j status in the init netns before/after the unprivileged fuzzing"
# Put fz into a known state again (the fuzzer may have listed addresses
# dummy0 lacks) and back: the module still configures.
check nlfuzz-natk-reconfigure nsx fz "$NATKCTL" set external dummy0 addresses primary ports 1024-65535 timeout udp 300
check nlfuzz-natk-down nsx fz "$NATKCTL" down
dmesg_check nlfuzz-dmesg-clean
ip netns del fz
check nlfuzz-module-unload rmmod natk

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Generic netlink fuzzer (tests/fuzz/nlfuzz.py): thousands of random and
# mangled messages to the natk family from root in a scratch netns "fz"
# (natk enabled there on a dummy interface), then a shorter run as an
# unprivileged user in the init netns. Pass: every message that asked for
# an ack was answered, EINVAL/ERANGE carry an extack, the exact contract
# cases hold, admin commands are refused to the unprivileged user, natk
# still answers natkctl status afterwards, nothing in dmesg.
# NATK_FUZZ_SEED=N replays a run; NATK_FUZZ_COUNT (default 10000) sets the
# number of messages.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
require_natk nlfuzz-natk-built
check nlfuzz-natk-load natk_load || exit 1
dmesg_mark

FUZZ=$NATK_REPO/tests/fuzz/nlfuzz.py
COUNT=${NATK_FUZZ_COUNT:-10000}
SEED=${NATK_FUZZ_SEED:-$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')}

# results: RESULT PASS|FAIL lines of nlfuzz.py -> pass/fail
collect() {
	local line n=0
	while IFS= read -r line; do
		case $line in
		"RESULT PASS "*) pass "${line#RESULT PASS }"; n=$((n + 1)) ;;
		"RESULT FAIL "*) line=${line#RESULT FAIL }; fail "${line%%: *}" "${line#*: }"; n=$((n + 1)) ;;
		*) echo "  # $line" ;;
		esac
	done
	[ "$n" -gt 0 ]
}

_ns_base fz || { fail nlfuzz-netns "cannot create netns fz"; exit 1; }
ip -n fz link add dummy0 type dummy && ip -n fz addr add 198.51.100.1/24 dev dummy0 &&
	ip -n fz link set dummy0 up || { fail nlfuzz-netns "dummy0 in fz"; exit 1; }
check nlfuzz-natk-on-dummy nsx fz "$NATKCTL" set external dummy0
before_init=$("$NATKCTL" -j status)

t0=$(date +%s)
nsx fz timeout 180 python3 "$FUZZ" --seed "$SEED" --count "$COUNT" --max-seconds 130 > "$CTL_TMP/fuzz.out" 2>&1
rc=$?
collect < "$CTL_TMP/fuzz.out" || fail nlfuzz-ran "nlfuzz.py exit $rc, no results: $(tail -n 5 "$CTL_TMP/fuzz.out")"
[ "$rc" -eq 124 ] && fail nlfuzz-time "nlfuzz.py timed out after 180 s (seed $SEED)"
log "root run: exit $rc, $(( $(date +%s) - t0 ))s, seed $SEED"

# Unprivileged: nobody in the init netns, through a readable copy.
cp "$NATK_REPO/tests/fuzz/"*.py "$CTL_TMP/" && chmod 755 "$CTL_TMP" && chmod 644 "$CTL_TMP"/*.py
t0=$(date +%s)
setpriv --reuid 65534 --regid 65534 --clear-groups timeout 90 \
	python3 "$CTL_TMP/nlfuzz.py" --unpriv --seed "$SEED" --count $((COUNT / 5)) --max-seconds 50 > "$CTL_TMP/fuzz-unpriv.out" 2>&1
rc=$?
collect < "$CTL_TMP/fuzz-unpriv.out" || fail nlfuzz-unpriv-ran "nlfuzz.py --unpriv exit $rc: $(tail -n 5 "$CTL_TMP/fuzz-unpriv.out")"
log "unprivileged run: exit $rc, $(( $(date +%s) - t0 ))s"

# natk still works for natkctl, in both namespaces.
expect_ok nlfuzz-natkctl-status-fz fz -j status
json_expect nlfuzz-natkctl-status-fz-json "$CTL_OUT" '(.port_min | type) == "number" and (.timeouts | type) == "object"'
expect_ok nlfuzz-natkctl-stats-fz fz -j stats
expect_ok nlfuzz-natkctl-flows-fz fz -j flows
expect_ok nlfuzz-natkctl-status-init - -j status
expect_eq nlfuzz-init-netns-untouched "$(printf '%s' "$before_init" | jq -c 'del(.hash_buckets)')" \
	"$(printf '%s' "$CTL_OUT" | jq -c 'del(.hash_buckets)')" "natkctl -j status in the init netns before/after the unprivileged fuzzing"
# Put fz into a known state again and back: the module still configures.
check nlfuzz-natk-reconfigure nsx fz "$NATKCTL" set external dummy0 ports 1024-65535 timeout udp 300
check nlfuzz-natk-down nsx fz "$NATKCTL" down
dmesg_check nlfuzz-dmesg-clean
ip netns del fz
check nlfuzz-module-unload rmmod natk

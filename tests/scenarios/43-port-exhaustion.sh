#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Port exhaustion (RFC 6888 REQ-11: defined behaviour when resources run
# out): with ports 20000-20009 (10 external ports),
#  - lan1:41000 opens a UDP flow that gets replies;
#  - lan2 then opens 1,000 UDP flows to one destination from 1,000 source
#    ports (one python process): at most 10 flows exist in all, the rest
#    are dropped and counted (port_allocation_errors, drop_no_port), only
#    translated datagrams reach the wan, natkctl still answers and the
#    kernel logs no soft lockup or RCU stall (the port search is bounded);
#  - lan1:41000 keeps its external port and keeps working;
#  - after natkctl flush a new flow gets a port again.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" port-exhaustion-set-ports port-exhaustion-status-ports \
	port-exhaustion-first-flow port-exhaustion-status-answers port-exhaustion-flows-capped \
	port-exhaustion-ports-in-range port-exhaustion-allocation-errors-counted \
	port-exhaustion-drop-no-port-counted port-exhaustion-wan-saw-only-translated \
	port-exhaustion-no-lockup port-exhaustion-first-flow-works port-exhaustion-flush \
	port-exhaustion-new-flow-after-flush port-exhaustion-lan2-after-flush port-exhaustion-kernel-log
dmesg_mark
require_natk port-exhaustion-setup
topo_setup || { fail port-exhaustion-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
NFLOWS=1000
PLO=20000
PHI=20009

check port-exhaustion-set-ports nctl set ports $PLO-$PHI
expect_eq port-exhaustion-status-ports "$PLO $PHI" \
	"$(nctl -j status | jq -r '"\(.port_min) \(.port_max)"')" "natkctl -j status .port_min .port_max"

nsx wan python3 -c "$RFC_PY" udpsrv 0.0.0.0 5000 "$D/wan.log" &
rfc_wait_file "$D/wan.log" '^#ready'
peer_server wan udp 5001 $WAN1

# in_range PORT: PORT is one of the configured external ports
in_range() { [ "${1:-0}" -ge $PLO ] 2>/dev/null && [ "$1" -le $PHI ]; }

# --- the flow that must survive
r1=$(ask lan1 udp $WAN1 5001 41000 | sed -n 1p)
p1=${r1#* }
if [ "${r1%% *}" = "$NAT_EXT" ] && in_range "$p1"; then
	pass port-exhaustion-first-flow
else
	fail port-exhaustion-first-flow "reply to lan1:41000 was '$r1', want '$NAT_EXT <$PLO-$PHI>'"
fi

# --- 1,000 new flows from lan2 with 9 free ports
pa0=$(stat_of port_allocation_errors)
np0=$(stat_of drop_no_port)
specs=()
for i in $(seq 0 $((NFLOWS - 1))); do specs+=("0.0.0.0:$((42000 + i)):$WAN1:5000:exhaust"); done
t0=$(date +%s%N)
nsx lan2 timeout 120 python3 -c "$RFC_PY" udpmany "${specs[@]}"
rc=$?
t1=$(date +%s%N)
log "lan2 sent $NFLOWS datagrams from $NFLOWS ports in $(( (t1 - t0) / 1000000 )) ms (rc=$rc)"
# natkctl must answer while (and right after) the table is hammered.
if out=$(nctl -j status) && echo "$out" | jq -e '.flows != null' > /dev/null; then
	pass port-exhaustion-status-answers
else
	fail port-exhaustion-status-answers "natkctl -j status after the burst: $out"
fi

n=$(nctl -j flows | jq length)
log "flows after the burst: $n (ports $PLO-$PHI)"
if [ -n "$n" ] && [ "$n" -le 10 ]; then
	pass port-exhaustion-flows-capped
else
	fail port-exhaustion-flows-capped "${n:-?} flows with 10 external ports"
fi
bad=$(nctl -j flows | jq -r --argjson lo $PLO --argjson hi $PHI \
	'[.[] | select(.external_port < $lo or .external_port > $hi) | .external_port] | join(" ")')
expect_eq port-exhaustion-ports-in-range "" "$bad" "external ports outside $PLO-$PHI"

pa=$(stat_delta port_allocation_errors "$pa0")
np=$(stat_delta drop_no_port "$np0")
log "port_allocation_errors +$pa, drop_no_port +$np for $NFLOWS new flows"
if [ "$pa" -ge $((NFLOWS - 20)) ]; then
	pass port-exhaustion-allocation-errors-counted
else
	fail port-exhaustion-allocation-errors-counted "port_allocation_errors grew by $pa, want >= $((NFLOWS - 20))"
fi
if [ "$np" -ge $((NFLOWS - 20)) ]; then
	pass port-exhaustion-drop-no-port-counted
else
	fail port-exhaustion-drop-no-port-counted "drop_no_port grew by $np, want >= $((NFLOWS - 20))"
fi

# What reached the wan: at most the 9 flows that got a port, all
# translated (source NAT_EXT and a port in range).
sleep 1
got=$(grep -c ' exhaust$' "$D/wan.log")
leaked=$(grep ' exhaust$' "$D/wan.log" | awk -v a=$NAT_EXT -v lo=$PLO -v hi=$PHI \
	'$1 != a || $2 < lo || $2 > hi' | head -n 3 | tr '\n' ' ')
log "wan received $got of the $NFLOWS datagrams"
if [ "$got" -le 9 ] && [ -z "$leaked" ]; then
	pass port-exhaustion-wan-saw-only-translated
else
	fail port-exhaustion-wan-saw-only-translated "wan got $got datagrams (want <= 9), outside $NAT_EXT:$PLO-$PHI: '$leaked'"
fi

# The kernel log: no soft lockup or RCU stall (dmesg_check below covers
# every warning; this is the one the port search could cause).
stalls=$(dmesg_since | grep -Ei 'soft lockup|rcu.*stall' | head -n 3)
expect_eq port-exhaustion-no-lockup "" "$stalls" "kernel log"

# --- the earlier flow still works, with the same port
r2=$(ask lan1 udp $WAN1 5001 41000 | sed -n 1p)
expect_eq port-exhaustion-first-flow-works "$r1" "$r2" "reply to lan1:41000 after the burst"

# --- flush: ports are free again
check port-exhaustion-flush nctl flush
poll 5 sh -c "[ \$(ip netns exec nat $NATKCTL -j flows | jq length) = 0 ]" ||
	log "flows left after flush: $(nctl -j flows | jq length)"
r3=$(ask lan1 udp $WAN1 5001 41001 | sed -n 1p)
if [ "${r3%% *}" = "$NAT_EXT" ] && in_range "${r3#* }"; then
	pass port-exhaustion-new-flow-after-flush
else
	fail port-exhaustion-new-flow-after-flush "reply to lan1:41001 after flush was '$r3'"
fi
r4=$(ask lan2 udp $WAN1 5001 42000 | sed -n 1p)
if [ "${r4%% *}" = "$NAT_EXT" ] && in_range "${r4#* }"; then
	pass port-exhaustion-lan2-after-flush
else
	fail port-exhaustion-lan2-after-flush "reply to lan2:42000 after flush was '$r4'"
fi
dmesg_check port-exhaustion-kernel-log
rm -rf "$D"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 6888 REQ-4/5 (per-subscriber limits) and REQ-11 (defined behaviour
# when resources run out):
#  - max-flows-per-host 3: lan1 opening 5 UDP flows gets 3, the other 2
#    are dropped and counted (drop_host_limit); lan2 is not affected;
#  - a limit set while a host has flows counts them: without a limit (and
#    with one address) natk keeps no host objects and status counts no
#    hosts; max-flows-per-host 4 set over lan1's 4 flows refuses its 5th;
#  - max-flows 6 (whole table): 10 unreplied flows from lan2 -> the excess
#    is dropped (drop_table_full), unreplied flows are evicted
#    (flows_evicted), and a flow with replies is kept and keeps working.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc6888-req4-set-host-limit rfc6888-req4-status \
	rfc6888-req4-host-flows-capped rfc6888-req4-host-limit-counted \
	rfc6888-req4-host-limit-wan-saw rfc6888-req4-other-host-unaffected \
	rfc6888-req4-set-no-limit rfc6888-flush rfc6888-req4-hosts-uncounted \
	rfc6888-req4-set-late-limit rfc6888-req4-late-limit-counts-existing \
	rfc6888-req4-late-limit-hosts rfc6888-req4-unset-late-limit \
	rfc6888-flush-late rfc6888-req11-set-max-flows \
	rfc6888-req11-replied-flow rfc6888-req11-table-capped rfc6888-req11-table-full-counted \
	rfc6888-req11-unreplied-evicted rfc6888-req11-replied-flow-kept \
	rfc6888-req11-replied-flow-works rfc6888-kernel-log
dmesg_mark
require_natk rfc6888-setup
topo_setup || { fail rfc6888-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
nsx wan python3 -c "$RFC_PY" udpsrv 0.0.0.0 5000 "$D/wan.log" &
rfc_wait_file "$D/wan.log" '^#ready'
peer_server wan udp 5001 $WAN1

# many NS FIRSTPORT N DATA: N datagrams from NS's ports FIRSTPORT.. to
# 192.0.2.2:5000, from one python process
many() {
	local specs=() i
	for i in $(seq 0 $(($3 - 1))); do specs+=("0.0.0.0:$(($2 + i)):$WAN1:5000:$4"); done
	nsx "$1" python3 -c "$RFC_PY" udpmany "${specs[@]}"
}

# --- REQ-4/5: per-host limit
check rfc6888-req4-set-host-limit nctl set max-flows-per-host 3
expect_eq rfc6888-req4-status 3 "$(nctl -j status | jq -r .max_flows_per_host)" "natkctl -j status .max_flows_per_host"
hl0=$(stat_of drop_host_limit)
many lan1 40900 5 host-limit
rfc_wait_file "$D/wan.log" "host-limit" 5 || log "nothing arrived at wan"
n=$(nctl -j flows | jq '[.[] | select(.internal_address == "'$LAN1'")] | length')
expect_eq rfc6888-req4-host-flows-capped 3 "$n" "flows of $LAN1 with max-flows-per-host 3 after 5 new flows"
expect_eq rfc6888-req4-host-limit-counted 2 "$(stat_delta drop_host_limit "$hl0")" "drop_host_limit increase"
poll 3 sh -c "[ \$(grep -c host-limit '$D/wan.log') -ge 3 ]"
expect_eq rfc6888-req4-host-limit-wan-saw 3 "$(grep -c host-limit "$D/wan.log")" "datagrams wan received"
r=$(ask lan2 udp $WAN1 5001 40910 | sed -n 1p)
expect_eq rfc6888-req4-other-host-unaffected "$NAT_EXT" "${r%% *}" "lan2's reply while lan1 is at its limit"
check rfc6888-req4-set-no-limit nctl set max-flows-per-host none
check rfc6888-flush nctl flush

# A limit set over existing flows: they were made without host objects
# (one address, no limit), and must count at once.
many lan1 40940 4 prelimit
lan1_flows() { [ "$(nctl -j flows | jq '[.[] | select(.internal_address == "'$LAN1'")] | length')" = "$1" ]; }
poll 5 lan1_flows 4 || log "prelimit: $LAN1 has not 4 flows: $(nctl flows)"
expect_eq rfc6888-req4-hosts-uncounted false \
	"$(nctl -j status | jq '.addresses.pool[0] | has("hosts")')" \
	"status .addresses.pool[0] has hosts (one address, no per-host limit: none counted)"
check rfc6888-req4-set-late-limit nctl set max-flows-per-host 4
hl1=$(stat_of drop_host_limit)
many lan1 40950 1 overlimit
late_dropped() { [ "$(stat_delta drop_host_limit "$hl1")" -ge 1 ]; }
poll 3 late_dropped
expect_eq rfc6888-req4-late-limit-counts-existing "1 0" \
	"$(stat_delta drop_host_limit "$hl1") $(grep -c overlimit "$D/wan.log")" \
	"drop_host_limit increase and datagrams wan got, for a 5th flow of $LAN1 whose 4 flows predate max-flows-per-host 4"
expect_eq rfc6888-req4-late-limit-hosts 1 \
	"$(nctl -j status | jq '.addresses.pool[0].hosts')" \
	"status .addresses.pool[0].hosts with the limit set ($LAN1 alone has flows)"
check rfc6888-req4-unset-late-limit nctl set max-flows-per-host none
check rfc6888-flush-late nctl flush

# --- REQ-11: table full
check rfc6888-req11-set-max-flows nctl set max-flows 6
r=$(ask lan1 udp $WAN1 5001 40920 | sed -n 1p)
expect_eq rfc6888-req11-replied-flow "$NAT_EXT" "${r%% *}" "reply to lan1:40920"
tf0=$(stat_of drop_table_full)
ev0=$(stat_of flows_evicted)
many lan2 40930 10 table-full
n=$(nctl -j flows | jq length)
if [ "$n" -le 6 ] 2>/dev/null; then pass rfc6888-req11-table-capped; else fail rfc6888-req11-table-capped "$n flows with max-flows 6"; fi
n=$(stat_delta drop_table_full "$tf0")
if [ "$n" -ge 1 ] 2>/dev/null; then pass rfc6888-req11-table-full-counted; else fail rfc6888-req11-table-full-counted "drop_table_full grew by $n after 10 new flows into a table of 6 holding 1"; fi
if poll 5 sh -c "[ \$(ip netns exec nat $NATKCTL -j stats | jq .flows_evicted) -gt ${ev0:-0} ]"; then
	pass rfc6888-req11-unreplied-evicted
else
	fail rfc6888-req11-unreplied-evicted "flows_evicted stayed at $(stat_of flows_evicted)"
fi
if flow_present udp $LAN1 40920; then pass rfc6888-req11-replied-flow-kept; else fail rfc6888-req11-replied-flow-kept "lan1:40920's flow (with a reply) is gone: $(nctl -j flows | jq -c '[.[] | .internal_port]')"; fi
r=$(ask lan1 udp $WAN1 5001 40920 | sed -n 1p)
expect_eq rfc6888-req11-replied-flow-works "$NAT_EXT 40920" "$r" "lan1:40920 after the table filled"
dmesg_check rfc6888-kernel-log
rm -rf "$D"

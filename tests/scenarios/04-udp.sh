#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# UDP through natk: the wan server sees 192.0.2.1 and its reply reaches
# lan1; natkctl lists the flow, seen both ways and without counters
# (accounting is off by default); natkctl's own flow filter finds it.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" udp-masquerade udp-reply-delivered udp-no-private-leak udp-flow-listed \
	udp-flow-filter-and-fields udp-stats-count
require_natk udp-masquerade
topo_setup || { fail udp-masquerade "topology setup failed"; exit 1; }
wan_counter_setup
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan udp 5000 $WAN1

peer=$(ask lan1 udp $WAN1 5000 41110 | sed -n 1p)
expect_eq udp-masquerade "$NAT_EXT" "${peer%% *}" "UDP peer address seen by wan (empty: no reply reached lan1)"
[ -n "$peer" ] && pass udp-reply-delivered || fail udp-reply-delivered "no reply reached lan1"
expect_eq udp-no-private-leak 0 "$(wan_counter from_lan)" "packets from 10.0.0.0/24 seen in wan"
ext=$(flow_field udp $LAN1 41110 external_port)
expect_eq udp-flow-listed "${peer##* }" "$ext" "flow external_port vs port seen by wan"
f=$(nctl -j flows proto udp internal $LAN1:41110 2>&1)
if echo "$f" | jq -e --argjson p "${ext:-0}" 'length == 1 and .[0].internal_port == 41110 and .[0].external_port == $p and .[0].remote_address == "192.0.2.2" and .[0].remote_port == 5000 and .[0].seen_out and .[0].seen_in and (.[0] | has("packets_out") | not)' > /dev/null 2>&1; then
	pass udp-flow-filter-and-fields
else
	fail udp-flow-filter-and-fields "natkctl -j flows proto udp internal $LAN1:41110 gave: $f"
fi
st=$(nctl -j stats 2>&1)
if echo "$st" | jq -e '.packets_in_from_source >= 1 and .packets_out_to_destination >= 1 and .packets_in_from_destination >= 1 and .packets_out_to_source >= 1' > /dev/null 2>&1; then
	pass udp-stats-count
else
	fail udp-stats-count "natkctl -j stats: $st"
fi

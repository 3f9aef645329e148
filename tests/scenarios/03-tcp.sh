#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# TCP through natk: the wan server sees 192.0.2.1, data round-trips, and
# natkctl lists the flow with the port the server saw.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" tcp-masquerade tcp-roundtrip tcp-no-private-leak tcp-flow-listed tcp-lan2
require_natk tcp-masquerade
topo_setup || { fail tcp-masquerade "topology setup failed"; exit 1; }
wan_counter_setup
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan tcp 5000

out=$(ask lan1 tcp $WAN1 5000 41100 "round-trip-data")
peer=$(echo "$out" | sed -n 1p)
expect_eq tcp-masquerade "$NAT_EXT" "${peer%% *}" "TCP peer address seen by wan"
expect_eq tcp-roundtrip "round-trip-data" "$(echo "$out" | sed -n 2p)" "echoed data"
expect_eq tcp-no-private-leak 0 "$(wan_counter from_lan)" "packets from 10.0.0.0/24 seen in wan"
ext=$(flow_field tcp $LAN1 41100 external_port)
expect_eq tcp-flow-listed "${peer##* }" "$ext" "flow external_port vs port seen by wan"
out=$(ask lan2 tcp $WAN2 5000 "" "from-lan2")
got="$(echo "$out" | sed -n 1p | cut -d' ' -f1) $(echo "$out" | sed -n 2p)"
expect_eq tcp-lan2 "$NAT_EXT from-lan2" "$got" "lan2 to second destination: peer and echo"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# ping from lan1 to the wan side works through natk, and wan sees the
# NAT's external address as the source.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" icmp-ping icmp-source-is-external icmp-ping-second-dest icmp-ping-lan2 \
	icmp-flow-listed
require_natk icmp-ping
topo_setup || { fail icmp-ping "topology setup failed"; exit 1; }
wan_counter_setup
check "$SCEN-natk-up" natk_up || exit 1

check icmp-ping nsx lan1 ping -c3 -i0.2 -W2 $WAN1
n_nat=$(wan_counter from_nat)
n_lan=$(wan_counter from_lan)
if [ "${n_nat:-0}" -ge 3 ] && [ "${n_lan:-1}" -eq 0 ]; then
	pass icmp-source-is-external
else
	fail icmp-source-is-external "wan saw $n_nat packets from $NAT_EXT, $n_lan from 10.0.0.0/24"
fi
check icmp-ping-second-dest nsx lan1 ping -c2 -i0.2 -W2 $WAN2
check icmp-ping-lan2 nsx lan2 ping -c2 -i0.2 -W2 $WAN1
n=$(nctl -j flows | jq '[.[] | select(.proto == "icmp" and .internal_address == "10.0.0.2")] | length')
if [ "${n:-0}" -ge 1 ]; then pass icmp-flow-listed; else fail icmp-flow-listed "no icmp flow for 10.0.0.2 in natkctl -j flows"; fi

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Harness self-test, no natk: the fixed topology comes up and, with a
# temporary route in wan, plain routed traffic crosses the nat namespace.
# Without that route (the normal state) wan cannot answer the lan.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan topology-setup topology-lan-peers topology-wan-no-route-back topology-routed-ping \
	topology-routed-tcp-peer topology-routed-udp-peer

check topology-setup topo_setup || exit 1
check topology-lan-peers nsx lan1 ping -c1 -W2 $LAN2
check topology-wan-no-route-back sh -c "! ip netns exec lan1 ping -c1 -W1 $WAN1"

nsx wan ip route add 10.0.0.0/24 via $NAT_EXT
check topology-routed-ping nsx lan1 ping -c2 -W2 $WAN1
peer_server wan tcp 5000
got=$(ask lan1 tcp $WAN1 5000 "" ping | sed -n 1p)
expect_eq topology-routed-tcp-peer "$LAN1" "${got%% *}" "peer seen by wan"
peer_server wan udp 5001 $WAN2
got=$(ask lan1 udp $WAN2 5001 41000 | sed -n 1p)
expect_eq topology-routed-udp-peer "$LAN1 41000" "$got" "peer seen by wan"

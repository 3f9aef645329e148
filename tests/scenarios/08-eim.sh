#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Endpoint-independent mapping: one internal UDP endpoint (lan1:40000)
# talking to two destinations gets the same external port for both.
# lan2:40000 takes external port 40000 first, so lan1's port cannot be
# preserved: a NAT that maps per destination would give lan1 a new port
# towards 192.0.2.2 (where 40000 is taken) and 40000 towards 192.0.2.3
# (where it is free), and fail here; with a preserved port it could not
# be told from an endpoint-independent one.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" udp-eim-lan2-preserved udp-eim-both-replied udp-eim-port-not-preserved \
	udp-endpoint-independent-mapping
require_natk udp-endpoint-independent-mapping
topo_setup || { fail udp-endpoint-independent-mapping "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan udp 5000 $WAN1
peer_server wan udp 5000 $WAN2

p0=$(ask lan2 udp $WAN1 5000 40000 | sed -n 1p)
expect_eq udp-eim-lan2-preserved "$NAT_EXT 40000" "$p0" "192.0.2.2's view of lan2:40000"
p1=$(ask lan1 udp $WAN1 5000 40000 | sed -n 1p)
p2=$(ask lan1 udp $WAN2 5000 40000 | sed -n 1p)
log "lan1:40000 seen by 192.0.2.2 as '$p1', by 192.0.2.3 as '$p2'"
if [ -n "$p1" ] && [ -n "$p2" ]; then
	pass udp-eim-both-replied
else
	fail udp-eim-both-replied "replies: '$p1' / '$p2'"
fi
if [ -n "$p1" ] && [ "${p1##* }" != 40000 ]; then
	pass udp-eim-port-not-preserved
else
	fail udp-eim-port-not-preserved "192.0.2.2 saw lan1:40000 as '$p1', while lan2:40000 has $NAT_EXT:40000 towards it"
fi
if [ -n "$p1" ] && [ "$p1" = "$p2" ] && [ "${p1%% *}" = "$NAT_EXT" ]; then
	pass udp-endpoint-independent-mapping
else
	fail udp-endpoint-independent-mapping "192.0.2.2 saw lan1:40000 as '$p1', 192.0.2.3 saw it as '$p2'"
fi

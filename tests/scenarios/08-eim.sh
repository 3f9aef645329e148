#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Endpoint-independent mapping: one internal UDP endpoint (lan1:40000)
# talking to two destinations gets the same external port for both.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
require_natk udp-endpoint-independent-mapping
topo_setup || { fail udp-endpoint-independent-mapping "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan udp 5000 $WAN1
peer_server wan udp 5000 $WAN2

p1=$(ask lan1 udp $WAN1 5000 40000 | sed -n 1p)
p2=$(ask lan1 udp $WAN2 5000 40000 | sed -n 1p)
log "192.0.2.2 saw '$p1', 192.0.2.3 saw '$p2'"
if [ -n "$p1" ] && [ -n "$p2" ]; then
	pass udp-eim-both-replied
else
	fail udp-eim-both-replied "replies: '$p1' / '$p2'"
fi
if [ -n "$p1" ] && [ "$p1" = "$p2" ] && [ "${p1%% *}" = "$NAT_EXT" ]; then
	pass udp-endpoint-independent-mapping
else
	fail udp-endpoint-independent-mapping "192.0.2.2 saw '$p1', 192.0.2.3 saw '$p2'"
fi

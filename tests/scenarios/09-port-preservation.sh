#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Port preservation: a free source port is kept (UDP and TCP).
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" udp-port-preserved tcp-port-preserved
require_natk udp-port-preserved
topo_setup || { fail udp-port-preserved "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan udp 5000 $WAN1
peer_server wan tcp 5001

p=$(ask lan1 udp $WAN1 5000 40001 | sed -n 1p)
expect_eq udp-port-preserved "$NAT_EXT 40001" "$p" "UDP peer seen by wan"
p=$(ask lan1 tcp $WAN1 5001 40003 | sed -n 1p)
expect_eq tcp-port-preserved "$NAT_EXT 40003" "$p" "TCP peer seen by wan"

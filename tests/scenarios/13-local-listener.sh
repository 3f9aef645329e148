#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The NAT host's own services on the external address are not shadowed:
# natk must not hand out a port a local socket listens on, and wan reaches
# the local listener while lan flows from that same source port exist.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" local-listener-port-avoided local-listener-reachable \
	local-udp-port-avoided local-udp-reachable
require_natk local-listener-port-avoided
topo_setup || { fail local-listener-port-avoided "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
PORT=45000
peer_server wan tcp 5000
nsx nat socat -t 10 TCP-LISTEN:$PORT,bind=$NAT_EXT,reuseaddr,fork SYSTEM:'echo nat-local' &
wait_listen nat tcp $PORT

# lan1 asks for source port PORT, which natk would like to preserve.
pid=$(hold_tcp lan1 $WAN1 5000 $PORT)
poll 5 flow_present tcp $LAN1 $PORT || log "no flow for $LAN1:$PORT"
ext=$(flow_field tcp $LAN1 $PORT external_port)
if [ -n "$ext" ] && [ "$ext" != null ] && [ "$ext" != "$PORT" ]; then
	pass local-listener-port-avoided
else
	fail local-listener-port-avoided "flow external_port=$ext, but $NAT_EXT:$PORT has a local listener"
fi
out=$(echo | nsx wan timeout 20 socat -t 10 - TCP:$NAT_EXT:$PORT,connect-timeout=5 2>&1)
expect_eq local-listener-reachable nat-local "$out" "reply from $NAT_EXT:$PORT"
hold_stop "$pid"

# UDP: a local UDP socket bound on the external address.
nsx nat socat -t 10 UDP-RECVFROM:$((PORT + 1)),bind=$NAT_EXT,fork SYSTEM:'echo nat-local-udp' &
wait_listen nat udp $((PORT + 1)) $NAT_EXT
peer_server wan udp 5001 $WAN1
p=$(ask lan1 udp $WAN1 5001 $((PORT + 1)) | sed -n 1p)
if [ "${p%% *}" = "$NAT_EXT" ] && [ "${p##* }" != "$((PORT + 1))" ]; then
	pass local-udp-port-avoided
else
	fail local-udp-port-avoided "wan saw '$p' but $NAT_EXT:$((PORT + 1))/udp is bound locally"
fi
out=$(echo x | nsx wan timeout 20 socat -t 10 - UDP:$NAT_EXT:$((PORT + 1)) 2>&1)
expect_eq local-udp-reachable nat-local-udp "$out" "reply from $NAT_EXT:$((PORT + 1))/udp"

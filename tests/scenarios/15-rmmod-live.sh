#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rmmod natk while configured with live TCP and UDP flows succeeds
# and leaves no warning; afterwards the module loads and works again.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" rmmod-flows-present rmmod-live-flows rmmod-module-gone rmmod-reload \
	rmmod-reload-works rmmod-second-unload rmmod-live-clean
require_natk rmmod-live-flows
topo_setup || { fail rmmod-live-flows "topology setup failed"; exit 1; }
dmesg_mark
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan tcp 5000
peer_server wan udp 5001 $WAN1
pid=$(hold_tcp lan1 $WAN1 5000 41400)
ask lan1 udp $WAN1 5001 41401 > /dev/null
nsx lan1 ping -c1 -W2 $WAN1 > /dev/null
poll 5 flow_state_is tcp $LAN1 41400 established || log "TCP flow not established"
n=$(nctl -j flows | jq length)
log "$n flows before rmmod"
[ "${n:-0}" -ge 2 ] && pass rmmod-flows-present || fail rmmod-flows-present "only ${n:-?} flows"
# Traffic keeps flowing while we unload.
nsx lan1 ping -i 0.05 -c 100 $WAN1 > /dev/null 2>&1 &
check rmmod-live-flows rmmod natk
check rmmod-module-gone sh -c '! test -d /sys/module/natk'
hold_stop "$pid"
check rmmod-reload natk_up
p=$(ask lan1 udp $WAN1 5001 41402 | sed -n 1p)
expect_eq rmmod-reload-works "$NAT_EXT" "${p%% *}" "UDP after reload"
check rmmod-second-unload rmmod natk
dmesg_check rmmod-live-clean

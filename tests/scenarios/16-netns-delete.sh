#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Deleting a network namespace where natk runs with live flows is clean;
# natk then still loads, works in a new namespace and unloads.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" netns-delete-flows-present netns-delete-live-flows \
	netns-delete-then-unload netns-new-after-delete netns-churn-then-unload netns-delete-clean
require_natk netns-delete-live-flows
topo_setup || { fail netns-delete-live-flows "topology setup failed"; exit 1; }
dmesg_mark
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan tcp 5000
peer_server wan udp 5001 $WAN1
pid=$(hold_tcp lan1 $WAN1 5000 41500)
ask lan1 udp $WAN1 5001 41501 > /dev/null
poll 5 flow_state_is tcp $LAN1 41500 established || log "TCP flow not established"
n=$(nctl -j flows | jq length)
[ "${n:-0}" -ge 2 ] && pass netns-delete-flows-present || fail netns-delete-flows-present "only ${n:-?} flows"

nsx lan1 ping -i 0.05 -c 60 $WAN1 > /dev/null 2>&1 &
check netns-delete-live-flows ip netns del nat
hold_stop "$pid"
# netns cleanup is asynchronous; the module must become removable.
if poll 30 rmmod natk; then
	pass netns-delete-then-unload
else
	fail netns-delete-then-unload "rmmod natk kept failing for 30 s (refcnt $(cat /sys/module/natk/refcnt 2>/dev/null))"
fi

# Again with a namespace that only has natk configured, many times.
natk_load
for i in 1 2 3 4 5; do
	ip netns add tmpnat$i
	ip -n tmpnat$i link add ext0 type dummy
	ip -n tmpnat$i addr add 198.51.100.1/24 dev ext0
	ip -n tmpnat$i link set ext0 up
	nsx tmpnat$i "$NATKCTL" set external ext0 || log "set external failed in tmpnat$i"
done
for i in 1 2 3 4 5; do ip netns del tmpnat$i; done
ip netns add nat
check netns-new-after-delete sh -c "ip netns exec nat '$NATKCTL' -j status | jq -e '.enabled == false or .enabled == 0'"
ip netns del nat
if poll 30 rmmod natk; then
	pass netns-churn-then-unload
else
	fail netns-churn-then-unload "rmmod natk kept failing for 30 s"
fi
dmesg_check netns-delete-clean

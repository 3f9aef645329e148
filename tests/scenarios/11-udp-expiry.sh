#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# UDP flows expire: with a 6 s UDP timeout a single exchange creates a flow
# that disappears by itself, and idle_timeouts counts it. (3 s was too short
# for a KASAN kernel under a loaded TCG host to list the flow before it went.)
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" set-timeout-udp status-timeout-udp udp-expiry-flow-created \
	udp-expiry-expires-field udp-expiry udp-expiry-idle-timeouts-counted udp-after-expiry
require_natk udp-expiry
topo_setup || { fail udp-expiry "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
check set-timeout-udp nctl set timeout udp 6
expect_eq status-timeout-udp 6 "$(nctl -j status | jq -r .timeouts.udp)" "natkctl -j status .timeouts.udp"
peer_server wan udp 5000 $WAN1

before=$(stat_of idle_timeouts)
p=$(ask lan1 udp $WAN1 5000 40010 | sed -n 1p)
[ -n "$p" ] || log "no reply"
seen=
for _ in $(seq 30); do
	seen=$(flow_get udp $LAN1 40010 | sed -n 1p)
	[ -n "$seen" ] && break
	sleep 0.1
done
if [ -n "$seen" ]; then
	pass udp-expiry-flow-created
	exp=$(echo "$seen" | jq -r .expires)
	if [ -n "$exp" ] && [ "$exp" -le 6 ] 2>/dev/null; then
		pass udp-expiry-expires-field
	else
		fail udp-expiry-expires-field "expires=$exp, timeout is 6"
	fi
else
	fail udp-expiry-flow-created "no udp flow for $LAN1:40010"
fi
t0=$(date +%s)
if poll 20 flow_absent udp $LAN1 40010; then
	pass udp-expiry
	log "flow gone after ~$(( $(date +%s) - t0 ))s"
else
	fail udp-expiry "flow still there 20 s later: $(flow_get udp $LAN1 40010)"
fi
after=$(stat_of idle_timeouts)
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -gt "$before" ] 2>/dev/null; then
	pass udp-expiry-idle-timeouts-counted
else
	fail udp-expiry-idle-timeouts-counted "idle_timeouts $before -> $after"
fi
# A new exchange from the same port works again after expiry.
p2=$(ask lan1 udp $WAN1 5000 40010 | sed -n 1p)
expect_eq udp-after-expiry "$NAT_EXT" "${p2%% *}" "peer seen by wan after the flow expired"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The external interface changes under natk:
#  - its address changes (192.0.2.1 -> 192.0.2.9, the secondary promoted):
#    the old flows are flushed and new flows use the new address;
#  - its address is removed: natk stays enabled, reports no address and
#    leaks nothing (no 10.0.0.x source reaches wan); when it comes back,
#    masquerading resumes.
# (The interface deleted, re-created and renamed: 68-ext-iface.)
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" extaddr-before extaddr-change-status extaddr-change-flows-flushed \
	extaddr-change-new-source extaddr-change-flow-address extaddr-removed-status \
	extaddr-removed-no-leak extaddr-restored extaddr-kernel-log
dmesg_mark
require_natk extaddr-setup
topo_setup || { fail extaddr-setup "topology setup failed"; exit 1; }
wan_counter_setup
check "$SCEN-natk-up" natk_up || exit 1
NEW=192.0.2.9
peer_server wan udp 5000 $WAN1
ext_is() { [ "$(nctl -j status | jq -r .external_address)" = "$1" ]; }

r=$(ask lan1 udp $WAN1 5000 40600 | sed -n 1p)
expect_eq extaddr-before "$NAT_EXT 40600" "$r" "wan saw lan1:40600 as"
poll 3 flow_present udp $LAN1 40600 || log "no flow for 40600"

# --- address change
nsx nat sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
ip -n nat addr add $NEW/24 dev wan0
ip -n nat addr del $NAT_EXT/24 dev wan0
if poll 5 ext_is $NEW; then
	pass extaddr-change-status
else
	fail extaddr-change-status "external_address $(nctl -j status | jq -r .external_address), want $NEW"
fi
if poll 5 flow_absent udp $LAN1 40600; then
	pass extaddr-change-flows-flushed
else
	fail extaddr-change-flows-flushed "old flow still there: $(flow_get udp $LAN1 40600)"
fi
r=$(ask lan1 udp $WAN1 5000 40601 | sed -n 1p)
expect_eq extaddr-change-new-source "$NEW" "${r%% *}" "wan saw lan1:40601 from"
fl=$(flow_get udp $LAN1 40601 | jq -r .external_address)
expect_eq extaddr-change-flow-address "$NEW" "$fl" "flow external_address"

# --- address removed
ip -n nat addr flush dev wan0
ip -n nat route add 192.0.2.0/24 dev wan0
if poll 5 sh -c "ip netns exec nat $NATKCTL -j status | jq -e '.external_address == null and .enabled == true'"; then
	pass extaddr-removed-status
else
	fail extaddr-removed-status "status: $(nctl -j status | jq -c '{enabled, external_address}')"
fi
l0=$(wan_counter from_lan)
nsx lan1 python3 -c "$RFC_PY" udpsend 0.0.0.0 40602 $WAN1 5000 leak count=3 > /dev/null
nsx lan1 ping -c1 -W1 $WAN1 > /dev/null 2>&1
l1=$(wan_counter from_lan)
expect_eq extaddr-removed-no-leak "${l0:-0}" "${l1:-0}" "packets from 10.0.0.0/24 seen by wan"
ip -n nat route del 192.0.2.0/24 dev wan0
ip -n nat addr add $NAT_EXT/24 dev wan0
poll 5 ext_is $NAT_EXT || log "address not back: $(nctl -j status | jq -c .)"
r=$(ask lan1 udp $WAN1 5000 40603 | sed -n 1p)
expect_eq extaddr-restored "$NAT_EXT 40603" "$r" "wan saw lan1:40603 as"

dmesg_check extaddr-kernel-log

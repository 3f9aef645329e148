#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 4787 REQ-8 / RFC 5382 REQ-3: filtering behaviour. lan1 sends UDP from
# port P to 192.0.2.2:5000; then wan sends to 192.0.2.1:P from
# 192.0.2.2:6000 (same address, other port) and from 192.0.2.3:5000 (other
# address), and last a sentinel from 192.0.2.2:5000 (always allowed).
#   address-port-dependent (default): neither arrives
#   address-dependent: the other port arrives, the other address not
#   endpoint-independent: both arrive
# Filtered packets are counted in drop_unsolicited.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc4787-req8-default-filtering rfc5382-req3-set-address-dependent \
	rfc5382-req3-address-dependent-other-port rfc5382-req3-address-dependent-other-address \
	rfc4787-req8-kernel-log
for mode in address-port-dependent address-dependent endpoint-independent; do
	plan "rfc4787-req8-set-$mode" "rfc4787-req8-$mode-other-port-delivered" \
		"rfc4787-req8-$mode-other-address-delivered" "rfc4787-req8-$mode-drop-unsolicited"
done
dmesg_mark
require_natk rfc4787-req8-setup
topo_setup || { fail rfc4787-req8-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
expect_eq rfc4787-req8-default-filtering address-port-dependent \
	"$(nctl -j status | jq -r .filtering)" "natkctl -j status .filtering"
nsx wan python3 -c "$RFC_PY" udpsrv $WAN1 5000 "$D/wan.log" &
rfc_wait_file "$D/wan.log" '^#ready'

# probe MODE PORT WANT_OTHER_PORT WANT_OTHER_ADDR WANT_DROPS
probe() {
	local mode=$1 P=$2 log=$D/lan1-$2.log pid du0 got
	check "rfc4787-req8-set-$mode" nctl set filtering "$mode" || return
	nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 "$P" "$log" first=$WAN1:5000 &
	pid=$!
	rfc_wait_file "$log" '^#ready'
	poll 5 flow_present udp $LAN1 "$P" || log "no flow for $LAN1:$P"
	du0=$(stat_of drop_unsolicited)
	nsx wan python3 -c "$RFC_PY" udpmany $WAN1:6000:$NAT_EXT:"$P":other-port \
		$WAN2:5000:$NAT_EXT:"$P":other-addr $WAN1:5000:$NAT_EXT:"$P":sentinel
	rfc_wait_file "$log" ' sentinel$' 5 || fail "rfc4787-req8-$mode-sentinel" "the reply from $WAN1:5000 did not reach lan1:$P"
	got=no
	grep -q "^$WAN1 6000 .* other-port$" "$log" && got=yes
	expect_eq "rfc4787-req8-$mode-other-port-delivered" "$3" "$got" \
		"$WAN1:6000 -> $NAT_EXT:$P reached lan1 (lan1 log: $(grep -v '^#' "$log" | tr '\n' ';'))"
	got=no
	grep -q "^$WAN2 5000 .* other-addr$" "$log" && got=yes
	expect_eq "rfc4787-req8-$mode-other-address-delivered" "$4" "$got" \
		"$WAN2:5000 -> $NAT_EXT:$P reached lan1 (lan1 log: $(grep -v '^#' "$log" | tr '\n' ';'))"
	expect_eq "rfc4787-req8-$mode-drop-unsolicited" "$5" "$(stat_delta drop_unsolicited "$du0")" "drop_unsolicited increase"
	kill_tree "$pid"
}

probe address-port-dependent 40200 no no 2
probe address-dependent 40201 yes no 1
probe endpoint-independent 40202 yes yes 0

# TCP (RFC 5382 REQ-3) under address-dependent filtering: a SYN from
# another port of the address lan1 talks to reaches lan1's listener.
check rfc5382-req3-set-address-dependent nctl set filtering address-dependent
peer_server wan tcp 5000
nsx lan1 socat -t 10 TCP-LISTEN:40210,reuseport,fork SYSTEM:'echo lan1-listener' &
wait_listen lan1 tcp 40210
pid=$(hold_tcp lan1 $WAN1 5000 40210 ",reuseport")
poll 5 flow_state_is tcp $LAN1 40210 established || log "40210 not established: $(flow_get tcp $LAN1 40210)"
E=$(flow_field tcp $LAN1 40210 external_port)
out=$(echo | nsx wan timeout 10 socat -t 2 - TCP:$NAT_EXT:"$E",bind=$WAN1,connect-timeout=4 2>&1)
expect_eq rfc5382-req3-address-dependent-other-port lan1-listener "$out" "$WAN1 (other port) -> $NAT_EXT:$E"
res=$(nsx wan python3 -c "$RFC_PY" tcpconnect $WAN2 0 $NAT_EXT "$E" 4)
expect_eq rfc5382-req3-address-dependent-other-address timeout "$res" "$WAN2 -> $NAT_EXT:$E"
hold_stop "$pid"
dmesg_check rfc4787-req8-kernel-log
rm -rf "$D"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 4787 REQ-14 and fragments in general: fragmented UDP and ICMP cross
# natk in both directions; fragments arriving out of order (hand-made, in
# reverse and shuffled order) from wan to a forwarded port are reassembled
# and delivered whole; a lone first fragment delivers nothing.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc4787-fragments-icmp-echo rfc4787-fragments-udp-outbound \
	rfc4787-fragments-udp-reply rfc4787-fragments-forward rfc4787-fragments-udp-inbound \
	rfc4787-req14-incomplete-not-delivered rfc4787-fragments-no-leak rfc4787-req14-kernel-log
for order in reverse shuffle forward; do plan "rfc4787-req14-fragments-$order"; done
dmesg_mark
require_natk rfc4787-req14-setup
topo_setup || { fail rfc4787-req14-setup "topology setup failed"; exit 1; }
wan_counter_setup
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
M4000=$(rfcpy md5 4000)
M3000=$(rfcpy md5 3000)

# --- ICMP echo, 4000 bytes each way.
check rfc4787-fragments-icmp-echo nsx lan1 ping -c2 -i0.3 -W3 -s 4000 $WAN1

# --- UDP outbound and its reply: wan echoes the 4000-byte datagram.
nsx wan python3 -c "$RFC_PY" udpsrv $WAN1 5000 "$D/wan.log" reply=echo &
rfc_wait_file "$D/wan.log" '^#ready'
r=$(nsx lan1 python3 -c "$RFC_PY" udpsend 0.0.0.0 40700 $WAN1 5000 size=4000 wait=5)
if grep -q "^$NAT_EXT [0-9]* 4000 $M4000 " "$D/wan.log"; then
	pass rfc4787-fragments-udp-outbound
else
	fail rfc4787-fragments-udp-outbound "wan got: $(grep -v '^#' "$D/wan.log" | tr '\n' ';')"
fi
expect_eq rfc4787-fragments-udp-reply "4000 $M4000 $WAN1 5000" "$r" "lan1 got back"

# --- UDP inbound to a forwarded port, whole datagrams sent by the kernel.
check rfc4787-fragments-forward nctl forward add udp 7000 $LAN1:7000
nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 7000 "$D/lan1.log" &
rfc_wait_file "$D/lan1.log" '^#ready'
nsx wan python3 -c "$RFC_PY" udpsend $WAN1 40701 $NAT_EXT 7000 size=4000 > /dev/null
if rfc_wait_file "$D/lan1.log" "^$WAN1 40701 4000 $M4000 " 5; then
	pass rfc4787-fragments-udp-inbound
else
	fail rfc4787-fragments-udp-inbound "lan1 got: $(grep -v '^#' "$D/lan1.log" | tr '\n' ';')"
fi

# --- hand-made fragments (1000-byte pieces), out of order.
port=40710
for order in reverse shuffle forward; do
	port=$((port + 1))
	n=$(nsx wan python3 -c "$RFC_PY" frags $WAN1 $port $NAT_EXT 7000 3000 $order 1000)
	if rfc_wait_file "$D/lan1.log" "^$WAN1 $port 3000 $M3000 " 5; then
		pass "rfc4787-req14-fragments-$order"
	else
		fail "rfc4787-req14-fragments-$order" "$n fragments of a 3000-byte datagram sent in $order order; lan1 got: $(grep -v '^#' "$D/lan1.log" | tr '\n' ';')"
	fi
done
# A first fragment alone: nothing (no partial datagram) reaches lan1.
nsx wan python3 -c "$RFC_PY" frags $WAN1 40730 $NAT_EXT 7000 3000 first 1000 > /dev/null
nsx wan python3 -c "$RFC_PY" udpsend $WAN1 40731 $NAT_EXT 7000 sentinel > /dev/null
rfc_wait_file "$D/lan1.log" ' sentinel$' 5 || log "sentinel did not arrive"
if grep -q "^$WAN1 40730 " "$D/lan1.log"; then
	fail rfc4787-req14-incomplete-not-delivered "lan1 got something from the lone first fragment: $(grep "^$WAN1 40730 " "$D/lan1.log")"
else
	pass rfc4787-req14-incomplete-not-delivered
fi
expect_eq rfc4787-fragments-no-leak 0 "$(wan_counter from_lan)" "packets from 10.0.0.0/24 seen by wan"
dmesg_check rfc4787-req14-kernel-log
rm -rf "$D"

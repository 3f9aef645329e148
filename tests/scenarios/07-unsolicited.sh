#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unsolicited inbound traffic is not delivered to lan hosts, on the very
# ports natk has mapped for them (default filtering, address-and-port-
# dependent): lan1 talks from UDP 41120 and TCP 41130 to 192.0.2.2:5000 and
# listens on those same ports. Packets to their external ports from
# 192.0.2.3 (another address) or 192.0.2.2:6000 (another port) must not
# reach lan1 and are counted in drop_unsolicited; the reply from
# 192.0.2.2:5000 does reach it (so the listeners would have logged the
# others). Ports natk never mapped are the NAT host's business: nothing
# sent there reaches lan1 either.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" unsolicited-udp-reply-delivered unsolicited-udp-other-address-blocked \
	unsolicited-udp-other-port-blocked unsolicited-udp-counted unsolicited-tcp-established \
	unsolicited-tcp-other-address-blocked unsolicited-tcp-other-port-blocked \
	unsolicited-tcp-counted unsolicited-unmapped-not-forwarded
require_natk unsolicited-setup
topo_setup || { fail unsolicited-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)

# --- UDP: lan1:41120 sends to wan1:5000 from the socket that logs all it
# receives (a mapping and a flow), then wan sends to its external port.
nsx wan python3 -c "$RFC_PY" udpsrv $WAN1 5000 "$D/wan.log" &
rfc_wait_file "$D/wan.log" '^#ready'
nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 41120 "$D/udp.log" first=$WAN1:5000 &
rfc_wait_file "$D/udp.log" '^#ready'
poll 5 flow_present udp $LAN1 41120 || log "no flow for $LAN1:41120"
E=$(flow_field udp $LAN1 41120 external_port)
du0=$(stat_of drop_unsolicited)
nsx wan python3 -c "$RFC_PY" udpmany $WAN2:5000:$NAT_EXT:"$E":other-address \
	$WAN1:6000:$NAT_EXT:"$E":other-port $WAN2:5000:$NAT_EXT:"$E":other-address \
	$WAN1:6000:$NAT_EXT:"$E":other-port $WAN1:5000:$NAT_EXT:"$E":reply
# The reply went last on the same path: once it is there, the others
# would be too.
if rfc_wait_file "$D/udp.log" ' reply$' 5; then
	pass unsolicited-udp-reply-delivered
else
	fail unsolicited-udp-reply-delivered "$WAN1:5000 -> $NAT_EXT:$E did not reach lan1:41120 (flow: $(flow_get udp $LAN1 41120))"
fi
if grep -q ' other-address$' "$D/udp.log"; then
	fail unsolicited-udp-other-address-blocked "lan1:41120 received what $WAN2:5000 sent to $NAT_EXT:$E: $(grep -v '^#' "$D/udp.log" | tr '\n' ';')"
else
	pass unsolicited-udp-other-address-blocked
fi
if grep -q ' other-port$' "$D/udp.log"; then
	fail unsolicited-udp-other-port-blocked "lan1:41120 received what $WAN1:6000 sent to $NAT_EXT:$E: $(grep -v '^#' "$D/udp.log" | tr '\n' ';')"
else
	pass unsolicited-udp-other-port-blocked
fi
expect_eq unsolicited-udp-counted 4 "$(stat_delta drop_unsolicited "$du0")" "drop_unsolicited increase after 4 unsolicited datagrams"

# --- TCP: lan1 listens on 41130 and has a connection from 41130 to
# wan1:5000 (SO_REUSEPORT), so 41130 is mapped.
peer_server wan tcp 5000 $WAN1
nsx lan1 socat -u TCP-LISTEN:41130,reuseport,fork OPEN:"$D/tcp.log",creat,append &
wait_listen lan1 tcp 41130
pid=$(hold_tcp lan1 $WAN1 5000 41130 ",reuseport")
if poll 10 flow_state_is tcp $LAN1 41130 established; then
	pass unsolicited-tcp-established
else
	fail unsolicited-tcp-established "lan1:41130 -> $WAN1:5000: $(flow_get tcp $LAN1 41130)"
fi
E=$(flow_field tcp $LAN1 41130 external_port)
du0=$(stat_of drop_unsolicited)
echo "unsolicited-other-address" | nsx wan timeout 10 socat -u - \
	TCP:$NAT_EXT:"$E",bind=$WAN2,connect-timeout=3 > /dev/null 2>&1
echo "unsolicited-other-port" | nsx wan timeout 10 socat -u - \
	TCP:$NAT_EXT:"$E",bind=$WAN1:6000,reuseaddr,connect-timeout=3 > /dev/null 2>&1
# Anything delivered was written before socat's connect returned; give
# the listener's fork a moment to log it.
poll 2 grep -q unsolicited "$D/tcp.log"
if grep -q unsolicited-other-address "$D/tcp.log" 2>/dev/null; then
	fail unsolicited-tcp-other-address-blocked "lan1's listener on 41130 got a connection from $WAN2 to $NAT_EXT:$E"
else
	pass unsolicited-tcp-other-address-blocked
fi
if grep -q unsolicited-other-port "$D/tcp.log" 2>/dev/null; then
	fail unsolicited-tcp-other-port-blocked "lan1's listener on 41130 got a connection from $WAN1:6000 to $NAT_EXT:$E"
else
	pass unsolicited-tcp-other-port-blocked
fi
n=$(stat_delta drop_unsolicited "$du0")
if [ "$n" -ge 2 ] 2>/dev/null; then
	pass unsolicited-tcp-counted
else
	fail unsolicited-tcp-counted "drop_unsolicited grew by $n after two unsolicited connection attempts (each SYN, retried)"
fi
hold_stop "$pid"

# --- ports natk never mapped: lan1 listens on UDP 7001; wan sends to
# 192.0.2.1:7001. The NAT host has nothing there; lan1 must get nothing.
nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 7001 "$D/unmapped.log" &
rfc_wait_file "$D/unmapped.log" '^#ready'
nsx wan python3 -c "$RFC_PY" udpmany $WAN1:5000:$NAT_EXT:7001:unmapped $WAN2:5000:$NAT_EXT:7001:unmapped
# A sentinel through the lan side: lan1's server is up and logging.
nsx nat python3 -c "$RFC_PY" udpmany $LAN_GW:5000:$LAN1:7001:sentinel
rfc_wait_file "$D/unmapped.log" ' sentinel$' 5 || log "sentinel to lan1:7001 did not arrive"
if grep -q ' unmapped$' "$D/unmapped.log" || ! grep -q ' sentinel$' "$D/unmapped.log"; then
	fail unsolicited-unmapped-not-forwarded "lan1:7001 log: $(grep -v '^#' "$D/unmapped.log" | tr '\n' ';') (want the sentinel only)"
else
	pass unsolicited-unmapped-not-forwarded
fi
rm -rf "$D"

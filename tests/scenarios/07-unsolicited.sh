#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unsolicited inbound traffic to the external address is not delivered to
# lan hosts, even on ports that lan1 listens on and has used outbound.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
require_natk unsolicited-tcp-blocked
topo_setup || { fail unsolicited-tcp-blocked "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)

# lan1 listens on TCP 7000 and UDP 7001 and logs whatever arrives.
nsx lan1 socat -u TCP-LISTEN:7000,reuseaddr,fork OPEN:"$D/tcp.log",creat,append &
nsx lan1 socat -u UDP-RECV:7001 OPEN:"$D/udp.log",creat,append &
wait_listen lan1 tcp 7000
wait_listen lan1 udp 7001

# Some outbound use first, so natk has flows around.
peer_server wan udp 5000 $WAN1
ask lan1 udp $WAN1 5000 41120 > /dev/null

# From wan: to 192.0.2.1 at the ports lan1 listens on.
echo "unsolicited-tcp" | nsx wan timeout 5 socat -u - TCP:$NAT_EXT:7000,connect-timeout=2 > /dev/null 2>&1
for i in 1 2 3; do
	echo "unsolicited-udp" | nsx wan socat -u - UDP:$NAT_EXT:7001 > /dev/null 2>&1
	echo "unsolicited-udp" | nsx wan socat -u - UDP:$NAT_EXT:41120 > /dev/null 2>&1
done
# Sentinel through the normal path: once it is there, anything natk might
# have forwarded earlier would be there too.
echo "sentinel" | nsx nat socat -u - UDP:$LAN1:7001
poll 5 grep -q sentinel "$D/udp.log" || log "sentinel did not arrive"
echo "sentinel" | nsx nat timeout 5 socat -u - TCP:$LAN1:7000
poll 5 grep -q sentinel "$D/tcp.log" || log "TCP sentinel did not arrive"

if grep -q unsolicited "$D/tcp.log" 2>/dev/null; then
	fail unsolicited-tcp-blocked "lan1 TCP listener received data sent from wan to $NAT_EXT:7000"
else
	pass unsolicited-tcp-blocked
fi
if grep -q unsolicited "$D/udp.log" 2>/dev/null; then
	fail unsolicited-udp-blocked "lan1 UDP listener received datagrams sent from wan to $NAT_EXT:7001"
else
	pass unsolicited-udp-blocked
fi
rm -rf "$D"

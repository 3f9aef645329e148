#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 4787 REQ-9 / RFC 5382 REQ-8: hairpinning. lan2 reaches lan1 through
# 192.0.2.1:<port> and lan1 sees lan2 as 192.0.2.1:<lan2's external port>
# (never 10.0.0.3); lan2 gets the answer from 192.0.2.1:<port>. For a
# dynamic mapping (lan1's after it sent to wan), with endpoint-independent
# filtering; for static forwards, with any filtering. UDP and TCP. The
# hairpinned counter grows. RFC 5508 REQ-7: an ICMP error about a
# hairpinned datagram reaches its sender (the NAT host's own ICMP errors
# are dropped meanwhile, so that its stack cannot answer in natk's place).
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc4787-req9-set-eif rfc4787-req9-hairpin-udp rfc4787-req9-set-apdf \
	rfc4787-req9-forward-udp rfc4787-req9-hairpin-udp-forward rfc5508-req7-forward-closed-port \
	rfc5508-req7-host-errors-dropped rfc5508-req7-hairpin-icmp-error \
	rfc5508-req7-hairpin-icmp-error-counted rfc5382-req8-forward-tcp \
	rfc5382-req8-hairpin-tcp-forward rfc5382-req8-hairpin-tcp-self rfc5382-req8-set-eif \
	rfc5382-req8-hairpin-tcp rfc4787-req9-hairpinned-counted rfc4787-req9-kernel-log
dmesg_mark
require_natk rfc4787-req9-setup
topo_setup || { fail rfc4787-req9-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
hp0=$(stat_of hairpinned)
peer_server wan udp 5000 $WAN1
peer_server wan tcp 5000

# expect_hairpin NAME PROTO LAN2PORT REPLY: REPLY is what lan1's server
# answered ("ADDR PORT" of its peer); it must be the external address and
# lan2's external port.
expect_hairpin() {
	local name=$1 proto=$2 lport=$3 reply=$4 ext
	ext=$(flow_get "$proto" $LAN2 "$lport" | jq -r 'select(.remote_address == "'$NAT_EXT'") | .external_port' | sed -n 1p)
	if [ -n "$reply" ] && [ "$reply" = "$NAT_EXT $ext" ]; then
		pass "$name"
	else
		fail "$name" "lan1 saw lan2:$lport as '$reply'; want '$NAT_EXT <lan2's external port>' (flows of lan2:$lport: $(flow_get "$proto" $LAN2 "$lport" | tr '\n' ' '))"
	fi
}

# --- UDP, dynamic mapping.
check rfc4787-req9-set-eif nctl set filtering endpoint-independent
nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 40500 "$D/lan1.log" first=$WAN1:5000 reply=peer &
rfc_wait_file "$D/lan1.log" '^#ready'
poll 5 flow_present udp $LAN1 40500 || log "no flow for $LAN1:40500"
E=$(flow_field udp $LAN1 40500 external_port)
r=$(ask lan2 udp $NAT_EXT "$E" 40501 | sed -n 1p)
expect_hairpin rfc4787-req9-hairpin-udp udp 40501 "$r"

# --- UDP, static forward (default filtering).
check rfc4787-req9-set-apdf nctl set filtering address-port-dependent
check rfc4787-req9-forward-udp nctl forward add udp 7000 $LAN1:7001
peer_server lan1 udp 7001
r=$(ask lan2 udp $NAT_EXT 7000 40502 | sed -n 1p)
expect_hairpin rfc4787-req9-hairpin-udp-forward udp 40502 "$r"

# --- RFC 5508 REQ-7: lan1 answers a hairpinned datagram to a closed port
# with port unreachable, sent to the external address; natk translates it
# back to lan2, whose connected socket gets ECONNREFUSED. Were the datagram
# not hairpinned, the NAT host would get it and answer port unreachable
# itself, with the same addresses: its own errors are dropped on output
# here, and a datagram to a port that is nobody's shows they are.
check rfc5508-req7-forward-closed-port nctl forward add udp 7002 $LAN1:7003
nsx nat nft -f - <<-EOT
	table ip hostquiet {
		chain out {
			type filter hook output priority 0;
			icmp type destination-unreachable drop
		}
	}
EOT
r=$(nsx lan2 python3 -c "$RFC_PY" udperr $NAT_EXT 7009 40506 3)
expect_eq rfc5508-req7-host-errors-dropped timeout "$r" \
	"lan2:40506 sending to $NAT_EXT:7009 (nobody's port: the NAT host's own port unreachable must be dropped)"
ic0=$(stat_of icmp_errors_translated)
hp1=$(stat_of hairpinned)
r=$(nsx lan2 python3 -c "$RFC_PY" udperr $NAT_EXT 7002 40505 5)
expect_eq rfc5508-req7-hairpin-icmp-error ECONNREFUSED "$r" \
	"lan2:40505 sending to $NAT_EXT:7002 (forwarded to $LAN1:7003, closed)"
n=$(stat_delta icmp_errors_translated "$ic0")
h=$(stat_delta hairpinned "$hp1")
if [ "$n" -ge 1 ] && [ "$h" -ge 2 ] 2>/dev/null; then
	pass rfc5508-req7-hairpin-icmp-error-counted
else
	fail rfc5508-req7-hairpin-icmp-error-counted "icmp_errors_translated grew by $n, hairpinned by $h (want the datagram and the error)"
fi
nsx nat nft delete table ip hostquiet

# --- TCP, static forward.
check rfc5382-req8-forward-tcp nctl forward add tcp 8080 $LAN1:80
peer_server lan1 tcp 80
r=$(ask lan2 tcp $NAT_EXT 8080 40503 | sed -n 1p)
expect_hairpin rfc5382-req8-hairpin-tcp-forward tcp 40503 "$r"
# and lan1 itself through its own forward
r=$(ask lan1 tcp $NAT_EXT 8080 40504 | sed -n 1p)
ext=$(flow_get tcp $LAN1 40504 | jq -r 'select(.remote_address == "'$NAT_EXT'") | .external_port' | sed -n 1p)
expect_eq rfc5382-req8-hairpin-tcp-self "$NAT_EXT $ext" "$r" "lan1 reaching itself via $NAT_EXT:8080"

# --- TCP, dynamic mapping: lan1 has an outbound connection from 40510 and
# listens on 40510 too (SO_REUSEPORT); endpoint-independent filtering.
check rfc5382-req8-set-eif nctl set filtering endpoint-independent
nsx lan1 socat -t 10 TCP-LISTEN:40510,reuseport,fork SYSTEM:'echo "$SOCAT_PEERADDR $SOCAT_PEERPORT"' &
wait_listen lan1 tcp 40510
pid=$(hold_tcp lan1 $WAN1 5000 40510 ",reuseport")
poll 5 flow_state_is tcp $LAN1 40510 established || log "40510 not established: $(flow_get tcp $LAN1 40510)"
E=$(flow_field tcp $LAN1 40510 external_port)
r=$(ask lan2 tcp $NAT_EXT "$E" 40511 | sed -n 1p)
expect_hairpin rfc5382-req8-hairpin-tcp tcp 40511 "$r"
hold_stop "$pid"

n=$(stat_delta hairpinned "$hp0")
if [ "$n" -ge 8 ] 2>/dev/null; then
	pass rfc4787-req9-hairpinned-counted
else
	fail rfc4787-req9-hairpinned-counted "hairpinned grew by $n (expected at least 8 packets)"
fi
dmesg_check rfc4787-req9-kernel-log
rm -rf "$D"

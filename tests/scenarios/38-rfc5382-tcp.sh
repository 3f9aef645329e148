#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 5382 / RFC 7857 TCP behaviour:
#  - REQ-2 simultaneous open: lan1 10.0.0.2:42000 and wan 192.0.2.2:42001
#    connect() to each other; wan's SYN crosses lan1's (wan drops lan1's
#    bare SYNs so that both SYNs are in flight) and both ends connect;
#  - REQ-5 timeouts: established >= 2 h 4 min, transitory >= 4 min;
#  - RFC 7857: after a RST the flow stays in state rst with the transitory
#    timeout (expires > 200 s) before it is freed;
#  - REQ-4: an unsolicited SYN to a mapped port from another address is
#    dropped silently (no RST, no ICMP within 6 s), counted in
#    drop_unsolicited.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc5382-req5-established-timeout rfc5382-req5-transitory-timeout \
	rfc5382-req2-simultaneous-open rfc5382-req2-simultaneous-open-state \
	rfc5382-req5-established-flow-expiry rfc7857-rst-transitory-timeout \
	rfc5382-req4-unsolicited-syn-no-answer rfc5382-req4-unsolicited-syn-no-icmp \
	rfc5382-req4-unsolicited-syn-counted rfc5382-req4-mapping-unaffected rfc5382-kernel-log
dmesg_mark
require_natk rfc5382-setup
topo_setup || { fail rfc5382-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)

# --- REQ-5 defaults
est=$(nctl -j status | jq -r .timeouts.tcp_established)
trans=$(nctl -j status | jq -r .timeouts.tcp_transitory)
if [ "$est" -ge 7440 ] 2>/dev/null; then pass rfc5382-req5-established-timeout; else fail rfc5382-req5-established-timeout "tcp_established $est < 7440"; fi
if [ "$trans" -ge 240 ] 2>/dev/null; then pass rfc5382-req5-transitory-timeout; else fail rfc5382-req5-transitory-timeout "tcp_transitory $trans < 240"; fi

# --- REQ-2 simultaneous open
nsx wan nft -f - <<-EOT
	table ip simo {
		chain in {
			type filter hook input priority 0;
			ip saddr $NAT_EXT tcp sport 42000 tcp flags & (syn | ack) == syn counter drop
		}
	}
EOT
nsx lan1 python3 -c "$RFC_PY" tcpsim $LAN1 42000 $WAN1 42001 25 from-lan1 > "$D/lan1.out" 2>&1 &
p1=$!
poll 5 flow_state_is tcp $LAN1 42000 syn_out || log "no syn_out flow for $LAN1:42000: $(flow_get tcp $LAN1 42000)"
E=$(flow_field tcp $LAN1 42000 external_port)
log "lan1:42000 is $NAT_EXT:$E outside"
nsx wan python3 -c "$RFC_PY" tcpsim $WAN1 42001 $NAT_EXT "$E" 15 from-wan > "$D/wan.out" 2>&1 &
p2=$!
poll 20 grep -q from-lan1 "$D/wan.out"
poll 5 grep -q from-wan "$D/lan1.out"
if grep -q '^connected' "$D/lan1.out" && grep -q '^from-wan' "$D/lan1.out" &&
   grep -q '^connected' "$D/wan.out" && grep -q '^from-lan1' "$D/wan.out"; then
	pass rfc5382-req2-simultaneous-open
else
	fail rfc5382-req2-simultaneous-open "lan1: '$(tr '\n' ' ' < "$D/lan1.out")' wan: '$(tr '\n' ' ' < "$D/wan.out")' flow: $(flow_get tcp $LAN1 42000) wan drops: $(nsx wan nft list table ip simo | grep -o 'packets [0-9]*')"
fi
st=$(flow_field tcp $LAN1 42000 state)
case $st in
established|fin_*) pass rfc5382-req2-simultaneous-open-state ;;
*) fail rfc5382-req2-simultaneous-open-state "flow state '$st' after simultaneous open" ;;
esac
kill_tree "$p1"
kill_tree "$p2"

# --- RFC 7857: RST keeps the flow, transitory timeout
peer_server wan tcp 5000
# Established flow (held by a second connection), then one that lan1
# aborts with a RST (SO_LINGER 0).
pid=$(hold_tcp lan1 $WAN1 5000 42011)
poll 5 flow_state_is tcp $LAN1 42011 established || log "42011 not established: $(flow_get tcp $LAN1 42011)"
e=$(flow_field tcp $LAN1 42011 expires)
if [ "$e" -gt 7000 ] 2>/dev/null; then pass rfc5382-req5-established-flow-expiry; else fail rfc5382-req5-established-flow-expiry "established flow expires in $e s"; fi
hold_stop "$pid"
g=$(nsx lan1 python3 -c "$RFC_PY" tcprst $LAN1 42010 $WAN1 5000)
log "wan greeted 42010 with '$g', then lan1 sent a RST"
if poll 5 flow_state_is tcp $LAN1 42010 rst; then
	e=$(flow_field tcp $LAN1 42010 expires)
	if [ "$e" -gt 200 ] && [ "$e" -le "$trans" ] 2>/dev/null; then
		pass rfc7857-rst-transitory-timeout
	else
		fail rfc7857-rst-transitory-timeout "flow in rst expires in $e s (want >200, <=$trans)"
	fi
else
	fail rfc7857-rst-transitory-timeout "after lan1's RST: $(flow_get tcp $LAN1 42010)"
fi

# --- REQ-4: unsolicited SYN to a mapped port, from another address
pid=$(hold_tcp lan1 $WAN1 5000 42020)
poll 5 flow_state_is tcp $LAN1 42020 established || log "42020 not established"
E=$(flow_field tcp $LAN1 42020 external_port)
sniff_start wan "$D/wan.json" 30 || log "wan sniffer did not start"
du0=$(stat_of drop_unsolicited)
res=$(nsx wan python3 -c "$RFC_PY" tcpconnect $WAN2 42021 $NAT_EXT "$E" 7)
expect_eq rfc5382-req4-unsolicited-syn-no-answer timeout "$res" "connect from $WAN2 to $NAT_EXT:$E (7 s)"
icmp=$(sniff_match "$D/wan.json" ".inner_dport == $E or .inner_sport == 42021")
if [ -z "$icmp" ]; then pass rfc5382-req4-unsolicited-syn-no-icmp; else fail rfc5382-req4-unsolicited-syn-no-icmp "ICMP error within 7 s: $icmp"; fi
n=$(stat_delta drop_unsolicited "$du0")
if [ "$n" -ge 1 ] 2>/dev/null; then pass rfc5382-req4-unsolicited-syn-counted; else fail rfc5382-req4-unsolicited-syn-counted "drop_unsolicited grew by $n"; fi
if flow_state_is tcp $LAN1 42020 established; then pass rfc5382-req4-mapping-unaffected; else fail rfc5382-req4-mapping-unaffected "$(flow_get tcp $LAN1 42020)"; fi
hold_stop "$pid"
dmesg_check rfc5382-kernel-log
rm -rf "$D"

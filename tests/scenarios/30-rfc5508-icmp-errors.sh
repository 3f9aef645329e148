#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 5508 / RFC 4787 REQ-12 / RFC 5382 REQ-9,10: ICMP errors about natk
# flows reach the internal host with its own addresses (outer destination
# and embedded packet rewritten back, type and code kept, checksums valid);
# time exceeded (ping -t 2 via a router beyond wan), destination
# unreachable (UDP port, TCP admin-prohibited), parameter problem, errors
# about echo queries. Errors neither refresh nor delete a flow; an error
# with a bad checksum is dropped and counted.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc5508-req10-time-exceeded-ping rfc5508-req4-time-exceeded-rewritten \
	rfc5508-time-exceeded-first-hop rfc5508-far-host-reachable \
	rfc5508-req4-udp-port-unreachable rfc5508-req5-port-unreachable-rewritten \
	rfc5382-req9-tcp-dest-unreachable rfc5382-req9-tcp-unreachable-rewritten \
	rfc5508-req10-parameter-problem rfc5508-req4-host-unreachable-udp \
	rfc4787-req12-icmp-keeps-udp-mapping rfc5508-req6-error-does-not-refresh-udp \
	rfc4787-req12-mapping-still-used rfc5508-req3-bad-checksum-dropped \
	rfc5508-req3-bad-checksum-counted rfc5508-req4-query-error-rewritten \
	rfc5508-req6-error-does-not-refresh-query rfc5382-req9-tcp-error-rewritten \
	rfc5382-req10-icmp-keeps-tcp-mapping rfc5508-req4-translated-checksums-valid \
	rfc5508-icmp-errors-translated-counted rfc5508-kernel-log
dmesg_mark
require_natk rfc5508-setup
topo_setup && rfc_far_setup || { fail rfc5508-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
sniff_start lan1 "$D/lan1.json" 200 || log "sniffer did not start"
tr0=$(stat_of icmp_errors_translated)

# --- time exceeded (traceroute): TTL 2 dies at wan, two hops away.
out=$(nsx lan1 ping -c1 -W3 -t 2 $FAR 2>&1)
if echo "$out" | grep -q "From $WAN1 .*Time to live exceeded"; then
	pass rfc5508-req10-time-exceeded-ping
else
	fail rfc5508-req10-time-exceeded-ping "ping -t 2 $FAR: $(echo "$out" | head -n 3)"
fi
rfc_expect_match rfc5508-req4-time-exceeded-rewritten "$D/lan1.json" \
	".type == 11 and .code == 0 and .src == \"$WAN1\" and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_dst == \"$FAR\" and .inner_proto == 1" \
	"no time exceeded to $LAN1 quoting $LAN1 -> $FAR"
# TTL 1 dies at the NAT itself (not natk's business, but traceroute's
# first hop).
out=$(nsx lan1 ping -c1 -W3 -t 1 $FAR 2>&1)
if echo "$out" | grep -q "From $LAN_GW .*Time to live exceeded"; then
	pass rfc5508-time-exceeded-first-hop
else
	fail rfc5508-time-exceeded-first-hop "ping -t 1 $FAR: $(echo "$out" | head -n 3)"
fi
# Full path works (traceroute's last hop).
check rfc5508-far-host-reachable nsx lan1 ping -c1 -W3 $FAR

# --- destination unreachable, UDP port unreachable from far.
res=$(nsx lan1 python3 -c "$RFC_PY" udperr $FAR 9 40110 4)
expect_eq rfc5508-req4-udp-port-unreachable ECONNREFUSED "$res" "lan1 UDP socket to $FAR:9"
rfc_expect_match rfc5508-req5-port-unreachable-rewritten "$D/lan1.json" \
	".type == 3 and .code == 3 and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_sport == 40110 and .inner_dst == \"$FAR\" and .inner_dport == 9" \
	"no port unreachable quoting $LAN1:40110 -> $FAR:9"

# --- TCP: far rejects port 9 with ICMP admin-prohibited (3/13).
nsx far nft -f - <<-EOT
	table ip rej {
		chain in {
			type filter hook input priority 0;
			tcp dport 9 reject with icmp type admin-prohibited
		}
	}
EOT
res=$(nsx lan1 python3 -c "$RFC_PY" tcpconnect 0.0.0.0 40120 $FAR 9 5)
if [ "${res%% *}" = EHOSTUNREACH ]; then
	pass rfc5382-req9-tcp-dest-unreachable
else
	fail rfc5382-req9-tcp-dest-unreachable "connect to $FAR:9 (rejected with 3/13): '$res', expected EHOSTUNREACH at once"
fi
rfc_expect_match rfc5382-req9-tcp-unreachable-rewritten "$D/lan1.json" \
	".type == 3 and .code == 13 and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_sport == 40120 and .inner_proto == 6" \
	"no 3/13 quoting $LAN1:40120"

# --- crafted errors from wan about a UDP flow: parameter problem, and no
# refresh (REQ-12, RFC 5508 REQ-6).
nctl set timeout udp 60 timeout icmp 60
peer_server wan udp 5000 $WAN1
ask lan1 udp $WAN1 5000 40100 > /dev/null
E=$(flow_field udp $LAN1 40100 external_port)
e1=$(flow_field udp $LAN1 40100 expires)
log "udp flow $LAN1:40100 -> $NAT_EXT:$E expires $e1"
poll 5 sh -c "[ \"\$(ip netns exec nat $NATKCTL -j flows | jq '.[] | select(.proto == \"udp\" and .internal_port == 40100) | .expires')\" -lt ${e1:-0} ]"
e2=$(flow_field udp $LAN1 40100 expires)
nsx wan python3 -c "$RFC_PY" icmperr $NAT_EXT 12 0 udp $NAT_EXT "$E" $WAN1 5000
rfc_expect_match rfc5508-req10-parameter-problem "$D/lan1.json" \
	".type == 12 and .code == 0 and .src == \"$WAN1\" and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_sport == 40100 and .inner_dst == \"$WAN1\" and .inner_dport == 5000" \
	"no parameter problem quoting $LAN1:40100 -> $WAN1:5000"
nsx wan python3 -c "$RFC_PY" icmperr $NAT_EXT 3 1 udp $NAT_EXT "$E" $WAN1 5000
rfc_expect_match rfc5508-req4-host-unreachable-udp "$D/lan1.json" \
	".type == 3 and .code == 1 and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_sport == 40100" \
	"no host unreachable quoting $LAN1:40100"
e3=$(flow_field udp $LAN1 40100 expires)
log "expires: $e1 after the exchange, $e2 before the errors, $e3 after"
if [ -n "$e3" ] && [ "$e3" != null ] && [ "$e3" -le "${e2:-0}" ] 2>/dev/null && [ "$e2" -lt "$e1" ]; then
	pass rfc4787-req12-icmp-keeps-udp-mapping
	pass rfc5508-req6-error-does-not-refresh-udp
else
	fail rfc4787-req12-icmp-keeps-udp-mapping "udp flow after ICMP errors: '$(flow_get udp $LAN1 40100)' (expires $e1 -> $e2 -> $e3)"
	fail rfc5508-req6-error-does-not-refresh-udp "expires $e1 -> $e2 -> $e3 across the errors"
fi
p=$(ask lan1 udp $WAN1 5000 40100 | sed -n 1p)
expect_eq rfc4787-req12-mapping-still-used "$NAT_EXT $E" "$p" "wan's view of lan1:40100 after the errors"

# --- bad checksum: dropped and counted; a good one after it arrives.
bc0=$(stat_of drop_bad_checksum)
nsx wan python3 -c "$RFC_PY" icmperr $NAT_EXT 3 10 udp $NAT_EXT "$E" $WAN1 5000 badsum
nsx wan python3 -c "$RFC_PY" icmperr $NAT_EXT 3 2 udp $NAT_EXT "$E" $WAN1 5000
sniff_wait "$D/lan1.json" ".type == 3 and .code == 2" 5 || log "good error (3/2) after the bad one did not arrive"
if [ -z "$(sniff_match "$D/lan1.json" ".type == 3 and .code == 10")" ]; then
	pass rfc5508-req3-bad-checksum-dropped
else
	fail rfc5508-req3-bad-checksum-dropped "lan1 received the 3/10 error sent with a bad ICMP checksum"
fi
expect_eq rfc5508-req3-bad-checksum-counted 1 "$(stat_delta drop_bad_checksum "$bc0")" "drop_bad_checksum increase"

# --- an error about an echo query (RFC 5508 REQ-6): translated, no refresh.
nsx lan1 ping -c1 -W2 $WAN1 > /dev/null
fl=$(nctl -j flows | jq -c '.[] | select(.proto == "icmp" and .internal_address == "'$LAN1'" and .remote_address == "'$WAN1'")' | sed -n 1p)
id=$(echo "$fl" | jq -r .internal_port)
eid=$(echo "$fl" | jq -r .external_port)
q1=$(echo "$fl" | jq -r .expires)
log "icmp flow id $id -> $eid, expires $q1"
poll 5 sh -c "[ \"\$(ip netns exec nat $NATKCTL -j flows | jq '.[] | select(.proto == \"icmp\" and .internal_port == $id) | .expires')\" -lt ${q1:-0} ]"
q2=$(flow_field icmp $LAN1 "$id" expires)
nsx wan python3 -c "$RFC_PY" icmperr $NAT_EXT 3 1 icmp $NAT_EXT "$eid" $WAN1 0
rfc_expect_match rfc5508-req4-query-error-rewritten "$D/lan1.json" \
	".type == 3 and .code == 1 and .inner_proto == 1 and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_sport == $id" \
	"no host unreachable quoting echo id $id from $LAN1"
q3=$(flow_field icmp $LAN1 "$id" expires)
if [ -n "$q3" ] && [ "$q3" != null ] && [ "$q3" -le "${q2:-0}" ] 2>/dev/null; then
	pass rfc5508-req6-error-does-not-refresh-query
else
	fail rfc5508-req6-error-does-not-refresh-query "icmp flow after the error: '$(flow_get icmp $LAN1 "$id")' (expires $q1 -> $q2 -> $q3)"
fi

# --- TCP: an error about an established connection does not end it.
peer_server wan tcp 5000
pid=$(hold_tcp lan1 $WAN1 5000 40130)
poll 5 flow_state_is tcp $LAN1 40130 established || log "40130 not established: $(flow_get tcp $LAN1 40130)"
TE=$(flow_field tcp $LAN1 40130 external_port)
nsx wan python3 -c "$RFC_PY" icmperr $NAT_EXT 3 1 tcp $NAT_EXT "$TE" $WAN1 5000
rfc_expect_match rfc5382-req9-tcp-error-rewritten "$D/lan1.json" \
	".type == 3 and .code == 1 and .inner_proto == 6 and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_sport == 40130" \
	"no host unreachable quoting $LAN1:40130"
if flow_state_is tcp $LAN1 40130 established; then
	pass rfc5382-req10-icmp-keeps-tcp-mapping
else
	fail rfc5382-req10-icmp-keeps-tcp-mapping "tcp flow after the error: '$(flow_get tcp $LAN1 40130)'"
fi
hold_stop "$pid"

# --- all translated errors have valid checksums; the counter moved. The
# errors natk translated for lan1 (all but the NAT host's own first-hop
# time exceeded) are at least the 7 above, every one with a valid ICMP
# and embedded IP checksum.
got=$(grep -v '^#' "$D/lan1.json" | jq -s -c '[.[] | select(.dst == "'$LAN1'" and .src != "'$LAN_GW'")]')
n=$(echo "$got" | jq length)
bad=$(echo "$got" | jq -c '.[] | select(.csum_ok != true or .inner_ipcsum_ok != true)' | head -n 3)
if [ -z "$bad" ] && [ "$n" -ge 7 ] 2>/dev/null; then
	log "$n translated errors at lan1, all with valid checksums"
	pass rfc5508-req4-translated-checksums-valid
else
	fail rfc5508-req4-translated-checksums-valid "$n translated errors at lan1 (want >= 7); with a bad ICMP or embedded IP checksum: ${bad:-none}"
fi
n=$(stat_delta icmp_errors_translated "$tr0")
if [ "$n" -ge 7 ] 2>/dev/null; then
	pass rfc5508-icmp-errors-translated-counted
else
	fail rfc5508-icmp-errors-translated-counted "icmp_errors_translated grew by $n, expected at least 7"
fi
dmesg_check rfc5508-kernel-log
rm -rf "$D"

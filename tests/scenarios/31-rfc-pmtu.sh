#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Path MTU discovery through natk (RFC 5508 REQ-10, RFC 4787 REQ-13):
#  - a router beyond wan (wan eth1, MTU 1280) answers fragmentation-needed
#    to lan1's DF packets: the error reaches lan1 translated, lan1 learns
#    the MTU, and a TCP transfer that needs PMTUD completes;
#  - the NAT's own external link too small: the NAT answers
#    fragmentation-needed to lan1, and fragments non-DF packets;
#  - inbound: the NAT's own fragmentation-needed to a wan sender about a
#    forwarded packet quotes the external address and port;
#  - and those errors are rate-limited (natk's bucket; Linux exempts
#    fragmentation-needed from its own limits).
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc5508-req10-pmtud-tcp-transfer rfc5508-req10-pmtu-learned-tcp \
	rfc5508-req10-frag-needed-ping rfc5508-req10-frag-needed-rewritten rfc5508-pmtu-ping-fits \
	rfc4787-req13-df-frag-needed rfc4787-req13-no-df-fragmented \
	rfc5508-req10-frag-needed-inbound-rewritten rfc5508-pmtu-learned-inbound \
	rfc5508-frag-needed-inbound-counted rfc5508-no-internal-address-leaked \
	rfc-pmtu-frag-needed-ratelimited rfc-pmtu-frag-needed-ratelimit-counted rfc-pmtu-kernel-log
dmesg_mark
require_natk rfc-pmtu-setup
topo_setup && rfc_far_setup || { fail rfc-pmtu-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
FAR2=198.51.100.3
ip -n far addr add $FAR2/24 dev eth0
sniff_start lan1 "$D/lan1.json" 250 || log "lan1 sniffer did not start"
tr0=$(stat_of icmp_errors_translated)

# --- A: bottleneck beyond wan. far keeps MTU 1500 (its MSS does not tell).
ip -n wan link set eth1 mtu 1280
nsx far python3 -c "$RFC_PY" tcpcount 0.0.0.0 5001 &
wait_listen far tcp 5001
want="200000 $(rfcpy md5 200000)"
got=$(nsx lan1 timeout 40 python3 -c "$RFC_PY" tcpsink 0.0.0.0 $FAR 5001 200000 30 2>&1 | tail -n 1)
expect_eq rfc5508-req10-pmtud-tcp-transfer "$want" "$got" "far's count of a 200 kB DF TCP transfer across a 1280-byte link"
rt=$(ip -n lan1 route get $FAR 2>&1 | tr '\n' ' ')
if echo "$rt" | grep -q 'mtu 1280'; then
	pass rfc5508-req10-pmtu-learned-tcp
else
	fail rfc5508-req10-pmtu-learned-tcp "lan1 route to $FAR: $rt"
fi
out=$(nsx lan1 ping -c1 -W3 -M "do" -s 1400 $FAR2 2>&1)
if echo "$out" | grep -q 'mtu = 1280'; then
	pass rfc5508-req10-frag-needed-ping
else
	fail rfc5508-req10-frag-needed-ping "ping -M "do" -s 1400 $FAR2: $(echo "$out" | head -n 3)"
fi
rfc_expect_match rfc5508-req10-frag-needed-rewritten "$D/lan1.json" \
	".type == 3 and .code == 4 and .mtu == 1280 and .src == \"$WAN1\" and .dst == \"$LAN1\" and .inner_src == \"$LAN1\" and .inner_dst == \"$FAR2\"" \
	"no 3/4 mtu 1280 quoting $LAN1 -> $FAR2"
check rfc5508-pmtu-ping-fits nsx lan1 ping -c1 -W3 -M "do" -s 1252 $FAR2
ip -n wan link set eth1 mtu 1500

# --- B: the NAT's own external link is the bottleneck (RFC 4787 REQ-13).
ip -n nat link set wan0 mtu 1280
ip -n wan link set eth0 mtu 1280
out=$(nsx lan1 ping -c1 -W3 -M "do" -s 1400 $WAN1 2>&1)
if echo "$out" | grep -q "From $LAN_GW.*mtu = 1280"; then
	pass rfc4787-req13-df-frag-needed
else
	fail rfc4787-req13-df-frag-needed "ping -M "do" -s 1400 $WAN1 over wan0 mtu 1280: $(echo "$out" | head -n 3)"
fi
check rfc4787-req13-no-df-fragmented nsx lan1 ping -c2 -i0.3 -W3 -M dont -s 1400 $WAN2
ip -n nat link set wan0 mtu 1500
ip -n wan link set eth0 mtu 1500

# --- C: inbound. The lan side is 1280; wan sends a DF 1400-byte datagram
# to a forwarded port; the NAT's fragmentation-needed must quote
# 192.0.2.1:7000, not 10.0.0.2:7000.
ip -n nat link set vlan1 mtu 1280
ip -n nat link set vlan2 mtu 1280
ip -n nat link set lan0 mtu 1280
ip -n lan1 link set eth0 mtu 1280
nctl forward add udp 7000 $LAN1:7000
nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 7000 "$D/lan1-7000.log" &
rfc_wait_file "$D/lan1-7000.log" '^#ready'
sniff_start wan "$D/wan.json" 100 || log "wan sniffer did not start"
tr1=$(stat_of icmp_errors_translated)
res=$(nsx wan python3 -c "$RFC_PY" udpsend $WAN1 47000 $NAT_EXT 7000 size=1400 df count=3 gap=0.5)
rfc_expect_match rfc5508-req10-frag-needed-inbound-rewritten "$D/wan.json" \
	".type == 3 and .code == 4 and .mtu == 1280 and .dst == \"$WAN1\" and .inner_src == \"$WAN1\" and .inner_sport == 47000 and .inner_dst == \"$NAT_EXT\" and .inner_dport == 7000" \
	"no 3/4 quoting $WAN1:47000 -> $NAT_EXT:7000 at wan"
rt=$(ip -n wan route get $NAT_EXT 2>&1 | tr '\n' ' ')
if echo "$rt" | grep -q 'mtu 1280' && [ "$res" = EMSGSIZE ]; then
	pass rfc5508-pmtu-learned-inbound
else
	fail rfc5508-pmtu-learned-inbound "wan route to $NAT_EXT: $rt; third DF send: $res (want EMSGSIZE)"
fi
n=$(stat_delta icmp_errors_translated "$tr1")
if [ "$n" -ge 1 ] 2>/dev/null; then
	pass rfc5508-frag-needed-inbound-counted
else
	fail rfc5508-frag-needed-inbound-counted "icmp_errors_translated grew by $n"
fi
if grep -q '10\.0\.0\.' "$D/wan.json"; then
	fail rfc5508-no-internal-address-leaked "wan saw an ICMP error quoting a 10.0.0.x address: $(grep '10\.0\.0\.' "$D/wan.json" | head -n1)"
else
	pass rfc5508-no-internal-address-leaked
fi

# --- D: those errors are rate-limited. Linux does not limit
# fragmentation-needed; natk does, for the errors it translates to the
# outside, with the netns's icmp_msgs_per_sec and icmp_msgs_burst. wan sends
# 200 DF datagrams that ignore the path MTU (IP_PMTUDISC_PROBE), as fast as
# it can: the NAT's answers must stop at the bucket, not at 200.
ip netns exec nat sysctl -qw net.ipv4.icmp_msgs_per_sec=5 net.ipv4.icmp_msgs_burst=5
rl0=$(stat_of drop_icmp_ratelimit)
sniff_start wan "$D/wan-rl.json" 60 || log "wan sniffer did not start"
t0=$(date +%s)
nsx wan python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.IPPROTO_IP, 10, 3)  # IP_MTU_DISCOVER = IP_PMTUDISC_PROBE: DF, no PMTU
s.bind(("0.0.0.0", 47001))
for _ in range(200):
    s.sendto(b"x" * 1400, (sys.argv[1], 7000))' "$NAT_EXT"
secs=$(( $(date +%s) - t0 + 2 ))
rl_errors() {
	grep -v '^#' "$D/wan-rl.json" |
		jq -c "select(.type == 3 and .code == 4 and .inner_sport == 47001)" | wc -l
}
# wait for the first error, then until the count stays put for a second
sniff_wait "$D/wan-rl.json" ".type == 3 and .code == 4 and .inner_sport == 47001" 5
got=-1
for _ in $(seq 10); do
	prev=$got
	got=$(rl_errors)
	[ "$got" = "$prev" ] && break
	sleep 1
done
drops=$(stat_delta drop_icmp_ratelimit "$rl0")
max=$(( 5 + 5 * secs + 5 ))
log "200 oversized DF datagrams in ~$((secs - 2)) s: $got fragmentation-needed out, drop_icmp_ratelimit +$drops (bucket allows <= $max)"
if [ "$got" -ge 1 ] && [ "$got" -le "$max" ]; then
	pass rfc-pmtu-frag-needed-ratelimited
else
	fail rfc-pmtu-frag-needed-ratelimited "$got fragmentation-needed errors reached wan for 200 oversized DF datagrams in ~$secs s (want 1..$max with 5/s, burst 5)"
fi
if [ "$drops" -ge $(( 200 - max )) ] 2>/dev/null; then
	pass rfc-pmtu-frag-needed-ratelimit-counted
else
	fail rfc-pmtu-frag-needed-ratelimit-counted "drop_icmp_ratelimit grew by $drops (want >= $(( 200 - max )))"
fi
ip netns exec nat sysctl -qw net.ipv4.icmp_msgs_per_sec=1000 net.ipv4.icmp_msgs_burst=50

n=$(stat_delta icmp_errors_translated "$tr0")
log "icmp_errors_translated +$n in total"
dmesg_check rfc-pmtu-kernel-log
rm -rf "$D"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The fast path (kmod/fastpath.c): packets of established flows are
# translated and sent at PRE_ROUTING. Checked with natkctl set fast-path:
#  - auto by default (natk.ko fast_path=, which make check-slowpath sets
#    to off), and active with no other hook in the netns;
#  - UDP both ways goes through it (fastpath_packets grows by nearly every
#    packet) with exact per-flow counters, and a TCP transfer arrives whole;
#  - after a flow's first fast packets, from netdev ingress hooks on the
#    devices they come in on (fastpath_ingress), which run after any other
#    ingress hook: an nft netdev chain on lan0 counts every packet, at
#    priority 0 (ingress goes on) and at the highest, when it was there
#    before natk's (ingress gives way to PRE_ROUTING); mode off removes
#    natk's ingress hooks (nft list hooks);
#  - a frame with a wrong IPv4 header checksum never goes fast;
#  - TTL 1 still gets ICMP time exceeded, DF over the MTU still gets
#    fragmentation needed (the slow path sends them);
#  - a route change mid-flow is followed at once (a blackhole route stops
#    the flow, removing it lets it through again): no stale cached route;
#  - a changed neighbour (new MAC) is used at once;
#  - the external interface down and up: the flow goes on;
#  - auto falls back when an nft chain is hooked at FORWARD (status says
#    why), and comes back when it is gone; on overrides it;
#  - lan0 is a bridge: natk's hook on its port takes an established flow's
#    packets before the bridge (fastpath_bridge), lan0's rx_packets still
#    count them, an nft bridge chain and tcpdump -i lan0 still see every
#    frame, a disabled port passes nothing, and a port that leaves and
#    rejoins the bridge loses its hook and gets it back with its state;
#  - deleting the external interface while flows hold its routes completes
#    at once (no "waiting for ... to become free"), though natk keeps those
#    flows while it waits for the interface to come back.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan fp-natk-up fp-default-auto fp-module-param fp-auto-active fp-udp-replies fp-udp-fast \
	fp-udp-flow-counters fp-ingress-used fp-ingress-bad-csum-control fp-ingress-bad-csum \
	fp-ingress-nft-before-counted fp-ingress-nft-before-fast \
	fp-ingress-nft-after-counted \
	fp-ingress-nft-after-fast fp-tcp-sha256 fp-tcp-fast fp-ttl-exceeded \
	fp-df-frag-needed fp-route-blackhole fp-route-restored fp-neigh-change \
	fp-link-down-up fp-auto-hooks-inactive fp-auto-hooks-slow fp-on-overrides \
	fp-auto-back fp-auto-back-fast fp-bridge-replies fp-bridge-used \
	fp-bridge-rx-counted fp-bridge-nft-counted fp-bridge-tcpdump fp-bridge-port-disabled \
	fp-bridge-port-forwarding fp-plain-port-fast fp-bridge-port-rejoined \
	fp-dev-delete-quick fp-dev-delete-waiting fp-kernel-log
# nft list hooks needs nfnetlink_hook (6.12 has it, Debian's 6.1 not).
HOOKLIST=0
if modprobe -q nfnetlink_hook; then
	HOOKLIST=1
	plan fp-ingress-hook-listed fp-off-unhooks fp-bridge-port-left
else
	log "no nfnetlink_hook in $(uname -r): fp-ingress-hook-listed and fp-off-unhooks not run"
fi
dmesg_mark
require_natk fp-natk-built
topo_setup || { fail fp-topology "topology setup failed"; exit 1; }
check fp-natk-up natk_up accounting on || exit 1

fpstat() { nctl -j stats | jq -r ".${1:-fastpath_packets}"; }
fpjq() { nctl -j status | jq -r "$1"; }

param=$(cat /sys/module/natk/parameters/fast_path)
expect_eq fp-module-param "${NATK_FAST_PATH:-auto}" "$param" "natk.ko's fast_path"
expect_eq fp-default-auto "$param" "$(fpjq .fast_path)" "fast_path by default"
nctl set fast-path off
nctl set fast-path auto
expect_eq fp-auto-active "auto true" "$(fpjq '"\(.fast_path) \(.fast_path_active)"')" \
	"with no other netfilter hook in netns nat" ||
	log "$(nctl status | grep fast-path); hooks: $(nsx nat nft list hooks 2>&1 | tr '\n' ' ')"

# A UDP echo server on wan; lan1 talks from a fixed source port.
udp_echo_server wan $WAN1 7000 100
# pp SPORT N [SIZE]: N request/reply exchanges from lan1:SPORT
pp() { udp_pingpong lan1 "$1" $WAN1 7000 "$2" "${3:-100}"; }
# fast_ok NAME MIN WHAT: 5 more datagrams of the established flow 4002 get
# their 5 replies, and at least MIN of those 10 packets go fast.
fast_ok() {
	local f0 f1 got
	f0=$(fpstat)
	got=$(pp 4002 5)
	f1=$(fpstat)
	if [ "$got" = 5 ] && [ $((f1 - f0)) -ge "$2" ]; then
		pass "$1"
	else
		fail "$1" "$3: $got replies of 5, fastpath_packets +$((f1 - f0)) (want 5, >= $2)"
	fi
}

f0=$(fpstat)
got=$(pp 4000 50)
f1=$(fpstat)
expect_eq fp-udp-replies 50 "$got" "replies to 50 datagrams"
# The first datagram opens the flow and its reply marks it as seen both
# ways: the 98 after go fast.
if [ $((f1 - f0)) -ge 96 ]; then
	pass fp-udp-fast
else
	fail fp-udp-fast "fastpath_packets grew by $((f1 - f0)) for 100 packets (want >= 96)"
fi
expect_eq fp-udp-flow-counters "50 50" \
	"$(flow_get udp $LAN1 4000 | jq -r '"\(.packets_out) \(.packets_in)"')" \
	"the flow's packets_out and packets_in"

# After the first fast packets, natk hooks lan0 and wan0 at ingress: the
# rest of the 98 fast ones go from there.
f0=$(fpstat fastpath_ingress)
pp 4005 50 > /dev/null
f1=$(fpstat fastpath_ingress)
expect_ge fp-ingress-used 90 $((f1 - f0)) "growth of fastpath_ingress for 100 packets"

# An IPv4 header with a wrong checksum is never sent fast: ip_rcv drops it
# as a header error on the normal path. lan1 writes 10 frames of the
# established flow 4002 to its link itself, with a wrong IP header
# checksum: the nat netns's InHdrErrors must grow by 10 (the fast path
# passed them on) and fastpath_packets not at all.
# shellcheck disable=SC2016
bad_frames() { # 10 frames lan1:4002 -> wan1:7000 to lan0's MAC, wrong csum
	nsx lan1 python3 -c 'import socket, struct, sys
def csum(b):
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
mac = lambda m: bytes.fromhex(m.replace(":", ""))
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
udp = struct.pack("!HHHH", 4002, 7000, 9, 0) + b"c"
for i in range(10):
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 100 + i, 0, 64,
                     17, 0, socket.inet_aton(sys.argv[3]), socket.inet_aton(sys.argv[4]))
    ip = ip[:10] + struct.pack("!H", csum(ip) ^ 0x5a5a) + ip[12:]
    s.send(mac(sys.argv[1]) + mac(sys.argv[2]) + b"\x08\x00" + ip + udp)' \
		"$(nsx nat cat /sys/class/net/lan0/address)" \
		"$(nsx lan1 cat /sys/class/net/eth0/address)" $LAN1 $WAN1
}
# The nat netns's IP InHdrErrors (/proc/net/snmp)
# shellcheck disable=SC2016
hdr_errors() {
	nsx nat awk '/^Ip: [A-Z]/ { for (i = 2; i <= NF; i++) if ($i == "InHdrErrors") c = i; next }
		/^Ip: / && c { print $c }' /proc/net/snmp
}
fast_ok fp-ingress-bad-csum-control 8 "flow 4002 before the frames"
e0=$(hdr_errors); f0=$(fpstat)
bad_frames
hdr_grew() { [ $(($(hdr_errors) - e0)) -ge 10 ]; }
poll 5 hdr_grew
e1=$(hdr_errors); f1=$(fpstat)
if [ $((e1 - e0)) = 10 ] && [ $((f1 - f0)) = 0 ]; then
	pass fp-ingress-bad-csum
else
	fail fp-ingress-bad-csum "10 frames of an established flow with a wrong IP header checksum: InHdrErrors +$((e1 - e0)) (want 10), fastpath_packets +$((f1 - f0)) (want 0)"
fi

# table_packets NS FAMILY TABLE: the packets its rules' counters counted
table_packets() {
	nsx "$1" nft -j list table "$2" "$3" |
		jq -r '[.nftables[] | select(.rule) | .rule.expr[] | select(.counter) | .counter.packets] | add'
}

# ingress_nft PRIO N SPORT [rehook]: with an nft netdev chain on lan0 at
# PRIO counting lan1's datagrams to port 7000, N exchanges from SPORT;
# prints "COUNTED INGRESS_FAST FAST" (the chain's count, and the growth
# of fastpath_ingress and fastpath_packets). rehook: natk's hook on lan0
# is removed first (fast-path off) and comes back after the chain's.
ingress_nft() {
	local i0 f0 c
	[ "${4:-}" = rehook ] && nctl set fast-path off
	nsx nat nft -f - <<-EOF || { echo "nft-failed 0 0"; return; }
	table netdev natk_t64 {
		chain in { type filter hook ingress device lan0 priority $1; udp dport 7000 counter; }
	}
	EOF
	[ "${4:-}" = rehook ] && nctl set fast-path auto
	i0=$(fpstat fastpath_ingress); f0=$(fpstat)
	pp "$3" "$2" > /dev/null
	c=$(table_packets nat netdev natk_t64)
	echo "$c $(( $(fpstat fastpath_ingress) - i0 )) $(( $(fpstat) - f0 ))"
	nsx nat nft delete table netdev natk_t64
}
lan0_hooked() { nsx nat nft list hooks netdev device lan0 2>&1 | grep -q natk_fp_ingress; }
pp 4006 3 > /dev/null	# established, hooked
if [ $HOOKLIST = 0 ]; then
	:
elif lan0_hooked; then
	pass fp-ingress-hook-listed
else
	fail fp-ingress-hook-listed "natk_fp_ingress not in nft list hooks netdev device lan0: $(nsx nat nft list hooks netdev device lan0 2>&1 | tr '\n' ' ') / all: $(nsx nat nft list hooks 2>&1 | tr '\n' ' ')"
fi
read -r cnt ing fast <<< "$(ingress_nft 0 20 4006)"
expect_eq fp-ingress-nft-before-counted 20 "$cnt" "datagrams an nft ingress chain at priority 0 counted"
# natk's ingress hook runs after the chain: it must not give way.
expect_ge fp-ingress-nft-before-fast 38 "$ing" "growth of fastpath_ingress for 40 packets"
nctl set fast-path off
if [ $HOOKLIST = 0 ]; then
	:
elif lan0_hooked; then
	fail fp-off-unhooks "natk_fp_ingress still hooked on lan0 with fast-path off: $(nsx nat nft list hooks netdev device lan0 2>&1 | tr '\n' ' ')"
else
	pass fp-off-unhooks
fi
nctl set fast-path auto
# A chain at natk's priority (the highest) that was there first: natk's
# hook, registered after it, runs before it (netfilter puts the later of
# equal priorities first), so natk gives way; PRE_ROUTING's fast path
# sends the packets after the chain has seen them.
read -r cnt ing fast <<< "$(ingress_nft 2147483647 20 4006 rehook)"
expect_eq fp-ingress-nft-after-counted 20 "$cnt" "datagrams an nft ingress chain at priority 2147483647, hooked before natk's, counted"
expect_ge fp-ingress-nft-after-fast 38 "$fast" "growth of fastpath_packets for 40 packets (from ingress: $ing)"

# TCP: 4 MB from wan to lan1, checked end to end.
D=$CTL_TMP
head -c 4M /dev/urandom > "$D/blob"
want=$(sha256sum < "$D/blob" | cut -d' ' -f1)
nsx wan socat -u OPEN:"$D/blob" TCP-LISTEN:7100,reuseaddr > /dev/null 2>&1 &
srv=$!
wait_listen wan tcp 7100
f0=$(fpstat)
got=$(nsx lan1 timeout 120 socat -u TCP:$WAN1:7100 - | sha256sum | cut -d' ' -f1)
f1=$(fpstat)
wait $srv 2>/dev/null
expect_eq fp-tcp-sha256 "$want" "$got" "sha256 of what lan1 received"
if [ $((f1 - f0)) -ge 100 ]; then
	pass fp-tcp-fast
else
	fail fp-tcp-fast "fastpath_packets grew by $((f1 - f0)) during a 4 MB transfer (want >= 100)"
fi

# errq.py SPORT TTL SIZE DF: one datagram on the established flow, then
# the ICMP error it caused, from the socket's error queue: "TYPE CODE", or
# "none".
cat > "$D/errq.py" <<'PY'
import socket, struct, sys, time
sport, ttl, size, df = map(int, sys.argv[1:5])
dst = (sys.argv[5], 7000)
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", sport))
IP_TTL, IP_MTU_DISCOVER, IP_RECVERR = 2, 10, 11
s.setsockopt(socket.IPPROTO_IP, IP_RECVERR, 1)
s.setsockopt(socket.IPPROTO_IP, IP_MTU_DISCOVER, 2 if df else 0)	# DO / DONT
s.setsockopt(socket.IPPROTO_IP, IP_TTL, ttl)
try:
    s.sendto(b"e" * size, dst)
except OSError as e:
    print("send", e.errno); sys.exit()
end = time.time() + 5
while time.time() < end:
    try:
        _, anc, _, _ = s.recvmsg(2048, 1024, socket.MSG_ERRQUEUE | socket.MSG_DONTWAIT)
    except BlockingIOError:
        time.sleep(0.05)
        continue
    for lvl, typ, data in anc:
        if lvl == socket.IPPROTO_IP and typ == IP_RECVERR:
            errno_, origin, etype, ecode = struct.unpack("=IBBB", data[:7])
            print(etype, ecode); sys.exit()
print("none")
PY
pp 4001 3 > /dev/null	# an established flow for lan1:4001
expect_eq fp-ttl-exceeded "11 0" "$(nsx lan1 python3 "$D/errq.py" 4001 1 100 0 $WAN1)" \
	"ICMP type and code for a TTL-1 datagram of an established flow"
nsx nat ip link set wan0 mtu 1200
expect_eq fp-df-frag-needed "3 4" "$(nsx lan1 python3 "$D/errq.py" 4001 64 1400 1 $WAN1)" \
	"ICMP type and code for a 1400-byte DF datagram, wan0 mtu 1200"
nsx nat ip link set wan0 mtu 1500

# Route change mid-flow: a cached route must not outlive it.
pp 4002 3 > /dev/null
nsx nat ip route add blackhole $WAN1/32
expect_eq fp-route-blackhole 0 "$(pp 4002 5)" "replies while $WAN1 is blackholed in nat"
nsx nat ip route del blackhole $WAN1/32
expect_eq fp-route-restored 5 "$(pp 4002 5)" "replies once the blackhole is gone"

# Neighbour change: wan's MAC changes, nat learns it; the flow goes on.
nsx wan ip link set eth0 address 02:00:00:00:77:01
nsx nat ip neigh replace $WAN1 lladdr 02:00:00:00:77:01 dev wan0 nud reachable
expect_eq fp-neigh-change 5 "$(pp 4002 5)" "replies after wan's MAC changed"

# The external interface down and up.
nsx nat ip link set wan0 down
nsx nat ip link set wan0 up
poll 10 nsx nat ping -c1 -W1 $WAN1 > /dev/null
fast_ok fp-link-down-up 8 "after wan0 down and up"

# auto must not bypass a firewall: an nft chain at FORWARD turns it off.
nsx nat nft -f - <<-EOT
	table ip fw {
		chain fchain {
			type filter hook forward priority 0;
			counter
		}
	}
EOT
expect_eq fp-auto-hooks-inactive "false" "$(fpjq .fast_path_active)" \
	"fast_path_active with an nft forward chain"
f0=$(fpstat)
got=$(pp 4002 5)
f1=$(fpstat)
fwd=$(nsx nat nft list chain ip fw fchain | sed -n 's/.*counter packets \([0-9]*\).*/\1/p' | head -n 1)
if [ "$got" = 5 ] && [ "$f1" = "$f0" ] && [ "${fwd:-0}" -ge 10 ]; then
	pass fp-auto-hooks-slow
else
	fail fp-auto-hooks-slow "$got replies, fastpath_packets +$((f1 - f0)), forward chain counted ${fwd:-0} (want 5, +0, >= 10): $(nsx nat nft list chain ip fw fchain | tr '\n\t' '  ')"
fi
nctl set fast-path on
f0=$(fpstat)
got=$(pp 4002 5)
f1=$(fpstat)
if [ "$got" = 5 ] && [ $((f1 - f0)) -ge 10 ] && [ "$(fpjq .fast_path_active)" = true ]; then
	pass fp-on-overrides
else
	fail fp-on-overrides "fast-path on: $got replies, fastpath_packets +$((f1 - f0)), active $(fpjq .fast_path_active)"
fi
nctl set fast-path auto
nsx nat nft delete table ip fw
expect_eq fp-auto-back "true" "$(fpjq .fast_path_active)" "fast_path_active once the chain is gone"
fast_ok fp-auto-back-fast 8 "once the chain is gone"

# The LAN side is a bridge (lan0, ports vlan1 and vlan2): once a flow's
# packets have come through a port once, natk's hook on that port takes
# them before the bridge, and the bridge's receive counters still count
# them.
fpb() { fpstat fastpath_bridge; }
lan0_rx() { nsx nat cat /sys/class/net/lan0/statistics/rx_packets; }
reply_ok() { [ "$(pp 4007 1)" = 1 ]; }
# bridge_fast_ok NAME WHAT: once flow 4007 gets replies again, 10 more
# datagrams get theirs and at least 8 are taken at lan1's bridge port.
bridge_fast_ok() {
	local b0 b1 got
	poll 20 reply_ok
	b0=$(fpb)
	got=$(pp 4007 10)
	b1=$(fpb)
	if [ "$got" = 10 ] && [ $((b1 - b0)) -ge 8 ]; then
		pass "$1"
	else
		fail "$1" "$2: $got replies of 10, fastpath_bridge +$((b1 - b0)) (want 10, >= 8)"
	fi
}
pp 4007 3 > /dev/null
b0=$(fpb); r0=$(lan0_rx)
got=$(pp 4007 50)
b1=$(fpb); r1=$(lan0_rx)
expect_eq fp-bridge-replies 50 "$got" "replies to 50 datagrams"
expect_ge fp-bridge-used 45 $((b1 - b0)) "growth of fastpath_bridge for 50 datagrams from lan1"
expect_ge fp-bridge-rx-counted 50 $((r1 - r0)) "growth of lan0's rx_packets for 50 datagrams"

# A bridge-family chain (nftables bridge, br_netfilter) sees every frame:
# natk then leaves them to the bridge, and takes them at lan0.
nsx nat nft -f - <<-EOF
	table bridge natk_t64b {
		chain pre { type filter hook prerouting priority 0; ether type ip udp dport 7000 counter; }
	}
EOF
b0=$(fpb)
got=$(pp 4007 20)
b1=$(fpb)
cnt=$(table_packets nat bridge natk_t64b)
nsx nat nft delete table bridge natk_t64b
expect_eq fp-bridge-nft-counted "20 20" "$got $cnt" \
	"replies, and datagrams an nft bridge prerouting chain counted (fastpath_bridge +$((b1 - b0)))"

# tcpdump on the bridge sees every packet: natk leaves them to the bridge
# while a packet socket is open on lan0 (and takes them at lan0).
D64=$(mktemp -d /tmp/natk-t64.XXXXXX)
ip netns exec nat tcpdump -l -n -i lan0 udp port 7000 > "$D64/cap.txt" 2> "$D64/cap.err" &
tcpd=$!
poll 15 grep -q 'listening on' "$D64/cap.err" || log "tcpdump did not start: $(cat "$D64/cap.err")"
b0=$(fpb)
got=$(pp 4007 10)
b1=$(fpb)
poll 5 sh -c "[ \$(grep -c '> $WAN1\.7000' $D64/cap.txt) -ge 10 ]"
kill $tcpd; wait $tcpd 2> /dev/null
n=$(grep -c "> $WAN1\.7000" "$D64/cap.txt")
rm -rf "$D64"
expect_eq fp-bridge-tcpdump "10 10 0" "$got $n $((b1 - b0))" \
	"replies, datagrams tcpdump -i lan0 saw, growth of fastpath_bridge"

# A port the bridge does not forward on passes nothing, even for an
# established flow (wan counts what reaches it). natk learns the port's
# state from the bridge's switchdev notification, deferred to a work item:
# the first datagram may still pass, so poll until one does not.
nsx wan nft -f - <<-EOF
	table ip natk_t64w {
		chain pre { type filter hook prerouting priority 0; udp dport 7000 counter; }
	}
EOF
wan_in() { table_packets wan ip natk_t64w; }
oneshot_lost() { local c; c=$(wan_in); udp_oneshot lan1 4007 $WAN1 7000; [ "$(wan_in)" = "$c" ]; }
nsx nat bridge link set dev vlan1 state 0
poll 10 oneshot_lost
# A flow's packets from a port go through the bridge when its last-seen
# stamp is due (once a second), and a dropped one refreshes nothing, so
# natk would stop taking them at a disabled port even without its state;
# but the other direction refreshes the stamp too. So wan keeps sending
# to the flow (raw UDP from its port 7000, every 20 ms for 4 s) while lan1
# sends a datagram every 20 ms for 2 s: none may reach wan.
eport=$(flow_field udp $LAN1 4007 external_port)
nsx wan python3 -c 'import socket, struct, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_UDP)
udp = struct.pack("!HHHH", 7000, int(sys.argv[2]), 9, 0) + b"r"
for i in range(200):
    s.sendto(udp, (sys.argv[1], 0)); time.sleep(0.02)' $NAT_EXT "$eport" &
wsend=$!
c0=$(wan_in)
nsx lan1 python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 4007))
time.sleep(0.5)
for i in range(100):
    s.sendto(b"x", (sys.argv[1], 7000)); time.sleep(0.02)' $WAN1
c1=$(wan_in)
wait $wsend
expect_eq fp-bridge-port-disabled 0 $((c1 - c0)) \
	"of 100 datagrams of an established flow (wan sending to it), those that reached wan with lan1's bridge port disabled"
nsx nat bridge link set dev vlan1 state 3
bridge_fast_ok fp-bridge-port-forwarding "port forwarding again"
nsx wan nft delete table ip natk_t64w

# A port that leaves the bridge loses natk's hook; one that joins a bridge
# natk hooks gets one (again as a port if natk hooked it alone meanwhile),
# and its state (blocking, then forwarding) from the bridge's
# notifications.
vlan1_hooked() { nsx nat nft list hooks netdev device vlan1 2>&1 | grep -q natk_fp_ingress; }
mac0=$(nsx nat cat /sys/class/net/lan0/address)	# lan1's gateway MAC
nsx nat ip link set vlan1 nomaster
if [ $HOOKLIST = 1 ] && vlan1_hooked; then
	fail fp-bridge-port-left "natk_fp_ingress still hooked on vlan1 after it left lan0"
elif [ $HOOKLIST = 1 ]; then
	pass fp-bridge-port-left
fi
# Out of the bridge, vlan1 carries lan1's traffic on its own (lan0's MAC,
# a host route): natk hooks it as a plain device and takes the flow there.
# Back in lan0 it must be hooked again as a port: the plain hook would
# leave every packet to the bridge.
fpi() { fpstat fastpath_ingress; }
# (the work hooks vlan1 after the flow's first fast packet there)
ingress_grows() { local i; i=$(fpi); pp 4007 1 > /dev/null; [ "$(fpi)" -gt "$i" ]; }
mac1=$(nsx nat cat /sys/class/net/vlan1/address)
nsx nat ip link set vlan1 address "$mac0"
nsx nat ip route add $LAN1/32 dev vlan1
poll 20 reply_ok
poll 10 ingress_grows
i0=$(fpi); b0=$(fpb)
got=$(pp 4007 10)
i1=$(fpi); b1=$(fpb)
if [ "$got" = 10 ] && [ $((i1 - i0)) -ge 8 ] && [ $((b1 - b0)) = 0 ]; then
	pass fp-plain-port-fast
else
	fail fp-plain-port-fast "vlan1 out of the bridge: $got replies of 10, fastpath_ingress +$((i1 - i0)) (want >= 8), fastpath_bridge +$((b1 - b0)) (want 0)"
fi
nsx nat ip route del $LAN1/32 dev vlan1
nsx nat ip link set vlan1 address "$mac1"
nsx nat ip link set vlan1 master lan0
bridge_fast_ok fp-bridge-port-rejoined "vlan1 back in lan0, hooked alone before"

# The device goes away while flows hold routes through it.
pp 4003 3 > /dev/null
t0=$(date +%s%N)
nsx nat ip link del wan0
t1=$(date +%s%N)
ms=$(((t1 - t0) / 1000000))
log "ip link del wan0: $ms ms"
if [ "$ms" -lt 5000 ]; then
	pass fp-dev-delete-quick
else
	fail fp-dev-delete-quick "ip link del wan0 took $ms ms"
fi
poll 10 sh -c "[ \"\$(ip netns exec nat $NATKCTL -j status | jq -r .state)\" = waiting-interface ]"
expect_eq fp-dev-delete-waiting "waiting-interface false" "$(fpjq .state) $(fpjq .fast_path_active)" \
	"natk's state and fast path after its interface was deleted"
dmesg_check fp-kernel-log

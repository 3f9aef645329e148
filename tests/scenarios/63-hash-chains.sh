#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hash chains stay short under a flood of colliding keys. lan1 opens 512
# UDP flows (10.0.0.2:IPORT -> 192.0.2.2:RPORT) from a fixed collision set
# (tests/lib/hash-collisions.txt, made by tests/lib/natk_jhash.py): under
# seed 0 the flow table's hash (jhash2 over struct natk_okey) puts all
# 512 in one bucket of any table up to 4096 buckets. natk's tables are
# keyed with a random seed, which the set cannot aim at:
#  - the set is what it claims (checked here: one bucket under seed 0);
#  - every flow is made and its datagram reaches wan;
#  - natkctl -j status .hash_max_chain, the longest chain in any of natk's
#    tables, stays at 8 or less (512 random keys in 1024 buckets: about
#    4), while the flow table holds the 512 (.hash_entries); natkctl
#    status shows the same figures in text.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" chains-collision-set chains-flows-made chains-longest-short \
	chains-status-text chains-traffic-after chains-kernel-log
dmesg_mark
require_natk chains-setup
KEYS=$NATK_REPO/tests/lib/hash-collisions.txt
JH=$NATK_REPO/tests/lib/natk_jhash.py
D=$(mktemp -d)
trap 'rc=$?; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT
topo_setup || { fail chains-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1

# wan counts the flood's datagrams at ingress and drops them (no ICMP
# errors coming back).
nsx wan nft -f - <<-EOT || { fail chains-setup "nft sink in wan"; exit 1; }
	table netdev sink {
		counter rx { }
		chain in {
			type filter hook ingress device eth0 priority 0;
			ip saddr $NAT_EXT udp dport 5000-5099 counter name rx drop
		}
	}
EOT
sink() { nsx wan nft -j list counter netdev sink rx | jq -r '.nftables[] | select(.counter) | .counter.packets'; }

n=$(grep -c . "$KEYS")
res=$(python3 "$JH" selftest && python3 "$JH" check 0xfff $LAN1 $WAN1 < "$KEYS")
if [ "$(echo "$res" | tr '\n' ' ')" = "ok $n 1 " ] && [ "$n" -ge 512 ]; then
	pass chains-collision-set
else
	fail chains-collision-set "natk_jhash.py selftest and check: '$(echo "$res" | tr '\n' ' ')' for $n keys (want one bucket of 4096 under seed 0)"
fi

# The flood: one datagram per key, each from its own source port.
st0=$(nctl -j status)
nsx lan1 timeout 120 python3 -c '
import socket, sys
dst = sys.argv[1]
for line in open(sys.argv[2]):
    iport, rport = map(int, line.split())
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", iport))
    s.sendto(b"collide", (dst, rport))
    s.close()
' $WAN1 "$KEYS"
poll 10 sh -c "[ \"\$(ip netns exec wan nft -j list counter netdev sink rx | jq -r '.nftables[] | select(.counter) | .counter.packets')\" -ge $n ]"
st=$(nctl -j status)
log "before the flood: $(echo "$st0" | jq -c '{flows, hash_buckets, hash_entries, hash_max_chain}'); after: $(echo "$st" | jq -c '{flows, hash_buckets, hash_entries, hash_max_chain}'); wan received $(sink)"
made=$(nctl -j flows proto udp | jq '[.[] | select(.internal_address == "'$LAN1'" and .remote_address == "'$WAN1'" and .remote_port >= 5000 and .remote_port < 5100)] | length')
if [ "$made" = "$n" ] && [ "$(sink)" = "$n" ] && [ "$(echo "$st" | jq .hash_entries)" -ge "$n" ]; then
	pass chains-flows-made
else
	fail chains-flows-made "$made of $n flows in natkctl flows, wan received $(sink), hash_entries $(echo "$st" | jq .hash_entries)"
fi
# The longest chain, a few times over (the GC and resizes run meanwhile).
worst=0
for _ in 1 2 3; do
	c=$(nctl -j status | jq .hash_max_chain)
	[ "$c" -gt "$worst" ] 2>/dev/null && worst=$c
done
log "longest hash chain with the collision set in the table: $worst (under seed 0 it would be $n)"
if [ "$worst" -ge 1 ] && [ "$worst" -le 8 ]; then
	pass chains-longest-short
else
	fail chains-longest-short "natkctl -j status .hash_max_chain $worst with $n flows aimed at one bucket (want 1..8)"
fi
js=$(nctl -j status)
txt=$(nctl status)
want="hash buckets: $(echo "$js" | jq .hash_buckets)   entries: $(echo "$js" | jq .hash_entries)   longest chain: $(echo "$js" | jq .hash_max_chain)"
if echo "$txt" | grep -q "$want\$"; then
	pass chains-status-text
else
	fail chains-status-text "natkctl status has no line ending in '$want': $(echo "$txt" | grep -i hash)"
fi
peer_server wan udp 5200 $WAN1
r=$(ask lan1 udp $WAN1 5200 41000 | sed -n 1p)
expect_eq chains-traffic-after "$NAT_EXT 41000" "$r" "wan's view of a new flow from lan1:41000"
dmesg_check chains-kernel-log

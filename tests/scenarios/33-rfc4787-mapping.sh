#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 4787 REQ-1/3/3a/4, RFC 5382 REQ-1/7, RFC 7857 port overlapping, RFC
# 6888 REQ-14: mapping behaviour.
#  - endpoint-independent (default): one internal endpoint keeps its
#    external port towards two destinations (UDP and TCP), also when that
#    port is not its own (lan2 holds it towards the first destination; a
#    per-destination mapping would differ between the two);
#  - two internal hosts using the same port towards one destination get
#    different external ports (no port overloading);
#  - internal ports below 1024 map below 1024;
#  - a port that cannot be preserved keeps its parity (REQ-4; 16 ports, so
#    a search that ignores parity passes with odds of 1 in 65536);
#  - address-and-port-dependent mapping: lan1:40320 -> 192.0.2.2 and
#    lan2:40320 -> 192.0.2.3 both get external port 40320 (overlapping),
#    while lan2:40320 -> 192.0.2.2 collides and gets another port;
#  - ports that cannot be preserved come from the configured range, in no
#    guessable sequence.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc4787-req1-default-mapping rfc4787-req1-eim-udp rfc5382-req1-eim-tcp \
	rfc4787-req3-no-port-overloading rfc5382-req7-no-port-overloading \
	rfc4787-req3a-low-ports-stay-low rfc4787-req4-port-parity rfc6888-set-port-range \
	rfc4787-ports-from-configured-range rfc6888-req14-ports-not-sequential \
	rfc6888-set-port-range-back rfc7857-set-mapping-apdm rfc7857-status-mapping-apdm \
	rfc7857-apdm-port-overlapping-udp rfc7857-apdm-collision-other-port \
	rfc7857-apdm-port-overlapping-tcp rfc4787-mapping-kernel-log
dmesg_mark
require_natk rfc4787-mapping-setup
topo_setup || { fail rfc4787-mapping-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
expect_eq rfc4787-req1-default-mapping endpoint-independent \
	"$(nctl -j status | jq -r .mapping)" "natkctl -j status .mapping"
peer_server wan udp 5000 $WAN1
peer_server wan udp 5000 $WAN2
peer_server wan tcp 5000

# first line of the reply: "ADDR PORT" as the wan peer saw us
seen() { ask "$@" | sed -n 1p; }

# eim NAME PROTO PORT: lan2:PORT talks to WAN1 first and keeps PORT; then
# lan1:PORT must get one other port, the same towards WAN1 and WAN2.
eim() {
	local name=$1 proto=$2 port=$3 u0 u1 u2
	u0=$(seen lan2 "$proto" $WAN1 5000 "$port")
	u1=$(seen lan1 "$proto" $WAN1 5000 "$port")
	u2=$(seen lan1 "$proto" $WAN2 5000 "$port")
	if [ "$u0" = "$NAT_EXT $port" ] && [ -n "$u1" ] && [ "$u1" = "$u2" ] &&
		[ "$u1" != "$u0" ] && [ "${u1%% *}" = "$NAT_EXT" ]; then
		pass "$name"
	else
		fail "$name" "lan2:$port seen as '$u0' by $WAN1 (want $NAT_EXT $port); then lan1:$port as '$u1' by $WAN1 and '$u2' by $WAN2 (want one other port)"
	fi
}
eim rfc4787-req1-eim-udp udp 40300
eim rfc5382-req1-eim-tcp tcp 40301

# No port overloading: same internal port, same destination, two hosts.
a=$(seen lan1 udp $WAN1 5000 40310)
b=$(seen lan2 udp $WAN1 5000 40310)
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
	pass rfc4787-req3-no-port-overloading
else
	fail rfc4787-req3-no-port-overloading "lan1:40310 seen as '$a', lan2:40310 as '$b' by $WAN1:5000"
fi
a=$(seen lan1 tcp $WAN1 5000 40311)
b=$(seen lan2 tcp $WAN1 5000 40311)
if [ -n "$a" ] && [ -n "$b" ] && [ "$a" != "$b" ]; then
	pass rfc5382-req7-no-port-overloading
else
	fail rfc5382-req7-no-port-overloading "lan1:40311 seen as '$a', lan2:40311 as '$b' by $WAN1:5000"
fi

# REQ-3a: well-known ports stay well-known, others stay out of 0-1023.
a=$(seen lan1 udp $WAN1 5000 500)
b=$(seen lan2 udp $WAN1 5000 500)
pa=${a##* } pb=${b##* }
if [ -n "$a" ] && [ -n "$b" ] && [ "$pa" -lt 1024 ] && [ "$pb" -lt 1024 ] 2>/dev/null; then
	pass rfc4787-req3a-low-ports-stay-low
else
	fail rfc4787-req3a-low-ports-stay-low "lan1:500 seen as '$a', lan2:500 as '$b'"
fi

# REQ-4: a port that cannot be preserved keeps its parity. lan1 takes
# 40340..40355 first; lan2's same ports must move, each to a port of the
# same parity.
s1=() s2=()
for i in $(seq 0 15); do
	s1+=("0.0.0.0:$((40340 + i)):$WAN1:5000:x")
	s2+=("0.0.0.0:$((40340 + i)):$WAN1:5000:x")
done
nsx lan1 python3 -c "$RFC_PY" udpmany "${s1[@]}"
nsx lan2 python3 -c "$RFC_PY" udpmany "${s2[@]}"
pairs=$(nctl -j flows | jq -r --arg a "$LAN2" '.[] | select(.proto == "udp" and .internal_address == $a and .internal_port >= 40340 and .internal_port <= 40355) | "\(.internal_port) \(.external_port)"')
n=$(echo "$pairs" | grep -c .)
bad=$(echo "$pairs" | awk 'NF == 2 && ($1 % 2 != $2 % 2 || $1 == $2)' | tr '\n' ' ')
if [ "$n" -eq 16 ] && [ -z "$bad" ]; then
	pass rfc4787-req4-port-parity
else
	fail rfc4787-req4-port-parity "lan2 internal -> external ports: $(echo "$pairs" | tr '\n' ',') (want 16, each moved and of the same parity; wrong: '$bad')"
fi

# REQ-11/RFC 6888 REQ-14: outside the range, a port from the range at a
# random start. ports 20000-20999; 8 internal ports 40400..40407.
check rfc6888-set-port-range nctl set ports 20000-20999
for i in 0 1 2 3 4 5 6 7; do
	nsx lan1 python3 -c "$RFC_PY" udpsend 0.0.0.0 $((40400 + i)) $WAN1 5000 x > /dev/null
done
ports=$(nctl -j flows | jq -r '.[] | select(.proto == "udp" and .internal_port >= 40400 and .internal_port <= 40407) | .external_port' | sort -n | tr '\n' ' ')
n=$(echo "$ports" | wc -w)
inrange=$(echo "$ports" | tr ' ' '\n' | awk 'NF && ($1 < 20000 || $1 > 20999) { bad = 1 } END { print bad ? "no" : "yes" }')
if [ "$n" -eq 8 ] && [ "$inrange" = yes ]; then
	pass rfc4787-ports-from-configured-range
else
	fail rfc4787-ports-from-configured-range "external ports of lan1:40400-40407: '$ports' (range 20000-20999)"
fi
first=$(echo "$ports" | awk '{ print $1 }') last=$(echo "$ports" | awk '{ print $NF }')
if [ "$n" -eq 8 ] && [ $(( last - first )) -gt 7 ]; then
	pass rfc6888-req14-ports-not-sequential
else
	fail rfc6888-req14-ports-not-sequential "external ports '$ports' are one consecutive block"
fi
check rfc6888-set-port-range-back nctl set ports 1024-65535

# Address-and-port-dependent mapping: port overlapping (RFC 7857 s. 3.5).
check rfc7857-set-mapping-apdm nctl set mapping address-port-dependent
expect_eq rfc7857-status-mapping-apdm address-port-dependent \
	"$(nctl -j status | jq -r .mapping)" "natkctl -j status .mapping"
a=$(seen lan1 udp $WAN1 5000 40320)
b=$(seen lan2 udp $WAN2 5000 40320)
if [ "$a" = "$NAT_EXT 40320" ] && [ "$b" = "$NAT_EXT 40320" ]; then
	pass rfc7857-apdm-port-overlapping-udp
else
	fail rfc7857-apdm-port-overlapping-udp "lan1:40320 seen by $WAN1 as '$a', lan2:40320 by $WAN2 as '$b' (want both $NAT_EXT 40320)"
fi
c=$(seen lan2 udp $WAN1 5000 40320)
if [ -n "$c" ] && [ "${c%% *}" = "$NAT_EXT" ] && [ "$c" != "$a" ]; then
	pass rfc7857-apdm-collision-other-port
else
	fail rfc7857-apdm-collision-other-port "lan2:40320 -> $WAN1:5000 seen as '$c', lan1:40320 -> $WAN1:5000 as '$a'"
fi
# The reply to each still reaches the right host (seen() got a reply).
a=$(seen lan1 tcp $WAN1 5000 40321)
st0=$(stats_json)
b=$(ask lan2 tcp $WAN2 5000 40321 2> "$D/err" | sed -n 1p)
if [ "$a" = "$NAT_EXT 40321" ] && [ "$b" = "$NAT_EXT 40321" ]; then
	pass rfc7857-apdm-port-overlapping-tcp
else
	fail rfc7857-apdm-port-overlapping-tcp "lan1:40321 seen by $WAN1 as '$a', lan2:40321 by $WAN2 as '$b' (lan2 socat: $(tr '\n' ' ' < "$D/err" | cut -c1-200)); flows of port 40321: $(nctl -j flows | jq -c '[.[] | select(.internal_port == 40321 or .external_port == 40321) | [.proto, .internal_address, .internal_port, .external_port, .remote_address, .remote_port, .state, .packets_out, .packets_in]]'); counters that moved: $(stats_json | jq -c --argjson o "$st0" 'to_entries | map(select(.value != $o[.key] and (.key | test("drop|pass|attempt|estab|hairpin|icmp")))) | map("\(.key)+\(.value - $o[.key])") | join(" ")')"
fi
dmesg_check rfc4787-mapping-kernel-log
rm -rf "$D"

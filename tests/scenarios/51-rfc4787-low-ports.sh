#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 4787 REQ-3a (and RFC 5382 for TCP): the well-known ports 0-1023 and
# the others are kept apart.
#  - an internal source port below 1024 maps below 1024: kept when free
#    (lan1:500 UDP, lan1:600 TCP), another one below 1024 when not
#    (lan2:500, lan2:600);
#  - no other port is ever mapped there: with the range set to 1024-1031,
#    12 new flows from lan1's ports 41000-41011 get 8 ports of the range
#    and 4 are dropped (drop_no_port); none gets a port below 1024, while
#    a source port below 1024 still maps below 1024.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" low-ports-udp-preserved low-ports-udp-moved-low low-ports-tcp-preserved \
	low-ports-tcp-moved-low low-ports-set-small-range low-ports-small-range-low-stays-low \
	low-ports-high-ports-in-range low-ports-high-ports-never-low low-ports-range-full-counted \
	low-ports-kernel-log
dmesg_mark
require_natk low-ports-setup
topo_setup || { fail low-ports-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan udp 5000 $WAN1
peer_server wan tcp 5000 $WAN1

# seen NS PROTO SPORT: the external port WAN1:5000 saw NS:SPORT come from
seen() { ask "$1" "$2" $WAN1 5000 "$3" | sed -n 1p | awk -v a="$NAT_EXT" '$1 == a { print $2 }'; }
# low_moved NAME PORT GOT: GOT is another port in 1-1023
low_moved() {
	if [ -n "$3" ] && [ "$3" -ge 1 ] && [ "$3" -le 1023 ] && [ "$3" != "$2" ] 2>/dev/null; then
		pass "$1"
	else
		fail "$1" "external port '$3' for a second host's source port $2 (want another one in 1-1023)"
	fi
}

expect_eq low-ports-udp-preserved 500 "$(seen lan1 udp 500)" "external port of lan1:500 (UDP)"
low_moved low-ports-udp-moved-low 500 "$(seen lan2 udp 500)"
expect_eq low-ports-tcp-preserved 600 "$(seen lan1 tcp 600)" "external port of lan1:600 (TCP)"
low_moved low-ports-tcp-moved-low 600 "$(seen lan2 tcp 600)"

# A range of 8 ports: 12 flows from ports above 1023 fill it, and the
# 4 left over get nothing (not a port below 1024).
check low-ports-set-small-range nctl set ports 1024-1031
p=$(seen lan1 udp 700)
if [ -n "$p" ] && [ "$p" -ge 1 ] && [ "$p" -le 1023 ] 2>/dev/null; then
	pass low-ports-small-range-low-stays-low
else
	fail low-ports-small-range-low-stays-low "lan1:700 got external port '$p' with ports 1024-1031 (want 1-1023)"
fi
np0=$(stat_of drop_no_port)
specs=()
for i in $(seq 0 11); do specs+=("0.0.0.0:$((41000 + i)):$WAN1:5000:x"); done
nsx lan1 python3 -c "$RFC_PY" udpmany "${specs[@]}"
poll 3 sh -c "[ \$(ip netns exec nat $NATKCTL -j flows | jq '[.[] | select(.internal_port >= 41000 and .internal_port <= 41011)] | length') -ge 8 ]"
flows=$(nctl -j flows)
ext=$(echo "$flows" | jq -r '[.[] | select(.internal_port >= 41000 and .internal_port <= 41011) | .external_port] | sort | map(tostring) | join(" ")')
n=$(echo "$ext" | wc -w)
out=$(echo "$ext" | tr ' ' '\n' | awk 'NF && ($1 < 1024 || $1 > 1031)' | tr '\n' ' ')
if [ "$n" -eq 8 ] && [ -z "$out" ] && [ "$(echo "$ext" | tr ' ' '\n' | sort -u | wc -l)" -eq 8 ]; then
	pass low-ports-high-ports-in-range
else
	fail low-ports-high-ports-in-range "external ports of lan1:41000-41011 with ports 1024-1031: '$ext' (want 8 distinct ports of the range; outside it: '$out')"
fi
# Every flow in the table: an internal port above 1023 never has an
# external one below 1024.
low=$(echo "$flows" | jq -c '[.[] | select(.proto != "icmp" and .internal_port >= 1024 and .external_port < 1024) | "\(.internal_address):\(.internal_port)->\(.external_port)"]')
expect_eq low-ports-high-ports-never-low '[]' "$low" "flows from ports above 1023 mapped below 1024"
n=$(stat_delta drop_no_port "$np0")
if [ "$n" -ge 4 ] 2>/dev/null; then
	pass low-ports-range-full-counted
else
	fail low-ports-range-full-counted "drop_no_port grew by $n after 12 new flows into a range of 8 ports"
fi
dmesg_check low-ports-kernel-log

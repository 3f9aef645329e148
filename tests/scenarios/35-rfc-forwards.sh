#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Static port forwards: forward add/list/del (text and JSON), shown in
# status, survive natkctl flush, open flows on inbound traffic (TCP and
# UDP, to another internal port), accept any remote (no filtering), and
# stop working after forward del. Two forwards (tcp 8081 and 8082) to the
# same internal endpoint (lan1:81, which no flow has used yet) are both
# accepted and both work, and deleting one leaves the other working.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" forward-add-tcp forward-add-udp forward-add-duplicate-refused \
	forward-list-text forward-list-json forward-in-status forward-in-status-text \
	forward-flush forward-survives-flush forward-tcp-inbound \
	forward-tcp-inbound-any-remote forward-udp-inbound forward-tcp-flow-created \
	forward-udp-flow-created forward-del-tcp forward-del-missing-refused \
	forward-del-stops-forwarding forward-list-after-del forward-same-target-first \
	forward-same-target-second forward-same-target-list forward-same-target-8081 \
	forward-same-target-8082 forward-same-target-8082-flow \
	forward-same-target-del-first forward-same-target-other-kept \
	forward-same-target-del-stops forward-same-target-del-second forward-kernel-log
dmesg_mark
require_natk forward-setup
topo_setup || { fail forward-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1

check forward-add-tcp nctl forward add tcp 8080 $LAN1:80
check forward-add-udp nctl forward add udp 5353 $LAN2
if nctl forward add tcp 8080 $LAN2:81 > /dev/null 2>&1; then
	fail forward-add-duplicate-refused "a second forward of tcp 8080 was accepted"
else
	pass forward-add-duplicate-refused
fi
out=$(nctl forward list)
if echo "$out" | grep -q "tcp 8080 -> $LAN1:80" && echo "$out" | grep -q "udp 5353 -> $LAN2:5353"; then
	pass forward-list-text
else
	fail forward-list-text "natkctl forward list: $out"
fi
j=$(nctl -j forward list)
expect_eq forward-list-json 2 "$(echo "$j" | jq '[.[] | select((.proto == "tcp" and .external_port == 8080 and .internal_address == "'$LAN1'" and .internal_port == 80) or (.proto == "udp" and .external_port == 5353 and .internal_address == "'$LAN2'" and .internal_port == 5353))] | length')" "matching entries in $j"
expect_eq forward-in-status 2 "$(nctl -j status | jq '.forwards | length')" "natkctl -j status .forwards"
if nctl status | grep -q "tcp 8080 -> $LAN1:80"; then pass forward-in-status-text; else fail forward-in-status-text "$(nctl status | tr '\n' ' ')"; fi

peer_server lan1 tcp 80
peer_server lan2 udp 5353
check forward-flush nctl flush
expect_eq forward-survives-flush 2 "$(nctl -j forward list | jq length)" "forwards after flush"

# Inbound from two wan addresses (no filtering on forwards).
r=$(ask wan tcp $NAT_EXT 8080 41000 | sed -n 1p)
expect_eq forward-tcp-inbound "$WAN1 41000" "$r" "lan1:80 saw its peer as"
r=$(echo hi | nsx wan timeout 10 socat -t 2 - TCP:$NAT_EXT:8080,bind=$WAN2:41001,connect-timeout=5 | sed -n 1p)
expect_eq forward-tcp-inbound-any-remote "$WAN2 41001" "$r" "lan1:80 saw its second peer as"
r=$(ask wan udp $NAT_EXT 5353 41002 | sed -n 1p)
expect_eq forward-udp-inbound "$WAN1 41002" "$r" "lan2:5353 saw its peer as"
fl=$(nctl -j flows | jq -c '.[] | select(.proto == "tcp" and .internal_address == "'$LAN1'" and .internal_port == 80 and .external_port == 8080 and .remote_address == "'$WAN1'" and .remote_port == 41000)')
if [ -n "$fl" ]; then pass forward-tcp-flow-created; else fail forward-tcp-flow-created "no tcp flow $LAN1:80 <- $WAN1:41000 via 8080: $(nctl -j flows)"; fi
fl=$(nctl -j flows | jq -c '.[] | select(.proto == "udp" and .internal_address == "'$LAN2'" and .internal_port == 5353 and .external_port == 5353 and .remote_port == 41002)')
if [ -n "$fl" ]; then pass forward-udp-flow-created; else fail forward-udp-flow-created "no udp flow $LAN2:5353 <- $WAN1:41002"; fi
# Delete: the port is no longer forwarded (the NAT host answers itself:
# TCP refused).
check forward-del-tcp nctl forward del tcp 8080
if nctl forward del tcp 8080 > /dev/null 2>&1; then
	fail forward-del-missing-refused "deleting a missing forward succeeded"
else
	pass forward-del-missing-refused
fi
# The connect must end the way an unforwarded port ends it: refused by
# the NAT host, or unanswered (natk drops what the old forward's
# remaining flows' mapping does not let in); anything else (connected,
# a crash, no output) fails.
not_forwarded() { # NAME PORT RESULT
	case $3 in
	timeout | "ECONNREFUSED "*) pass "$1" ;;
	*) fail "$1" "connect to $NAT_EXT:$2 after its forward was deleted: '$3'" ;;
	esac
}
res=$(nsx wan python3 -c "$RFC_PY" tcpconnect $WAN1 41003 $NAT_EXT 8080 4 2>&1)
not_forwarded forward-del-stops-forwarding 8080 "$res"
expect_eq forward-list-after-del "udp 5353 $LAN2 5353" \
	"$(nctl -j forward list | jq -r '.[] | "\(.proto) \(.external_port) \(.internal_address) \(.internal_port)"' | tr '\n' ' ' | sed 's/ $//')" "forwards left"
# Two external ports forwarded to one internal endpoint.
peer_server lan1 tcp 81
check forward-same-target-first nctl forward add tcp 8081 $LAN1:81
if out=$(nctl forward add tcp 8082 $LAN1:81 2>&1); then
	pass forward-same-target-second
else
	fail forward-same-target-second "natkctl forward add tcp 8082 $LAN1:81 (8081 already goes there): $out"
fi
expect_eq forward-same-target-list "tcp 8081 $LAN1 81,tcp 8082 $LAN1 81" \
	"$(nctl -j forward list | jq -r '.[] | select(.proto == "tcp") | "\(.proto) \(.external_port) \(.internal_address) \(.internal_port)"' | sort | tr '\n' ',' | sed 's/,$//')" "tcp forwards"
r=$(ask wan tcp $NAT_EXT 8081 41010 | sed -n 1p)
expect_eq forward-same-target-8081 "$WAN1 41010" "$r" "lan1:81 saw its peer via 8081 as"
r=$(ask wan tcp $NAT_EXT 8082 41011 | sed -n 1p)
expect_eq forward-same-target-8082 "$WAN1 41011" "$r" "lan1:81 saw its peer via 8082 as"
fl=$(nctl -j flows | jq -c '[.[] | select(.proto == "tcp" and .internal_address == "'$LAN1'" and .internal_port == 81 and .remote_port == 41011)] | .[0].external_port')
expect_eq forward-same-target-8082-flow 8082 "$fl" "external port of the flow from $WAN1:41011"
check forward-same-target-del-first nctl forward del tcp 8081
r=$(ask wan tcp $NAT_EXT 8082 41012 | sed -n 1p)
expect_eq forward-same-target-other-kept "$WAN1 41012" "$r" "lan1:81 saw its peer via 8082, after 8081 was deleted, as"
res=$(nsx wan python3 -c "$RFC_PY" tcpconnect $WAN1 41013 $NAT_EXT 8081 4 2>&1)
not_forwarded forward-same-target-del-stops 8081 "$res"
check forward-same-target-del-second nctl forward del tcp 8082
dmesg_check forward-kernel-log

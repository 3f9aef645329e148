#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 6888 REQ-8: an external port is not given to another internal
# endpoint for port-hold seconds (default 120) after its mapping's last
# flow ended.
#  - status shows the default hold; a short hold (15 s) and UDP timeout
#    (2 s) keep the scenario quick;
#  - lan1:40600's flow expires, its port is held (status counts it):
#    lan2:40600 gets another port, lan1:40600 gets 40600 back;
#  - after the hold, lan2 gets 40600 (port preservation again);
#  - port-hold off releases held ports, and a freed port is anyone's at
#    once;
#  - natkctl flush and a new forward release held ports; a deleted
#    forward's port is not held.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc6888-req8-default-hold rfc6888-req8-set-hold rfc6888-req8-status-hold \
	rfc6888-req8-preserved rfc6888-req8-port-held-counted rfc6888-req8-held-port-not-reused \
	rfc6888-req8-same-endpoint-same-port rfc6888-req8-hold-ends rfc6888-req8-port-free-after-hold \
	rfc6888-req8-hold-off rfc6888-req8-hold-off-releases-held rfc6888-req8-no-hold-port-reused \
	rfc6888-req8-no-hold-nothing-held rfc6888-req8-hold-on rfc6888-req8-two-held \
	rfc6888-req8-forward-takes-held-port rfc6888-req8-forward-released-one rfc6888-req8-forward-del \
	rfc6888-req8-deleted-forward-not-held rfc6888-req8-flush rfc6888-req8-flush-releases \
	rfc6888-req8-port-free-after-flush rfc6888-req8-kernel-log
dmesg_mark
require_natk rfc6888-req8-setup
topo_setup || { fail rfc6888-req8-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1

peer_server wan udp 5000 $WAN1
# port NS SPORT: open a flow from NS:SPORT; the external port the wan saw
# (its echo server answers "ADDR PORT": no race with the 2 s timeout)
port() { ask "$1" udp $WAN1 5000 "$2" | sed -n 1p | awk '{ print $2 }'; }
held() { nctl -j status | jq -r .ports_held; }
held_is() { [ "$(held)" = "$1" ]; }
flows_gone() { [ "$(nctl -j flows | jq length)" = 0 ]; }

expect_eq rfc6888-req8-default-hold 120 "$(nctl -j status | jq -r .port_hold)" \
	"natkctl -j status .port_hold"
check rfc6888-req8-set-hold nctl set port-hold 15 timeout udp 2
expect_eq rfc6888-req8-status-hold 15 "$(nctl -j status | jq -r .port_hold)" \
	"natkctl -j status .port_hold after set port-hold 15"

expect_eq rfc6888-req8-preserved 40600 "$(port lan1 40600)" "lan1:40600's external port"
poll 20 flows_gone || log "flows left: $(nctl -j flows | jq -c '[.[] | .internal_port]')"
if held_is 1; then
	pass rfc6888-req8-port-held-counted
else
	fail rfc6888-req8-port-held-counted "status says $(held) held ports after lan1:40600's flow expired; want 1"
fi
p=$(port lan2 40600)
if [ -n "$p" ] && [ "$p" != 40600 ]; then
	pass rfc6888-req8-held-port-not-reused
else
	fail rfc6888-req8-held-port-not-reused "lan2:40600 got external port '$p' while lan1's 40600 is held"
fi
expect_eq rfc6888-req8-same-endpoint-same-port 40600 "$(port lan1 40600)" \
	"lan1:40600's external port while its own mapping is held"

# Both flows expire (2 s), then both holds (15 s).
if poll 45 sh -c "[ \"\$(ip netns exec nat $NATKCTL -j status | jq -r .ports_held)\" = 0 ] && [ \"\$(ip netns exec nat $NATKCTL -j flows | jq length)\" = 0 ]"; then
	pass rfc6888-req8-hold-ends
else
	fail rfc6888-req8-hold-ends "after 45 s: $(held) ports held, flows $(nctl -j flows | jq -c '[.[] | .internal_port]')"
fi
expect_eq rfc6888-req8-port-free-after-hold 40600 "$(port lan2 40600)" \
	"lan2:40600's external port after the holds ended"

# A new hold applies to ports already held, as new timeouts do to flows:
# lan2:40600's mapping, held for 15 s, goes as soon as the hold is off.
poll 20 held_is 1 || log "lan2:40600 not held yet: $(held) held"
check rfc6888-req8-hold-off nctl set port-hold off
if poll 5 held_is 0; then
	pass rfc6888-req8-hold-off-releases-held
else
	fail rfc6888-req8-hold-off-releases-held "5 s after port-hold off: $(held) ports still held"
fi

# port-hold off: free at once.
port lan1 40610 > /dev/null
poll 20 flow_absent udp $LAN1 40610
expect_eq rfc6888-req8-no-hold-port-reused 40610 "$(port lan2 40610)" \
	"lan2:40610 right after lan1:40610's flow expired, with no hold"
expect_eq rfc6888-req8-no-hold-nothing-held 0 "$(held)" "held ports with port-hold off"

# Flush and forwards release held ports. From a clean table.
check rfc6888-req8-hold-on nctl set port-hold 120
nctl flush
port lan1 40620 > /dev/null
port lan1 40630 > /dev/null
poll 20 flows_gone
expect_eq rfc6888-req8-two-held 2 "$(held)" "held ports after two flows expired"
check rfc6888-req8-forward-takes-held-port nctl forward add udp 40630 $LAN2:9
expect_eq rfc6888-req8-forward-released-one 1 "$(held)" "held ports after a forward on one of them"
check rfc6888-req8-forward-del nctl forward del udp 40630
expect_eq rfc6888-req8-deleted-forward-not-held 1 "$(held)" "held ports after deleting that forward"
check rfc6888-req8-flush nctl flush
expect_eq rfc6888-req8-flush-releases 0 "$(held)" "held ports after natkctl flush"
expect_eq rfc6888-req8-port-free-after-flush 40620 "$(port lan2 40620)" \
	"lan2:40620 after the flush"
dmesg_check rfc6888-req8-kernel-log

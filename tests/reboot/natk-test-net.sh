#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot-time topology for the reboot test (run by natk-test-net.service in
# the VM, in parallel with natk.service):
#
#   netns lan: eth0 10.0.0.2/24, default via 10.0.0.1
#        | veth
#   init netns (the NAT host): lan0 10.0.0.1/24, wan0 192.0.2.1/24
#        | veth
#   netns wan: eth0 192.0.2.2/24, no route back to 10.0.0.0/24
#
# wan0, natk's external interface, appears only NATK_TEST_WAN_DELAY seconds
# (default 8) after boot, and gets its address a second later, like an
# interface that comes up late, so that natk.service has to wait for it.
set -eu
DELAY=${NATK_TEST_WAN_DELAY:-8}

ip netns add lan
ip netns add wan
ip -n lan link set lo up
ip -n wan link set lo up
ip link add lan0 type veth peer name eth0 netns lan
ip addr add 10.0.0.1/24 dev lan0
ip link set lan0 up
ip -n lan addr add 10.0.0.2/24 dev eth0
ip -n lan link set eth0 up
ip -n lan route add default via 10.0.0.1

sleep "$DELAY"
ip link add wan0 type veth peer name eth0 netns wan
ip -n wan addr add 192.0.2.2/24 dev eth0
ip -n wan link set eth0 up
ip link set wan0 up
sleep 1
ip addr add 192.0.2.1/24 dev wan0
echo "natk-test-net: lan0 and wan0 are up"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Timeouts and refresh (RFC 4787 REQ-5/6, RFC 5508 REQ-1/2):
#  - defaults: udp >= 300 s, icmp >= 60 s; configurable;
#  - with a 10 s UDP timeout, outbound packets every 2 s keep a flow for
#    16 s (REQ-6), and after the last one it lasts about the timeout and
#    then goes (REQ-5 at the configured value; natkctl calls take a second
#    or two under TCG, hence the margins);
#  - inbound packets refresh too (optional in REQ-6);
#  - an ICMP echo identifier keeps one external identifier towards two
#    hosts (RFC 5508 REQ-1).
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
dmesg_mark
require_natk rfc4787-timeouts-setup
topo_setup || { fail rfc4787-timeouts-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)

u=$(nctl -j status | jq -r .timeouts.udp)
i=$(nctl -j status | jq -r .timeouts.icmp)
if [ "$u" -ge 300 ] 2>/dev/null; then pass rfc4787-req5-udp-default-timeout; else fail rfc4787-req5-udp-default-timeout "udp timeout $u < 300"; fi
if [ "$i" -ge 60 ] 2>/dev/null; then pass rfc5508-req2-icmp-default-timeout; else fail rfc5508-req2-icmp-default-timeout "icmp timeout $i < 60"; fi
check rfc4787-req5-configurable nctl set timeout udp 120
expect_eq rfc4787-req5-configured 120 "$(nctl -j status | jq -r .timeouts.udp)" "natkctl -j status .timeouts.udp"

# --- RFC 5508 REQ-1: echo id 777 to two hosts, one external id.
nsx lan1 python3 -c "$RFC_PY" echo $WAN1 777
nsx lan1 python3 -c "$RFC_PY" echo $WAN2 777
ids=$(nctl -j flows | jq -r '.[] | select(.proto == "icmp" and .internal_port == 777) | "\(.remote_address)=\(.external_port)"' | sort | tr '\n' ' ')
n=$(echo "$ids" | wc -w)
distinct=$(echo "$ids" | tr ' ' '\n' | sed -n 's/.*=//p' | sort -u | wc -l)
if [ "$n" -eq 2 ] && [ "$distinct" -eq 1 ]; then
	pass rfc5508-req1-eim-icmp
else
	fail rfc5508-req1-eim-icmp "icmp flows of id 777: '$ids'"
fi

# --- REQ-6 outbound refresh, REQ-5 lifetime at the configured value.
check rfc4787-set-short-timeout nctl set timeout udp 10
nsx wan python3 -c "$RFC_PY" udpsrv $WAN1 5000 "$D/wan.log" &
rfc_wait_file "$D/wan.log" '^#ready'
nsx lan1 python3 -c "$RFC_PY" udpsend 0.0.0.0 40800 $WAN1 5000 keep count=9 gap=2 > /dev/null
t_end=$(date +%s%N)
age=$(flow_field udp $LAN1 40800 age)
if [ "$age" -ge 15 ] 2>/dev/null; then
	pass rfc4787-req6-outbound-refresh
else
	fail rfc4787-req6-outbound-refresh "flow of lan1:40800 after 16 s of packets every 2 s (timeout 10 s): '$(flow_get udp $LAN1 40800)'"
fi
last=0
while :; do
	now=$(date +%s%N)
	if flow_present udp $LAN1 40800; then
		last=$now
	else
		break
	fi
	[ $(( (now - t_end) / 1000000000 )) -ge 25 ] && break
	sleep 0.5
done
lived=-1
[ "$last" -gt 0 ] && lived=$(( (last - t_end) / 1000000 ))
log "flow seen up to $lived ms after the last packet (timeout 10 s)"
if [ "$lived" -ge 7000 ]; then
	pass rfc4787-req5-lasts-configured-timeout
else
	fail rfc4787-req5-lasts-configured-timeout "flow last seen $lived ms after the last outbound packet (-1: never), timeout 10 s"
fi
if [ "$lived" -le 16000 ] && ! flow_present udp $LAN1 40800; then
	pass rfc4787-req5-expires-after-timeout
else
	fail rfc4787-req5-expires-after-timeout "flow still seen $lived ms after the last packet: $(flow_get udp $LAN1 40800)"
fi

# --- inbound refresh (optional in REQ-6; natk does it): lan1 sends once,
# wan keeps sending every 2 s for 16 s.
nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 40801 "$D/lan1.log" first=$WAN1:5000 &
rfc_wait_file "$D/lan1.log" '^#ready'
poll 3 flow_present udp $LAN1 40801 || log "no flow for 40801"
E=$(flow_field udp $LAN1 40801 external_port)
nsx wan python3 -c "$RFC_PY" udpsend $WAN1 5000 $NAT_EXT "$E" in count=9 gap=2 > /dev/null
age=$(flow_field udp $LAN1 40801 age)
if [ "$age" -ge 15 ] 2>/dev/null; then
	pass rfc4787-req6-inbound-refresh
else
	fail rfc4787-req6-inbound-refresh "flow of lan1:40801 with only inbound packets for 16 s (timeout 10 s): '$(flow_get udp $LAN1 40801)'"
fi
expect_eq rfc4787-req6-inbound-delivered 9 "$(grep -c ' in$' "$D/lan1.log")" "datagrams lan1:40801 got"
dmesg_check rfc4787-timeouts-kernel-log
rm -rf "$D"

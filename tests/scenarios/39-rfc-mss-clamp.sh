#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# MSS clamping (natkctl set mss-clamp): off by default (the SYN keeps mss
# 1460); a value (1000) lowers the MSS option of the SYN seen on the wan
# side and of the SYN-ACK lan1 gets; pmtu clamps to the route MTU - 40
# (wan0 MTU 1400 -> 1360). Checked with tcpdump -v in wan and lan1.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" mss-clamp-default-off mss-clamp-set-1000 mss-clamp-status-1000 \
	mss-clamp-set-pmtu mss-clamp-status-pmtu mss-clamp-set-off mss-clamp-set-1600 mss-clamp-kernel-log
for c in off 1000 pmtu off-again not-raised; do plan "mss-clamp-$c-syn" "mss-clamp-$c-synack"; done
dmesg_mark
require_natk mss-clamp-setup
topo_setup || { fail mss-clamp-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
peer_server wan tcp 5000
expect_eq mss-clamp-default-off off "$(nctl -j status | jq -r .mss_clamp)" "natkctl -j status .mss_clamp"

nsx wan tcpdump -l -n -v -i eth0 'tcp[tcpflags] & tcp-syn != 0' > "$D/wan.txt" 2> "$D/wan.err" &
nsx lan1 tcpdump -l -n -v -i eth0 'tcp[tcpflags] & tcp-syn != 0' > "$D/lan1.txt" 2> "$D/lan1.err" &
rfc_wait_file "$D/wan.err" 'listening on' 15 || log "tcpdump in wan did not start: $(cat "$D/wan.err")"
rfc_wait_file "$D/lan1.err" 'listening on' 15 || log "tcpdump in lan1 did not start: $(cat "$D/lan1.err")"

# syn_mss NAME SPORT WANT_SYN WANT_SYNACK: connect from lan1:SPORT; the
# SYN at wan must carry mss WANT_SYN, the SYN-ACK at lan1 WANT_SYNACK.
syn_mss() {
	local name=$1 sport=$2 e
	ask lan1 tcp $WAN1 5000 "$sport" > /dev/null
	e=$(flow_field tcp $LAN1 "$sport" external_port)
	if rfc_wait_file "$D/wan.txt" "$NAT_EXT\.$e > $WAN1\.5000: Flags \[S\],.*mss $3[],]" 5; then
		pass "$name-syn"
	else
		fail "$name-syn" "no SYN from $NAT_EXT:$e with mss $3 at wan: $(grep "$NAT_EXT\.$e > " "$D/wan.txt" | head -n1)"
	fi
	if rfc_wait_file "$D/lan1.txt" "$WAN1\.5000 > $LAN1\.$sport: Flags \[S\.\],.*mss $4[],]" 5; then
		pass "$name-synack"
	else
		fail "$name-synack" "no SYN-ACK to $LAN1:$sport with mss $4 at lan1: $(grep "> $LAN1\.$sport:" "$D/lan1.txt" | head -n1)"
	fi
}

syn_mss mss-clamp-off 43000 1460 1460
check mss-clamp-set-1000 nctl set mss-clamp 1000
expect_eq mss-clamp-status-1000 1000 "$(nctl -j status | jq -r .mss_clamp)" "natkctl -j status .mss_clamp"
syn_mss mss-clamp-1000 43001 1000 1000
check mss-clamp-set-pmtu nctl set mss-clamp pmtu
expect_eq mss-clamp-status-pmtu pmtu "$(nctl -j status | jq -r .mss_clamp)" "natkctl -j status .mss_clamp"
ip -n nat link set wan0 mtu 1400
ip -n wan link set eth0 mtu 1400
# wan's own SYN-ACK already says 1360 (its MTU 1400); the SYN is natk's.
syn_mss mss-clamp-pmtu 43002 1360 1360
check mss-clamp-set-off nctl set mss-clamp off
ip -n nat link set wan0 mtu 1500
ip -n wan link set eth0 mtu 1500
syn_mss mss-clamp-off-again 43003 1460 1460
# A clamp never raises the MSS: a clamp above the SYN's value (1600 over
# 1460) leaves it.
check mss-clamp-set-1600 nctl set mss-clamp 1600
syn_mss mss-clamp-not-raised 43004 1460 1460
dmesg_check mss-clamp-kernel-log
rm -rf "$D"

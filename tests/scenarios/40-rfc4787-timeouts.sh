#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Timeouts and refresh (RFC 4787 REQ-5/6, RFC 5508 REQ-1/2):
#  - defaults: udp >= 300 s, icmp >= 60 s; configurable;
#  - with a 10 s UDP timeout, outbound packets every 2 s keep a flow for
#    16 s (REQ-6; all three times NATK_TIME_SCALE on a debug kernel); after the last one it is never gone before the timeout
#    has run (every reading of the table until it goes is timed against
#    the moment the last packet was sent, to 50 ms: one jiffy is 4 ms), and
#    it is gone within 5 s after (the GC's pass every 0.5 s, and natkctl
#    calls that take a second or two under TCG; NATK_TIME_SCALE times 5 s
#    on a debug kernel);
#  - inbound packets refresh too (optional in REQ-6);
#  - an ICMP echo identifier keeps one external identifier towards two
#    hosts (RFC 5508 REQ-1), also when it is not its own: lan2 holds id 777
#    towards the first host, so a per-destination mapping would differ.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" rfc4787-req5-udp-default-timeout rfc5508-req2-icmp-default-timeout \
	rfc4787-req5-configurable rfc4787-req5-configured rfc5508-req1-eim-icmp \
	rfc4787-set-short-timeout rfc4787-req6-outbound-refresh rfc4787-req5-lasts-configured-timeout \
	rfc4787-req5-expires-after-timeout rfc4787-req6-inbound-refresh rfc4787-req6-inbound-delivered \
	rfc4787-timeouts-kernel-log
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

# --- RFC 5508 REQ-1: lan2's echo id 777 to wan1 keeps 777; lan1's id 777
# to both hosts, one external id (not 777).
icmp_ids() { # ADDR: "REMOTE=EXTERNAL_ID ..." of ADDR's flows of echo id 777
	nctl -j flows | jq -r --arg a "$1" '.[] | select(.proto == "icmp" and .internal_address == $a and .internal_port == 777) | "\(.remote_address)=\(.external_port)"' | sort | tr '\n' ' '
}
nsx lan2 python3 -c "$RFC_PY" echo $WAN1 777
poll 3 sh -c "ip netns exec nat $NATKCTL -j flows | grep -q $LAN2" || log "no flow of lan2's echo"
nsx lan1 python3 -c "$RFC_PY" echo $WAN1 777
nsx lan1 python3 -c "$RFC_PY" echo $WAN2 777
poll 3 sh -c "[ \$(ip netns exec nat $NATKCTL -j flows | jq '[.[] | select(.internal_address == \"$LAN1\" and .proto == \"icmp\")] | length') -ge 2 ]"
ids2=$(icmp_ids $LAN2)
ids=$(icmp_ids $LAN1)
n=$(echo "$ids" | wc -w)
eids=$(echo "$ids" | tr ' ' '\n' | sed -n 's/.*=//p' | sort -u)
if [ "$ids2" = "$WAN1=777 " ] && [ "$n" -eq 2 ] && [ "$(echo "$eids" | wc -l)" -eq 1 ] &&
	[ "$eids" != 777 ]; then
	pass rfc5508-req1-eim-icmp
else
	fail rfc5508-req1-eim-icmp "lan2's flows of echo id 777: '$ids2' (want $WAN1=777); lan1's: '$ids' (want one external id, not 777, towards both)"
fi

# --- REQ-6 outbound refresh, REQ-5 lifetime at the configured value.
# The timeout and the gaps between packets scale with NATK_TIME_SCALE: a
# debug kernel under a loaded host stalls a guest's shell for 10 s and
# more, longer than the flow lives when nothing refreshes it.
T=$((10 * NATK_TIME_SCALE))
GAP=$((2 * NATK_TIME_SCALE))
check rfc4787-set-short-timeout nctl set timeout udp $T
nsx wan python3 -c "$RFC_PY" udpsrv $WAN1 5000 "$D/wan.log" &
rfc_wait_file "$D/wan.log" '^#ready'
# 9 datagrams, GAP s apart; prints when the last sendto() began and ended
# (ns, the clock date +%s%N reads). (No process substitution: the guest
# has no /dev/fd.)
sent=$(nsx lan1 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 40800))
for i in range(9):
    if i:
        time.sleep(float(sys.argv[2]))
    tb = time.time_ns()
    s.sendto(b"keep", (sys.argv[1], 5000))
    ta = time.time_ns()
print(tb, ta)
' $WAN1 $GAP)
read -r tb ta <<< "$sent"
age=$(flow_field udp $LAN1 40800 age)
if [ "$age" -ge $((8 * GAP - 1)) ] 2>/dev/null; then
	pass rfc4787-req6-outbound-refresh
else
	fail rfc4787-req6-outbound-refresh "flow of lan1:40800 after $((8 * GAP)) s of packets every $GAP s (timeout $T s): '$(flow_get udp $LAN1 40800)'"
fi
# Read the table until the flow is gone (or 15 s past the timeout). The
# flow cannot go before tb + T (less a jiffy): a reading that ended
# before that and did not show it is an early expiry.
ns=1000000000
due=$(( ${tb:-0} + T * ns ))
first_present=0 last_present=0 gone_start=0 gone_end=0 errors=0
while :; do
	s=$(date +%s%N)
	if out=$(nctl -j flows); then
		e=$(date +%s%N)
		if echo "$out" | jq -e --arg a "$LAN1" '.[] | select(.proto == "udp" and .internal_address == $a and .internal_port == 40800)' > /dev/null; then
			[ "$first_present" = 0 ] && first_present=$s
			last_present=$s
		else
			gone_start=$s gone_end=$e
			break
		fi
	else
		errors=$((errors + 1))
	fi
	[ "$s" -ge $(( ${ta:-0} + (T + 15 * NATK_TIME_SCALE) * ns )) ] && break
	sleep 0.2
done
ms() { echo $(( ($1 - ${tb:-0}) / 1000000 )); }
log "last packet sent at 0 ms (sendto took $(( (${ta:-0} - ${tb:-0}) / 1000 )) us); flow seen from $(ms "$first_present") to $(ms "$last_present") ms, first reading without it $(ms "$gone_start")-$(ms "$gone_end") ms; timeout $T s; $errors failed readings"
if [ -z "${tb:-}" ] || [ "$first_present" = 0 ]; then
	fail rfc4787-req5-lasts-configured-timeout "the flow was never seen after the last packet (sender said '${tb:-} ${ta:-}')"
elif [ "$gone_end" != 0 ] && [ "$gone_end" -lt $(( due - ns / 20 )) ]; then
	fail rfc4787-req5-lasts-configured-timeout "the flow was gone $(ms "$gone_end") ms after the last packet at the latest, timeout $T s"
elif [ "$last_present" -lt $(( due - 3 * NATK_TIME_SCALE * ns )) ]; then
	fail rfc4787-req5-lasts-configured-timeout "the last reading that showed the flow began $(ms "$last_present") ms after the last packet: too sparse to tell (timeout $T s)"
else
	pass rfc4787-req5-lasts-configured-timeout
fi
if [ "$gone_end" != 0 ] && [ "$gone_start" -le $(( ${ta:-0} + (T + 5 * NATK_TIME_SCALE) * ns )) ] &&
	flow_absent udp $LAN1 40800; then
	pass rfc4787-req5-expires-after-timeout
elif [ "$gone_end" = 0 ]; then
	fail rfc4787-req5-expires-after-timeout "flow still there $(ms "$last_present") ms after the last packet (timeout $T s): $(flow_get udp $LAN1 40800)"
else
	fail rfc4787-req5-expires-after-timeout "flow first missed by a reading that began $(ms "$gone_start") ms after the last packet (timeout $T s, want within $((5 * NATK_TIME_SCALE)) s after), or back since: $(flow_get udp $LAN1 40800)"
fi

# --- inbound refresh (optional in REQ-6; natk does it): lan1 sends once,
# wan keeps sending every GAP s for 8 GAPs.
nsx lan1 python3 -c "$RFC_PY" udpsrv 0.0.0.0 40801 "$D/lan1.log" first=$WAN1:5000 &
rfc_wait_file "$D/lan1.log" '^#ready'
poll 3 flow_present udp $LAN1 40801 || log "no flow for 40801"
E=$(flow_field udp $LAN1 40801 external_port)
nsx wan python3 -c "$RFC_PY" udpsend $WAN1 5000 $NAT_EXT "$E" in count=9 gap=$GAP > /dev/null
age=$(flow_field udp $LAN1 40801 age)
if [ "$age" -ge $((8 * GAP - 1)) ] 2>/dev/null; then
	pass rfc4787-req6-inbound-refresh
else
	fail rfc4787-req6-inbound-refresh "flow of lan1:40801 with only inbound packets for $((8 * GAP)) s (timeout $T s): '$(flow_get udp $LAN1 40801)'"
fi
expect_eq rfc4787-req6-inbound-delivered 9 "$(grep -c ' in$' "$D/lan1.log")" "datagrams lan1:40801 got"
dmesg_check rfc4787-timeouts-kernel-log
rm -rf "$D"

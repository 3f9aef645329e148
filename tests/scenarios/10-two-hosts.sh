#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two lan hosts with the same source port to the same destination: both
# work, wan sees two different external ports, replies reach the right host.
# The wan server answers each datagram with the address and port it came
# from and the datagram's own text ("lan1-a"), so a host can tell its own
# replies from the other's; each host's replies must carry its own texts
# and the external port natkctl lists for that host's flow.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" two-hosts-both-work two-hosts-distinct-ports \
	two-hosts-replies-to-right-host two-hosts-flows-listed
require_natk two-hosts-distinct-ports
topo_setup || { fail two-hosts-distinct-ports "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up accounting on || exit 1
nsx wan python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], 5000))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(("%s %d %s\n" % (a[0], a[1], d.decode(errors="replace").strip())).encode(), a)
' $WAN1 &
wait_listen wan udp 5000 $WAN1

D=$(mktemp -d)
# Both clients open at the same time, each sending two datagrams (the
# second once the first is answered); each must get exactly its own two
# replies. Not socat fed by "echo; sleep; echo": a client slower to start
# than the sleep (KASAN, a loaded host) read both lines at once and sent
# them as one datagram.
pids=
for ns in lan1 lan2; do
	nsx $ns timeout 60 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 40002))
s.connect((sys.argv[1], 5000))
s.settimeout(15)
for tag in ("a", "b"):
    s.send(("%s-%s\n" % (sys.argv[2], tag)).encode())
    try:
        sys.stdout.write(s.recv(65535).decode())
    except socket.timeout:
        print("no reply to %s" % tag)
    sys.stdout.flush()
' "$WAN1" "$ns" > "$D/$ns.out" 2>&1 &
	pids+=" $!"
done
wait $pids
log "lan1 got: $(tr '\n' '|' < "$D/lan1.out")  lan2 got: $(tr '\n' '|' < "$D/lan2.out")"
# natk's own record of each host's mapping
e1=$(flow_field udp $LAN1 40002 external_port)
e2=$(flow_field udp $LAN2 40002 external_port)
log "natkctl flows: $LAN1:40002 -> $NAT_EXT:$e1, $LAN2:40002 -> $NAT_EXT:$e2"
if [ "$(awk '$1 == "'$NAT_EXT'"' "$D/lan1.out" | wc -l)" = 2 ] &&
	[ "$(awk '$1 == "'$NAT_EXT'"' "$D/lan2.out" | wc -l)" = 2 ]; then
	pass two-hosts-both-work
else
	fail two-hosts-both-work "lan1 got '$(tr '\n' '|' < "$D/lan1.out")', lan2 got '$(tr '\n' '|' < "$D/lan2.out")'"
fi
# The ports wan saw for each host's first datagram (from the reply text).
w1=$(awk '$3 == "lan1-a" { print $2 }' "$D/lan1.out" "$D/lan2.out")
w2=$(awk '$3 == "lan2-a" { print $2 }' "$D/lan1.out" "$D/lan2.out")
if [ -n "$w1" ] && [ -n "$w2" ] && [ "$w1" != "$w2" ]; then
	pass two-hosts-distinct-ports
else
	fail two-hosts-distinct-ports "wan saw lan1 from port '$w1' and lan2 from '$w2'"
fi
# Replies to the right host: exactly its own two datagrams, each seen by
# wan from the external port natk gave that host.
want1="$NAT_EXT $e1 lan1-a|$NAT_EXT $e1 lan1-b|"
want2="$NAT_EXT $e2 lan2-a|$NAT_EXT $e2 lan2-b|"
got1=$(tr '\n' '|' < "$D/lan1.out")
got2=$(tr '\n' '|' < "$D/lan2.out")
if [ -n "$e1" ] && [ -n "$e2" ] && [ "$got1" = "$want1" ] && [ "$got2" = "$want2" ]; then
	pass two-hosts-replies-to-right-host
else
	fail two-hosts-replies-to-right-host "lan1 got '$got1' (want '$want1'), lan2 got '$got2' (want '$want2')"
	log "natk counters: $(nctl -j stats | jq -c '{packets_in_from_source, packets_out_to_destination, packets_in_from_destination, packets_out_to_source, packets_dropped, drop_no_flow, drop_unsolicited, drop_table_full, drop_no_port}')"
	log "flows: $(nctl -j flows | jq -c '[.[] | {internal_address, internal_port, external_port, packets_out, packets_in}]')"
fi
# natkctl lists both flows, with the ports wan saw and two packets each way.
f1=$(flow_get udp $LAN1 40002 | jq -r '"\(.external_port) \(.packets_out) \(.packets_in)"')
f2=$(flow_get udp $LAN2 40002 | jq -r '"\(.external_port) \(.packets_out) \(.packets_in)"')
expect_eq two-hosts-flows-listed "$w1 2 2,$w2 2 2" "$f1,$f2" "natkctl flows (external port, packets out, packets in) of $LAN1:40002 and $LAN2:40002"
rm -rf "$D"

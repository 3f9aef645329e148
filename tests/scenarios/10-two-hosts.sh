#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Two lan hosts with the same source port to the same destination: both
# work, wan sees two different external ports, replies reach the right host.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
require_natk two-hosts-distinct-ports
topo_setup || { fail two-hosts-distinct-ports "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan udp 5000 $WAN1

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
p1=$(sed -n 1p "$D/lan1.out")
p2=$(sed -n 1p "$D/lan2.out")
log "lan1 got: $(tr '\n' '|' < "$D/lan1.out")  lan2 got: $(tr '\n' '|' < "$D/lan2.out")"
if [ "${p1%% *}" = "$NAT_EXT" ] && [ "${p2%% *}" = "$NAT_EXT" ]; then
	pass two-hosts-both-work
else
	fail two-hosts-both-work "lan1 got '$p1', lan2 got '$p2'"
fi
if [ -n "$p1" ] && [ -n "$p2" ] && [ "$p1" != "$p2" ]; then
	pass two-hosts-distinct-ports
else
	fail two-hosts-distinct-ports "wan saw '$p1' and '$p2'"
fi
# Replies to the right host: each host got two replies, all naming its own
# mapping.
n1=$(grep -c -x "$p1" "$D/lan1.out")
n2=$(grep -c -x "$p2" "$D/lan2.out")
l1=$(grep -c . "$D/lan1.out")
l2=$(grep -c . "$D/lan2.out")
if [ "$n1" = 2 ] && [ "$n2" = 2 ] && [ "$l1" = 2 ] && [ "$l2" = 2 ]; then
	pass two-hosts-replies-to-right-host
else
	fail two-hosts-replies-to-right-host "lan1: $(tr '\n' '|' < "$D/lan1.out") lan2: $(tr '\n' '|' < "$D/lan2.out")"
	log "natk counters: $(nctl -j stats | jq -c '{packets_in_from_source, packets_out_to_destination, packets_in_from_destination, packets_out_to_source, packets_dropped, drop_no_flow, drop_unsolicited, drop_table_full, drop_no_port}')"
	log "flows: $(nctl -j flows | jq -c '[.[] | {internal_address, internal_port, external_port, packets_out, packets_in}]')"
fi
e1=$(flow_field udp $LAN1 40002 external_port)
e2=$(flow_field udp $LAN2 40002 external_port)
expect_eq two-hosts-flows-listed "${p1##* } ${p2##* }" "$e1 $e2" "external ports in natkctl flows"
rm -rf "$D"

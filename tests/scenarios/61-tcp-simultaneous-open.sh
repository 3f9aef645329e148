#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# TCP simultaneous open with the remote's SYN first (RFC 5382 REQ-2 and
# REQ-4, as in TCP hole punching). lan1:42100 holds a connection to a
# rendezvous server (wan 192.0.2.3:5000), so its endpoint-independent
# mapping 192.0.2.1:E exists. Then:
#  - wan 192.0.2.2:42101 connects to 192.0.2.1:E; its SYN reaches natk
#    before lan1 has sent anything to it: natk drops it silently
#    (drop_unsolicited; no flow, no RST, no ICMP error);
#  - lan1 then connects from 42100 to 192.0.2.2:42101; the two SYNs
#    cross and both connects succeed through natk, each side reads the
#    other's line, and natk shows one established flow on mapping E.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" simopen-mapping-ready simopen-remote-syn-dropped \
	simopen-connected simopen-flow-established simopen-no-rst-or-icmp \
	simopen-kernel-log
dmesg_mark
require_natk simopen-setup
D=$(mktemp -d)
trap 'rc=$?; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT
topo_setup || { fail simopen-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up accounting on || exit 1

# wan counts what natk's side sends it: RSTs and ICMP errors from the
# external address, and SYNs without ACK to 42101.
nsx wan nft -f - <<-EOT || { fail simopen-setup "nft counters in wan"; exit 1; }
	table ip simo {
		counter c_rst { }
		counter c_icmp { }
		counter c_syn { }
		chain in {
			type filter hook input priority 0;
			ip saddr $NAT_EXT tcp flags & rst == rst counter name c_rst
			ip saddr $NAT_EXT ip protocol icmp counter name c_icmp
			ip saddr $NAT_EXT tcp dport 42101 tcp flags & (syn | ack) == syn counter name c_syn
		}
	}
EOT
cnt() { nsx wan nft -j list counter ip simo "c_$1" | jq -r '.nftables[] | select(.counter) | .counter.packets'; }

# The rendezvous connection: lan1:42100's mapping.
peer_server wan tcp 5000 $WAN2
hold=$(hold_tcp lan1 $WAN2 5000 42100)
if poll 10 flow_state_is tcp $LAN1 42100 established; then
	pass simopen-mapping-ready
else
	fail simopen-mapping-ready "no established flow for $LAN1:42100: $(flow_get tcp $LAN1 42100)"
fi
E=$(flow_field tcp $LAN1 42100 external_port)
log "lan1:42100 is $NAT_EXT:$E outside"

# simopen SPORT DST DPORT MSG STOP: one connect from SPORT (no retry),
# send MSG, print "connected" and the peer's line, and keep the connection
# open until the file STOP exists (at most 60 s): the flow is read while
# it is established however slow the guest (a fixed 4 s ran out under
# KASAN, and natk showed fin_both).
cat > "$D/simopen.py" <<'PY'
import os, socket, sys, time
sport, dst, dport, msg, stop = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", sport))
s.settimeout(20)
try:
    s.connect((dst, dport))
except socket.timeout:
    print("timeout", flush=True); sys.exit(1)
except OSError as e:
    print("error", e.strerror, flush=True); sys.exit(1)
print("connected", flush=True)
s.sendall((msg + "\n").encode())
try:
    print("got", s.makefile().readline().strip(), flush=True)
except OSError as e:
    print("error", e.strerror, flush=True)
end = time.time() + 60
while not os.path.exists(stop) and time.time() < end:
    time.sleep(0.1)
PY

# 1. The remote's SYN first.
us0=$(stat_of drop_unsolicited)
nsx wan timeout 90 python3 "$D/simopen.py" 42101 $NAT_EXT "$E" from-wan "$D/stop" > "$D/wan.out" 2>&1 &
wpid=$!
if poll 10 sh -c "[ \$(( \$(ip netns exec nat $NATKCTL -j stats | jq .drop_unsolicited) - $us0 )) -ge 1 ]"; then
	nflows=$(nctl -j flows proto tcp | jq '[.[] | select(.remote_port == 42101)] | length')
	if [ "$nflows" = 0 ] && [ "$(cnt rst)" = 0 ] && ! grep -q . "$D/wan.out"; then
		pass simopen-remote-syn-dropped
	else
		fail simopen-remote-syn-dropped "after the remote's SYN: $nflows flows with it, $(cnt rst) RSTs at wan, wan says '$(cat "$D/wan.out")'"
	fi
else
	fail simopen-remote-syn-dropped "drop_unsolicited did not grow within 10 s of wan's SYN to $NAT_EXT:$E ($(cat "$D/wan.out"))"
fi
syn0=$(cnt syn)

# 2. The internal host's SYN, while the remote's connect is pending.
nsx lan1 timeout 90 python3 "$D/simopen.py" 42100 $WAN1 42101 from-lan1 "$D/stop" > "$D/lan1.out" 2>&1 &
lpid=$!
poll 25 sh -c "grep -q '^got' '$D/lan1.out' && grep -q '^got' '$D/wan.out'"
log "lan1: $(tr '\n' ' ' < "$D/lan1.out")| wan: $(tr '\n' ' ' < "$D/wan.out")| bare SYNs from natk to wan: $(( $(cnt syn) - syn0 ))"
if grep -qx 'connected' "$D/lan1.out" && grep -qx 'got from-wan' "$D/lan1.out" &&
	grep -qx 'connected' "$D/wan.out" && grep -qx 'got from-lan1' "$D/wan.out"; then
	pass simopen-connected
else
	fail simopen-connected "lan1: '$(tr '\n' ' ' < "$D/lan1.out")' wan: '$(tr '\n' ' ' < "$D/wan.out")'"
fi
f=$(nctl -j flows proto tcp | jq -c '.[] | select(.internal_port == 42100 and .remote_address == "'$WAN1'" and .remote_port == 42101)')
log "flow: $f"
if [ "$(echo "$f" | jq -r '"\(.state) \(.external_port) \(.packets_out > 1) \(.packets_in > 1)"')" = "established $E true true" ]; then
	pass simopen-flow-established
else
	fail simopen-flow-established "want one established flow $LAN1:42100 -> $NAT_EXT:$E -> $WAN1:42101 with traffic both ways: '$f'"
fi
expect_eq simopen-no-rst-or-icmp "0 0" "$(cnt rst) $(cnt icmp)" "RSTs and ICMP errors from $NAT_EXT at wan"
touch "$D/stop"
wait $wpid $lpid
hold_stop "$hold"
dmesg_check simopen-kernel-log

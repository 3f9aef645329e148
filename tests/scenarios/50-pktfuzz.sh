#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hostile input: tens of thousands of truncated and corrupted IPv4, TCP,
# UDP and ICMP frames (bad IHL, options, lying lengths, fragments, ICMP
# errors with truncated or forged inner headers, wrong checksums) from the
# lan and the wan side. No crash or kernel warning; drops are counted by
# reason and add up; an established TCP flow keeps working through it and
# new flows still work afterwards.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
require_natk pktfuzz
topo_setup || { fail pktfuzz "topology setup failed"; exit 1; }
check pktfuzz-natk-up natk_up || exit 1
dmesg_mark
COUNT=${NATK_PKTFUZZ_COUNT:-20000}
SEED=${NATK_PKTFUZZ_SEED:-$RANDOM}
FUZZ=$NATK_REPO/tests/fuzz/pktfuzz.py

# A legitimate connection, open before the storm and used after it.
nsx wan socat TCP-LISTEN:7,reuseaddr,fork EXEC:cat > /dev/null 2>&1 &
wait_listen wan tcp 7
nsx lan1 python3 - > /tmp/pktfuzz-legit.txt 2>&1 <<-'PY' &
	import os, socket, time
	s = socket.create_connection(("192.0.2.2", 7), timeout=10)
	s.sendall(b"before\n"); print("1", s.recv(64).decode().strip(), flush=True)
	for _ in range(600):
	    if os.path.exists("/tmp/pktfuzz-done"):
	        break
	    time.sleep(0.5)
	s.sendall(b"after\n"); print("2", s.recv(64).decode().strip(), flush=True)
PY
LEGIT=$!
poll 20 grep -q "^1 before" /tmp/pktfuzz-legit.txt || fail pktfuzz-legit-before "$(cat /tmp/pktfuzz-legit.txt)"

lanmac=$(ip -n nat -j link show lan0 | jq -r '.[0].address')
wanmac=$(ip -n nat -j link show wan0 | jq -r '.[0].address')
log "seed $SEED, $COUNT frames from each side"
check pktfuzz-from-lan nsx lan1 python3 "$FUZZ" eth0 "$lanmac" "$LAN1" "$WAN1" "$NAT_EXT" "$COUNT" "$SEED"
check pktfuzz-from-wan nsx wan python3 "$FUZZ" eth0 "$wanmac" "$WAN1" "$NAT_EXT" "$NAT_EXT" "$COUNT" "$((SEED + 1))"

touch /tmp/pktfuzz-done
poll 20 grep -q "^2 after" /tmp/pktfuzz-legit.txt && pass pktfuzz-legit-flow-survives ||
	fail pktfuzz-legit-flow-survives "$(cat /tmp/pktfuzz-legit.txt)"
wait "$LEGIT" 2>/dev/null
rm -f /tmp/pktfuzz-done /tmp/pktfuzz-legit.txt

st=$(nctl -j stats)
log "$(echo "$st" | jq -c 'with_entries(select(.key | startswith("drop") or . == "packets_dropped"))')"
if echo "$st" | jq -e '.packets_dropped > 0 and .packets_dropped ==
	([to_entries[] | select(.key | startswith("drop_")) | .value] | add)' > /dev/null; then
	pass pktfuzz-drops-counted-by-reason
else
	fail pktfuzz-drops-counted-by-reason "$st"
fi
echo "$st" | jq -e '.drop_invalid > 0' > /dev/null && pass pktfuzz-invalid-counted ||
	fail pktfuzz-invalid-counted "no drop_invalid after malformed input"

peer_server wan udp 5000 $WAN1
peer=$(ask lan1 udp $WAN1 5000 41999 | sed -n 1p)
expect_eq pktfuzz-new-flow-after "$NAT_EXT" "${peer%% *}" "UDP through natk after the fuzz"
check pktfuzz-status-answers nctl status
dmesg_check pktfuzz-kernel-log-clean

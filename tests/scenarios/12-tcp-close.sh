#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# TCP state tracking: established while open, FIN states after a normal
# close (with the short transitory timeout), rst after a reset either way.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" tcp-state-established tcp-established-long-timeout tcp-fin-close \
	tcp-fin-transitory-timeout tcp-rst-delivered tcp-rst-inbound-state tcp-rst-outbound-state
require_natk tcp-state-established
topo_setup || { fail tcp-state-established "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan tcp 5000
trans=$(nctl -j status | jq -r .timeouts.tcp_transitory)
est=$(nctl -j status | jq -r .timeouts.tcp_established)
log "timeouts: tcp_established=$est tcp_transitory=$trans"

# Normal close. The client's output goes to a file: it must have read the
# server's line before it closes, or that line arriving at a closed socket
# makes the client's kernel answer with a RST (on a loaded host the
# server can send it seconds after the handshake).
D=$(mktemp -d)
ip netns exec lan1 sh -c "sleep 600 | exec socat - TCP:$WAN1:5000,sourceport=41200,reuseaddr" \
	> "$D/hold.out" 2>&1 &
pid=$!
if poll 20 flow_state_is tcp $LAN1 41200 established; then
	pass tcp-state-established
	e=$(flow_field tcp $LAN1 41200 expires)
	if [ "$e" -gt "${trans:-0}" ] 2>/dev/null; then
		pass tcp-established-long-timeout
	else
		fail tcp-established-long-timeout "expires=$e while established (transitory=$trans, established=$est)"
	fi
else
	fail tcp-state-established "flow: $(flow_get tcp $LAN1 41200)"
fi
poll 20 grep -q . "$D/hold.out" || log "the client never got the server's line"
hold_stop "$pid"
if poll 20 flow_state_is tcp $LAN1 41200 'fin_both'; then
	pass tcp-fin-close
	e=$(flow_field tcp $LAN1 41200 expires)
	if [ "$e" -le "${trans:-0}" ] 2>/dev/null; then
		pass tcp-fin-transitory-timeout
	else
		fail tcp-fin-transitory-timeout "expires=$e after FIN close (transitory=$trans)"
	fi
else
	fail tcp-fin-close "after both FINs: $(flow_get tcp $LAN1 41200)"
fi

# Connection refused by wan: the RST comes back to lan1, flow in rst.
out=$(echo x | nsx lan1 timeout 10 socat - TCP:$WAN1:5999,sourceport=41202,reuseaddr,connect-timeout=5 2>&1)
if echo "$out" | grep -qi 'refused'; then
	pass tcp-rst-delivered
else
	fail tcp-rst-delivered "expected 'Connection refused', got: $out"
fi
if poll 3 flow_state_is tcp $LAN1 41202 rst; then
	pass tcp-rst-inbound-state
else
	fail tcp-rst-inbound-state "flow after inbound RST: $(flow_get tcp $LAN1 41202)"
fi

# Abortive close from lan1 (SO_LINGER 0 after the exchange): RST outbound.
nsx lan1 timeout 20 python3 -c '
import socket, struct, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 41203))
s.connect((sys.argv[1], 5000))
s.sendall(b"x\n")
s.recv(100)
s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
s.close()
' $WAN1 || log "abortive-close client failed"
if poll 20 flow_state_is tcp $LAN1 41203 rst; then
	pass tcp-rst-outbound-state
else
	fail tcp-rst-outbound-state "flow after outbound RST: $(flow_get tcp $LAN1 41203)"
fi
rm -rf "$D"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Half-open TCP (RFC 5382 REQ-5, RFC 6888 REQ-11, RFC 7857 section 2.2):
# a SYN answered by a SYN-ACK is not a connection until the initiator's
# ACK, so spoofed SYNs must not fill the table with flows that look
# established and cannot be evicted.
#  - control: a handshake that completes, inbound through a forward and
#    outbound, reaches "established" (and is never evicted);
#  - a SYN from lan2 answered by wan but never ACKed is not "established";
#  - max-flows 1024, forward tcp 8080 -> lan1:80 (a listener): wan sends
#    bare SYNs (raw socket, source ports 10000..) to 192.0.2.1:8080 until
#    the table is full, and drops the SYN-ACKs that come back (so nothing
#    answers them with a RST): none of those flows is "established", all
#    are on the transitory timeout;
#  - 100 more such SYNs overflow the table: flows_evicted grows, and a new
#    TCP connection and a UDP exchange from lan2 still get through;
#  - after a RST (lan1 aborts with SO_LINGER 0), a bare ACK on the tuple,
#    from inside or from outside, leaves the flow in "rst"; a new SYN from
#    inside reopens it and the connection works;
#  - after a close with FINs both ways (wan closes first, so lan1's port is
#    free at once), a new connection from the same port to the same server
#    works and its flow is "established" again.
# Raw segments come from a small python3 tool (plain sockets: scapy takes
# tens of seconds to import under TCG).
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" halfopen-set-max-flows halfopen-forward-add \
	halfopen-complete-inbound-established halfopen-complete-outbound-established \
	halfopen-outbound-synack-not-established halfopen-table-filled halfopen-spoofed-syns-answered \
	halfopen-spoofed-not-established halfopen-spoofed-transitory-timeout halfopen-full-new-tcp-works \
	halfopen-full-new-udp-works halfopen-full-evicted halfopen-table-capped halfopen-established-kept \
	halfopen-flush halfopen-rst-outbound-ack-stays-rst halfopen-rst-inbound-ack-stays-rst \
	halfopen-rst-new-syn-reopens halfopen-fin-first-connection halfopen-fin-both \
	halfopen-fin-reuse-works halfopen-fin-reuse-established halfopen-kernel-log
dmesg_mark
require_natk halfopen-setup
D=$(mktemp -d)
trap 'rc=$?; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT
topo_setup || { fail halfopen-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
MAXF=1024
FLOOD_PORT=10000	# wan's source ports for the spoofed SYNs: 10000-19999

cat > "$D/pkt.py" <<'PY'
import random, socket, struct, sys, time

def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def seg(src, sport, dst, dport, flags, seq, ack):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 64240, 0, 0)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", csum(ph + tcp)) + tcp[18:]
    # IPPROTO_RAW: the kernel fills in the IP checksum and id
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 0, 0x4000, 64, 6, 0,
                     socket.inet_aton(src), socket.inet_aton(dst))
    return ip + tcp

def raw():
    return socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

def cmd_syns(a):
    # syns SRC DST DPORT FIRST N: N bare SYNs from source ports FIRST..
    s = raw()
    src, dst, dport, first, n = a[0], a[1], int(a[2]), int(a[3]), int(a[4])
    for i in range(n):
        s.sendto(seg(src, first + i, dst, dport, 0x02, random.getrandbits(32), 0), (dst, 0))
        if i % 32 == 31:
            time.sleep(0.005)	# do not overrun the veths' backlogs
    print(n)

def cmd_seg(a):
    # seg SRC SPORT DST DPORT FLAGS: one segment, FLAGS from S A R F
    f = sum({"S": 0x02, "A": 0x10, "R": 0x04, "F": 0x01}[c] for c in a[4])
    ack = random.getrandbits(32) if f & 0x10 else 0
    raw().sendto(seg(a[0], int(a[1]), a[2], int(a[3]), f, random.getrandbits(32), ack), (a[2], 0))

def cmd_udpask(a):
    # udpask DST PORT SECONDS: connected UDP socket, ask every 0.5 s until
    # a reply comes (printed) or SECONDS pass ("none")
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a[0], int(a[1])))
    s.settimeout(0.5)
    end = time.time() + float(a[2])
    while time.time() < end:
        try:
            s.send(b"ask\n")
            print(s.recv(1000).decode().strip())
            return
        except socket.timeout:
            pass
        except OSError:
            time.sleep(0.5)
    print("none")

def connect(sport, dst, dport, secs):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(sport)))
    s.settimeout(float(secs))
    s.connect((dst, int(dport)))
    return s

def cmd_greet(a):
    # greet SPORT DST DPORT SECONDS: connect (from SPORT, 0: any), print
    # the server's first line, close
    try:
        s = connect(*a[:4])
        f = s.makefile("rb")
        print(f.readline().decode().strip())
        f.close()
        s.close()
    except OSError as e:
        print("failed: %s" % e)

def cmd_rst(a):
    # rst DST DPORT SPORT...: from each SPORT, connect, read the greeting
    # and abort the connection (SO_LINGER 0: RST, no FIN)
    for sport in a[2:]:
        try:
            s = connect(sport, a[0], a[1], 10)
            s.makefile("rb").readline()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            s.close()
        except OSError as e:
            print("%s: %s" % (sport, e))

def cmd_finsrv(a):
    # finsrv BIND PORT: per connection, read a line; "close": answer "bye"
    # and close first (the server's FIN goes first); "hold": answer "held"
    # and close when the client does
    import threading
    def serve(c):
        f = c.makefile("rb")
        line = f.readline().strip()
        if line == b"close":
            c.sendall(b"bye\n")
        else:
            c.sendall(b"held\n")
            while c.recv(1000):
                pass
        f.close()
        c.close()
    l = socket.socket()
    l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    l.bind((a[0], int(a[1])))
    l.listen(8)
    while True:
        c, _ = l.accept()
        threading.Thread(target=serve, args=(c,), daemon=True).start()

def cmd_finclient(a):
    # finclient SPORT DST DPORT close|hold: connect from SPORT, say the
    # mode; close: print the answer and close after the server's EOF;
    # hold: print "connected ANSWER" and keep the connection 60 s
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", int(a[0])))
    s.settimeout(10)
    try:
        s.connect((a[1], int(a[2])))
    except OSError as e:
        print("connect: %s" % e, flush=True)
        return
    s.sendall(a[3].encode() + b"\n")
    f = s.makefile("rb")
    try:
        if a[3] == "close":
            print(f.read().decode().strip(), flush=True)
        else:
            print("connected " + f.readline().decode().strip(), flush=True)
            time.sleep(60)
    except OSError as e:
        print("read: %s" % e, flush=True)
    f.close()
    s.close()

globals()["cmd_" + sys.argv[1]](sys.argv[2:])
PY
pkt() { local ns=$1; shift; nsx "$ns" python3 "$D/pkt.py" "$@"; }

# tcp_flow REMOTE_ADDR REMOTE_PORT [INT_PORT]: the TCP flow (JSON) with that
# remote end (and internal port)
tcp_flow() {
	nctl -j flows proto tcp | jq -c --arg r "$1" --argjson rp "$2" --argjson ip "${3:--1}" \
		'.[] | select(.remote_address == $r and .remote_port == $rp and ($ip < 0 or .internal_port == $ip))' | sed -n 1p
}
tcp_state() { tcp_flow "$@" | jq -r .state; }
tcp_state_is() { # tcp_state_is REGEX REMOTE_ADDR REMOTE_PORT [INT_PORT]
	local re=$1
	shift
	tcp_state "$@" | grep -Eqx "$re"
}
# flood_flows: the forward's flows from the spoofed SYNs, as a JSON array
flood_flows() {
	nctl -j flows proto tcp | jq -c --arg l "$LAN1" --arg w "$WAN1" \
		"[.[] | select(.internal_address == \$l and .internal_port == 80 and .remote_address == \$w and .remote_port >= $FLOOD_PORT and .remote_port < 20000)]"
}
# every flood flow saw lan1's SYN-ACK (seen_out)
flood_answered() {
	flood_flows | jq -e 'length > 0 and all(.[]; .seen_out)'
}

trans=$(nctl -j status | jq -r .timeouts.tcp_transitory)
check halfopen-set-max-flows nctl set max-flows $MAXF
check halfopen-forward-add nctl forward add tcp 8080 $LAN1:80
peer_server lan1 tcp 80
peer_server wan tcp 5000 $WAN1
peer_server wan udp 5001 $WAN1
# wan drops (and counts) the SYN-ACKs to the spoofed SYNs, so that its
# kernel answers no RST that would close the flows.
nsx wan nft -f - <<-EOT || { fail halfopen-setup "nft in wan"; exit 1; }
	table ip halfopen {
		counter synack { }
		chain pre {
			type filter hook prerouting priority -300;
			ip saddr $NAT_EXT tcp sport 8080 tcp dport $FLOOD_PORT-19999 counter name synack drop
		}
	}
EOT

# --- control: handshakes that complete are established
log "[${SECONDS}s] control"
pid_in=$(hold_tcp wan $NAT_EXT 8080 41000)
pid_out=$(hold_tcp lan1 $WAN1 5000 42000)
if poll 10 tcp_state_is established $WAN1 41000 80; then
	pass halfopen-complete-inbound-established
else
	fail halfopen-complete-inbound-established "wan:41000 -> 8080 -> lan1:80: $(tcp_flow $WAN1 41000 80)"
fi
if poll 10 tcp_state_is established $WAN1 5000 42000; then
	pass halfopen-complete-outbound-established
else
	fail halfopen-complete-outbound-established "lan1:42000 -> wan:5000: $(tcp_flow $WAN1 5000 42000)"
fi

# --- outbound half-open: lan2's bare SYN, wan's SYN-ACK, no ACK (lan2
log "[${SECONDS}s] outbound half-open"
# drops the SYN-ACK before its kernel can answer it with a RST)
nsx lan2 nft -f - <<-EOT
	table ip halfopen {
		counter synack { }
		chain pre {
			type filter hook prerouting priority -300;
			tcp sport 5000 tcp dport 30000 counter name synack drop
		}
	}
EOT
pkt lan2 seg $LAN2 30000 $WAN1 5000 S
synack_lan2() { nsx lan2 nft list counter ip halfopen synack | grep -q 'packets [1-9]'; }
if poll 10 synack_lan2 && flow_present tcp $LAN2 30000; then
	st=$(flow_field tcp $LAN2 30000 state)
	if [ "$st" != established ]; then
		pass halfopen-outbound-synack-not-established
	else
		fail halfopen-outbound-synack-not-established "lan2:30000 sent a SYN, wan a SYN-ACK, nobody the ACK: $(flow_get tcp $LAN2 30000)"
	fi
else
	fail halfopen-outbound-synack-not-established "no SYN-ACK back at lan2 or no flow: $(nsx lan2 nft list counter ip halfopen synack | grep -o 'packets [0-9]*'), $(flow_get tcp $LAN2 30000)"
fi

# --- inbound half-open: spoofed SYNs through the forward fill the table
log "[${SECONDS}s] inbound half-open, filling the table"
port=$FLOOD_PORT
tries=0
while :; do
	n=$(nctl -j status | jq -r .flows)
	case $n in ''|*[!0-9]*) log "natkctl status: flows '$n'"; break ;; esac
	need=$((MAXF - n))
	if [ "$need" -le 0 ] || [ $tries -ge 4 ]; then break; fi
	tries=$((tries + 1))
	pkt wan syns $WAN1 $NAT_EXT 8080 $port $need > /dev/null
	port=$((port + need))
	# until lan1 has answered every flow (and its flows stop growing)
	poll 30 flood_answered
	poll 10 sh -c "[ \$(ip netns exec nat $NATKCTL -j status | jq .flows) -ge $MAXF ]"
done
F=$(flood_flows)
nflood=$(echo "$F" | jq length)
nest=$(echo "$F" | jq '[.[] | select(.state == "established")] | length')
nlong=$(echo "$F" | jq "[.[] | select(.expires > $trans)] | length")
log "$((port - FLOOD_PORT)) spoofed SYNs in $tries rounds: $nflood flows, states $(echo "$F" | jq -c 'group_by(.state) | map({(.[0].state): length}) | add'), SYN-ACKs dropped in wan: $(nsx wan nft list counter ip halfopen synack | grep -o 'packets [0-9]*')"
expect_eq halfopen-table-filled $MAXF "$(nctl -j status | jq -r .flows)" "flows after the spoofed SYNs"
if [ "$nflood" -ge $((MAXF - 16)) ] && echo "$F" | jq -e 'all(.[]; .seen_out)' > /dev/null; then
	pass halfopen-spoofed-syns-answered
else
	fail halfopen-spoofed-syns-answered "$nflood flows from the spoofed SYNs, unanswered: $(echo "$F" | jq -c '[.[] | select(.seen_out | not)] | .[:5]')"
fi
if [ "$nflood" -gt 0 ] && [ "$nest" -eq 0 ]; then
	pass halfopen-spoofed-not-established
else
	fail halfopen-spoofed-not-established "$nest of $nflood flows that saw a SYN and a SYN-ACK but no ACK are established, e.g. $(echo "$F" | jq -c '[.[] | select(.state == "established")] | .[0]')"
fi
if [ "$nflood" -gt 0 ] && [ "$nlong" -eq 0 ]; then
	pass halfopen-spoofed-transitory-timeout
else
	fail halfopen-spoofed-transitory-timeout "$nlong of $nflood half-open flows expire later than the transitory timeout ($trans s)"
fi

# --- the table is full of half-open flows: they give way to new ones
log "[${SECONDS}s] overflow"
tf0=$(stat_of drop_table_full)
ev0=$(stat_of flows_evicted)
pkt wan syns $WAN1 $NAT_EXT 8080 $port 100 > /dev/null
port=$((port + 100))
r=$(pkt lan2 greet 0 $WAN1 5000 6)
if [ "${r%% *}" = "$NAT_EXT" ]; then
	pass halfopen-full-new-tcp-works
else
	fail halfopen-full-new-tcp-works "lan2 -> wan:5000 got '$r'; drop_table_full +$(stat_delta drop_table_full "$tf0"), flows_evicted +$(stat_delta flows_evicted "$ev0"), flows $(nctl -j status | jq .flows)"
fi
r=$(pkt lan2 udpask $WAN1 5001 6)
if [ "${r%% *}" = "$NAT_EXT" ]; then
	pass halfopen-full-new-udp-works
else
	fail halfopen-full-new-udp-works "lan2 -> wan:5001/udp got '$r'; drop_table_full +$(stat_delta drop_table_full "$tf0"), flows_evicted +$(stat_delta flows_evicted "$ev0")"
fi
tf=$(stat_delta drop_table_full "$tf0")
ev=$(stat_delta flows_evicted "$ev0")
log "after 100 more spoofed SYNs and lan2's flows: drop_table_full +$tf, flows_evicted +$ev"
if [ "$ev" -gt 0 ] 2>/dev/null; then
	pass halfopen-full-evicted
else
	fail halfopen-full-evicted "flows_evicted +$ev (drop_table_full +$tf) with a table full of half-open flows"
fi
n=$(nctl -j status | jq -r .flows)
if [ "$n" -le $MAXF ] 2>/dev/null; then pass halfopen-table-capped; else fail halfopen-table-capped "$n flows with max-flows $MAXF"; fi
held=$(nctl -j flows proto tcp | jq -c --arg w "$WAN1" '[.[] | select(.remote_address == $w and ((.remote_port == 41000 and .internal_port == 80) or (.remote_port == 5000 and .internal_port == 42000)))]')
if echo "$held" | jq -e 'length == 2 and all(.[]; .state == "established")' > /dev/null; then
	pass halfopen-established-kept
else
	fail halfopen-established-kept "the two established connections: $held"
fi
hold_stop "$pid_in"
hold_stop "$pid_out"
check halfopen-flush nctl flush

# --- RST: a bare ACK afterwards does not revive the flow
log "[${SECONDS}s] RST"
# lan1 connects from 42010 and 42011, reads wan's greeting and aborts (RST).
pkt lan1 rst $WAN1 5000 42010 42011
for p in 42010 42011; do
	poll 5 tcp_state_is rst $WAN1 5000 $p || log "no rst flow for lan1:$p: $(tcp_flow $WAN1 5000 $p)"
done
E10=$(tcp_flow $WAN1 5000 42010 | jq -r .external_port)
E11=$(tcp_flow $WAN1 5000 42011 | jq -r .external_port)
# Neither end may answer the stray ACKs (a RST would hide a revival).
nsx wan nft -f - <<-EOT
	table ip rstack {
		counter seen { }
		chain pre {
			type filter hook prerouting priority -300;
			ip saddr $NAT_EXT tcp sport { $E10, $E11 } tcp dport 5000 counter name seen drop
		}
	}
EOT
nsx lan1 nft -f - <<-EOT
	table ip rstack {
		counter seen { }
		chain pre {
			type filter hook prerouting priority -300;
			tcp sport 5000 tcp dport { 42010, 42011 } counter name seen drop
		}
	}
EOT
seen() { nsx "$1" nft list counter ip rstack seen | grep -o 'packets [0-9]*' | cut -d' ' -f2; }
# outbound ACK on 42010
w0=$(seen wan)
pkt lan1 seg $LAN1 42010 $WAN1 5000 A
poll 2 sh -c "[ \$(ip netns exec wan nft list counter ip rstack seen | grep -o 'packets [0-9]*' | cut -d' ' -f2) -gt $w0 ]" ||
	log "the ACK from lan1:42010 did not reach wan (dropped by natk?)"
st=$(tcp_state $WAN1 5000 42010)
expect_eq halfopen-rst-outbound-ack-stays-rst rst "$st" "lan1:42010's flow after an ACK from inside following the RST"
# inbound ACK on 42011
l0=$(seen lan1)
pkt wan seg $WAN1 5000 $NAT_EXT "$E11" A
poll 2 sh -c "[ \$(ip netns exec lan1 nft list counter ip rstack seen | grep -o 'packets [0-9]*' | cut -d' ' -f2) -gt $l0 ]" ||
	log "the ACK from wan to $E11 did not reach lan1 (dropped by natk?)"
st=$(tcp_state $WAN1 5000 42011)
expect_eq halfopen-rst-inbound-ack-stays-rst rst "$st" "lan1:42011's flow after an ACK from outside following the RST"
nsx wan nft delete table ip rstack
nsx lan1 nft delete table ip rstack
# A new SYN from inside on the same tuple reopens the flow.
r=$(pkt lan1 greet 42010 $WAN1 5000 6)
st=$(tcp_state $WAN1 5000 42010)
if [ "$r" = "$NAT_EXT $E10" ] && [ -n "$st" ] && [ "$st" != rst ]; then
	pass halfopen-rst-new-syn-reopens
else
	fail halfopen-rst-new-syn-reopens "new connection from lan1:42010 after the RST: wan saw '$r' (want '$NAT_EXT $E10'), flow state '$st'"
fi

# --- FIN both ways, then the same tuple again
log "[${SECONDS}s] FIN, then the same tuple again"
nsx wan python3 "$D/pkt.py" finsrv $WAN1 5002 &
wait_listen wan tcp 5002 $WAN1
r=$(pkt lan1 finclient 42030 $WAN1 5002 close)
expect_eq halfopen-fin-first-connection bye "$r" "first connection from lan1:42030"
if poll 5 tcp_state_is fin_both $WAN1 5002 42030; then
	pass halfopen-fin-both
else
	fail halfopen-fin-both "after FINs both ways: $(tcp_flow $WAN1 5002 42030)"
fi
pkt lan1 finclient 42030 $WAN1 5002 hold > "$D/reuse.out" 2>&1 &
cpid=$!
if poll 15 grep -q '^connected held' "$D/reuse.out"; then
	pass halfopen-fin-reuse-works
else
	fail halfopen-fin-reuse-works "second connection from lan1:42030 to wan:5002: '$(cat "$D/reuse.out")', flow $(tcp_flow $WAN1 5002 42030)"
fi
if poll 3 tcp_state_is established $WAN1 5002 42030; then
	pass halfopen-fin-reuse-established
else
	fail halfopen-fin-reuse-established "a new connection on the tuple of a flow in fin_both: $(tcp_flow $WAN1 5002 42030)"
fi
kill_tree "$cpid"
log "[${SECONDS}s] done"
dmesg_check halfopen-kernel-log

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The one-armed NAT instance (the AWS shape, docs/mission.md): the NAT has
# one interface, eth0 10.0.0.1/24, on the same segment as the private hosts
# and the "VPC router" 10.0.0.254; private hosts route via the NAT, the NAT
# routes via the router, and the router (an internet gateway) forwards to
# the internet only packets from the NAT's own address. Private hosts'
# packets come in on eth0 and leave, masqueraded, on eth0; replies come in
# on eth0 and leave again on eth0 towards the private host. natk must do
# this with nothing but `natkctl set external eth0`.
#
#   oa-lan1 eth0 10.0.0.2 --+
#   oa-lan2 eth0 10.0.0.3 --+-- oa-sw (bridge br0) --+-- oa-nat eth0 10.0.0.1
#                                                    +-- oa-rtr eth0 10.0.0.254
#   oa-rtr eth1 192.0.2.254/24 -- oa-wan eth0 192.0.2.2/24 (route 10.0.0.1 via rtr)
#
# Checks: without natk lan -> wan is blocked (the test can fail); with
# natk: ping, TCP and UDP request/response with the wan server seeing
# 10.0.0.1, 20 MB each way over TCP with md5s, an ICMP port unreachable
# reaching a connected UDP socket, traceroute hops (NAT, router, server), a
# TCP port forward hairpinned from lan2 (which keeps a UDP flow alive),
# the NAT host's own traffic, drop_no_flow not growing, no bogus flow.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"

OA_NS="oa-lan1 oa-lan2 oa-nat oa-rtr oa-wan oa-sw"
OA_NAT=10.0.0.1		# the NAT instance's only address (its "public" one)
OA_LAN1=10.0.0.2
OA_LAN2=10.0.0.3
OA_RTR=10.0.0.254	# VPC router / internet gateway, lan side
OA_RTR_WAN=192.0.2.254	# its internet side
OA_WAN=192.0.2.2	# a server on the internet
HP_SPORT=40800		# lan2's source port for the hairpin
KA_SPORT=40700		# lan2's long-lived UDP flow

oactl() { nsx oa-nat "$NATKCTL" "$@"; }
oastat() { oactl -j stats | jq -r ".$1"; }

# shellcheck disable=SC2086
oa_teardown() { ns_group_teardown $OA_NS; }

oa_cleanup() {
	local rc=$?
	disown -a	# everything in the background runs in an oa-* netns
	oa_teardown
	[ -n "${D:-}" ] && rm -rf "$D"
	reset_all
	exit $rc
}

oa_setup() {
	local ns
	oa_teardown
	for ns in $OA_NS; do _ns_base "$ns" || return 1; done
	# The segment: a bridge in its own netns, no filtering there.
	ip -n oa-sw -b - <<-EOT || return 1
		link add br0 type bridge forward_delay 0 stp_state 0
		link add p-lan1 type veth peer name eth0 netns oa-lan1
		link add p-lan2 type veth peer name eth0 netns oa-lan2
		link add p-nat type veth peer name eth0 netns oa-nat
		link add p-rtr type veth peer name eth0 netns oa-rtr
		link set p-lan1 master br0
		link set p-lan2 master br0
		link set p-nat master br0
		link set p-rtr master br0
		link set br0 up
		link set p-lan1 up
		link set p-lan2 up
		link set p-nat up
		link set p-rtr up
	EOT
	# The NAT instance: one interface, forwarding, no ICMP redirects.
	nsx oa-nat sysctl -qw net.ipv4.ip_forward=1 \
		net.ipv4.conf.all.send_redirects=0 \
		net.ipv4.conf.default.send_redirects=0 \
		net.ipv4.conf.eth0.send_redirects=0 || return 1
	ip -n oa-nat -b - <<-EOT || return 1
		addr add $OA_NAT/24 dev eth0
		link set eth0 up
		route add default via $OA_RTR
	EOT
	ip -n oa-lan1 -b - <<-EOT || return 1
		addr add $OA_LAN1/24 dev eth0
		link set eth0 up
		route add default via $OA_NAT
	EOT
	ip -n oa-lan2 -b - <<-EOT || return 1
		addr add $OA_LAN2/24 dev eth0
		link set eth0 up
		route add default via $OA_NAT
	EOT
	# The router: forwards to the internet only what comes from the NAT.
	nsx oa-rtr sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n oa-rtr -b - <<-EOT || return 1
		link add eth1 type veth peer name eth0 netns oa-wan
		addr add $OA_RTR/24 dev eth0
		addr add $OA_RTR_WAN/24 dev eth1
		link set eth0 up
		link set eth1 up
	EOT
	nsx oa-rtr nft -f - <<-EOT || return 1
		table ip igw {
			counter blocked { }
			chain to_internet {
				type filter hook forward priority 0; policy accept;
				iifname "eth0" oifname "eth1" ip saddr != $OA_NAT counter name blocked drop
			}
		}
	EOT
	# The internet host knows only the NAT's address behind the router.
	ip -n oa-wan -b - <<-EOT || return 1
		addr add $OA_WAN/24 dev eth0
		link set eth0 up
		route add $OA_NAT/32 via $OA_RTR_WAN
	EOT
	poll 10 nsx oa-lan1 ping -c1 -W1 $OA_NAT || { echo "onearm: lan1 cannot reach the NAT"; return 1; }
	poll 10 nsx oa-lan2 ping -c1 -W1 $OA_NAT || { echo "onearm: lan2 cannot reach the NAT"; return 1; }
	poll 10 nsx oa-wan ping -c1 -W1 $OA_NAT || { echo "onearm: the NAT and wan do not reach each other"; return 1; }
}

rtr_blocked() {
	nsx oa-rtr nft list counter ip igw blocked | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'
}

D=$(mktemp -d)
trap oa_cleanup EXIT
reset_all
plan one-armed-setup one-armed-sanity-nat-reaches-wan one-armed-sanity-no-natk-lan-blocked \
	one-armed-natk-up one-armed-external-address one-armed-nat-own-ping one-armed-nat-own-tcp \
	one-armed-udp-lan2-flow one-armed-ping one-armed-tcp-request-response one-armed-tcp-server-sees-nat \
	one-armed-udp-request-response one-armed-udp-server-sees-nat one-armed-bulk-download-md5 \
	one-armed-bulk-upload-md5 one-armed-icmp-port-unreachable one-armed-traceroute-hop1-nat \
	one-armed-traceroute-hop2-router one-armed-traceroute-hop3-server one-armed-forward-add \
	one-armed-hairpin-request-response one-armed-hairpin-lan1-sees-nat one-armed-udp-lan2-flow-still-alive \
	one-armed-no-drop-no-flow one-armed-no-private-leak one-armed-no-bogus-flows one-armed-kernel-log
dmesg_mark
require_natk one-armed-setup
oa_setup || { fail one-armed-setup "topology setup failed"; exit 1; }
pass one-armed-setup

# oa.py (plain sockets: no scapy, whose import takes long under TCG)
#   serve ADDR BYTES: the internet server: TCP 5000 answers "PEER PORT"
#     and echoes; UDP 5000 and 5001 answer "PEER PORT"; TCP 6000 sends
#     BYTES random bytes while reading to EOF, then prints "sent LEN MD5"
#     and "received LEN MD5". Prints "ready" once all are bound.
#   bulk DST PORT BYTES: the other end of TCP 6000 (same output).
#   udpask SPORT DST DPORT: unconnected UDP; "SRC SPORT LINE" of the first
#     reply, or "none" after 3 tries 2 s apart.
#   keepalive SPORT DST DPORT: a datagram a second; logs every reply as
#     "SRC SPORT LINE".
cat > "$D/oa.py" <<'PY'
import hashlib, os, select, socket, sys, threading, time
cmd = sys.argv[1]

def xfer(s, nbytes):
    def send():
        h = hashlib.md5(); left = nbytes
        try:
            while left > 0:
                b = os.urandom(min(65536, left))
                s.sendall(b); h.update(b); left -= len(b)
            s.shutdown(socket.SHUT_WR)
        finally:
            res.append("sent %d %s" % (nbytes - left, h.hexdigest()))
    res = []
    s.settimeout(60)
    t = threading.Thread(target=send, daemon=True); t.start()
    h = hashlib.md5(); n = 0
    while True:
        b = s.recv(262144)
        if not b:
            break
        h.update(b); n += len(b)
    t.join(60)
    print("\n".join(res + ["received %d %s" % (n, h.hexdigest())]), flush=True)

if cmd == "serve":
    addr, nbytes = sys.argv[2], int(sys.argv[3])
    def peer_echo(c, a):
        try:
            c.sendall(("%s %d\n" % a).encode())
            while True:
                d = c.recv(65536)
                if not d:
                    break
                c.sendall(d)
        except OSError:
            pass
        c.close()
    def bulk(c, a):
        try:
            xfer(c, nbytes)
        except OSError as e:
            print("bulk: %s" % e, flush=True)
        c.close()
    def tcp(port, fn):
        l = socket.socket(); l.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        l.bind((addr, port)); l.listen(16)
        def loop():
            while True:
                c, a = l.accept()
                threading.Thread(target=fn, args=(c, a), daemon=True).start()
        threading.Thread(target=loop, daemon=True).start()
    def udp(port):
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind((addr, port))
        def loop():
            while True:
                d, a = u.recvfrom(65535)
                try:
                    u.sendto(("%s %d\n" % a).encode(), a)
                except OSError:
                    pass
        threading.Thread(target=loop, daemon=True).start()
    tcp(5000, peer_echo); tcp(6000, bulk); udp(5000); udp(5001)
    print("ready", flush=True)
    while True:
        time.sleep(3600)
elif cmd == "bulk":
    s = socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=10)
    xfer(s, int(sys.argv[4]))
else:
    sport, dst, dport = int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", sport))
    n = 0
    while True:
        n += 1
        try:
            s.sendto(b"hello %d\n" % n, (dst, dport))
        except OSError as e:
            print("sendto: %s" % e, flush=True)
        end = time.time() + (1 if cmd == "keepalive" else 2)
        got = False
        while time.time() < end:
            r, _, _ = select.select([s], [], [], max(0, end - time.time()))
            if not r:
                continue
            try:
                d, a = s.recvfrom(65535)
            except OSError as e:
                print("recv: %s" % e, flush=True)
                continue
            print("%s %d %s" % (a[0], a[1], d.decode(errors="replace").split("\n")[0]), flush=True)
            got = True
            if cmd == "udpask":
                break
        if cmd == "udpask" and (got or n >= 3):
            if not got:
                print("none")
            break
PY

# ------------------------------------------------------------ without natk
# The NAT host itself reaches the internet; the private hosts do not (the
# NAT forwards them unchanged, the gateway drops them).
check one-armed-sanity-nat-reaches-wan nsx oa-nat ping -c1 -W2 $OA_WAN
b0=$(rtr_blocked)
if nsx oa-lan1 ping -c2 -i0.3 -W2 $OA_WAN > /dev/null 2>&1; then
	fail one-armed-sanity-no-natk-lan-blocked "lan1 reached $OA_WAN without natk: the topology does not test anything"
elif [ "$(rtr_blocked)" -gt "${b0:-0}" ] 2>/dev/null; then
	pass one-armed-sanity-no-natk-lan-blocked
else
	fail one-armed-sanity-no-natk-lan-blocked "lan1's ping failed, but not at the gateway (blocked counter $b0 -> $(rtr_blocked))"
fi

# ------------------------------------------------------------ natk up
if natk_load && oactl set external eth0; then
	pass one-armed-natk-up
else
	fail one-armed-natk-up "natk_load / natkctl set external eth0 failed"
	exit 1
fi
ext=$(oactl -j status | jq -r .external_address)
expect_eq one-armed-external-address $OA_NAT "$ext" "natkctl status external_address"
nf0=$(oastat drop_no_flow)
blk0=$(rtr_blocked)

BULK=$((20 * 1024 * 1024))
nsx oa-wan python3 "$D/oa.py" serve $OA_WAN $BULK > "$D/srv.out" 2>&1 &
poll 20 grep -qx ready "$D/srv.out" || log "the wan server did not start: $(head -n 3 "$D/srv.out")"

# --- the NAT host's own traffic (source 10.0.0.1: natk leaves it alone)
check one-armed-nat-own-ping nsx oa-nat ping -c2 -i0.3 -W2 $OA_WAN
r=$(ask oa-nat tcp $OA_WAN 5000)
if [ "$(echo "$r" | sed -n 1p | cut -d' ' -f1)" = $OA_NAT ] && [ "$(echo "$r" | sed -n 2p)" = hello ]; then
	pass one-armed-nat-own-tcp
else
	fail one-armed-nat-own-tcp "nat -> $OA_WAN:5000: '$(echo "$r" | tr '\n' '|')', want '$OA_NAT <port>|hello|'"
fi

# --- lan2 keeps a UDP flow to the internet alive from here on
nsx oa-lan2 python3 "$D/oa.py" keepalive $KA_SPORT $OA_WAN 5001 > "$D/ka.log" 2>&1 &
if poll 8 grep -q "^$OA_WAN 5001 $OA_NAT $KA_SPORT" "$D/ka.log"; then
	pass one-armed-udp-lan2-flow
else
	fail one-armed-udp-lan2-flow "lan2:$KA_SPORT -> $OA_WAN:5001 got no reply from $OA_WAN:5001 quoting $OA_NAT:$KA_SPORT; got: $(head -n 3 "$D/ka.log" | tr '\n' '|')"
fi

# --- ping
if nsx oa-lan1 ping -c3 -i0.3 -W2 $OA_WAN > "$D/ping.out" 2>&1; then
	pass one-armed-ping
else
	fail one-armed-ping "lan1 ping $OA_WAN: $(grep -E 'transmitted|From' "$D/ping.out" | head -n 2 | tr '\n' ' ')"
fi

# --- TCP request/response; the server sees the NAT
r=$(ask oa-lan1 tcp $OA_WAN 5000 40100)
peer=$(echo "$r" | sed -n 1p)
if [ "$(echo "$r" | sed -n 2p)" = hello ]; then
	pass one-armed-tcp-request-response
else
	fail one-armed-tcp-request-response "lan1:40100 -> $OA_WAN:5000 got '$(echo "$r" | tr '\n' '|')'"
fi
if [ "${peer%% *}" = $OA_NAT ]; then
	pass one-armed-tcp-server-sees-nat
else
	fail one-armed-tcp-server-sees-nat "the server saw lan1:40100 as '$peer', want '$OA_NAT <port>'"
fi

# --- UDP request/response: the reply comes from the server, quoting the NAT
r=$(nsx oa-lan1 timeout 20 python3 "$D/oa.py" udpask 40200 $OA_WAN 5000 | sed -n 1p)
if [ "${r%% *}" = "$OA_WAN" ] && [ "$(echo "$r" | cut -d' ' -f2)" = 5000 ]; then
	pass one-armed-udp-request-response
else
	fail one-armed-udp-request-response "lan1:40200 -> $OA_WAN:5000: reply '$r', want one from $OA_WAN 5000"
fi
if [ "$(echo "$r" | cut -d' ' -f3)" = $OA_NAT ]; then
	pass one-armed-udp-server-sees-nat
else
	fail one-armed-udp-server-sees-nat "reply '$r': the server should have seen $OA_NAT"
fi

# --- 20 MB each way over one TCP connection, md5 at both ends
t0=$SECONDS
nsx oa-lan1 timeout 150 python3 "$D/oa.py" bulk $OA_WAN 6000 $BULK > "$D/cli.out" 2>&1
rc=$?
log "bulk: client rc=$rc in $((SECONDS - t0))s: $(tr '\n' ' ' < "$D/cli.out" | cut -c1-200)"
[ $rc -eq 0 ] && poll 10 grep -q "^received" "$D/srv.out"
c_sent=$(sed -n 's/^sent //p' "$D/cli.out")
c_recv=$(sed -n 's/^received //p' "$D/cli.out")
s_sent=$(sed -n 's/^sent //p' "$D/srv.out")
s_recv=$(sed -n 's/^received //p' "$D/srv.out")
if [ "${s_sent%% *}" = $BULK ] && [ "$c_recv" = "$s_sent" ]; then
	pass one-armed-bulk-download-md5
else
	fail one-armed-bulk-download-md5 "wan sent '$s_sent', lan1 received '$c_recv' ($(grep -v '^sent' "$D/cli.out" | tail -n1))"
fi
if [ "${c_sent%% *}" = $BULK ] && [ "$s_recv" = "$c_sent" ]; then
	pass one-armed-bulk-upload-md5
else
	fail one-armed-bulk-upload-md5 "lan1 sent '$c_sent', wan received '$s_recv'"
fi

# --- ICMP error: a UDP datagram to a closed port on wan; the port
# unreachable reaches lan1's connected socket
r=$(nsx oa-lan1 timeout 20 python3 -c "$RFC_PY" udperr $OA_WAN 9 40300 5)
expect_eq one-armed-icmp-port-unreachable ECONNREFUSED "$r" "lan1:40300 connected to $OA_WAN:9 (closed)"

# --- traceroute: TTL 1 dies at the NAT, TTL 2 at the router, TTL 3 arrives.
# hop TTL WANT: up to 3 probes until the output has WANT (a regex)
hop() {
	local try
	for try in 1 2 3; do
		nsx oa-lan1 ping -n -c1 -W2 -t "$1" $OA_WAN > "$D/hop$1.out" 2>&1
		grep -q "$2" "$D/hop$1.out" && return 0
		[ "$try" = 3 ] || log "hop $1, probe $try: $(grep -E 'From|transmitted' "$D/hop$1.out" | head -n 1)"
	done
	fail "$3" "ping -t $1 $OA_WAN: $(grep -E 'From|transmitted' "$D/hop$1.out" | tr '\n' ' ')"
	return 1
}
hop 1 "From $OA_NAT .*Time to live exceeded" one-armed-traceroute-hop1-nat && pass one-armed-traceroute-hop1-nat
hop 2 "From $OA_RTR .*Time to live exceeded" one-armed-traceroute-hop2-router && pass one-armed-traceroute-hop2-router
hop 3 "bytes from $OA_WAN" one-armed-traceroute-hop3-server && pass one-armed-traceroute-hop3-server

# --- hairpin: lan2 (with its UDP flow still alive) reaches lan1's port 80
# through the NAT's address; lan1 sees the NAT, not 10.0.0.3
check one-armed-forward-add oactl forward add tcp 8080 $OA_LAN1:80
peer_server oa-lan1 tcp 80
r=$(ask oa-lan2 tcp $OA_NAT 8080 $HP_SPORT)
peer=$(echo "$r" | sed -n 1p)
if [ "$(echo "$r" | sed -n 2p)" = hello ]; then
	pass one-armed-hairpin-request-response
else
	fail one-armed-hairpin-request-response "lan2:$HP_SPORT -> $OA_NAT:8080 got '$(echo "$r" | tr '\n' '|')'"
fi
if [ "${peer%% *}" = $OA_NAT ]; then
	pass one-armed-hairpin-lan1-sees-nat
else
	fail one-armed-hairpin-lan1-sees-nat "lan1 saw lan2:$HP_SPORT as '$peer', want '$OA_NAT <port>'"
fi
n=$(wc -l < "$D/ka.log")
if poll 5 sh -c "tail -n +$((n + 1)) '$D/ka.log' | grep -q '^$OA_WAN 5001 $OA_NAT $KA_SPORT'"; then
	pass one-armed-udp-lan2-flow-still-alive
else
	fail one-armed-udp-lan2-flow-still-alive "lan2's keepalive got no good reply after the hairpin: $(tail -n 3 "$D/ka.log" | tr '\n' '|')"
fi

# --- the good traffic above made no drop_no_flow, leaked nothing, and
# left no bogus flow (internal side a non-lan address, or a lan address as
# the remote, except for the hairpin connection's own two flows)
stats=$(oactl -j stats)
nf=$(( $(echo "$stats" | jq -r .drop_no_flow) - ${nf0:-0} ))
if [ "$nf" -eq 0 ] 2>/dev/null; then
	pass one-armed-no-drop-no-flow
else
	fail one-armed-no-drop-no-flow "drop_no_flow grew by $nf during good traffic"
fi
blk=$(( $(rtr_blocked) - ${blk0:-0} ))
expect_eq one-armed-no-private-leak 0 "$blk" "packets with a private source the gateway dropped while natk ran"
flows=$(oactl -j flows) || flows=ERROR
bogus=$(echo "$flows" | jq -r --arg l1 $OA_LAN1 --arg l2 $OA_LAN2 --argjson hp $HP_SPORT '
	.[] | select(
		(.internal_address != $l1 and .internal_address != $l2) or
		((.remote_address | startswith("10.0.0.")) and
		 ((.proto == "tcp" and ((.internal_address == $l1 and .internal_port == 80) or
					(.internal_address == $l2 and .internal_port == $hp))) | not)))
	| "\(.proto) \(.internal_address):\(.internal_port) -> \(.external_port) -> \(.remote_address):\(.remote_port)"' 2>&1)
if [ "$flows" != ERROR ] && [ -z "$bogus" ]; then
	pass one-armed-no-bogus-flows
else
	fail one-armed-no-bogus-flows "$(echo "$bogus" | wc -l) bogus: $(echo "$bogus" | head -n 5 | tr '\n' ' ')"
fi
log "stats: $(echo "$stats" | jq -c '{packets_dropped, drop_no_flow, drop_unsolicited, drop_invalid, passed_no_flow, hairpinned, icmp_errors_translated}')"
log "flows: $(echo "$flows" | jq -r '.[] | "\(.proto) \(.internal_address):\(.internal_port)>\(.external_port)>\(.remote_address):\(.remote_port)"' 2>/dev/null | tr '\n' ' ')"
dmesg_check one-armed-kernel-log
log "one-armed scenario took ${SECONDS}s"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Fragment flood: the memory natk's reassembly can take stays bounded.
# natk turns nf_defrag_ipv4 on in the NAT's namespace (it sees whole
# datagrams only), so every first fragment that crosses the NAT sits in
# that namespace's reassembly queues until its datagram is complete or
# ipfrag_time (here 10 s) runs out; the kernel refuses new queues beyond
# net.ipv4.ipfrag_high_thresh (4 MiB by default) and counts the refusals
# (IpReasmFails). For NATK_FRAG_SECONDS (12), wan (to a port forward) and
# lan2 (to wan) send first fragments of datagrams that never complete,
# each with its own IP id, as fast as python can, while lan1 exchanges
# UDP datagrams and sends 8 MB over TCP through natk.
#  - the reassembly memory of the NAT's namespace (/proc/net/sockstat
#    FRAG), sampled during the flood, reaches the bound (the flood is
#    real) and never passes it; IpReasmFails counts the refused fragments;
#  - Slab grows by less than 32 MiB; the flood makes no flow;
#  - lan1's datagrams are answered and its TCP transfer arrives intact
#    during the flood;
#  - once the queues time out the memory is released and a fragmented
#    datagram crosses natk both ways again.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" frag-flood-sent frag-flood-bound-reached \
	frag-flood-memory-bounded frag-flood-refusals-counted frag-flood-no-flows \
	frag-flood-slab-bounded frag-flood-udp-during frag-flood-tcp-during \
	frag-flood-memory-released frag-flood-fragmented-after frag-flood-kernel-log
dmesg_mark
require_natk frag-flood-setup
FLOOD_S=${NATK_FRAG_SECONDS:-12}
FRAG_TIME=10
SLAB_MAX_KB=$((32 * 1024))
D=$(mktemp -d)
FLOODERS=
trap 'rc=$?; touch "$D/stop"; for p in $FLOODERS; do kill_tree "$p"; done; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT
topo_setup || { fail frag-flood-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
nsx nat sysctl -qw net.ipv4.ipfrag_time=$FRAG_TIME
HIGH=$(nsx nat sysctl -n net.ipv4.ipfrag_high_thresh)
log "NAT namespace: ipfrag_high_thresh $HIGH bytes, ipfrag_time $FRAG_TIME s"
nctl forward add udp 7000 $LAN2:7000 > /dev/null || log "forward add failed"

frag_mem() { nsx nat awk '/^FRAG:/ { print $5 }' /proc/net/sockstat; }
snmp_ip() { # snmp_ip FIELD: the NAT namespace's Ip: counter FIELD
	nsx nat awk -v f="$1" '/^Ip:/ { if (!n) { for (i = 1; i <= NF; i++) k[i] = $i; n = 1 } else for (i = 1; i <= NF; i++) if (k[i] == f) print $i }' /proc/net/snmp
}
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }

# flood.py SRC DST DPORT SECONDS STOPFILE: first fragments (MF set,
# offset 0, 1400 bytes of UDP) with ids from a random start; prints the
# number sent.
cat > "$D/flood.py" <<'PY'
import os, random, socket, struct, sys, time
src, dst, dport, secs, stop = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4]), sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
udp = struct.pack("!HHHH", 40000, dport, 8 + 3000, 0) + bytes(1392)
hdr = lambda i: struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), i, 0x2000, 64, 17, 0,
                            socket.inet_aton(src), socket.inet_aton(dst))
ident = random.randrange(65536)
n = 0
end = time.time() + secs
while time.time() < end and not os.path.exists(stop):
    for _ in range(64):
        ident = (ident + 1) & 0xffff
        try:
            s.sendto(hdr(ident) + udp, (dst, 0))
            n += 1
        except OSError:
            pass
print(n, flush=True)
PY
# lan1's tools: udpecho.py BIND PORT (wan: echo every datagram);
# udpask.py DST PORT SPORT SIZE: send SIZE pattern bytes, print "ok" if
# the same bytes come back within 3 s.
cat > "$D/udpecho.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(65535)
    s.sendto(d, a)
PY
# udpprobe.py DST PORT SECONDS STOPFILE: a 100-byte datagram every half
# second, each waiting up to 2 s for its echo; prints "ok N bad M".
cat > "$D/udpprobe.py" <<'PY'
import os, socket, sys, time
dst, port, secs, stop = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
ok = bad = seq = 0
end = time.time() + secs
while time.time() < end and not os.path.exists(stop):
    seq += 1
    data = b"probe %d " % seq + bytes(90)
    s.sendto(data, (dst, port))
    t = time.time()
    try:
        while True:
            d, _ = s.recvfrom(65535)
            if d == data:
                ok += 1
                break
    except socket.timeout:
        bad += 1
    time.sleep(max(0, 0.5 - (time.time() - t)))
print("ok", ok, "bad", bad, flush=True)
PY
cat > "$D/udpask.py" <<'PY'
import socket, sys
dst, port, sport, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
data = bytes((i * 7 + 3) % 251 for i in range(size))
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", sport))
s.settimeout(3)
s.sendto(data, (dst, port))
try:
    d, _ = s.recvfrom(65535)
    print("ok" if d == data else "different %d bytes" % len(d))
except socket.timeout:
    print("timeout")
PY
nsx wan python3 "$D/udpecho.py" $WAN1 5001 &
wait_listen wan udp 5001 $WAN1
nsx wan python3 -c "$RFC_PY" tcpcount $WAN1 6000 > "$D/tcp.sink" 2>&1 &
wait_listen wan tcp 6000 $WAN1
r=$(nsx lan1 python3 "$D/udpask.py" $WAN1 5001 41000 4000)
log "a fragmented 4000-byte datagram before the flood: $r"

slab0=$(slab_kb)
rf0=$(snmp_ip ReasmFails)
rq0=$(snmp_ip ReasmReqds)
f0=$(nctl -j status | jq .flows)
: > "$D/wan.n"
: > "$D/lan2.n"
nsx wan timeout $((FLOOD_S + 30)) python3 "$D/flood.py" $WAN2 $NAT_EXT 7000 "$FLOOD_S" "$D/stop" > "$D/wan.n" 2>&1 &
FLOODERS+=" $!"
nsx lan2 timeout $((FLOOD_S + 30)) python3 "$D/flood.py" $LAN2 $WAN1 9999 "$FLOOD_S" "$D/stop" > "$D/lan2.n" 2>&1 &
FLOODERS+=" $!"
# lan1 during the flood: a TCP transfer, and a datagram every half second.
# The transfer's time limit stretches with NATK_TIME_SCALE: under KASAN
# (check-debug) 8 MB through the flood took more than 70 s.
TCP_BASE=$((FLOOD_S + 50))
TCP_S=$((TCP_BASE * NATK_TIME_SCALE))
nsx lan1 timeout $((TCP_S + 10)) python3 -c "$RFC_PY" tcpsink 0.0.0.0 $WAN1 6000 8000000 $TCP_S > "$D/tcp.out" 2>&1 &
tcp=$!
nsx lan1 timeout $((FLOOD_S + 30)) python3 "$D/udpprobe.py" $WAN1 5001 "$FLOOD_S" "$D/stop" > "$D/probe.out" 2>&1 &
probe=$!
# the NAT namespace's reassembly memory, ten times a second, read by one
# process inside it (a loaded TCG guest takes seconds per ip netns exec)
nsx nat python3 -c '
import os, sys, time
out = open(sys.argv[1], "a", buffering=1)
end = time.time() + float(sys.argv[2])
while time.time() < end:
    for line in open("/proc/net/sockstat"):
        if line.startswith("FRAG:"):
            out.write(line.split()[4] + "\n")
    time.sleep(0.1)
' "$D/mem" "$FLOOD_S"
touch "$D/stop"
for p in $FLOODERS; do wait "$p"; done
FLOODERS=
wait $probe
read -r _ uok _ ubad < "$D/probe.out"
samples=$(grep -c . "$D/mem")
max=$(sort -n "$D/mem" | tail -n 1)
over=$(awk -v h=$((HIGH + 131072)) '$1 > h' "$D/mem" | tr '\n' ' ')
slab1=$(slab_kb)
sent=$(( $(cat "$D/wan.n" 2>/dev/null || echo 0) + $(cat "$D/lan2.n" 2>/dev/null || echo 0) ))
rq=$(( $(snmp_ip ReasmReqds) - rq0 ))
rf=$(( $(snmp_ip ReasmFails) - rf0 ))
log "flood: wan sent $(cat "$D/wan.n"), lan2 $(cat "$D/lan2.n") first fragments in $FLOOD_S s; the NAT namespace saw $rq (IpReasmReqds), refused or dropped $rf (IpReasmFails)"
log "reassembly memory sampled $samples times: max $max bytes (bound $HIGH)"
if [ "$sent" -ge 5000 ] && [ "$rq" -ge $((sent * 8 / 10)) ]; then
	pass frag-flood-sent
else
	fail frag-flood-sent "$sent fragments sent, $rq reached the NAT's reassembly (want >= 5000, >= 80%)"
fi
if [ "$max" -ge $((HIGH / 2)) ]; then
	pass frag-flood-bound-reached
else
	fail frag-flood-bound-reached "reassembly memory reached only $max of $HIGH bytes"
fi
if [ "$samples" -ge $((FLOOD_S * 2)) ] && [ -z "$over" ]; then
	pass frag-flood-memory-bounded
else
	fail frag-flood-memory-bounded "$samples samples; above $HIGH bytes (+128 KiB): ${over:-none}"
fi
if [ "$rf" -ge $((sent / 4)) ]; then
	pass frag-flood-refusals-counted
else
	fail frag-flood-refusals-counted "IpReasmFails +$rf for $sent fragments that never completed"
fi
fl=$(nctl -j flows | jq '[.[] | select(.remote_port == 9999 or .remote_address == "'$WAN2'")] | length')
expect_eq frag-flood-no-flows 0 "$fl" "flows made by the flood (flows before: $f0, now: $(nctl -j status | jq .flows))"
slab_d=$((slab1 - slab0))
log "Slab ${slab0} kB before the flood, ${slab1} kB at its end: +$slab_d kB"
if [ "$slab_d" -lt $SLAB_MAX_KB ]; then
	pass frag-flood-slab-bounded
else
	fail frag-flood-slab-bounded "Slab grew by $slab_d kB (limit $SLAB_MAX_KB kB)"
fi
log "lan1's datagrams during the flood: ${uok:-?} answered, ${ubad:-?} not"
if [ "${uok:-0}" -ge $((FLOOD_S / 2)) ] && [ "${ubad:-1}" -le $(( (uok + ubad) / 10 )) ]; then
	pass frag-flood-udp-during
else
	fail frag-flood-udp-during "$uok of $((uok + ubad)) datagrams answered during the flood"
fi
poll $((TCP_BASE + 10)) sh -c "! kill -0 $tcp 2>/dev/null"
want="8000000 $(nsx lan1 python3 -c "$RFC_PY" md5 8000000)"
expect_eq frag-flood-tcp-during "$want" "$(cat "$D/tcp.out")" "LEN MD5 of lan1's 8 MB transfer as wan received it"

# After: the queues time out, the memory goes, fragments work again.
if poll $((FRAG_TIME + 20)) sh -c "[ \$(ip netns exec nat awk '/^FRAG:/ { print \$5 }' /proc/net/sockstat) -le 65536 ]"; then
	pass frag-flood-memory-released
else
	fail frag-flood-memory-released "reassembly memory still $(frag_mem) bytes $((FRAG_TIME + 20)) s after the flood"
fi
r=$(nsx lan1 python3 "$D/udpask.py" $WAN1 5001 41001 4000)
expect_eq frag-flood-fragmented-after ok "$r" "a 4000-byte datagram (fragmented both ways) echoed after the flood"
dmesg_check frag-flood-kernel-log

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# RFC 7857 section 2.2 / RFC 5508 REQ-6: outbound ICMP errors and outbound
# RSTs do not refresh a mapping.
#  - UDP (timeout 6 s): lan1:40900 sends one datagram to 192.0.2.2:5000,
#    then at once an ICMP port unreachable about that flow (quoting
#    192.0.2.2:5000 -> lan1:40900) every quarter second for 14 s. natk
#    translates them (wan sees them quoting the external address and
#    port), and the flow still goes about 6 s after the datagram, while
#    the errors keep coming;
#  - TCP (transitory timeout 6 s): lan1:40910 connects to 192.0.2.2:5000,
#    aborts with a RST (state rst), then at once sends a RST for the
#    connection every quarter second for 14 s. While the flow lasts they are
#    translated (wan counts RSTs from 192.0.2.1), and the flow still goes
#    about 6 s after the first RST.
# A flow that a packet refreshed would live until 6 s after the last one.
# One python process sends each series, so that no process start (seconds
# under TCG on a busy host) comes between the packet that sets the
# timeout and the ones that must not refresh it.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" norefresh-set-timeouts norefresh-icmp-error-translated \
	norefresh-icmp-error-flow-expires norefresh-rst-state norefresh-rst-matched \
	norefresh-rst-flow-expires norefresh-kernel-log
dmesg_mark
require_natk norefresh-setup
topo_setup || { fail norefresh-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
D=$(mktemp -d)
# Scaled: a debug kernel on a loaded host stalls a guest's shell for more
# than 6 s between the RST and the first reading of the flow.
T=$((6 * NATK_TIME_SCALE))

# SEND_PY udp SPORT DST DPORT SECONDS: one datagram from SPORT to
# DST:DPORT, then an ICMP port unreachable to DST quoting DST:DPORT ->
# this host:SPORT every 0.25 s for SECONDS.
# SEND_PY tcp SPORT DST DPORT SECONDS: connect from SPORT, read a line,
# abort (RST), then a bare RST for the connection every 0.25 s.
# First line: "LO HI", when the datagram or abort left (between, ns,
# date +%s%N's clock); last line: how many errors or RSTs followed.
# shellcheck disable=SC2016
SEND_PY='
import socket, struct, sys, time
def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff
proto, sport, dst, dport, secs = sys.argv[1], int(sys.argv[2]), sys.argv[3], int(sys.argv[4]), float(sys.argv[5])
if proto == "udp":
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    u.bind(("0.0.0.0", sport))
    u.connect((dst, dport))
    src = u.getsockname()[0]
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
    ih = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + 8 + 4, 0x4242, 0, 63, 17, 0,
                     socket.inet_aton(dst), socket.inet_aton(src))
    ih = ih[:10] + struct.pack("!H", csum(ih)) + ih[12:]
    m = struct.pack("!BBHI", 3, 3, 0, 0) + ih + struct.pack("!HHHH", dport, sport, 12, 0)
    pkt = m[:2] + struct.pack("!H", csum(m)) + m[4:]
    lo = time.time_ns()
    u.send(b"x")
    hi = time.time_ns()
else:
    c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    c.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    c.bind(("0.0.0.0", sport))
    c.settimeout(10)
    c.connect((dst, dport))
    src = c.getsockname()[0]
    c.makefile().readline()
    c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_TCP)
    h = struct.pack("!HHIIBBHHH", sport, dport, 1000, 0, 5 << 4, 0x04, 0, 0, 0)
    ph = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(h))
    pkt = h[:16] + struct.pack("!H", csum(ph + h)) + h[18:]
    lo = time.time_ns()
    c.close()
    hi = time.time_ns()
print(lo, hi, flush=True)
n = 0
end = time.time() + secs
while time.time() < end:
    time.sleep(0.25)
    s.sendto(pkt, (dst, 0))
    n += 1
print(n, flush=True)
'

ns=1000000000
# gone_in NAME PROTO PORT LO HI: the packet that set the flow's timeout
# left between LO and HI (ns). The flow of lan1:PORT must be there until
# LO + T s (less 50 ms: a jiffy is 4 ms) and gone within 5 s after HI + T
# (NATK_TIME_SCALE times 5 s on a debug kernel), read repeatedly until then.
# The senders go on 3 s longer than that.
gone_in() {
	local name=$1 proto=$2 port=$3 lo=$4 hi=$5 s e out seen=0 gone=0
	while :; do
		s=$(date +%s%N)
		out=$(nctl -j flows) || { sleep 0.2; continue; }
		e=$(date +%s%N)
		if echo "$out" | jq -e --arg p "$proto" --arg a "$LAN1" --argjson port "$port" \
			'.[] | select(.proto == $p and .internal_address == $a and .internal_port == $port)' > /dev/null; then
			seen=$s
		else
			gone=$e
			break
		fi
		[ "$s" -ge $(( hi + (T + 5 * NATK_TIME_SCALE) * ns )) ] && break
		sleep 0.2
	done
	log "$name: the packet that set the timeout left at 0-$(( (hi - lo) / 1000000 )) ms; flow last seen at $([ "$seen" = 0 ] && echo never || echo "$(( (seen - lo) / 1000000 )) ms"), gone at $([ "$gone" = 0 ] && echo never || echo "$(( (gone - lo) / 1000000 )) ms") (timeout $T s)"
	if [ "$gone" = 0 ]; then
		fail "$name" "the flow of lan1:$port is still there $(( (s - lo) / 1000000 )) ms after the packet that set its timeout ($T s), the packets since did not stop: $(flow_get "$proto" $LAN1 "$port")"
	elif [ "$gone" -lt $(( lo + T * ns - ns / 20 )) ]; then
		fail "$name" "the flow of lan1:$port was gone $(( (gone - lo) / 1000000 )) ms after the packet that set its timeout, before the $T s"
	else
		pass "$name"
	fi
}

# start NAME ARGS...: SEND_PY ARGS in lan1, in the background (output in
# $D/NAME.out); returns once it said when its first packet left
start() {
	local name=$1
	shift
	nsx lan1 python3 -c "$SEND_PY" "$@" > "$D/$name.out" 2>&1 &
	poll 30 grep -q '^[0-9]* [0-9]*$' "$D/$name.out"
}

check norefresh-set-timeouts nctl set timeout udp $T timeout tcp-transitory $T

# --- UDP flow, outbound ICMP errors about it.
nsx wan python3 -c "$RFC_PY" udpsrv $WAN1 5000 "$D/wan.log" &
rfc_wait_file "$D/wan.log" '^#ready'
sniff_start wan "$D/wan.json" 60 || log "sniffer did not start"
tr0=$(stat_of icmp_errors_translated)
start udp udp 40900 $WAN1 5000 $((T + 5 * NATK_TIME_SCALE + 3)) || log "the UDP sender did not start: $(cat "$D/udp.out")"
read -r lo hi < "$D/udp.out"
E=$(flow_field udp $LAN1 40900 external_port)
gone_in norefresh-icmp-error-flow-expires udp 40900 "${lo:-0}" "${hi:-0}"
poll 15 sh -c "[ \$(wc -l < '$D/udp.out') -ge 2 ]"
n=$(stat_delta icmp_errors_translated "$tr0")
m=$(sniff_match "$D/wan.json" ".type == 3 and .code == 3 and .src == \"$NAT_EXT\" and .inner_dst == \"$NAT_EXT\" and .inner_dport == ${E:-0} and .inner_src == \"$WAN1\" and .inner_sport == 5000")
log "ICMP errors: lan1 sent $(sed -n 2p "$D/udp.out"), natk translated $n"
if [ -n "$m" ] && [ "$n" -ge 3 ] 2>/dev/null; then
	pass norefresh-icmp-error-translated
else
	fail norefresh-icmp-error-translated "of $(sed -n 2p "$D/udp.out") errors lan1 sent about its flow (external port '$E'), icmp_errors_translated counted $n; wan saw: $(grep -v '^#' "$D/wan.json" | head -n 3 | tr '\n' ' ')"
fi

# --- TCP flow, aborted, then more RSTs from lan1. wan counts the RSTs
# that reach it from the external address (natk translated them).
peer_server wan tcp 5000 $WAN1
nsx wan nft -f - <<-EOT
	table ip rstwatch {
		counter rsts { }
		chain in {
			type filter hook prerouting priority -300;
			ip saddr $NAT_EXT tcp dport 5000 tcp flags & rst == rst counter name rsts
		}
	}
EOT
start tcp tcp 40910 $WAN1 5000 $((T + 5 * NATK_TIME_SCALE + 3)) || log "the TCP sender did not start: $(cat "$D/tcp.out")"
read -r lo hi < "$D/tcp.out"
if poll 3 flow_state_is tcp $LAN1 40910 rst; then
	pass norefresh-rst-state
else
	fail norefresh-rst-state "lan1:40910 after its RST: $(flow_get tcp $LAN1 40910)"
fi
gone_in norefresh-rst-flow-expires tcp 40910 "${lo:-0}" "${hi:-0}"
poll 15 sh -c "[ \$(wc -l < '$D/tcp.out') -ge 2 ]"
n=$(nsx wan nft list counter ip rstwatch rsts | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }')
log "RSTs: lan1 sent 1 + $(sed -n 2p "$D/tcp.out"), wan got $n from $NAT_EXT"
# The abort's RST and at least 3 of the others.
if [ "${n:-0}" -ge 4 ] 2>/dev/null; then
	pass norefresh-rst-matched
else
	fail norefresh-rst-matched "wan got $n RSTs from $NAT_EXT to $WAN1:5000 of the 1 + $(sed -n 2p "$D/tcp.out") lan1 sent"
fi
dmesg_check norefresh-kernel-log
rm -rf "$D"

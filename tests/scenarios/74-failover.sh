#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# HA pair (issue 17, docs/ha.md): keepalived (VRRP) decides which NAT host
# is master and moves the addresses; natk's flow sync (natkctl sync run)
# keeps the standby's copy of every flow, so that a failover drops no TCP
# connection and a UDP mapping keeps its external port.
#
#   lan1 ---[sw: brl]--- lan0 nat1 ext0 ---[sw: brw]--- wan (192.0.2.2)
#                   \--- lan0 nat2 ext0 ---/
#                        nat1 sync0 ---[sw: brs]--- nat2 sync0
#
# lan1's gateway 10.0.0.1 and the external address 192.0.2.1 are the two
# VIPs of one keepalived vrrp_instance (VRRPv3 adverts on lan0, where each
# host has its own 10.0.0.11 / 10.0.0.12). ext0 has no other IPv4 address,
# so the backup's natk waits ("no address") and holds no flow; its sync
# daemon holds the master's flows and imports them when keepalived gives
# it the VIP (and natk-notify's `sync commit` finds them there).
#
# The master dies as a whole box does: its three cables are cut, every
# process in it is SIGKILLed (keepalived sends no priority-0 advert) and
# its netns is deleted. Through that failover and the failback that
# follows (nat1 comes back, resyncs from nat2, preempts), one 20 MiB
# download runs (paced; slowed to 64 KiB/s from 4 MiB on until the
# failback is over, so that both switches happen while it runs however
# fast the VM is), with an interactive TCP connection (an echo every
# 200 ms) and a UDP probe stream (every 50 ms, from one source port; the
# wan server answers with the address and port it saw). Checked: the
# flows are imported with their external ports, the download carries on
# through nat2 and completes with a matching sha256, the echoes never
# fail, the probes keep one external port, new flows work; the time
# without service (the longest gap between answered probes around each
# switch) is printed ("# failover: N ms without service") and written to
# the results. Then forged sync datagrams (garbage from the lan and the
# wan, real ones captured on the sync link, replayed and tampered with)
# are counted and inject nothing; and the same failover without the sync
# daemons loses the TCP connection (this test can fail).
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan failover-natk-up failover-apply-ignores-sync failover-genkey \
	failover-sync-connected failover-vrrp-master failover-backup-waits \
	failover-traffic-up failover-held-flows failover-auth-clean \
	failover-vrrp-takeover failover-imported failover-notify-commit \
	failover-tcp-survives failover-udp-port-kept failover-service-back \
	failover-new-flows \
	failback-resynced failback-vrrp-takeover failback-imported \
	failback-tcp-survives failback-udp-port-kept failback-service-back \
	failback-chat-survives \
	forged-lan-counted forged-wan-counted forged-captured forged-tampered-counted \
	forged-replay-counted forged-no-flow forged-peer-still-connected \
	syncoff-vrrp-takeover syncoff-tcp-lost \
	failover-kernel-log
dmesg_mark
require_natk failover-setup
D=$CTL_TMP
TS=${NATK_TIME_SCALE:-1}

VIP_LAN=$LAN_GW			# 10.0.0.1, lan1's default gateway
VIP_EXT=$NAT_EXT		# 192.0.2.1, what natk masquerades behind
SYNC_NET=198.51.100		# nat1 .1, nat2 .2 on the sync link
# VRRP advert interval (VRRPv3 takes fractions): the backup takes over
# about 3 * ADVERT + skew after the last advert it heard. 1 s, keepalived's
# default: with 0.3 a backup in a TCG guest on a loaded host took over
# now and then (the master's adverts came late).
ADVERT=1
MIB=1048576
SIZE=$(( 20 * MIB ))		# the download
RATE=$(( 1536 * 1024 ))		# its pace, bytes/s
HOLD_AT=$(( 4 * MIB ))		# from there on 64 KiB/s until NAME.go exists
NOTIFY=$NATK_REPO/packaging/keepalived/natk-notify
RESDIR=
[ "$NATK_RESULTS" != /dev/null ] && RESDIR=$(dirname "$NATK_RESULTS")

have_sync=0
"$NATKCTL" help sync > /dev/null 2>&1 && have_sync=1
SYNC_PID=([1]="" [2]="")	# natkctl sync run of nat1, nat2

# ------------------------------------------------------------ helpers

# ha_log LINE: a measurement, on the console, in the results and in
# ha-failover.txt beside them (check.sh copies it to the kernel's log dir).
ha_log() {
	echo "# $*"
	[ -n "$RESDIR" ] || return 0
	echo "# $*" >> "$NATK_RESULTS"
	echo "$(uname -r) $*" >> "$RESDIR/ha-failover.txt"
}

has_vips() {	# NS: both VIPs are on it
	ip -n "$1" -4 -o addr show dev ext0 2>/dev/null | grep -q " $VIP_EXT/24 " &&
		ip -n "$1" -4 -o addr show dev lan0 2>/dev/null | grep -q " $VIP_LAN/24 "
}
no_vips() {	# NS: neither VIP is on it
	! ip -n "$1" -4 -o addr show 2>/dev/null | grep -q -e " $VIP_EXT/" -e " $VIP_LAN/"
}
natk_state() { "$NATKCTL" -n "$1" -j status 2>/dev/null | jq -r .state; }

# sst N KEY: a key of natkctl -j sync status of natN's daemon
sst() {
	"$NATKCTL" -j sync status socket "$D/nat$1.sock" 2>/dev/null | jq -r ".$2"
}
sync_connected() { [ "$(sst "$1" state)" = connected ]; }
# sst_ge N KEY MIN: that key is at least MIN
sst_ge() {
	local v
	v=$(sst "$1" "$2")
	[ -n "$v" ] && [ "$v" -ge "$3" ] 2>/dev/null
}
nflows() { "$NATKCTL" -n "$1" -j flows 2>/dev/null | jq length; }
# held_is N COUNT: natN's daemon holds COUNT flows of the peer
held_is() { [ "$(sst "$1" flows_held)" = "$2" ]; }
# held_matches N: natN's daemon holds as many flows as the peer's natk has
held_matches() {
	local peer=$(( 3 - $1 )) n
	n=$(nflows "nat$peer") || return 1
	[ -n "$n" ] && [ "$n" -gt 0 ] && held_is "$1" "$n"
}
# fport NS PROTO PORT: external port of lan1's flow from PORT, in NS's natk
fport() {
	"$NATKCTL" -n "$1" -j flows 2>/dev/null | jq -r --arg p "$2" --arg a "$LAN1" --argjson port "$3" \
		'[.[] | select(.proto == $p and .internal_address == $a and .internal_port == $port)][0].external_port // empty'
}
fport_is() { [ "$(fport "$1" "$2" "$3")" = "$4" ]; }
progress() { cat "$D/$1.progress" 2>/dev/null || echo 0; }
progress_ge() { [ "$(progress "$1")" -ge "$2" ]; }

uptime_now() { awk '{ print $1 }' /proc/uptime; }
# gap_ms FILE FROM [TO]: the longest time between two answered probes, the
# later one answered after uptime FROM (and before TO)
gap_ms() {
	awk -v from="$2" -v to="${3:-1e12}" 'NR > 1 && $1 > from && $1 < to { g = $1 - p; if (g > m) m = g }
		{ p = $1 } END { printf "%d\n", m * 1000 }' "$1"
}
# seen FILE [TO]: the distinct "address port" the wan server saw the
# probes answered before uptime TO from
seen() { awk -v to="${2:-1e12}" '$1 < to { print $2, $3 }' "$1" | sort -u | tr '\n' '|'; }
# replies_after FILE UPTIME: probe replies received after that time
replies_after() { awk -v t="$2" '$1 > t { n++ } END { print n + 0 }' "$1"; }
# commits_logged N: successful `sync commit`s natN's natk-notify logged
commits_logged() {
	local n
	n=$(grep -c 'sync commit: ok: committed' "$D/notify$1.log" 2>/dev/null)
	echo "${n:-0}"
}
commits_logged_gt() { [ "$(commits_logged "$1")" -gt "$2" ]; }
masters() { grep -c 'Entering MASTER STATE' "$D/ka$1.log" 2>/dev/null; }

# ------------------------------------------------------------ programs

# UDP echo (wan): answers "ADDR PORT PAYLOAD", the sender as it saw it.
cat > "$D/echo.py" <<'PY'
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
while True:
    d, a = s.recvfrom(2048)
    try:
        s.sendto(("%s %d %s" % (a[0], a[1], d.decode(errors="replace"))).encode(), a)
    except OSError:
        pass
PY
# Probe stream (lan1): a datagram every 50 ms from one source port; each
# reply is written "UPTIME ADDR PORT SEQ" until STOP exists.
cat > "$D/probe.py" <<'PY'
import os, select, socket, sys, time
dst, dport, sport, out, stop = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
period = 0.05
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", sport))
s.setblocking(False)
f = open(out, "w", buffering=1)
clock = lambda: time.clock_gettime(time.CLOCK_BOOTTIME)  # as /proc/uptime
seq, nxt = 0, clock()
while not os.path.exists(stop):
    now = clock()
    if now >= nxt:
        try:
            s.sendto(b"%d" % seq, (dst, dport))
        except OSError:
            pass
        seq += 1
        nxt = max(nxt + period, now)
    if select.select([s], [], [], max(0.0, nxt - clock()))[0]:
        while True:
            try:
                d = s.recv(2048)
            except OSError:
                break
            f.write("%.3f %s\n" % (clock(), d.decode(errors="replace")))
PY
# Paced download, server side (wan): one connection, SIZE bytes of a
# seeded random stream at RATE bytes/s, at 64 KiB/s from HOLD_AT on until
# GO exists; OUT gets "SIZE SHA256" once the client has closed, or the
# error.
cat > "$D/bulk_server.py" <<'PY'
import hashlib, os, random, socket, sys, time
addr, port, size, rate, hold_at, go, out, tmo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), sys.argv[6], sys.argv[7], float(sys.argv[8])
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((addr, port))
ls.listen(1)
c, a = ls.accept()
c.settimeout(tmo)
rnd, h, sent = random.Random(port), hashlib.sha256(), 0
try:
    while sent < size:
        t = time.monotonic()
        b = rnd.randbytes(min(16384, size - sent))
        c.sendall(b)
        h.update(b)
        sent += len(b)
        r = rate if sent < hold_at or os.path.exists(go) else 65536
        time.sleep(max(0.0, len(b) / r - (time.monotonic() - t)))
    c.shutdown(socket.SHUT_WR)
    while c.recv(4096):
        pass
    res = "%d %s" % (sent, h.hexdigest())
except OSError as e:
    res = "error after %d bytes sent: %r" % (sent, e)
open(out, "w").write(res + "\n")
PY
# Paced download, client side (lan1): NAME.progress gets the bytes
# received so far, NAME.out "SIZE SHA256" at EOF, or the error.
cat > "$D/bulk_client.py" <<'PY'
import hashlib, os, socket, sys
dst, port, sport, name, tmo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], float(sys.argv[5])
h, n, last = hashlib.sha256(), 0, 0
try:
    s = socket.create_connection((dst, port), timeout=30, source_address=("", sport))
    s.settimeout(tmo)
    while True:
        b = s.recv(262144)
        if not b:
            break
        h.update(b)
        n += len(b)
        if n - last >= 65536:
            open(name + ".tmp", "w").write(str(n))
            os.rename(name + ".tmp", name + ".progress")
            last = n
    s.close()
    res = "%d %s" % (n, h.hexdigest())
except OSError as e:
    res = "error after %d bytes received: %r" % (n, e)
open(name + ".out", "w").write(res + "\n")
PY
# Interactive TCP (lan1): a line every 200 ms through peer_server's echo,
# each answered within TMO, until STOP exists. OUT: "ok COUNT
# LONGEST-WAIT-MS | FIRST-LINE" or the error.
cat > "$D/chat.py" <<'PY'
import os, socket, sys, time
dst, port, sport, out, stop, tmo = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], float(sys.argv[6])
n, worst, first = 0, 0.0, ""
try:
    s = socket.create_connection((dst, port), timeout=30, source_address=("", sport))
    s.settimeout(tmo)
    f = s.makefile("rb")
    first = f.readline().decode().strip()
    open(out + ".first", "w").write(first + "\n")
    while not os.path.exists(stop):
        t = time.monotonic()
        s.sendall(b"%d\n" % n)
        if f.readline().decode().strip() != str(n):
            raise OSError("wrong or no echo of %d" % n)
        worst = max(worst, time.monotonic() - t)
        n += 1
        time.sleep(0.2)
    res = "ok %d %d | %s" % (n, worst * 1000, first)
except OSError as e:
    res = "error after %d echoes: %r" % (n, e)
open(out, "w").write(res + "\n")
PY
# Raw sender (run in nat1): the IPv4 packets captured in PCAP (Ethernet),
# sent again as they were (replay) or with one byte of the UDP payload
# flipped (tamper). Prints how many.
cat > "$D/resend.py" <<'PY'
import socket, struct, sys
path, mode = sys.argv[1], sys.argv[2]
data = open(path, "rb").read()
magic = struct.unpack("<I", data[:4])[0]
e = "<" if magic in (0xa1b2c3d4, 0xa1b23c4d) else ">"
off, pkts = 24, []
while off + 16 <= len(data):
    incl = struct.unpack(e + "IIII", data[off:off + 16])[2]
    frame = data[off + 16:off + 16 + incl]
    off += 16 + incl
    if len(frame) > 42 and frame[12:14] == b"\x08\x00":
        pkts.append(bytearray(frame[14:]))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
for p in pkts:
    ihl = (p[0] & 15) * 4
    # The capture has the checksum of a veth's offload (not filled in):
    # none instead (0, allowed over IPv4); the message is as it was sent.
    p[ihl + 6:ihl + 8] = b"\0\0"
    if mode == "tamper":
        p[ihl + 8 + 60] ^= 0x5a
    s.sendto(bytes(p), (socket.inet_ntoa(bytes(p[16:20])), 0))
print(len(pkts))
PY

# ------------------------------------------------------------ topology

# nat_conf N: natN's natk.conf: natk's settings and the sync lines
nat_conf() {
	local n=$1 peer=$(( 3 - $1 ))
	cat > "$D/nat$n.conf" <<-EOF
		# natk settings (natkctl apply)
		external ext0
		ports 20000-20999
		# flow sync (natkctl sync run; apply ignores these)
		sync peer $SYNC_NET.$peer
		sync listen $SYNC_NET.$n
		sync key-file $D/sync.key
		sync socket $D/nat$n.sock
	EOF
	cat > "$D/notify$n" <<-EOF
		NATKCTL=$NATKCTL
		SYNC_SOCKET=$D/nat$n.sock
		LOG_FILE=$D/notify$n.log
	EOF
}

# ka_conf N PRIORITY: natN's keepalived.conf (as
# packaging/keepalived/keepalived.conf.example, multicast adverts)
ka_conf() {
	local n=$1 st
	{
		cat <<-EOF
			global_defs {
				router_id nat$n
				vrrp_version 3
				vrrp_garp_master_delay 1
				vrrp_garp_master_repeat 3
			}
			vrrp_instance natk {
				state BACKUP
				interface lan0
				virtual_router_id 74
				priority $2
				advert_int $ADVERT
				preempt_delay 1
				track_interface {
					ext0
				}
				virtual_ipaddress {
					$VIP_EXT/24 dev ext0
					$VIP_LAN/24 dev lan0
				}
		EOF
		for st in master backup fault stop; do
			echo "		notify_$st \"/usr/bin/env NATK_NOTIFY_DEFAULTS=$D/notify$n $NOTIFY $st\""
		done
		echo "	}"
	} > "$D/ka$n.conf"
}

ka_start() {	# N
	rm -f "$D/ka$1.pid" "$D/ka$1-vrrp.pid"
	nsx "nat$1" keepalived -f "$D/ka$1.conf" -p "$D/ka$1.pid" -r "$D/ka$1-vrrp.pid" \
		--vrrp -n -l -D >> "$D/ka$1.log" 2>&1 &
}

sync_start() {	# N
	"$NATKCTL" -n "nat$1" sync run config "$D/nat$1.conf" >> "$D/sync$1.log" 2>&1 &
	SYNC_PID[$1]=$!
	disown "$!"	# (its SIGKILL in box_dies is no news)
}

# nat_host N: (re)create natN, cabled to the three switches, natk applied
nat_host() {
	local n=$1 ns=nat$1
	_ns_base "$ns" || return 1
	nsx "$ns" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n sw -b - <<-EOT || return 1
		link add l-$ns type veth peer name lan0 netns $ns
		link add w-$ns type veth peer name ext0 netns $ns
		link add s-$ns type veth peer name sync0 netns $ns
		link set l-$ns master brl up
		link set w-$ns master brw up
		link set s-$ns master brs up
	EOT
	ip -n "$ns" -b - <<-EOT || return 1
		addr add 10.0.0.1$n/24 dev lan0
		addr add $SYNC_NET.$n/24 dev sync0
		link set lan0 up
		link set ext0 up
		link set sync0 up
	EOT
	if "$NATKCTL" -n "$ns" apply "$D/nat$n.conf" > "$D/apply$n.out" 2>&1; then
		APPLY_OK=1
	else
		APPLY_OK=0
		"$NATKCTL" -n "$ns" set external ext0 > /dev/null &&
			"$NATKCTL" -n "$ns" set ports 20000-20999 > /dev/null
	fi
}

# box_dies N: natN dies as a whole machine: cables cut, every process
# SIGKILLed (keepalived sends no priority-0 advert), netns deleted.
box_dies() {
	local ns=nat$1 pids
	ip -n sw -b - <<-EOT
		link del l-$ns
		link del w-$ns
		link del s-$ns
	EOT
	pids=$(ip netns pids "$ns")
	# shellcheck disable=SC2086
	[ -n "$pids" ] && kill -9 $pids 2>/dev/null
	ip netns del "$ns"
	return 0
}

ha_topo() {
	local ns
	for ns in sw lan1 wan; do _ns_base "$ns" || return 1; done
	ip -n sw -b - <<-EOT || return 1
		link add brl type bridge forward_delay 0 stp_state 0
		link add brw type bridge forward_delay 0 stp_state 0
		link add brs type bridge forward_delay 0 stp_state 0
		link set brl up
		link set brw up
		link set brs up
		link add l-lan1 type veth peer name eth0 netns lan1
		link add w-wan type veth peer name eth0 netns wan
		link set l-lan1 master brl up
		link set w-wan master brw up
	EOT
	ip -n lan1 -b - <<-EOT || return 1
		addr add $LAN1/24 dev eth0
		link set eth0 up
		route add default via $VIP_LAN
	EOT
	# wan reaches the sync link through the VIP (forged datagrams)
	ip -n wan -b - <<-EOT || return 1
		addr add $WAN1/24 dev eth0
		link set eth0 up
		route add $SYNC_NET.0/24 via $VIP_EXT
	EOT
	nat_conf 1 && nat_conf 2 && ka_conf 1 150 && ka_conf 2 100 || return 1
	nat_host 1 && nat_host 2
}

# dump_state: what a failure needs to be understood
dump_state() {
	local n
	for n in 1 2; do
		log "nat$n: natk $(natk_state "nat$n" 2>/dev/null), flows $(nflows "nat$n" 2>/dev/null)," \
			"addrs $(ip -n "nat$n" -4 -o addr show 2>/dev/null | awk '{ print $2 "=" $4 }' | tr '\n' ' ')"
		log "nat$n sync status: $("$NATKCTL" -j sync status socket "$D/nat$n.sock" 2>&1 | tr -d '\n' | cut -c1-600)"
		log "nat$n sync log: $(tail -n 8 "$D/sync$n.log" 2>/dev/null | tr '\n' '|')"
		log "nat$n keepalived: $(grep -h -e STATE -e VIPs "$D/ka$n.log" 2>/dev/null | tail -n 6 | cut -c26- | tr '\n' '|')"
		log "nat$n notify: $(tail -n 4 "$D/notify$n.log" 2>/dev/null | tr '\n' '|')"
	done
}

# rst_diag: who reset or dropped what (a lost TCP connection)
rst_diag() {
	local n
	for n in 1 2; do
		ip netns pids "nat$n" > /dev/null 2>&1 || continue
		log "nat$n: host TCP resets sent: $(nsx "nat$n" nstat -azs TcpOutRsts 2>/dev/null | awk '/TcpOutRsts/ { print $2 }')," \
			"natk: $("$NATKCTL" -n "nat$n" -j stats 2>/dev/null | jq -c 'with_entries(select(.value != 0 and (.key | test("drop|passed"))))')"
		log "nat$n tcp flows: $("$NATKCTL" -n "nat$n" -j flows proto tcp 2>/dev/null | jq -c '[.[] | {internal_port, external_port, state, packets_in, packets_out}]')"
	done
}

# bulk NAME PORT SPORT: the paced download from wan to lan1
bulk() {
	nsx wan python3 "$D/bulk_server.py" $WAN1 "$2" $SIZE $RATE $HOLD_AT "$D/$1.go" \
		"$D/$1.server" $(( 120 * TS )) &
	wait_listen wan tcp "$2" $WAN1
	nsx lan1 python3 "$D/bulk_client.py" $WAN1 "$2" "$3" "$D/$1" $(( 120 * TS )) &
}
# bulk_result NAME: "client's result = server's result"
bulk_result() { echo "$(cat "$D/$1.out" 2>/dev/null) = $(cat "$D/$1.server" 2>/dev/null)"; }
bulk_ok() {
	local c s
	c=$(cat "$D/$1.out" 2>/dev/null)
	s=$(cat "$D/$1.server" 2>/dev/null)
	[ "$c" = "$s" ] && [ "$c" != "${c#"$SIZE "}" ]
}
bulk_done() { [ -s "$D/$1.out" ] && [ -s "$D/$1.server" ]; }
bulk_ended() { [ -s "$D/$1.out" ] || [ -s "$D/$1.server" ]; }
probe() {	# NAME SPORT
	nsx lan1 python3 "$D/probe.py" $WAN1 5001 "$2" "$D/$1.probe" "$D/$1.stop" &
}

# ------------------------------------------------------------ setup

natk_load || { fail failover-natk-up "natk does not load"; exit 1; }
pass failover-natk-up
if ! ha_topo; then
	fail failover-setup "topology setup failed"
	exit 1
fi
if [ "$APPLY_OK" = 1 ] && [ "$(natk_state nat1)" = waiting-address ]; then
	pass failover-apply-ignores-sync
else
	fail failover-apply-ignores-sync "natkctl apply of a natk.conf with sync lines: $(tr '\n' ' ' < "$D/apply1.out"); natk $(natk_state nat1)"
fi
# The key: 64 hex digits, mode 0600.
(umask 077 && "$NATKCTL" sync genkey > "$D/sync.key") 2> "$D/genkey.err"
if grep -Eqx '[0-9a-f]{64}' "$D/sync.key" && [ "$(stat -c %a "$D/sync.key")" = 600 ]; then
	pass failover-genkey
else
	fail failover-genkey "natkctl sync genkey: '$(head -c 100 "$D/sync.key")' $(cat "$D/genkey.err")"
fi

if [ "$have_sync" = 1 ]; then
	sync_start 1
	sync_start 2
fi
# nat1 first, so that it becomes master; nat2 hears it and stays backup.
ka_start 1
poll 20 has_vips nat1
ka_start 2
nsx wan python3 "$D/echo.py" $WAN1 5001 &
wait_listen wan udp 5001 $WAN1
peer_server wan tcp 5000 $WAN1
if [ "$have_sync" = 0 ]; then
	fail failover-sync-connected "this natkctl has no sync command (userctl/sync.c not built in)"
elif poll 20 sync_connected 1 && poll 20 sync_connected 2; then
	pass failover-sync-connected
else
	fail failover-sync-connected "the daemons do not see each other: nat1 $(sst 1 state), nat2 $(sst 2 state)"
	dump_state
fi
poll 10 grep -q 'Entering BACKUP STATE' "$D/ka2.log"
if has_vips nat1 && no_vips nat2; then
	pass failover-vrrp-master
else
	fail failover-vrrp-master "VIPs not on nat1 alone"
	dump_state
fi
if [ "$(natk_state nat1)" = active ] && [ "$(natk_state nat2)" = waiting-address ] &&
	[ "$(nflows nat2)" = 0 ]; then
	pass failover-backup-waits
else
	fail failover-backup-waits "natk: nat1 $(natk_state nat1), nat2 $(natk_state nat2) with $(nflows nat2) flows"
fi

# ------------------------------------------------------------ failover

probe p1 41702
nsx lan1 python3 "$D/chat.py" $WAN1 5000 43100 "$D/chat" "$D/chat.stop" $(( 60 * TS )) &
bulk t1 6001 43001
if poll 60 progress_ge t1 "$HOLD_AT" && poll 10 test -s "$D/chat.first" &&
	poll 5 test -s "$D/p1.probe"; then
	pass failover-traffic-up
else
	fail failover-traffic-up "download at $(progress t1) bytes, chat '$(cat "$D/chat.first" 2>/dev/null)', $(wc -l < "$D/p1.probe" 2>/dev/null) probe replies"
	dump_state
fi
tport=$(fport nat1 tcp 43001)
uport=$(fport nat1 udp 41702)
cport=$(fport nat1 tcp 43100)
log "nat1 maps tcp $LAN1:43001 -> $VIP_EXT:$tport, udp $LAN1:41702 -> $VIP_EXT:$uport, tcp $LAN1:43100 -> $VIP_EXT:$cport"
if [ "$have_sync" = 1 ] && poll 10 held_matches 2; then
	pass failover-held-flows
else
	fail failover-held-flows "nat2's daemon holds $(sst 2 flows_held) flows, nat1's natk has $(nflows nat1)"
fi
expect_eq failover-auth-clean "0 0" "$(sst 2 auth_failures) $(sst 2 replays)" "auth failures and replays on nat2"
log "nat2 sync status before: $("$NATKCTL" -j sync status socket "$D/nat2.sock" 2>&1 | tr -d '\n' | cut -c1-300)"

p_kill=$(progress t1)
c_kill=$(commits_logged 2)
m_kill=$(masters 2)
u_kill=$(uptime_now)
log "nat1 dies at $p_kill bytes of the download (uptime $u_kill; nat2 was master $m_kill times before)"
box_dies 1
if poll 20 has_vips nat2; then
	pass failover-vrrp-takeover
else
	fail failover-vrrp-takeover "nat2 did not take the VIPs"
	dump_state
fi
if poll 10 fport_is nat2 tcp 43001 "$tport" && fport_is nat2 udp 41702 "$uport" &&
	fport_is nat2 tcp 43100 "$cport"; then
	pass failover-imported
else
	fail failover-imported "nat2's natk ($(natk_state nat2)) maps tcp 43001 to '$(fport nat2 tcp 43001)' (want $tport), udp 41702 to '$(fport nat2 udp 41702)' (want $uport), tcp 43100 to '$(fport nat2 tcp 43100)' (want $cport)"
	dump_state
fi
# The download goes on through nat2 (a quarter MiB more than at the kill).
if poll 60 progress_ge t1 $(( p_kill + MIB / 4 )); then
	pass failover-tcp-survives
else
	fail failover-tcp-survives "the download stopped at $(progress t1) bytes (nat1 died at $p_kill): $(bulk_result t1)"
	dump_state
	rst_diag
fi
# natk-notify master ran `natkctl sync commit` (the daemon had imported
# already: those flows are "present").
if poll 30 commits_logged_gt 2 "$c_kill"; then
	pass failover-notify-commit
else
	fail failover-notify-commit "natk-notify's log on nat2: $(tr '\n' '|' < "$D/notify2.log" 2>&1)"
fi
log "nat2 natk-notify: $(tail -n 3 "$D/notify2.log" 2>/dev/null | tr '\n' '|')"
log "nat2 sync log: $(grep -e commit -e active "$D/sync2.log" | tail -n 3 | tr '\n' '|')"
gap1=$(gap_ms "$D/p1.probe" "$u_kill")
after=$(replies_after "$D/p1.probe" "$u_kill")
expect_eq failover-udp-port-kept "$VIP_EXT $uport|" "$(seen "$D/p1.probe")" "the probe stream's source as the wan server saw it, before and after"
if [ "$after" -gt 0 ] && [ "$gap1" -gt 0 ]; then
	pass failover-service-back
	ha_log "failover: $gap1 ms without service (UDP probe every 50 ms; VRRP advert_int $ADVERT s; sync on)"
else
	fail failover-service-back "no probe answered after nat1 died ($after)"
fi
n1=$(ask lan1 tcp $WAN1 5000 "" new | sed -n 1p)
n2=$(ask lan1 udp $WAN1 5001 41999 new | sed -n 1p)
if [ "${n1%% *}" = "$VIP_EXT" ] && [ "${n2%% *}" = "$VIP_EXT" ]; then
	pass failover-new-flows
else
	fail failover-new-flows "a new TCP connection's peer '$n1', a new UDP flow's '$n2'"
fi

# ------------------------------------------------------------ failback

# nat1 comes back: natk and its daemon first; once it holds nat2's table
# (the flows nat2 imported or made while nat1 was away), keepalived, which
# preempts (priority 150 > 100) after preempt_delay.
nat_host 1
[ "$have_sync" = 1 ] && sync_start 1
if [ "$have_sync" = 1 ] && poll 30 sync_connected 1 && poll 30 held_matches 1; then
	pass failback-resynced
	log "nat1's daemon holds $(sst 1 flows_held) flows of nat2 ($(sst 1 resyncs_received) whole tables received)"
else
	fail failback-resynced "nat1's daemon: $(sst 1 state), holds $(sst 1 flows_held) flows, nat2's natk has $(nflows nat2)"
fi
p_back=$(progress t1)
u_back=$(uptime_now)
log "nat1 starts keepalived at $p_back bytes of the download (uptime $u_back)"
ka_start 1
if poll 30 has_vips nat1 && poll 10 no_vips nat2; then
	pass failback-vrrp-takeover
else
	fail failback-vrrp-takeover "VIPs not back on nat1 alone"
	dump_state
fi
if poll 10 fport_is nat1 tcp 43001 "$tport" && fport_is nat1 udp 41702 "$uport" &&
	fport_is nat1 tcp 43100 "$cport"; then
	pass failback-imported
else
	fail failback-imported "nat1's natk maps tcp 43001 to '$(fport nat1 tcp 43001)' (want $tport), udp 41702 to '$(fport nat1 udp 41702)' (want $uport), tcp 43100 to '$(fport nat1 tcp 43100)' (want $cport)"
	dump_state
fi
# Through nat1 again, a quarter MiB, then full speed to the end.
poll 60 progress_ge t1 $(( $(progress t1) + MIB / 4 ))
touch "$D/t1.go"
poll $(( 120 * TS )) bulk_done t1
if bulk_ok t1; then
	pass failback-tcp-survives
else
	fail failback-tcp-survives "the download across failover and failback (nat1 died at $p_kill, came back at $p_back bytes): $(bulk_result t1)"
	dump_state
	rst_diag
fi
touch "$D/p1.stop" "$D/chat.stop"
gap2=$(gap_ms "$D/p1.probe" "$u_back")
expect_eq failback-udp-port-kept "$VIP_EXT $uport|" "$(seen "$D/p1.probe")" "the probe stream's source as the wan server saw it, across failover and failback"
if [ "$(replies_after "$D/p1.probe" "$u_back")" -gt 0 ] && [ "$gap2" -gt 0 ]; then
	pass failback-service-back
	ha_log "failback: $gap2 ms without service (UDP probe every 50 ms; nat1 preempting)"
else
	fail failback-service-back "no probe answered after nat1 came back"
fi
poll $(( 70 * TS )) test -s "$D/chat"
chat=$(cat "$D/chat" 2>/dev/null)
if [ "${chat%% *}" = ok ] && [ "${chat##*| }" = "$VIP_EXT $cport" ]; then
	pass failback-chat-survives
	ha_log "interactive TCP through both: ${chat% |*} (echoes, longest wait in ms); download: $SIZE bytes, sha256 matches"
else
	fail failback-chat-survives "interactive TCP connection: '$chat' (want ok ... | $VIP_EXT $cport)"
fi
log "VRRP: nat2 became master $(masters 2) times, nat1 $(masters 1) times (before it died and after it came back)"

# ------------------------------------------------------------ forgeries

# nat1 master, nat2 backup holding its flows. A real datagram from nat1 is
# captured on nat2's sync link while a flow is made and deleted, then:
# garbage from lan1 and from wan (routed through nat1), the capture
# tampered with, and the capture replayed as it was, from nat1's address.
a0=$(sst 2 auth_failures)
r0=$(sst 2 replays)
ip netns exec nat2 tcpdump -Z root -U -n -s 0 -i sync0 -w "$D/sync.pcap" \
	"udp and src host $SYNC_NET.1 and dst port 7740" 2> "$D/tcpdump.err" &
tcpd=$!
poll 15 grep -q 'listening on' "$D/tcpdump.err"
h0=$(sst 2 flows_held)
# no_45000: nat2's natk has no flow of lan1:45000
no_45000() {
	"$NATKCTL" -n nat2 -j flows | jq -e --arg a "$LAN1" \
		'all(.[]; .internal_address != $a or .internal_port != 45000)' > /dev/null
}
udp_oneshot lan1 45000 $WAN1 5009
poll 10 held_is 2 $(( h0 + 1 ))
seen45000=0
poll 10 eval '! no_45000' && seen45000=1
"$NATKCTL" -n nat1 flows del internal $LAN1:45000 > /dev/null
poll 10 held_is 2 "$h0"
poll 10 no_45000
kill "$tcpd"
wait "$tcpd" 2>/dev/null
log "flow $LAN1:45000 made and deleted on nat1; nat2 held $h0 -> $(( h0 + 1 )) -> $(sst 2 flows_held)"

# garbage NS COUNT: datagrams of random bytes, a message's length, to
# nat2's sync port from NS (routed through nat1)
garbage() {
	nsx "$1" python3 -c '
import os, socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for i in range(int(sys.argv[2])):
    s.sendto(os.urandom(128), (sys.argv[1], 7740))
' "$SYNC_NET.2" "$2"
}
garbage lan1 3
if poll 5 sst_ge 2 auth_failures $(( a0 + 3 )); then
	pass forged-lan-counted
else
	fail forged-lan-counted "auth failures on nat2 went from $a0 to $(sst 2 auth_failures) after 3 datagrams from lan1"
fi
a1=$(sst 2 auth_failures)
garbage wan 3
if poll 5 sst_ge 2 auth_failures $(( a1 + 3 )); then
	pass forged-wan-counted
else
	fail forged-wan-counted "auth failures on nat2 went from $a1 to $(sst 2 auth_failures) after 3 datagrams from wan"
fi

# The capture replayed as it was, from nat1 (its address, a raw socket
# beside its daemon's): among them the flow's creation.
npk=$(nsx nat1 python3 "$D/resend.py" "$D/sync.pcap" replay 2> "$D/resend.err" | tail -n 1)
if [ "${npk:-0}" -gt 0 ] 2>/dev/null; then
	pass forged-captured
else
	npk=0
	fail forged-captured "no datagram of nat1 captured on the sync link: $(tr '\n' ' ' < "$D/tcpdump.err") $(tr '\n' ' ' < "$D/resend.err")"
fi
if [ "$npk" -gt 0 ] && poll 5 sst_ge 2 replays $(( r0 + npk )); then
	pass forged-replay-counted
else
	fail forged-replay-counted "replays on nat2 went from $r0 to $(sst 2 replays) after $npk replayed datagrams"
fi
log "replayed $npk captured datagrams of nat1: replays $r0 -> $(sst 2 replays)"
a2=$(sst 2 auth_failures)
nt=$(nsx nat1 python3 "$D/resend.py" "$D/sync.pcap" tamper 2>> "$D/resend.err" | tail -n 1)
if [ "${nt:-0}" -gt 0 ] 2>/dev/null && poll 5 sst_ge 2 auth_failures $(( a2 + nt )); then
	pass forged-tampered-counted
else
	fail forged-tampered-counted "auth failures on nat2 went from $a2 to $(sst 2 auth_failures) after ${nt:-0} tampered datagrams"
fi
# Nothing injected: the replayed datagrams held the creation of
# lan1:45000, and nat2's natk, which imported the genuine one, does not
# have it again. (Counts before and after cannot tell: nat1 makes and
# ends flows of its own meanwhile.)
poll 1 false
if [ "$seen45000" != 1 ]; then
	fail forged-no-flow "nat2's natk never imported the genuine flow of lan1:45000, so its absence now proves nothing"
elif no_45000; then
	pass forged-no-flow
else
	fail forged-no-flow "nat2's natk has a flow of lan1:45000 again after the replay: $("$NATKCTL" -n nat2 -j flows | jq -c --arg a "$LAN1" '.[] | select(.internal_address == $a and .internal_port == 45000)')"
fi
if sync_connected 2 && sync_connected 1; then
	pass forged-peer-still-connected
else
	fail forged-peer-still-connected "after the forgeries: nat1 $(sst 1 state), nat2 $(sst 2 state)"
fi
log "nat2 sync status after: $("$NATKCTL" -j sync status socket "$D/nat2.sock" 2>&1 | tr -d '\n' | cut -c1-500)"

# ------------------------------------------------------------ sync off

# The same failover without the daemons: the download must be lost.
if [ "$have_sync" = 1 ]; then
	kill "${SYNC_PID[1]}" "${SYNC_PID[2]}" 2>/dev/null
	poll 10 sh -c "! kill -0 ${SYNC_PID[1]} && ! kill -0 ${SYNC_PID[2]}"
fi
"$NATKCTL" -n nat2 flush > /dev/null
probe p3 41703
bulk t3 6003 43003
poll 60 progress_ge t3 "$HOLD_AT"
p_kill=$(progress t3)
u_kill=$(uptime_now)
log "sync off: nat1 dies at $p_kill bytes of the download"
box_dies 1
took=0
if poll 20 has_vips nat2; then
	took=1
	pass syncoff-vrrp-takeover
else
	fail syncoff-vrrp-takeover "nat2 did not take the VIPs"
fi
touch "$D/t3.go"
poll $(( 60 * TS )) bulk_ended t3
poll 3 bulk_done t3
touch "$D/p3.stop"
# Lost, and for the right reason: nat2 took over in the middle of it.
if bulk_ok t3; then
	fail syncoff-tcp-lost "the download survived a failover without sync: $(bulk_result t3); this test cannot tell"
elif [ "$took" = 1 ] && [ "$p_kill" -ge "$HOLD_AT" ]; then
	pass syncoff-tcp-lost
else
	fail syncoff-tcp-lost "no failover in the middle of the download (at $p_kill bytes, nat2 took over: $took): $(bulk_result t3)"
fi
log "sync off: client '$(cat "$D/t3.out" 2>/dev/null)', server '$(cat "$D/t3.server" 2>/dev/null)'"
ha_log "failover without sync: $(gap_ms "$D/p3.probe" "$u_kill") ms without UDP service, external port(s) seen $(seen "$D/p3.probe") TCP download lost: $(cat "$D/t3.server" 2>/dev/null)"

dmesg_check failover-kernel-log

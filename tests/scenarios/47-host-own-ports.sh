#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The NAT host's own connections share the external address with natk: an
# ephemeral port the host's kernel picks may be one natk has mapped for a
# lan host, and the replies to the host must still reach the host.
#  - nat: ip_local_port_range 40000-40009 and natkctl set ports
#    40000-40009; lan1 holds 10 TCP connections and 10 UDP flows to wan
#    (source ports 50000-50009), so that every one of the 10 ports is
#    mapped, for TCP and for UDP (endpoint-independent mapping), and keeps
#    exchanging on them;
#  - the host connects to 192.0.2.3:6000 (TCP, no source port given): the
#    connection works (wan sees one of 40000-40009);
#  - the host asks 192.0.2.3:6001 over a connected UDP socket: the reply
#    reaches it;
#  - lan1's connections and flows keep working, on the same ports;
#  - with filtering endpoint-independent (which flushes: lan1 maps the 10
#    ports again, from other source ports): all of the above again, and
#    the host's UDP reply reaches the host and no lan host (nothing from
#    192.0.2.3 arrives in lan1, no flow of a lan host towards 192.0.2.3).
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" hostports-local-range hostports-set-ports hostports-set-port-hold-off \
	hostports-set-filtering-eif hostports-eif-not-to-lan hostports-kernel-log
for pre in hostports hostports-eif; do
	for c in lan-tcp-all-mapped lan-udp-all-mapped host-tcp host-udp lan-flows-keep-working \
		lan-flows-present; do
		plan "$pre-$c"
	done
done
dmesg_mark
require_natk hostports-setup
D=$(mktemp -d)
trap 'rc=$?; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT
topo_setup || { fail hostports-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
check hostports-local-range nsx nat sysctl -qw net.ipv4.ip_local_port_range="40000 40009"
check hostports-set-ports nctl set ports 40000-40009
# no port hold: the flush when the filtering changes frees the ports at once
check hostports-set-port-hold-off nctl set port-hold off
RANGE="40000 40001 40002 40003 40004 40005 40006 40007 40008 40009"

cat > "$D/host.py" <<'PY'
import socket, sys, time

def cmd_holder(a):
    # holder OUT DST TPORT UPORT FIRST N: N TCP connections to DST:TPORT
    # and N connected UDP sockets to DST:UPORT, from ports FIRST..; log
    # "ports tcp P.. udp P.." (the external ports the servers saw), then
    # every 2 s "round I TCP_OK UDP_OK" (replies from the same external port)
    out = open(a[0], "w", buffering=1)
    dst, tport, uport, first, n = a[1], int(a[2]), int(a[3]), int(a[4]), int(a[5])
    tcp, udp, tp, up = [], [], [], []
    for i in range(n):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("0.0.0.0", first + i))
        s.settimeout(10)
        s.connect((dst, tport))
        f = s.makefile("rb")
        tp.append(int(f.readline().split()[1]))
        tcp.append((s, f))
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", first + i))
        u.connect((dst, uport))
        u.settimeout(2)
        for _ in range(5):
            try:
                u.send(b"hello\n")
                up.append(int(u.recv(100).split()[1]))
                break
            except OSError:
                time.sleep(0.5)
        else:
            up.append(0)
        udp.append(u)
    out.write("ports tcp %s udp %s\n" % (" ".join(map(str, tp)), " ".join(map(str, up))))
    r = 0
    while True:
        time.sleep(2)
        r += 1
        tok = uok = 0
        for s, f in tcp:
            try:
                s.sendall(b"ping %d\n" % r)
                if f.readline().strip() == b"ping %d" % r:
                    tok += 1
            except OSError:
                pass
        for i, u in enumerate(udp):
            try:
                u.send(b"ping\n")
                if int(u.recv(100).split()[1]) == up[i]:
                    uok += 1
            except (OSError, ValueError, IndexError):
                pass
        out.write("round %d %d %d\n" % (r, tok, uok))

def cmd_udpask(a):
    # udpask DST PORT SECONDS: connected UDP socket, ephemeral port; ask
    # every 0.5 s; print "LOCALPORT REPLY" or "LOCALPORT none"
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.connect((a[0], int(a[1])))
    s.settimeout(0.5)
    lp = s.getsockname()[1]
    end = time.time() + float(a[2])
    while time.time() < end:
        try:
            s.send(b"ask\n")
            print("%d %s" % (lp, s.recv(1000).decode().strip()))
            return
        except socket.timeout:
            pass
        except OSError:
            time.sleep(0.5)
    print("%d none" % lp)

globals()["cmd_" + sys.argv[1]](sys.argv[2:])
PY

peer_server wan tcp 5000 $WAN1
peer_server wan udp 5001 $WAN1
peer_server wan tcp 6000 $WAN2
peer_server wan udp 6001 $WAN2
# Count what arrives in lan1 from 192.0.2.3 (lan1 never talks to it).
nsx lan1 nft -f - <<-EOT || { fail hostports-setup "nft in lan1"; exit 1; }
	table ip watch {
		counter from_wan2 { }
		chain pre {
			type filter hook prerouting priority -300;
			ip saddr $WAN2 counter name from_wan2
		}
	}
EOT
from_wan2() { nsx lan1 nft list counter ip watch from_wan2 | grep -o 'packets [0-9]*' | cut -d' ' -f2; }

# holder_start FIRST PREFIX: lan1's 10 TCP connections and 10 UDP flows
# from ports FIRST.., all 10 external ports mapped for both protocols
HOLDER=
holder_start() {
	local first=$1 pre=$2 ts us
	[ -n "$HOLDER" ] && kill_tree "$HOLDER"
	: > "$D/holder.out"
	nsx lan1 python3 "$D/host.py" holder "$D/holder.out" $WAN1 5000 5001 "$first" 10 &
	HOLDER=$!
	if ! rfc_wait_file "$D/holder.out" '^ports' 60; then
		fail "$pre-lan-all-mapped" "lan1's connections did not come up: $(cat "$D/holder.out")"
		exit 1
	fi
	ts=$(sed -n 's/^ports tcp \(.*\) udp .*/\1/p' "$D/holder.out" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
	us=$(sed -n 's/^ports tcp .* udp \(.*\)/\1/p' "$D/holder.out" | tr ' ' '\n' | sort -n | tr '\n' ' ' | sed 's/ $//')
	expect_eq "$pre-lan-tcp-all-mapped" "$RANGE" "$ts" "external ports of lan1's 10 TCP connections"
	expect_eq "$pre-lan-udp-all-mapped" "$RANGE" "$us" "external ports of lan1's 10 UDP flows"
}

# host_checks PREFIX: the host's own TCP connection and UDP exchange with
# 192.0.2.3, on ports natk has mapped for lan1
host_checks() {
	local pre=$1 r p lp du0 w0
	du0=$(stat_of drop_unsolicited)
	w0=$(from_wan2)
	r=$(ask nat tcp $WAN2 6000 | sed -n 1p)
	p=${r##* }
	if [ "${r%% *}" = "$NAT_EXT" ] && [ "$p" -ge 40000 ] 2>/dev/null && [ "$p" -le 40009 ]; then
		pass "$pre-host-tcp"
	else
		fail "$pre-host-tcp" "the NAT host's connection to $WAN2:6000: wan saw '$r' (want $NAT_EXT and a port in 40000-40009); drop_unsolicited +$(stat_delta drop_unsolicited "$du0"), packets from $WAN2 in lan1 +$(( $(from_wan2) - w0 ))"
	fi
	du0=$(stat_of drop_unsolicited)
	w0=$(from_wan2)
	r=$(nsx nat python3 "$D/host.py" udpask $WAN2 6001 5)
	lp=${r%% *}
	if [ "$r" = "$lp $NAT_EXT $lp" ] && [ "$lp" -ge 40000 ] 2>/dev/null && [ "$lp" -le 40009 ]; then
		pass "$pre-host-udp"
	else
		fail "$pre-host-udp" "the NAT host's UDP exchange with $WAN2:6001 (local port, reply): '$r'; drop_unsolicited +$(stat_delta drop_unsolicited "$du0"), packets from $WAN2 in lan1 +$(( $(from_wan2) - w0 ))"
	fi
}

# lan_checks PREFIX FIRST: lan1's connections and flows still work, on
# their ports
lan_checks() {
	local pre=$1 first=$2 r0 nt
	r0=$(sed -n 's/^round \([0-9]*\) .*/\1/p' "$D/holder.out" | tail -n1)
	if poll 20 sh -c "awk '\$1 == \"round\" && \$2 > ${r0:-0} && \$3 == 10 && \$4 == 10 { ok = 1 } END { exit !ok }' '$D/holder.out'"; then
		pass "$pre-lan-flows-keep-working"
	else
		fail "$pre-lan-flows-keep-working" "lan1's rounds (round, TCP ok, UDP ok): $(grep '^round' "$D/holder.out" | tail -n 4 | tr '\n' ' ')"
	fi
	nt=$(nctl -j flows | jq --arg l "$LAN1" --arg w "$WAN1" --argjson f "$first" \
		'[.[] | select(.internal_address == $l and .internal_port >= $f and .internal_port < $f + 10 and .remote_address == $w)] | length')
	expect_eq "$pre-lan-flows-present" 20 "$nt" "lan1's flows to $WAN1 (10 TCP, 10 UDP)"
}

# --- default filtering (address-port-dependent)
holder_start 50000 hostports
host_checks hostports
lan_checks hostports 50000

# --- endpoint-independent filtering: a reply to the host must not be
# taken for an unsolicited packet to lan1's mapping. (Changing the
# filtering flushes the flows: lan1 opens new ones, from other ports.)
kill_tree "$HOLDER"
HOLDER=
check hostports-set-filtering-eif nctl set filtering endpoint-independent
holder_start 50010 hostports-eif
w0=$(from_wan2)
host_checks hostports-eif
stray=$(nctl -j flows | jq -c --arg w "$WAN2" '[.[] | select(.remote_address == $w and (.internal_address | startswith("10.0.0.")))]')
n=$(( $(from_wan2) - w0 ))
if [ "$n" = 0 ] && [ "$(echo "$stray" | jq length)" = 0 ]; then
	pass hostports-eif-not-to-lan
else
	fail hostports-eif-not-to-lan "$n packets from $WAN2 (which only the host talked to) reached lan1; lan flows towards $WAN2: $stray"
fi
lan_checks hostports-eif 50010
dmesg_check hostports-kernel-log

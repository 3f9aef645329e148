#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Several external addresses with paired pooling (issue 18, item 1; RFC
# 4787 REQ-2), checked as the administrator of a NAT host sees it:
#  - a list naming an address the interface does not have is refused,
#    naming it, and changes nothing;
#  - with the primary alone (and no per-host limit) status counts no hosts
#    (natk keeps no host objects); two hosts with flows from then keep the
#    primary for their new mappings once a second address is listed;
#  - a real STUN client (coturn's turnutils_natdiscovery against a
#    turnserver on the wan side) from several local ports of one internal
#    host, with other hosts already paired, always sees one external
#    address, the one natkctl -j flows shows for that host;
#  - two addresses with 10 ports each carry 32 concurrent flows (4 hosts,
#    4 mappings each, each towards two ports of one server), spread 2
#    hosts per address, each host on one address; the same load with the
#    mode back at primary cannot (drop_no_port, and the address's
#    exhaustion count in status);
#  - status shows, per address, the hosts and the ports in use per
#    protocol;
#  - a forward that names the second address works there (from the wan
#    side, and hairpinned from a lan host) and only there; a forward
#    without an address works on the primary;
#  - an address deleted from the interface mid-run ends its flows alone
#    (reason flush on natkctl monitor): a TCP connection through the other
#    address goes on and keeps its flow, the deleted address's host moves
#    to the other address;
#  - mode all picks up an address added to the interface and drops one
#    deleted from it.
# Internal hosts: lan1 holds 10.0.0.2 and 10.0.0.4 (and 10.0.0.6 later),
# lan2 10.0.0.3 and 10.0.0.5; each client binds its source address.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan addr-natk-up addr-default-primary addr-list-refused addr-list-refused-unchanged \
	addr-primary-hosts-uncounted addr-set-list addr-status-list \
	addr-list-hosts-keep-address addr-list-hosts-counted addr-list-other-if addr-list-other-if-unchanged \
	addr-natdiscovery-ran addr-natdiscovery-one-address \
	addr-natdiscovery-flows-agree addr-natdiscovery-eim addr-set-ports addr-load-replies \
	addr-load-flows addr-load-no-drop addr-load-both-used addr-load-paired \
	addr-pool-balanced addr-tcp-up addr-status-ports addr-text-status \
	addr-forward-named-add addr-forward-named-listed addr-forward-named-wan \
	addr-forward-named-not-primary addr-forward-default-add addr-forward-default-primary \
	addr-forward-default-not-second addr-hairpin-named-forward addr-monitor-subscribed \
	addr-del-pool addr-del-flows-gone addr-del-others-kept addr-del-tcp-works \
	addr-del-tcp-flow-kept addr-del-events-flush addr-del-host-moves addr-all-set \
	addr-all-pool addr-all-picks-up addr-all-new-host addr-all-drops-removed \
	addr-all-flows-gone addr-primary-set addr-primary-cannot-carry \
	addr-primary-exhausted addr-text-status-exhausted addr-kernel-log
dmesg_mark
require_natk addr-setup
D=$CTL_TMP
EXT2=192.0.2.11		# the second external address
EXT3=192.0.2.12		# added while the mode is all
LAN3=10.0.0.4		# on lan1
LAN4=10.0.0.5		# on lan2
LAN5=10.0.0.6		# on lan1, a host that comes late
topo_setup || { fail addr-setup "topology setup failed"; exit 1; }
if ! { ip -n nat addr add $EXT2/24 dev wan0 && ip -n lan1 addr add $LAN3/24 dev eth0 &&
	ip -n lan1 addr add $LAN5/24 dev eth0 && ip -n lan2 addr add $LAN4/24 dev eth0; }; then
	fail addr-setup "could not add the addresses"
	exit 1
fi
poll 10 nsx wan ping -c1 -W1 $EXT2 || log "wan cannot reach $EXT2"
check addr-natk-up natk_up || exit 1
# Freed ports at once (flush, then the same load again); flows that stay
# for the whole scenario under TCG.
nctl set port-hold off > /dev/null || log "set port-hold off failed"
nctl set timeout udp 1200 > /dev/null || log "set timeout udp failed"
nctl set timeout icmp 1200 > /dev/null || log "set timeout icmp failed"

# part NAME: a marker with the seconds spent so far, for slow runs
part() { log "---- $* (${SECONDS}s)"; }
host_ns() { # the netns of an internal host
	case $1 in "$LAN1" | "$LAN3" | "$LAN5") echo lan1 ;; *) echo lan2 ;; esac
}
status_j() { nctl -j status; }
# pool_addrs: the pool's addresses, sorted, comma-separated
pool_addrs() { nctl -j status | jq -r '[.addresses.pool[].address] | sort | join(",")'; }
pool_is() { [ "$(pool_addrs)" = "$1" ]; }
# pool_field ADDR JQ: a field of that address's pool entry
pool_field() {
	nctl -j status | jq -r --arg a "$1" ".addresses.pool[] | select(.address == \$a) | $2"
}
# on_addr ADDR: how many flows use external address ADDR
on_addr() { nctl -j flows | jq --arg a "$1" '[.[] | select(.external_address == $a)] | length'; }
none_on() { [ "$(on_addr "$1")" = 0 ]; }
# mon_has JQ-EXPR: some line natkctl -j monitor wrote matches
mon_has() { jq -e -s "any(.[]; $1)" "$D/mon" > /dev/null 2>&1; }
# host_ext HOST: the external addresses of HOST's flows, sorted, comma-separated
host_ext() {
	nctl -j flows | jq -r --arg h "$1" '[.[] | select(.internal_address == $h) | .external_address] | unique | join(",")'
}

# The UDP tool: "ask SRC SPORT DST DPORT" prints the first reply (the
# peer_server's "ADDR PORT": the client as the server saw it) or "none";
# "load DST DPORT,DPORT SRC:SPORT..." sends from each source to each port,
# in that order, resends what got no reply (3 rounds, 3.5 s), and
# prints "SRC SPORT DPORT REPLY" for each.
ADDR_PY='
import select, socket, sys, time
def sock(a, p):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((a, int(p)))
    return s
if sys.argv[1] == "ask":
    s = sock(sys.argv[2], sys.argv[3])
    s.settimeout(1.5)
    for _ in range(3):
        s.sendto(b"hello", (sys.argv[4], int(sys.argv[5])))
        try:
            print(s.recv(1000).decode().split("\n")[0])
            sys.exit(0)
        except socket.timeout:
            pass
    print("none")
    sys.exit(0)
dst, dports = sys.argv[2], [int(x) for x in sys.argv[3].split(",")]
socks = []
for spec in sys.argv[4:]:
    a, p = spec.split(":")
    socks.append((a, int(p), sock(a, p)))
want = len(socks) * len(dports)
got = {}
for rnd in range(3):
    for a, p, s in socks:
        for d in dports:
            if (a, p, d) not in got:
                s.sendto(b"load", (dst, d))
    end = time.time() + (1.5 if rnd == 0 else 1.0)
    while len(got) < want and time.time() < end:
        r, _, _ = select.select([x[2] for x in socks], [], [], max(0.0, end - time.time()))
        for s in r:
            data, src = s.recvfrom(1000)
            a, p = s.getsockname()
            got[(a, p, src[1])] = data.decode().split("\n")[0]
    if len(got) == want:
        break
for a, p, s in socks:
    for d in dports:
        print(a, p, d, got.get((a, p, d), "none"))
'
# uask HOST SPORT DST DPORT: the reply to one datagram from HOST:SPORT
uask() { nsx "$(host_ns "$1")" python3 -c "$ADDR_PY" ask "$@"; }
# load FILE: 4 mappings on each of the 4 hosts, each towards $WAN1:5000
# and :5001 (32 flows); lan1's hosts first. Replies to FILE.
load() {
	local h p lan1=() lan2=()
	for h in $LAN1 $LAN3; do for p in 42000 42001 42002 42003; do lan1+=("$h:$p"); done; done
	for h in $LAN2 $LAN4; do for p in 42000 42001 42002 42003; do lan2+=("$h:$p"); done; done
	{
		nsx lan1 python3 -c "$ADDR_PY" load $WAN1 5000,5001 "${lan1[@]}"
		nsx lan2 python3 -c "$ADDR_PY" load $WAN1 5000,5001 "${lan2[@]}"
	} > "$1"
}
# load_flows: the load's flows in the table
load_flows() {
	nctl -j flows | jq '[.[] | select(.proto == "udp" and .internal_port >= 42000 and .internal_port <= 42003 and .remote_address == "'$WAN1'")] | length'
}

peer_server wan udp 5000 $WAN1
peer_server wan udp 5001 $WAN1
peer_server wan tcp 5002 $WAN1

# ------------------------------------------------------------ the list
part the list
json_expect addr-default-primary "$(status_j)" \
	'.addresses.mode == "primary" and ([.addresses.pool[].address] == ["'$NAT_EXT'"])' \
	"natkctl -j status before any addresses setting"
run_ctl nat set addresses $NAT_EXT,192.0.2.99
if [ "$CTL_RC" -ne 0 ] && printf '%s\n' "$CTL_ERR" | grep -q '192\.0\.2\.99' &&
	printf '%s\n' "$CTL_ERR" | grep -q '^natkctl: '; then
	pass addr-list-refused
else
	fail addr-list-refused "set addresses $NAT_EXT,192.0.2.99 (not on wan0): exit $CTL_RC, stderr '$CTL_ERR' (want non-zero and a message naming 192.0.2.99)"
fi
json_expect addr-list-refused-unchanged "$(status_j)" \
	'.addresses.mode == "primary" and ([.addresses.pool[].address] == ["'$NAT_EXT'"])' \
	"status after the refused list"
# Two hosts with flows on the primary alone (natk keeps no host objects
# then: status counts none), then the second address: each keeps its
# address for its new mappings (both were paired with the primary when it
# came), where the fewest hosts would put the second on the new one.
r1=$(uask $LAN1 41500 $WAN1 5000)
r2=$(uask $LAN2 41500 $WAN1 5000)
log "before the list: $LAN1 seen as '$r1', $LAN2 as '$r2'"
json_expect addr-primary-hosts-uncounted "$(status_j)" \
	'[.addresses.pool[] | has("hosts")] == [false]' \
	"status with the primary alone and no per-host limit (no host objects)"
expect_ok addr-set-list nat set external wan0 addresses $NAT_EXT,$EXT2
json_expect addr-status-list "$(status_j)" \
	'.addresses.mode == "list" and (.addresses.list | join(",")) == "'$NAT_EXT,$EXT2'" and ([.addresses.pool[].address] | sort) == ["'$NAT_EXT'", "'$EXT2'"] and .external_address == "'$NAT_EXT'"' \
	"natkctl -j status with two addresses listed"
r1=$(uask $LAN1 41501 $WAN1 5000)
r2=$(uask $LAN2 41501 $WAN1 5000)
expect_eq addr-list-hosts-keep-address "$NAT_EXT $NAT_EXT" "${r1%% *} ${r2%% *}" \
	"external address of new mappings of $LAN1 and $LAN2, whose flows predate the second address"
json_expect addr-list-hosts-counted "$(status_j)" \
	'[.addresses.pool[] | {(.address): .hosts}] | add == {"'$NAT_EXT'": 2, "'$EXT2'": 0}' \
	"pool hosts once two addresses are listed ($LAN1 and $LAN2 on the primary)"
# The list stays until changed: moving to an interface without those
# addresses is refused, and the error names the setting in the way.
ip -n nat link add ext9 type dummy && ip -n nat addr add 203.0.113.9/24 dev ext9 &&
	ip -n nat link set ext9 up || log "could not make dummy ext9"
EXPECT_ERR_RC=2 expect_err addr-list-other-if "addresses primary" nat set external ext9
json_expect addr-list-other-if-unchanged "$(status_j)" \
	'.external_interface == "wan0" and .addresses.mode == "list"' \
	"status after the refused move to ext9"
ip -n nat link del ext9

# ------------------------------------------------------------ a STUN client
part a STUN client
# Three hosts paired first (a random choice per mapping would then show
# both addresses within a few of lan1's ports), then lan1's 10.0.0.2 asks
# a turnserver on the wan side (RFC 5780: both wan addresses) from 10
# local ports.
for h in $LAN2 $LAN3 $LAN4; do uask $h 41000 $WAN1 5000 > /dev/null; done
cat > "$D/turn.conf" <<-EOT
	listening-ip=$WAN1
	listening-ip=$WAN2
	listening-port=3478
	no-tls
	no-dtls
	no-tcp
	no-cli
	no-auth
	stun-only
	no-software-attribute
	userdb=$D/turndb
	log-file=$D/turn.log
	simple-log
	no-stdout-log
	pidfile=$D/turn.pid
EOT
nsx wan turnserver -c "$D/turn.conf" > "$D/turn.out" 2>&1 &
{ wait_listen wan udp 3478 $WAN1 && wait_listen wan udp 3478 $WAN2; } ||
	log "turnserver is not listening: $(tail -n 5 "$D/turn.out" "$D/turn.log" 2>&1 | tr '\n' '|')"
: > "$D/nd.txt"
nruns=0 eim=0
for p in $(seq 40100 40109); do
	nsx lan1 timeout 20 turnutils_natdiscovery -m -L $LAN1 -l "$p" $WAN1 > "$D/nd-$p.txt" 2>&1
	a=$(sed -n 's/.*UDP reflexive addr: *\([0-9.]*\):[0-9]*.*/\1/p' "$D/nd-$p.txt" | sort -u | tr '\n' ' ')
	log "natdiscovery from $LAN1:$p: reflexive address(es) '$a'"
	[ -n "$a" ] && nruns=$((nruns + 1))
	grep -q 'NAT with Endpoint Independent Mapping' "$D/nd-$p.txt" && eim=$((eim + 1))
	echo "$p $a" >> "$D/nd.txt"
done
if [ "$nruns" = 10 ]; then pass addr-natdiscovery-ran; else
	fail addr-natdiscovery-ran "$nruns of 10 turnutils_natdiscovery runs saw their reflexive address; the last said: $(tail -n 12 "$D/nd-40109.txt" | tr '\n' '|')"
fi
nd=$(awk '{ for (i = 2; i <= NF; i++) print $i }' "$D/nd.txt" | sort -u | tr '\n' ' ')
case $nd in
"$NAT_EXT " | "$EXT2 ") pass addr-natdiscovery-one-address ;;
*) fail addr-natdiscovery-one-address "turnutils_natdiscovery from $LAN1's ports 40100-40109 saw external addresses '$nd' (want one, of $NAT_EXT and $EXT2): $(tr '\n' ';' < "$D/nd.txt")" ;;
esac
fx=$(host_ext $LAN1)
expect_eq addr-natdiscovery-flows-agree "${nd% }" "$fx" "external addresses of $LAN1's flows in natkctl -j flows, against what natdiscovery saw"
expect_eq addr-natdiscovery-eim 10 "$eim" "runs saying 'NAT with Endpoint Independent Mapping'"
nctl flush > /dev/null || log "flush failed"

# ------------------------------------------------------------ 32 flows, 20 ports
part 32 flows, 20 ports
expect_ok addr-set-ports nat set ports 20000-20009
st0=$(stats_json)
load "$D/load1.txt"
n=$(awk '$4 != "none"' "$D/load1.txt" | wc -l)
bad=$(awk '$4 != "none" && $4 != "'$NAT_EXT'" && $4 != "'$EXT2'"' "$D/load1.txt" | tr '\n' ';')
if [ "$n" = 32 ] && [ -z "$bad" ]; then pass addr-load-replies; else
	fail addr-load-replies "$n of 32 datagrams answered (seen from: $(awk '{ print $4 }' "$D/load1.txt" | sort | uniq -c | tr '\n' ' ')); wrong: $bad"
fi
expect_eq addr-load-flows 32 "$(load_flows)" "the load's flows in natkctl -j flows (2 addresses x 10 ports)"
st1=$(stats_json)
expect_eq addr-load-no-drop 0 "$(stat_delta "$st0" "$st1" drop_no_port)" "drop_no_port during the load"
used=$(nctl -j flows | jq -r '[.[] | select(.proto == "udp" and .internal_port >= 42000 and .internal_port <= 42003) | .external_address] | unique | join(",")')
expect_eq addr-load-both-used "$NAT_EXT,$EXT2" "$used" "external addresses the load's flows use"
# Each host on one address, in the table and as the server saw it.
bad=''
declare -A PAIR=()
for h in $LAN1 $LAN2 $LAN3 $LAN4; do
	fx=$(host_ext "$h")
	sx=$(awk -v h="$h" '$1 == h && $4 != "none" { print $4 }' "$D/load1.txt" | sort -u | tr '\n' ',')
	log "$h: flows use '$fx', the server saw '${sx%,}'"
	PAIR[$h]=$fx
	case $fx in *,* | "") bad+="$h: flows on '$fx'; " ;; esac
	[ "${sx%,}" = "$fx" ] || bad+="$h: server saw '${sx%,}', flows on '$fx'; "
done
if [ -z "$bad" ]; then pass addr-load-paired; else fail addr-load-paired "$bad"; fi
json_expect addr-pool-balanced "$(status_j)" \
	'[.addresses.pool[] | .hosts] == [2, 2]' "pool hosts (4 hosts on 2 addresses)"

# ------------------------------------------------------------ tcp, icmp, status
part tcp, icmp, status
# HA: a host on the primary address, HB: one on the second.
HA='' HB=''
for h in $LAN1 $LAN3 $LAN2 $LAN4; do
	[ "${PAIR[$h]}" = "$NAT_EXT" ] && [ -z "$HA" ] && HA=$h
	[ "${PAIR[$h]}" = "$EXT2" ] && [ -z "$HB" ] && HB=$h
done
HA=${HA:-$LAN1} HB=${HB:-$LAN3}
log "HA $HA (on $NAT_EXT), HB $HB (on $EXT2)"
# A long-lived connection from HA that the scenario writes into: socat's
# stdin is a fifo (no /dev/fd in the VM) that a sleep holds open; killing
# the sleep ends socat's input. (Not a descriptor of this shell: every
# subshell would hold it open too.)
mkfifo "$D/tcp.in"
nsx "$(host_ns "$HA")" socat -t 30 - TCP:$WAN1:5002,bind="$HA":41800,reuseaddr < "$D/tcp.in" > "$D/tcp.out" 2>&1 &
sleep 600 > "$D/tcp.in" &
keeper=$!
hold_tcp "$(host_ns $HB)" $WAN1 5002 41801 ",bind=$HB" > /dev/null
nsx "$(host_ns $HA)" ping -c1 -W2 -I $HA $WAN1 > /dev/null || log "ping from $HA failed"
nsx "$(host_ns $HB)" ping -c1 -W2 -I $HB $WAN1 > /dev/null || log "ping from $HB failed"
if poll 10 grep -q "^$NAT_EXT [0-9]" "$D/tcp.out"; then pass addr-tcp-up; else
	fail addr-tcp-up "TCP from $HA:41800 to $WAN1:5002: the server's first line '$(head -n 1 "$D/tcp.out")' (want $NAT_EXT and a port)"
fi
poll 5 flow_present tcp $HB 41801 || log "no TCP flow of $HB:41801"
json_expect addr-status-ports "$(status_j)" \
	'[.addresses.pool[] | {ports, exhausted}] == [range(2) | {ports: {tcp: 1, udp: 8, icmp: 1}, exhausted: {tcp: 0, udp: 0, icmp: 0}}]' \
	"pool ports in use per protocol (8 UDP mappings, 1 TCP connection, 1 ping on each address)"
txt=$(nctl status)
if printf '%s\n' "$txt" | grep -qx "  addresses: list $NAT_EXT, $EXT2" &&
	printf '%s\n' "$txt" | grep -qx " *$NAT_EXT: 2 hosts, ports tcp 1 udp 8 icmp 1" &&
	printf '%s\n' "$txt" | grep -qx " *$EXT2: 2 hosts, ports tcp 1 udp 8 icmp 1"; then
	pass addr-text-status
else
	fail addr-text-status "natkctl status: $(printf '%s' "$txt" | tr '\n' '|')"
fi

# ------------------------------------------------------------ forwards
part forwards
ip netns exec nat "$NATKCTL" -j monitor > "$D/mon" 2> "$D/mon.err" &
peer_server lan1 udp 7001
peer_server lan2 tcp 80 "" lan2-server
expect_ok addr-forward-named-add nat forward add udp 7000 $LAN1:7001 address $EXT2
json_expect addr-forward-named-listed "$(nctl -j forward list)" \
	'any(.[]; .proto == "udp" and .external_address == "'$EXT2'" and .external_port == 7000 and .internal_address == "'$LAN1'")'
# The monitor has no "subscribed" signal: forward flows until it shows one.
sub=0
for p in $(seq 41610 41640); do
	udp_oneshot wan "$p" $EXT2 7000
	if poll 2 mon_has '.event == "new"'; then sub=1; break; fi
done
if [ $sub = 1 ]; then pass addr-monitor-subscribed; else
	fail addr-monitor-subscribed "no event on natkctl monitor: $(cat "$D/mon.err")"
fi
r=$(ask wan udp $EXT2 7000 41600 | sed -n 1p)
expect_eq addr-forward-named-wan "$WAN1 41600" "$r" "lan1's server through forward udp $EXT2:7000 saw"
r=$(ask wan udp $NAT_EXT 7000 41601 2> /dev/null | sed -n 1p)
expect_eq addr-forward-named-not-primary "" "$r" "an answer through $NAT_EXT:7000 (the forward names $EXT2)"
expect_ok addr-forward-default-add nat forward add tcp 8080 $LAN2:80
r=$(ask wan tcp $NAT_EXT 8080 41602 2> /dev/null | sed -n 1p)
expect_eq addr-forward-default-primary lan2-server "$r" "answer through forward tcp 8080 on $NAT_EXT"
r=$(ask wan tcp $EXT2 8080 41603 2> /dev/null | sed -n 1p)
expect_eq addr-forward-default-not-second "" "$r" "answer through $EXT2:8080 (the forward has no address: the primary's)"
# Hairpin: lan2's 10.0.0.3 to the second address's forward; lan1's
# server must see it as its paired address and external port.
r=$(ask lan2 udp $EXT2 7000 41700 | sed -n 1p)
f=$(flow_get udp $LAN2 41700 | jq -r 'select(.remote_address == "'$EXT2'") | "\(.external_address) \(.external_port)"' | sed -n 1p)
if [ -n "$r" ] && [ "$r" = "$f" ] && [ "${r%% *}" = "${PAIR[$LAN2]}" ]; then
	pass addr-hairpin-named-forward
else
	fail addr-hairpin-named-forward "lan1 saw $LAN2:41700 (via $EXT2:7000) as '$r'; want its flow's '$f' on its paired address ${PAIR[$LAN2]}"
fi

# ------------------------------------------------------------ an address goes
part an address goes
# What stays: the flows on the primary, but for TCP ones that closed and
# the hairpin flow towards the second address.
keyq='.[] | select(.external_address == $e and .remote_address != "'$EXT2'" and (.proto != "tcp" or .state == "established")) | "\(.proto) \(.internal_address):\(.internal_port) \(.external_port) \(.remote_address):\(.remote_port)"'
nctl -j flows | jq -r --arg e $NAT_EXT "$keyq" | sort > "$D/keep.txt"
nctl -j flows | jq -r --arg e $EXT2 "$keyq" | sort > "$D/gone.txt"
ngone=$(on_addr $EXT2)
tcp_port=$(flow_field tcp $HA 41800 external_port)
log "before the deletion: $(wc -l < "$D/keep.txt") flows to keep, $ngone on $EXT2"
mark=$(wc -l < "$D/mon")
ip -n nat addr del $EXT2/24 dev wan0
# A listed address that goes is left out (status: missing) until it comes back.
missing_is() { [ "$(nctl -j status | jq -c '[.addresses.pool[].address, .addresses.missing]')" = "$1" ]; }
if poll 10 missing_is "[\"$NAT_EXT\",[\"$EXT2\"]]"; then pass addr-del-pool; else
	fail addr-del-pool "pool and missing after ip addr del $EXT2: $(nctl -j status | jq -c '.addresses')"
fi
if poll 10 none_on $EXT2; then
	pass addr-del-flows-gone
else
	fail addr-del-flows-gone "flows on $EXT2 after its deletion: $(nctl -j flows | jq -c '[.[] | select(.external_address == "'$EXT2'")] | .[0:3]')"
fi
nctl -j flows | jq -r --arg e $NAT_EXT "$keyq" | sort > "$D/kept.txt"
lost=$(comm -23 "$D/keep.txt" "$D/kept.txt" | tr '\n' ';')
if [ "$(wc -l < "$D/keep.txt")" -ge 18 ] && [ -z "$lost" ]; then
	pass addr-del-others-kept
else
	fail addr-del-others-kept "$(wc -l < "$D/keep.txt") flows on $NAT_EXT before (want 18 or more); gone: ${lost:0:600}"
fi
echo after-delete > "$D/tcp.in"
if poll 10 grep -q after-delete "$D/tcp.out"; then pass addr-del-tcp-works; else
	fail addr-del-tcp-works "no echo on the TCP connection $HA:41800 -> $WAN1:5002 after the deletion: $(tr '\n' '|' < "$D/tcp.out")"
fi
f=$(flow_get tcp $HA 41800 | jq -r '"\(.external_address) \(.external_port) \(.state)"' | sed -n 1p)
expect_eq addr-del-tcp-flow-kept "$NAT_EXT $tcp_port established" "$f" "the TCP flow of $HA:41800 (address, port, state)"
# natkctl monitor: a flush for each flow on the deleted address, none for
# the others.
evq='select(.event == "destroy") | "\(.reason) \(.external_address) \(.proto) \(.internal_address):\(.internal_port) \(.external_port) \(.remote_address):\(.remote_port)"'
# destroys_since: the destroy events since the mark, one line each
destroys_since() { tail -n +$((mark + 1)) "$D/mon" | jq -r "$evq" 2> /dev/null; }
flushes_reach() { [ "$(destroys_since | grep -c "^flush $EXT2 ")" -ge "$1" ]; }
poll 10 flushes_reach "$ngone"
destroys_since > "$D/ev.txt"
nflush=$(grep -c "^flush $EXT2 " "$D/ev.txt")
other=$(grep -v "^flush $EXT2 " "$D/ev.txt" | grep " $NAT_EXT " | grep -v " $EXT2:" | tr '\n' ';')
if [ "$ngone" -ge 18 ] && [ "$nflush" = "$ngone" ] && [ -z "$other" ]; then
	pass addr-del-events-flush
else
	fail addr-del-events-flush "$ngone flows were on $EXT2 (want 18 or more), $nflush destroy events 'flush' for them; other destroys on $NAT_EXT: '${other:0:400}'; all: $(head -c 400 "$D/ev.txt" | tr '\n' ';')"
fi
r=$(uask $HB 42010 $WAN1 5000)
expect_eq addr-del-host-moves "$NAT_EXT" "${r%% *}" "$HB (was on $EXT2) sending again, seen as"

# ------------------------------------------------------------ mode all
part mode all
expect_ok addr-all-set nat set addresses all
json_expect addr-all-pool "$(status_j)" \
	'.addresses.mode == "all" and ([.addresses.pool[].address] == ["'$NAT_EXT'"])' "status in mode all, $EXT2 deleted"
ip -n nat addr add $EXT3/24 dev wan0
if poll 10 pool_is $NAT_EXT,$EXT3; then pass addr-all-picks-up; else
	fail addr-all-picks-up "pool after ip addr add $EXT3: '$(pool_addrs)'"
fi
poll 10 nsx wan ping -c1 -W1 $EXT3 || log "wan cannot reach $EXT3"
# Every host so far is on $NAT_EXT: a new one goes to the new address.
r=$(uask $LAN5 42020 $WAN1 5000)
h3=$(pool_field $EXT3 .hosts)
if [ "${r%% *}" = "$EXT3" ] && [ "$h3" = 1 ]; then pass addr-all-new-host; else
	fail addr-all-new-host "$LAN5 (a new host) seen as '$r' (want $EXT3, with no host yet); $EXT3's hosts: '$h3'"
fi
ip -n nat addr del $EXT3/24 dev wan0
if poll 10 pool_is $NAT_EXT; then pass addr-all-drops-removed; else
	fail addr-all-drops-removed "pool after ip addr del $EXT3: '$(pool_addrs)'"
fi
if poll 10 flow_absent udp $LAN5 42020; then pass addr-all-flows-gone; else
	fail addr-all-flows-gone "the flow of $LAN5:42020 (on $EXT3) after its deletion: $(flow_get udp $LAN5 42020)"
fi

# ------------------------------------------------------------ primary: 10 ports
part primary: 10 ports
kill "$keeper"
poll 10 flow_state_is tcp "$HA" 41800 'fin_both|rst' || log "TCP $HA:41800 not closed: $(flow_get tcp "$HA" 41800)"
expect_ok addr-primary-set nat set addresses primary
nctl flush > /dev/null || log "flush failed"
st0=$(stats_json)
load "$D/load2.txt"
n=$(awk '$4 != "none"' "$D/load2.txt" | wc -l)
nf=$(load_flows)
st1=$(stats_json)
dropped=$(stat_delta "$st0" "$st1" drop_no_port)
log "mode primary: $n of 32 answered, $nf flows, drop_no_port +$dropped"
if [ "$n" -le 20 ] && [ "$nf" -le 20 ] && [ "$dropped" -ge 6 ] 2> /dev/null; then
	pass addr-primary-cannot-carry
else
	fail addr-primary-cannot-carry "the same load on $NAT_EXT alone (10 ports): $n of 32 answered, $nf flows, drop_no_port +$dropped (want at most 20, 20, and 6 or more)"
fi
json_expect addr-primary-exhausted "$(status_j)" \
	'.addresses.mode == "primary" and (.addresses.pool | length) == 1 and .addresses.pool[0].address == "'$NAT_EXT'" and .addresses.pool[0].ports.udp == 10 and .addresses.pool[0].exhausted.udp >= 6' \
	"status: $NAT_EXT's UDP ports all in use and its exhaustion count"
txt=$(nctl status)
if printf '%s\n' "$txt" | grep -qx "  addresses: primary" &&
	printf '%s\n' "$txt" | grep -Eqx " *$NAT_EXT: ports tcp [0-9]+ udp 10 icmp [0-9]+, exhausted tcp [0-9]+ udp [1-9][0-9]* icmp [0-9]+"; then
	pass addr-text-status-exhausted
else
	fail addr-text-status-exhausted "natkctl status: $(printf '%s' "$txt" | tr '\n' '|')"
fi

part end
kernel_log_check addr-kernel-log

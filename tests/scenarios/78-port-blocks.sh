#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Port blocks (issue 18; RFC 7422 style, RFC 6888 REQ-12's log), checked
# as the administrator of a NAT host would: with `set port-block 16` in a
# 128-port range (8 blocks, block k = 20000 + 16k) and 2 blocks a host,
#  - each internal host's external ports (as the server saw them and as
#    natkctl flows shows them) all lie in its own blocks, the blocks the
#    mapping log names, aligned on 20000 + 16k; two hosts' blocks differ;
#  - a host that needs more than 16 mappings gets a second block, and the
#    log says so once per block (no line per mapping);
#  - past its 2 blocks its new flows are dropped (drop_no_port), while
#    another host still gets its block; a block's ports serve each
#    protocol (TCP port 20001 and UDP port 20001 are two mappings), so it
#    is the 33rd UDP mapping that finds no port;
#  - status and the metrics count the blocks per address;
#  - `natkctl who ADDR:PORT` names the block's host while its flows live
#    (a port of the block no flow uses included) and, from the log, after
#    they ended; once the flows end (short timeouts, no port hold) each
#    block is freed with exactly one del line;
#  - blocks off again: one line per mapping, as before.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan blocks-natk-up blocks-set blocks-status-settings blocks-eim-required \
	blocks-log-started blocks-log-live blocks-host1-replies blocks-host1-second-block \
	blocks-log-one-line-per-block blocks-log-no-mapping-lines blocks-aligned \
	blocks-host1-in-blocks blocks-server-in-blocks blocks-host2-in-block \
	blocks-hosts-differ blocks-limit-dropped blocks-limit-drop-counted \
	blocks-limit-no-third-block blocks-limit-host2-still-served blocks-status-blocks \
	blocks-metrics blocks-who-live blocks-who-live-json blocks-who-live-unused-port \
	blocks-who-live-host2 blocks-flows-ended blocks-del-once blocks-del-count \
	blocks-status-freed blocks-who-live-gone blocks-who-past blocks-who-past-json \
	blocks-who-past-host2 blocks-who-past-before blocks-off-set blocks-off-per-mapping \
	blocks-off-no-block-line blocks-nothing-lost blocks-log-stopped blocks-kernel-log
dmesg_mark
require_natk blocks-setup
topo_setup || { fail blocks-setup "topology setup failed"; exit 1; }
check blocks-natk-up natk_up || exit 1
D=$CTL_TMP
PMIN=20000
PMAX=20127
SIZE=16
out=		# what all_in_ranges found outside (set -u: even when not run)

utc_now() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
count_lines() { grep -Ec -- "$2" "$1" 2> /dev/null || true; }
oneline() { tr '\n' '|' < "$1" | head -c 1500; }
flat() { printf "%s" "$1" | tr "\n" ";"; }

# udp_many NS DST PORT SPORT...: from each source port in turn, one
# datagram to DST:PORT and up to 2 s for the reply (peer_server's "ADDR
# PORT": the external port the server saw); prints "SPORT EXTPORT", or
# "SPORT -" without a reply.
udp_many() {
	local ns=$1 dst=$2 port=$3
	shift 3
	nsx "$ns" python3 -c '
import socket, sys
dst, port = sys.argv[1], int(sys.argv[2])
for sp in sys.argv[3:]:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("", int(sp)))
    s.settimeout(2)
    s.sendto(b"x", (dst, port))
    try:
        d, _ = s.recvfrom(100)
        print(sp, d.split()[1].decode())
    except (socket.timeout, IndexError):
        print(sp, "-")
    s.close()
' "$dst" "$port" "$@"
}

# blocks_of HOST: the ranges the log gave HOST ("FIRST LAST" lines), new
# or live
blocks_of() {
	sed -nE "s/^[^ ]+Z (new|live) block $1 $NAT_EXT:([0-9]+)-([0-9]+)\$/\2 \3/p" "$D/m.log"
}
# in_ranges PORT < "FIRST LAST" lines: PORT lies in one of them
in_ranges() { awk -v p="$1" '$1 <= p && p <= $2 { ok = 1 } END { exit !ok }'; }
# all_in_ranges RANGES PORT...: every port in one of the ranges; prints
# the first that is not
all_in_ranges() {
	local r=$1 p
	shift
	for p in "$@"; do
		printf '%s\n' "$r" | in_ranges "$p" || { echo "$p"; return 1; }
	done
}
# ext_ports HOST: external ports of HOST's flows now
ext_ports() {
	nctl -j flows | jq -r --arg a "$1" '.[] | select(.internal_address == $a) | .external_port' | sort -n | uniq
}

peer_server wan udp 5000 $WAN1
peer_server wan tcp 5001 $WAN1

# Everything long-lived while the blocks are looked at; no hold, so a
# freed block is free at once.
if nctl set ports $PMIN-$PMAX port-hold off timeout udp 600 timeout tcp-transitory 600 \
	port-block $SIZE port-blocks-per-host 2 > "$D/set.out" 2>&1; then
	pass blocks-set
else
	fail blocks-set "natkctl set ... port-block $SIZE port-blocks-per-host 2: $(cat "$D/set.out")"
fi
json_expect blocks-status-settings "$(nctl -j status)" \
	".port_block == $SIZE and .port_blocks_per_host == 2 and .port_min == $PMIN and .port_max == $PMAX"
# Blocks need endpoint-independent mapping: the kernel says so.
EXPECT_ERR_RC=2 expect_err blocks-eim-required 'endpoint-independent' nat set mapping address-port-dependent

# Host 2 first, before the log: its block is logged as live at start.
h2=$(udp_many lan2 $WAN1 5000 42000)
log "lan2: $h2"
ip netns exec nat "$NATKCTL" log file "$D/m.log" 2> "$D/m.err" &
mpid=$!
if poll 15 grep -Eq -- "^[^ ]+Z live block $LAN2 $NAT_EXT:[0-9]+-[0-9]+\$" "$D/m.log"; then
	pass blocks-log-started
else
	fail blocks-log-started "no 'live block $LAN2 ...' line: $(oneline "$D/m.log") stderr: $(cat "$D/m.err")"
fi
expect_eq blocks-log-live 1 "$(count_lines "$D/m.log" " live ")" "live lines (one block of $LAN2 with one mapping): $(oneline "$D/m.log")"
t_before=$(utc_now)

# Host 1: 2 TCP connections and 32 UDP sources: two blocks (the UDP
# mappings fill both; the TCP ones are in the first); then 2 more UDP
# ones, past its limit of 2 blocks.
stats0=$(ctl_stats_json nat)
tcp1=$(ask lan1 tcp $WAN1 5001 41900 | sed -n 1p | awk '{print $2}')
tcp2=$(ask lan1 tcp $WAN1 5001 41901 | sed -n 1p | awk '{print $2}')
udp_many lan1 $WAN1 5000 $(seq 41000 41031) > "$D/h1.txt"
got=$(awk '$2 != "-"' "$D/h1.txt" | wc -l)
log "lan1 tcp: $tcp1 $tcp2; udp replies: $got of 32"
if [ "$got" = 32 ] && [ -n "$tcp1" ] && [ -n "$tcp2" ]; then
	pass blocks-host1-replies
else
	fail blocks-host1-replies "want 32 UDP replies and 2 TCP ones, got $got and '$tcp1' '$tcp2': $(tr '\n' ' ' < "$D/h1.txt")"
fi
udp_many lan1 $WAN1 5000 41032 41033 > "$D/h1-over.txt"
stats1=$(ctl_stats_json nat)
poll 5 test "$(blocks_of $LAN1 | wc -l)" -ge 2
b1=$(blocks_of $LAN1)
b2=$(blocks_of $LAN2)
log "blocks of $LAN1: $(flat "$b1"); of $LAN2: $(flat "$b2")"
expect_eq blocks-host1-second-block 2 "$(printf '%s\n' "$b1" | grep -c .)" "blocks the log gave $LAN1 for 34 mappings: $(oneline "$D/m.log")"
expect_eq blocks-log-one-line-per-block 3 "$(count_lines "$D/m.log" ' (new|live) block ')" "new/live block lines (2 of $LAN1, 1 of $LAN2) for 35 mappings: $(oneline "$D/m.log")"
expect_eq blocks-log-no-mapping-lines 0 "$(count_lines "$D/m.log" ' (new|live|del) (udp|tcp|icmp) ')" "per-mapping lines with blocks on"
bad=$(printf '%s\n%s\n' "$b1" "$b2" | awk -v m=$PMIN -v s=$SIZE 'NF && (($1 - m) % s || $2 != $1 + s - 1) { print }')
if [ -n "$b1" ] && [ -n "$b2" ] && [ -z "$bad" ]; then
	pass blocks-aligned
else
	fail blocks-aligned "blocks not at $PMIN + k * $SIZE .. + $((SIZE - 1)): '$bad' (of $LAN1: $(flat "$b1"); $LAN2: $(flat "$b2"))"
fi
# shellcheck disable=SC2046
if [ -n "$b1" ] && out=$(all_in_ranges "$b1" $(ext_ports $LAN1)) && [ "$(ext_ports $LAN1 | wc -l)" -ge 32 ]; then
	pass blocks-host1-in-blocks
else
	fail blocks-host1-in-blocks "external port '$out' of $LAN1 outside its blocks ($(flat "$b1")); its ports: $(ext_ports $LAN1 | tr '\n' ' ')"
fi
# shellcheck disable=SC2046
if [ -n "$b1" ] && out=$(all_in_ranges "$b1" $tcp1 $tcp2 $(awk '$2 != "-" { print $2 }' "$D/h1.txt")); then
	pass blocks-server-in-blocks
else
	fail blocks-server-in-blocks "the server saw $LAN1 from port '$out', outside its blocks ($(flat "$b1"))"
fi
h2port=${h2##* }
# shellcheck disable=SC2046
if [ -n "$b2" ] && [ "$h2port" != - ] && out=$(all_in_ranges "$b2" "$h2port" $(ext_ports $LAN2)); then
	pass blocks-host2-in-block
else
	fail blocks-host2-in-block "port '$out' of $LAN2 (server saw '$h2') outside its block ($(flat "$b2"))"
fi
overlap=$(printf '%s\n' "$b1" | while read -r f l; do
	[ -n "$f" ] && printf '%s\n' "$b2" | awk -v f="$f" -v l="$l" 'NF && $1 <= l && f <= $2 { print f "-" l " and " $1 "-" $2 }'
done)
if [ -n "$b1" ] && [ -n "$b2" ] && [ -z "$overlap" ]; then
	pass blocks-hosts-differ
else
	fail blocks-hosts-differ "blocks of $LAN1 and $LAN2 overlap: '$overlap' ($(flat "$b1"); $(flat "$b2"))"
fi
expect_eq blocks-limit-dropped "41032 -|41033 -|" "$(tr '\n' '|' < "$D/h1-over.txt")" "replies to the 33rd and 34th UDP mapping of $LAN1 (its 2 blocks of 16 full)"
drops=$(stat_delta "$stats0" "$stats1" drop_no_port)
if [ "${drops:-0}" -ge 2 ]; then
	pass blocks-limit-drop-counted
else
	fail blocks-limit-drop-counted "drop_no_port grew by '$drops', want at least 2"
fi
expect_eq blocks-limit-no-third-block 2 "$(blocks_of $LAN1 | grep -c .)" "blocks of $LAN1 after its limit"
# Another host still gets ports (its own block) meanwhile.
h2b=$(udp_many lan2 $WAN1 5000 42001)
if [ "${h2b##* }" != - ] && printf '%s\n' "$b2" | in_ranges "${h2b##* }"; then
	pass blocks-limit-host2-still-served
else
	fail blocks-limit-host2-still-served "$LAN2 from 42001: '$h2b' (its block: $(flat "$b2"))"
fi
json_expect blocks-status-blocks "$(nctl -j status)" \
	'.addresses.pool[] | select(.address == "'$NAT_EXT'") | .blocks == 3'
if nctl stats -o prometheus | grep -qx "natk_pool_blocks{address=\"$NAT_EXT\"} 3"; then
	pass blocks-metrics
else
	fail blocks-metrics "no 'natk_pool_blocks{address=\"$NAT_EXT\"} 3': $(nctl stats -o prometheus | grep block | tr '\n' '|')"
fi

# who, live: a port of each block of host 1, from the flow table.
p1=$(awk '$2 != "-" { print $2; exit }' "$D/h1.txt")
blk1=$(printf '%s\n' "$b1" | awk -v p="${p1:-0}" '$1 <= p && p <= $2 { print $1 "-" $2 }')
run_ctl nat who $NAT_EXT:$p1
if [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "^block $NAT_EXT:$blk1 $LAN1 (live"; then
	pass blocks-who-live
else
	fail blocks-who-live "natkctl who $NAT_EXT:$p1 (block $blk1): exit $CTL_RC, $CTL_OUT $CTL_ERR"
fi
json_expect blocks-who-live-json "$(nctl -j who $NAT_EXT:$p1 proto tcp)" \
	'.[0].proto == null and .[0].internal_address == "'$LAN1'" and .[0].block_first == '"${blk1%-*}"' and .[0].block_last == '"${blk1#*-}"
# A port of host 2's block that none of its flows uses: still its block.
read -r f2 l2 <<< "$(printf '%s\n' "$b2" | sed -n 1p)"
used2=$(ext_ports $LAN2 | tr '\n' ' ')
free2=
for ((p = ${f2:-1}; p <= ${l2:-0}; p++)); do
	case " $used2 " in *" $p "*) ;; *) free2=$p; break ;; esac
done
run_ctl nat who $NAT_EXT:${free2:-0}
if [ -n "$free2" ] && [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "^block $NAT_EXT:$f2-$l2 $LAN2 (live" &&
	! printf '%s\n' "$CTL_OUT" | grep -q "^udp"; then
	pass blocks-who-live-unused-port
else
	fail blocks-who-live-unused-port "natkctl who $NAT_EXT:$free2 (unused port of $LAN2's block $f2-$l2, its ports $used2): exit $CTL_RC, $CTL_OUT $CTL_ERR"
fi
json_expect blocks-who-live-host2 "$(nctl -j who $NAT_EXT:$h2port)" \
	'.[0].internal_address == "'$LAN2'" and .[0].proto == null and (map(select(.proto == "udp" and .internal_port == 42000)) | length == 1)'
t_mid=$(utc_now)

# The flows end: each block is freed with its host, one del line each.
nctl set timeout udp 2 timeout tcp-transitory 2 timeout tcp-established 2 > /dev/null
if poll 60 flows_is nat 0; then
	pass blocks-flows-ended
else
	fail blocks-flows-ended "flows left after 60 s: $(flow_count nat)"
fi
poll 10 test "$(count_lines "$D/m.log" ' del block ')" -ge 3
dels_ok=1
while read -r f l; do
	[ -n "$f" ] || continue
	[ "$(count_lines "$D/m.log" " del block $LAN1 $NAT_EXT:$f-$l\$")" = 1 ] || dels_ok=
done <<< "$b1"
while read -r f l; do
	[ -n "$f" ] || continue
	[ "$(count_lines "$D/m.log" " del block $LAN2 $NAT_EXT:$f-$l\$")" = 1 ] || dels_ok=
done <<< "$b2"
if [ -n "$dels_ok" ] && [ -n "$b1" ] && [ -n "$b2" ]; then
	pass blocks-del-once
else
	fail blocks-del-once "want one 'del block' line per block given: $(oneline "$D/m.log")"
fi
expect_eq blocks-del-count 3 "$(count_lines "$D/m.log" ' del block ')" "del block lines"
json_expect blocks-status-freed "$(nctl -j status)" \
	'.addresses.pool[] | select(.address == "'$NAT_EXT'") | .blocks == 0'
run_ctl nat who $NAT_EXT:$p1
expect_eq blocks-who-live-gone "3 nobody" "$CTL_RC $CTL_OUT" "live who $NAT_EXT:$p1 once the flows ended"

# After the fact, from the log.
run_ctl nat who $NAT_EXT:$p1 at "$t_mid" log "$D/m.log"
if [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "^block $NAT_EXT:$blk1 $LAN1 from .* to "; then
	pass blocks-who-past
else
	fail blocks-who-past "natkctl who $NAT_EXT:$p1 at $t_mid: exit $CTL_RC, $CTL_OUT $CTL_ERR"
fi
json_expect blocks-who-past-json "$(nctl -j who $NAT_EXT:$p1 proto udp at "$t_mid" log "$D/m.log")" \
	'length == 1 and .[0].internal_address == "'$LAN1'" and .[0].block_first == '"${blk1%-*}"' and .[0].from != null and .[0].to != null and .[0].certain'
json_expect blocks-who-past-host2 "$(nctl -j who $NAT_EXT:${free2:-0} at "$t_mid" log "$D/m.log")" \
	'length == 1 and .[0].internal_address == "'$LAN2'" and .[0].block_first == '"${f2:-0}"
run_ctl nat who $NAT_EXT:$p1 at "$t_before" log "$D/m.log"
expect_eq blocks-who-past-before "3 nobody" "$CTL_RC $CTL_OUT" "who $NAT_EXT:$p1 at $t_before (before $LAN1 had its blocks)"

# Blocks off: one line per mapping again.
if nctl set port-block off timeout udp 600 > /dev/null && [ "$(status_key nat .port_block)" = 0 ]; then
	pass blocks-off-set
else
	fail blocks-off-set "set port-block off: status port_block $(status_key nat .port_block)"
fi
nblock=$(count_lines "$D/m.log" ' block ')
udp_many lan1 $WAN1 5000 43000 43001 > "$D/off.txt"
poll 5 test "$(count_lines "$D/m.log" " new udp $LAN1:4300[01] ")" -ge 2
e0=$(awk '$1 == 43000 { print $2 }' "$D/off.txt")
e1=$(awk '$1 == 43001 { print $2 }' "$D/off.txt")
if [ "$(count_lines "$D/m.log" "^[^ ]+Z new udp $LAN1:43000 $NAT_EXT:$e0\$")" = 1 ] &&
	[ "$(count_lines "$D/m.log" "^[^ ]+Z new udp $LAN1:43001 $NAT_EXT:$e1\$")" = 1 ]; then
	pass blocks-off-per-mapping
else
	fail blocks-off-per-mapping "want one 'new udp' line per mapping ($LAN1:43000 -> $e0, :43001 -> $e1): $(oneline "$D/m.log")"
fi
expect_eq blocks-off-no-block-line "$nblock" "$(count_lines "$D/m.log" ' block ')" "block lines after blocks were turned off"

lost=$(stat_of map_events_lost)
if [ "$(count_lines "$D/m.log" ' lost')" = 0 ] && [ "$lost" = 0 ]; then
	pass blocks-nothing-lost
else
	fail blocks-nothing-lost "map_events_lost '$lost', lost lines: $(grep ' lost' "$D/m.log" | tr '\n' '|')"
fi
log "the log: $(oneline "$D/m.log")"
kill "$mpid"
rc=0
for _ in $(seq 50); do kill -0 "$mpid" 2> /dev/null || break; sleep 0.1; done
wait "$mpid" 2> /dev/null || rc=$?
expect_eq blocks-log-stopped 0 "$rc" "exit status of natkctl log after SIGTERM (stderr: $(cat "$D/m.err"))"
kernel_log_check blocks-kernel-log

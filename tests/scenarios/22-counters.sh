#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Counters against traffic of known size and count. natk counts skb->len at
# the IP layer: IP header (20) + UDP header (8) + payload for UDP, 20 + 8 +
# 56 for a default ping. N datagrams of 100 bytes from lan1 to a wan server
# that answers each with 200 bytes:
#   stats: packets_in_from_source = packets_out_to_destination = N,
#          bytes_* = N * 128 out, N * 228 back, connection_attempts +1,
#          active_connections 1; after the (short) UDP timeout
#          idle_timeouts +1, active_connections 0
#   flow:  packets_out/bytes_out/packets_in/bytes_in the same numbers
# and the same for ICMP echo and a TCP connection (connections_established).
# Per-flow counters are kept with accounting on (set here; off by default):
# a flow made with it off has none (a 64-byte flow object), is still
# listed as seen both ways and counted in the stats, and a flow made
# while it was on keeps counting.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan counters-natk-up counters-set-timeouts counters-udp-replies counters-packets-in-from-source \
	counters-bytes-in-from-source counters-packets-out-to-destination counters-bytes-out-to-destination \
	counters-packets-in-from-destination counters-bytes-in-from-destination \
	counters-packets-out-to-source counters-bytes-out-to-source counters-connection-attempts-udp \
	counters-active-connections-udp counters-packets-dropped-none counters-flow-udp \
	counters-status-flows counters-udp-expired counters-idle-timeouts \
	counters-active-connections-after-expiry counters-dump-empty-after-expiry counters-ping-replies \
	counters-icmp-packets-in-from-source counters-icmp-bytes-in-from-source \
	counters-icmp-packets-out-to-source counters-icmp-bytes-out-to-source \
	counters-icmp-connection-attempts counters-flow-icmp counters-tcp-reply \
	counters-tcp-connection-attempts counters-tcp-connections-established \
	counters-tcp-flow-matches-stats counters-tcp-in-out-balance counters-flush \
	counters-monotonic-after-flush counters-active-after-flush counters-accounting-off \
	counters-status-accounting-off counters-flow-no-counters counters-stats-without-accounting \
	counters-flow-keeps-counting counters-flow-object-size
require_natk counters-natk-built
topo_setup || { fail counters-topology "topology setup failed"; exit 1; }
check counters-natk-up natk_up accounting on || exit 1
check counters-set-timeouts nctl set timeout udp 10 timeout icmp 30
udp_echo_server wan $WAN1 7000 200

N=25
b0=$(ctl_stats_json nat)
got=$(udp_pingpong lan1 41000 $WAN1 7000 $N 100)
b1=$(ctl_stats_json nat)
f=$(nctl -j flows proto udp internal $LAN1:41000)
nflows=$(flow_count nat)
expect_eq counters-udp-replies "$N" "$got" "replies received by lan1"
d() { stat_delta "$b0" "$b1" "$1"; }
expect_eq counters-packets-in-from-source "$N" "$(d packets_in_from_source)"
expect_eq counters-bytes-in-from-source "$((N * 128))" "$(d bytes_in_from_source)"
expect_eq counters-packets-out-to-destination "$N" "$(d packets_out_to_destination)"
expect_eq counters-bytes-out-to-destination "$((N * 128))" "$(d bytes_out_to_destination)"
expect_eq counters-packets-in-from-destination "$N" "$(d packets_in_from_destination)"
expect_eq counters-bytes-in-from-destination "$((N * 228))" "$(d bytes_in_from_destination)"
expect_eq counters-packets-out-to-source "$N" "$(d packets_out_to_source)"
expect_eq counters-bytes-out-to-source "$((N * 228))" "$(d bytes_out_to_source)"
expect_eq counters-connection-attempts-udp 1 "$(d connection_attempts)"
expect_eq counters-active-connections-udp 1 "$(printf '%s' "$b1" | jq .active_connections)"
expect_eq counters-packets-dropped-none 0 "$(d packets_dropped)"
json_expect counters-flow-udp "$f" \
	"length == 1 and .[0].packets_out == $N and .[0].bytes_out == $((N * 128)) and .[0].packets_in == $N and .[0].bytes_in == $((N * 228))" \
	"flow counters (want $N/$((N * 128)) out, $N/$((N * 228)) in)"
expect_eq counters-status-flows 1 "$nflows" "natkctl -j status .flows"

# Idle timeout: the flow goes away by itself and is counted once.
if poll 40 flows_is nat 0; then pass counters-udp-expired; else
	fail counters-udp-expired "flows still there: $(nctl flows)"
fi
b2=$(ctl_stats_json nat)
expect_eq counters-idle-timeouts "1" "$(stat_delta "$b1" "$b2" idle_timeouts)"
expect_eq counters-active-connections-after-expiry 0 "$(printf '%s' "$b2" | jq .active_connections)"
json_expect counters-dump-empty-after-expiry "$(nctl -j flows)" 'length == 0'

# ICMP echo: 5 pings of 56 bytes = 84-byte IP packets each way.
out=$(nsx lan1 ping -c 5 -i 0.2 -W 2 $WAN1 2>&1)
b3=$(ctl_stats_json nat)
echo "$out" | grep -q ' 5 received' && pass counters-ping-replies || fail counters-ping-replies "$out"
expect_eq counters-icmp-packets-in-from-source 5 "$(stat_delta "$b2" "$b3" packets_in_from_source)"
expect_eq counters-icmp-bytes-in-from-source 420 "$(stat_delta "$b2" "$b3" bytes_in_from_source)"
expect_eq counters-icmp-packets-out-to-source 5 "$(stat_delta "$b2" "$b3" packets_out_to_source)"
expect_eq counters-icmp-bytes-out-to-source 420 "$(stat_delta "$b2" "$b3" bytes_out_to_source)"
expect_eq counters-icmp-connection-attempts 1 "$(stat_delta "$b2" "$b3" connection_attempts)"
json_expect counters-flow-icmp "$(nctl -j flows proto icmp)" \
	'length == 1 and .[0].packets_out == 5 and .[0].bytes_out == 420 and .[0].packets_in == 5 and .[0].bytes_in == 420'

# TCP: one connection is one attempt and one established connection.
peer_server wan tcp 7001 $WAN1
p=$(ask lan1 tcp $WAN1 7001 41001 | sed -n 1p)
expect_eq counters-tcp-reply "$NAT_EXT" "${p%% *}" "peer seen by wan over TCP"
b4=$(ctl_stats_json nat)
expect_eq counters-tcp-connection-attempts 1 "$(stat_delta "$b3" "$b4" connection_attempts)"
expect_eq counters-tcp-connections-established 1 "$(stat_delta "$b3" "$b4" connections_established)"
f=$(nctl -j flows proto tcp)
# Whatever the flow counted must be what the global counters counted.
json_expect counters-tcp-flow-matches-stats "$f" \
	"length == 1 and .[0].packets_out == $(stat_delta "$b3" "$b4" packets_in_from_source) and .[0].bytes_out == $(stat_delta "$b3" "$b4" bytes_in_from_source) and .[0].packets_in == $(stat_delta "$b3" "$b4" packets_out_to_source) and .[0].bytes_in == $(stat_delta "$b3" "$b4" bytes_out_to_source)"
json_expect counters-tcp-in-out-balance "$b4" \
	'.packets_in_from_source == .packets_out_to_destination and .bytes_in_from_source == .bytes_out_to_destination and .packets_in_from_destination == .packets_out_to_source and .bytes_in_from_destination == .bytes_out_to_source'

# Counters never go down: flush does not reset them.
check counters-flush nctl flush
b5=$(ctl_stats_json nat)
json_expect counters-monotonic-after-flush "$(jq -n --argjson a "$b4" --argjson b "$b5" \
	'[$a | to_entries[] | select(.key != "active_connections") | .key] | map(. as $k | $b[$k] >= $a[$k]) | all')" '. == true'
expect_eq counters-active-after-flush 0 "$(printf '%s' "$b5" | jq .active_connections)"

# Accounting off (the default; natk_up set it on above). The flow made
# while it was on must live through the section (a slow kernel takes more
# than the 10 s UDP timeout set above for it).
nctl set timeout udp 300
got=$(udp_pingpong lan1 41002 $WAN1 7000 2 100)
check counters-accounting-off nctl set accounting off
expect_eq counters-status-accounting-off false "$(status_key nat .accounting)" "natkctl -j status .accounting"
b6=$(ctl_stats_json nat)
got=$(udp_pingpong lan1 41003 $WAN1 7000 $N 100)
b7=$(ctl_stats_json nat)
json_expect counters-flow-no-counters "$(nctl -j flows proto udp internal $LAN1:41003)" \
	'length == 1 and .[0].seen_out and .[0].seen_in and ([.[0] | has("packets_out", "bytes_out", "packets_in", "bytes_in")] | any | not)' \
	"a flow made with accounting off: seen both ways, no counters"
expect_eq counters-stats-without-accounting "$N $((N * 128)) $N $((N * 228))" \
	"$(stat_delta "$b6" "$b7" packets_out_to_destination) $(stat_delta "$b6" "$b7" bytes_out_to_destination) $(stat_delta "$b6" "$b7" packets_out_to_source) $(stat_delta "$b6" "$b7" bytes_out_to_source)" \
	"stats moved by the $N datagrams of the unaccounted flow (packets, bytes out; packets, bytes back)"
got=$(udp_pingpong lan1 41002 $WAN1 7000 3 100)
json_expect counters-flow-keeps-counting "$(nctl -j flows proto udp internal $LAN1:41002)" \
	'length == 1 and .[0].packets_out == 5 and .[0].bytes_out == 640 and .[0].packets_in == 5 and .[0].bytes_in == 1140' \
	"the flow made with accounting on, 2 + 3 datagrams each way"
expect_eq counters-flow-object-size 64 "$(cat /sys/kernel/slab/natk_flow/object_size 2>&1)" \
	"bytes of a flow without counters (/sys/kernel/slab/natk_flow/object_size)"

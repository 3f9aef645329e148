#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natkctl stats -o prometheus and -o cloudwatch-emf against traffic of
# known size (as 22-counters: UDP counts skb->len, 20 + 8 + payload):
#   prometheus: counters rise by what was sent, equal natkctl -j stats,
#     drops by reason, the gauges (flows per protocol, pool size and use,
#     capacity); promtool check metrics accepts it; "file" replaces the
#     file whole (a reader never sees half of it); node_exporter's textfile
#     collector serves the values on /metrics; nobody gets the counters
#     without the flow-table gauges; with natk unloaded it says
#     natk_loaded 0 and does not load the module (natkctl -j stats would:
#     the control)
#   cloudwatch-emf: the lines pass tests/emf_check.py (the documented
#     structure) with NAT Gateway's metric names; their counters are the
#     increase over each interval and sum to what was sent; the TCP flow is
#     ActiveConnectionCount
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan metrics-natk-up metrics-udp-replies metrics-packets-in-from-source \
	metrics-bytes-in-from-source metrics-bytes-in-from-destination \
	metrics-packets-out-to-source metrics-connection-attempts metrics-unsolicited-drop \
	metrics-packets-dropped metrics-equal-json-stats metrics-active-connections \
	metrics-flows-udp metrics-pool-ports metrics-pool-used metrics-flows-max \
	metrics-ports-held metrics-promtool metrics-nobody metrics-file-written metrics-file-no-temp \
	metrics-file-atomic metrics-node-exporter-up metrics-node-exporter-natk \
	metrics-node-exporter-no-error metrics-emf-lines metrics-emf-structure \
	metrics-emf-packets-sum metrics-emf-bytes-sum metrics-emf-deltas metrics-emf-active-tcp \
	metrics-emf-peak metrics-emf-timestamp metrics-unloaded-says-so \
	metrics-unloaded-no-autoload metrics-control-autoload
require_natk metrics-natk-built
topo_setup || { fail metrics-topology "topology setup failed"; exit 1; }
check metrics-natk-up natk_up || exit 1
nctl set ports 20000-29999 timeout udp 600 || { fail metrics-set "natkctl set failed"; exit 1; }

# prom_value FILE NAME[{labels}]: the value of one sample line
prom_value() { awk -v n="$2" '$1 == n { print $2 }' "$1"; }
prom() { nctl stats -o prometheus > "$CTL_TMP/$1.prom" 2> "$CTL_TMP/$1.err"; }

N=20
udp_echo_server wan $WAN1 7000 200
prom p0
got=$(udp_pingpong lan1 41000 $WAN1 7000 $N 100)
expect_eq metrics-udp-replies "$N" "$got" "replies received by lan1"
# an unsolicited datagram to the mapping's port from another remote
# address (address-port-dependent filtering): one drop
ext=$(nctl -j flows proto udp | jq '.[0].external_port')
nsx wan python3 -c 'import socket,sys; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((sys.argv[1], 0)); s.sendto(b"x", (sys.argv[2], int(sys.argv[3])))' \
	$WAN2 $NAT_EXT "$ext"
poll 5 sh -c "[ \"\$(ip netns exec nat $NATKCTL -j stats | jq .drop_unsolicited)\" -ge 1 ]"
prom p1
js=$(nctl -j stats)
d() { echo $(( $(prom_value "$CTL_TMP/p1.prom" "$1") - $(prom_value "$CTL_TMP/p0.prom" "$1") )); }
expect_eq metrics-packets-in-from-source "$N" "$(d natk_packets_in_from_source_total)"
expect_eq metrics-bytes-in-from-source "$((N * 128))" "$(d natk_bytes_in_from_source_total)"
expect_eq metrics-bytes-in-from-destination "$((N * 228))" "$(d natk_bytes_in_from_destination_total)"
expect_eq metrics-packets-out-to-source "$N" "$(d natk_packets_out_to_source_total)"
expect_eq metrics-connection-attempts 1 "$(d natk_connection_attempts_total)"
expect_eq metrics-unsolicited-drop 1 "$(d 'natk_drops_total{reason="unsolicited"}')"
expect_eq metrics-packets-dropped 1 "$(d natk_packets_dropped_total)"
# Every counter of natkctl -j stats, taken right after, under its name.
bad=$(printf '%s' "$js" | jq -r 'to_entries[] | "\(.key) \(.value)"' | while read -r k v; do
	case $k in
	active_connections) n=natk_active_connections ;;
	drop_*) n="natk_drops_total{reason=\"${k#drop_}\"}" ;;
	*) n=natk_${k}_total ;;
	esac
	[ "$(prom_value "$CTL_TMP/p1.prom" "$n")" = "$v" ] || echo "$n=$(prom_value "$CTL_TMP/p1.prom" "$n") (json $k=$v)"
done)
expect_eq metrics-equal-json-stats "" "$bad" "prometheus samples that differ from natkctl -j stats"
expect_eq metrics-active-connections 1 "$(prom_value "$CTL_TMP/p1.prom" natk_active_connections)"
expect_eq metrics-flows-udp "1 0 0" "$(prom_value "$CTL_TMP/p1.prom" 'natk_flows{proto="udp"}') $(prom_value "$CTL_TMP/p1.prom" 'natk_flows{proto="tcp"}') $(prom_value "$CTL_TMP/p1.prom" 'natk_flows{proto="icmp"}')"
expect_eq metrics-pool-ports "10000 10000 65536" "$(prom_value "$CTL_TMP/p1.prom" 'natk_port_pool_ports{proto="udp"}') $(prom_value "$CTL_TMP/p1.prom" 'natk_port_pool_ports{proto="tcp"}') $(prom_value "$CTL_TMP/p1.prom" 'natk_port_pool_ports{proto="icmp"}')"
expect_eq metrics-pool-used 1 "$(prom_value "$CTL_TMP/p1.prom" 'natk_port_pool_used_ports{proto="udp"}')"
expect_eq metrics-flows-max "$(status_key nat .max_flows)" "$(prom_value "$CTL_TMP/p1.prom" natk_flows_max)"
expect_eq metrics-ports-held "$(status_key nat .ports_held)" "$(prom_value "$CTL_TMP/p1.prom" natk_ports_held)"
if out=$(promtool check metrics < "$CTL_TMP/p1.prom" 2>&1) && [ -z "$out" ]; then
	pass metrics-promtool
else
	fail metrics-promtool "promtool check metrics: $out"
fi

# without CAP_NET_ADMIN the counters are there, the flow-table gauges not
out=$(nsx nat setpriv --reuid 65534 --regid 65534 --clear-groups "$NATKCTL" stats -o prometheus 2>&1)
rc=$?
if [ $rc -eq 0 ] && echo "$out" | grep -q '^natk_packets_in_from_source_total [0-9]' &&
	! echo "$out" | grep -q '^natk_flows{' && echo "$out" | grep -q '^# natk: the flow table needs CAP_NET_ADMIN' &&
	promtool check metrics <<< "$out" > /dev/null 2>&1; then
	pass metrics-nobody
else
	fail metrics-nobody "exit $rc: $(echo "$out" | grep -v '^# [HT]' | head -c 400)"
fi

# file: written whole, by rename; a reader polling it never sees half.
TXT=/var/lib/prometheus/node-exporter	# tmpfs /var/lib in the VM
mkdir -p $TXT
nctl stats -o prometheus file $TXT/natk.prom
expect_eq metrics-file-written "$N" "$(prom_value $TXT/natk.prom natk_packets_in_from_source_total)" "natk.prom"
expect_eq metrics-file-no-temp "natk.prom" "$(ls -A $TXT)" "files in $TXT"
# A whole file ends as the first one did: its last sample, with a value
# (which metric is last depends on what the module reports).
last=$(tail -n 1 $TXT/natk.prom | sed 's/ [0-9][0-9]*$/ N/')
case $last in natk_*" N") ;; *) log "natk.prom's last line is '$last'" ;; esac
(for i in $(seq 60); do nctl stats -o prometheus file $TXT/natk.prom; done) &
writer=$!
torn=0 reads=0
while kill -0 $writer 2>/dev/null; do
	reads=$((reads + 1))
	[ "$(tail -n 1 $TXT/natk.prom | sed 's/ [0-9][0-9]*$/ N/')" = "$last" ] || torn=$((torn + 1))
done
wait $writer
log "file: $reads reads during 60 rewrites"
expect_eq metrics-file-atomic 0 "$torn" "reads that saw a partial natk.prom (of $reads)"

# node_exporter's textfile collector, on a free port inside netns nat
port=19100
while nsx nat ss -Hltn "sport = :$port" | grep -q .; do port=$((port + 1)); done
nsx nat prometheus-node-exporter --collector.disable-defaults --collector.textfile \
	--collector.textfile.directory=$TXT --web.listen-address=127.0.0.1:$port \
	> "$CTL_TMP/node-exporter.log" 2>&1 &
fetch() {
	nsx nat python3 -c 'import sys, urllib.request; sys.stdout.write(urllib.request.urlopen(sys.argv[1], timeout=5).read().decode())' \
		"http://127.0.0.1:$port/metrics" > "$CTL_TMP/scrape" 2>/dev/null
}
if poll 30 fetch; then pass metrics-node-exporter-up; else
	fail metrics-node-exporter-up "no /metrics on 127.0.0.1:$port: $(tail -n 3 "$CTL_TMP/node-exporter.log")"
fi
expect_eq metrics-node-exporter-natk "$(prom_value $TXT/natk.prom natk_bytes_in_from_source_total) $(prom_value $TXT/natk.prom 'natk_drops_total{reason="unsolicited"}')" \
	"$(prom_value "$CTL_TMP/scrape" natk_bytes_in_from_source_total) $(prom_value "$CTL_TMP/scrape" 'natk_drops_total{reason="unsolicited"}')" \
	"natk samples served by node_exporter"
expect_eq metrics-node-exporter-no-error 0 "$(prom_value "$CTL_TMP/scrape" node_textfile_scrape_error)" "node_textfile_scrape_error"

# cloudwatch-emf: two 3-second lines; traffic in the first; a TCP flow.
peer_server wan tcp 7001 $WAN1
hold=$(hold_tcp lan1 $WAN1 7001 41001)
poll 10 sh -c "[ \"\$(ip netns exec nat $NATKCTL -j flows proto tcp | jq length)\" = 1 ]"
M=30
nctl stats -o cloudwatch-emf interval 3 count 2 > "$CTL_TMP/emf" 2> "$CTL_TMP/emf.err" &
emf=$!
sleep 0.5
udp_pingpong lan1 41002 $WAN1 7000 $M 100 > /dev/null
wait $emf
emf_rc=$?
hold_stop "$hold"
expect_eq metrics-emf-lines "0 2" "$emf_rc $(wc -l < "$CTL_TMP/emf")" "exit status and lines ($(cat "$CTL_TMP/emf.err"))"
names=ActiveConnectionCount,BytesInFromDestination,BytesInFromSource,BytesOutToDestination,BytesOutToSource,ConnectionAttemptCount,ConnectionEstablishedCount,ErrorPortAllocation,IdleTimeoutCount,PacketsDropCount,PacketsInFromDestination,PacketsInFromSource,PacketsOutToDestination,PacketsOutToSource,PeakBytesPerSecond,PeakPacketsPerSecond
check metrics-emf-structure python3 "$NATK_REPO/userctl/tests/emf_check.py" --names "$names" "$CTL_TMP/emf"
sum() { jq -s "map(.$1) | add" "$CTL_TMP/emf"; }
expect_eq metrics-emf-packets-sum "$M" "$(sum PacketsInFromSource)" "PacketsInFromSource over both lines"
expect_eq metrics-emf-bytes-sum "$((M * 228))" "$(sum BytesInFromDestination)" "BytesInFromDestination over both lines"
# deltas, not totals: the second line saw no traffic
expect_eq metrics-emf-deltas "0 1" "$(jq -s '.[1].PacketsInFromSource' "$CTL_TMP/emf") $(jq -s '.[0].ConnectionAttemptCount' "$CTL_TMP/emf")"
expect_eq metrics-emf-active-tcp "1" "$(jq -s '.[0].ActiveConnectionCount' "$CTL_TMP/emf")"
# the peak second carried at least the average of the busy interval and
# at most all of its packets
json_expect metrics-emf-peak "$(jq -s '.[0]' "$CTL_TMP/emf")" \
	".PeakPacketsPerSecond >= ((.PacketsInFromSource + .PacketsInFromDestination) / 3 | floor) and .PeakPacketsPerSecond <= 2 * (.PacketsInFromSource + .PacketsInFromDestination) and .PeakBytesPerSecond >= ((.BytesInFromSource + .BytesInFromDestination) / 3 | floor)"
now=$(date +%s%3N)
json_expect metrics-emf-timestamp "$(jq -s '.[1]' "$CTL_TMP/emf")" "._aws.Timestamp > $now - 60000 and ._aws.Timestamp <= $now"

# natk not loaded: the metrics say so, and do not load it
topo_teardown
natk_unload
out=$(natkctl stats -o prometheus 2>&1)
expect_eq metrics-unloaded-says-so "natk_loaded 0" "$(echo "$out" | grep -v '^#')"
if natk_loaded; then fail metrics-unloaded-no-autoload "natkctl stats -o prometheus loaded natk"; else
	pass metrics-unloaded-no-autoload; fi
# control: the family lookup of a plain natkctl stats does load it
natkctl -j stats > /dev/null 2>&1
if natk_loaded; then pass metrics-control-autoload; else
	fail metrics-control-autoload "natkctl -j stats did not autoload natk: the check above proves nothing"; fi

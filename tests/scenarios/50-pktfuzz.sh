#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hostile input aimed at live flows (tests/fuzz/pktfuzz.py): while lan1
# keeps a TCP connection, a UDP flow and a ping to the wan host busy
# through natk, both sides throw NATK_PKTFUZZ_FRAMES frames (half each,
# default 20000; make check-debug: 100000) at natk carrying those flows'
# exact tuples: any TCP flags, sequence numbers, data offsets and SYN
# options (the MSS clamp is on); lying UDP lengths and wrong checksums;
# out-of-order, duplicate, overlapping and incomplete fragments; ICMP
# errors quoting the flows, cut at every length, with mangled or optioned
# quoted headers and wrong checksums; and a few outer headers that die in
# ip_rcv. The wan side's frames go to the external address (natk_in), the
# lan side's to the wan host (natk_out).
#
# Checks: frames sent = frames asked (< 1% send errors); every frame sent
# well formed arrives translated with valid checksums (seen by a sniffer on
# the far side, before nft there drops all fuzz frames so that no endpoint
# reacts to them); the live flows carry data during and after the fuzz,
# intact (md5, every request answered); natk's counters: drops add up to
# packets_dropped, every datagram that reached its hooks (nft counters in
# front of them) is counted once as passed, translated or dropped, each
# counter matches what the frames' fates predict, none is absurd; new flows
# work after; the kernel log stays clean.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
# Judged at the end by pktfuzz.py judge, one line each.
JUDGED="pktfuzz-sent-lan pktfuzz-sent-wan pktfuzz-translated-lan-to-wan
	pktfuzz-translated-wan-to-lan pktfuzz-tcp-intact pktfuzz-udp-intact
	pktfuzz-icmp-intact pktfuzz-drops-add-up pktfuzz-all-frames-accounted
	pktfuzz-fuzz-reached-natk pktfuzz-counters-by-reason pktfuzz-counters-sane"
# shellcheck disable=SC2206
ALL=(pktfuzz-natk-up pktfuzz-live-flows $JUDGED pktfuzz-new-flow-after
	pktfuzz-status-answers pktfuzz-kernel-log-clean)
plan "${ALL[@]}"
# fail_from NAME WHY: the run cannot go on; NAME and every check after it
# FAIL (the kernel log is still checked).
fail_from() {
	local n on=
	for n in "${ALL[@]}"; do
		[ "$n" = "$1" ] && on=1
		[ -z "$on" ] && continue
		if [ "$n" = pktfuzz-kernel-log-clean ]; then
			dmesg_check "$n"
		else
			fail "$n" "$2"
		fi
	done
	exit 1
}
natk_built || fail_from pktfuzz-natk-up "natk not built ($NATK_KO, $NATKCTL)"
FRAMES=${NATK_PKTFUZZ_FRAMES:-20000}
SEED=${NATK_PKTFUZZ_SEED:-$RANDOM}
FUZZ=$NATK_REPO/tests/fuzz/pktfuzz.py
CLAMP=1300
D=$(mktemp -d /tmp/pktfuzz.XXXXXX)
# The run's data (senders' fates, sniffers', counters) stays with the logs
# for a post-mortem: pktfuzz.py judge DIR judges it again.
keep_data() {
	[ "$NATK_RESULTS" = /dev/null ] && return
	mkdir -p "$(dirname "$NATK_RESULTS")/pktfuzz" &&
		cp "$D"/*.json "$(dirname "$NATK_RESULTS")/pktfuzz/" 2> /dev/null
}
trap 'rc=$?; keep_data; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT
dmesg_mark
topo_setup || fail_from pktfuzz-natk-up "topology setup failed"
log "topology up at ${SECONDS}s"
check pktfuzz-natk-up natk_up || fail_from pktfuzz-live-flows "natk did not come up"
# The clamp makes natk walk the options of every SYN; filtering is
# address-and-port-dependent (the default, said here as the fates rely on it).
nctl set mss-clamp $CLAMP filtering address-port-dependent ||
	fail_from pktfuzz-live-flows "natkctl set mss-clamp/filtering failed"

# Fuzz frames carry TOS 0x20 (0x24 when sent clean), DSCP 8-15: the hosts
# they reach drop them before their stacks see them.
for ns in lan1 wan; do
	nsx $ns nft -f - <<-EOT || fail_from pktfuzz-live-flows "nft in $ns failed"
		table ip pktfuzz {
			chain pre {
				type filter hook prerouting priority -300;
				ip dscp 8-15 counter drop
			}
		}
	EOT
done
# In nat: what reaches natk's hooks, between defrag (-400) and natk_in
# (-250), and just before natk_out (100): the wan side's datagrams to the
# external address, the lan side's forwarded out of wan0 (fuzz, the live
# flows' own traffic, their ICMP errors), the host's own ICMP errors that
# quote a packet natk translated to a lan host (natk_out translates those
# too), and anything for the external address from the lan (hairpin path:
# none expected).
nsx nat nft -f - <<-EOT || fail_from pktfuzz-live-flows "nft in nat failed"
	table ip pktfuzz {
		counter in_fuzz { }
		counter in_legit { }
		counter in_legit_err { }
		counter out_fuzz { }
		counter out_legit { }
		counter out_legit_err { }
		counter hosterr_flow { }
		counter hairpin { }
		chain pre {
			type filter hook prerouting priority -300;
			iif "wan0" ip daddr $NAT_EXT ip dscp 8-15 counter name in_fuzz accept
			iif "wan0" ip daddr $NAT_EXT icmp type { destination-unreachable, source-quench, time-exceeded, parameter-problem } counter name in_legit_err accept
			iif "wan0" ip daddr $NAT_EXT counter name in_legit accept
			iif "lan0" ip daddr $NAT_EXT counter name hairpin
		}
		chain post {
			type filter hook postrouting priority 99;
			oif "wan0" ip saddr $NAT_EXT icmp type { destination-unreachable, source-quench, time-exceeded, parameter-problem } @th,192,24 0x0a0000 counter name hosterr_flow accept
			oif "wan0" ip saddr $NAT_EXT accept
			oif "wan0" ip dscp 8-15 counter name out_fuzz accept
			oif "wan0" icmp type { destination-unreachable, source-quench, time-exceeded, parameter-problem } counter name out_legit_err accept
			oif "wan0" counter name out_legit
		}
	}
EOT
nft_counters() {
	nsx nat nft -j list counters table ip pktfuzz |
		jq -c '[.nftables[] | select(.counter) | .counter | {(.name): .packets}] | add'
}

# The live flows: lan1 10.0.0.2:40007 -> wan 192.0.2.2:7 (TCP, echoed),
# :40053 -> :5001 (UDP, echoed), ICMP echo id 20043.
TI=40007 UI=40053 II=20043
nsx wan python3 "$FUZZ" echo "$WAN1" 7 5001 &
# Each wait below may take 60 s (poll stretches it by NATK_TIME_SCALE, 4
# under make check-debug: a debug kernel with other VMs on the same CPUs
# once took over 2 minutes to start a Python process).
WAIT=60
listening() { nsx wan ss -Hltun | grep -q ":7 " && nsx wan ss -Hlun | grep -q ":5001 "; }
poll $WAIT listening || fail_from pktfuzz-live-flows "echo servers did not start"
echo before > "$D/phase"
# flows_file TE UE IE: the flows as pktfuzz.py takes them.
flows_file() {
	cat <<-EOT
		{"lan": "$LAN1", "wan": "$WAN1", "router": "$WAN2", "ext": "$NAT_EXT",
		 "tcp": [$TI, 7, $1], "udp": [$UI, 5001, $2], "icmp": [$II, $3], "clamp": $CLAMP}
	EOT
}
flows_file 0 0 0 > "$D/flows0.json"
nsx lan1 python3 "$FUZZ" legit "$D/flows0.json" "$D/phase" "$D/legit.json" &
LEGIT=$!
# live_ports: the live flows' external ports (ICMP: id) in TE, UE, IE,
# once natk has all three.
live_ports() {
	local p
	p=$(nctl -j flows | jq -r --arg a "$LAN1" --arg r "$WAN1" \
		--argjson t $TI --argjson u $UI --argjson i $II '
		def ext(p; q): [.[] | select(.proto == p and .internal_address == $a and
			.internal_port == q and .remote_address == $r) | .external_port][0];
		"\(ext("tcp"; $t)) \(ext("udp"; $u)) \(ext("icmp"; $i))"') || return 1
	read -r TE UE IE <<< "$p"
	[ "$TE" != null ] && [ "$UE" != null ] && [ "$IE" != null ]
}
log "legit traffic started at ${SECONDS}s"
if poll $WAIT live_ports && live_ports; then
	pass pktfuzz-live-flows
else
	fail_from pktfuzz-live-flows "flows: $(nctl flows); legit: $(cat "$D/legit.json" 2>/dev/null)"
fi
log "live flows: tcp $LAN1:$TI -> $NAT_EXT:$TE -> $WAN1:7," \
	"udp :$UI -> :$UE -> :5001, icmp id $II -> $IE"
flows_file "$TE" "$UE" "$IE" > "$D/flows.json"

# stable_snapshot N: natk's stats and the nft counters, read when two reads
# a second apart agree (nothing in flight; the GC expiring flows meanwhile
# does not matter), to $D/statsN.json, $D/nftN.json.
counters_now() {
	stats_json | jq -cS 'del(.active_connections, .idle_timeouts)' && nft_counters
}
stable_snapshot() {
	local a b
	b=$(counters_now)
	for _ in $(seq 30); do
		sleep 1
		a=$b
		b=$(counters_now)
		[ "$a" = "$b" ] && break
	done
	stats_json > "$D/stats$1.json" && nft_counters > "$D/nft$1.json"
}
# The baseline: natk's counters and nft's cannot be read at the same
# instant, so the live flows pause (phase "hold") while they are read.
log "live flows up at ${SECONDS}s"
echo hold > "$D/phase"
sleep 2
stable_snapshot 0
echo before > "$D/phase"
log "baseline at ${SECONDS}s"

log "sniffers starting at ${SECONDS}s"
lanmac=$(ip -n nat -j link show lan0 | jq -r '.[0].address')
wanmac=$(ip -n nat -j link show wan0 | jq -r '.[0].address')
for s in lan wan; do
	ns=$s
	[ $s = lan ] && ns=lan1
	# The sniffer sits on the side that receives the other side's frames.
	nsx $ns python3 "$FUZZ" sniff eth0 "$D/flows.json" $s "$D/sniff-$s.ready" \
		"$D/stop" "$D/sniff-$s.json" &
done
poll $WAIT test -e "$D/sniff-lan.ready" -a -e "$D/sniff-wan.ready" ||
	fail_from pktfuzz-sent-lan "sniffers did not start"

half=$((FRAMES / 2))
# The senders stop at two thirds of the scenario's time, whatever they
# have sent by then (pktfuzz-sent-* FAILs, the rest is still judged). On
# an idle machine 30,000 frames take about 35 s; 100,000 on the debug
# kernel about 400 s of its 800 (an estimate: 46 frames/s were measured with
# three other VMs on the same 2 CPUs).
budget=$(( ${NATK_SCENARIO_TIMEOUT:-300} * 2 / 3 - SECONDS ))
log "seed $SEED, $half frames from each side, at most ${budget}s"
t0=$SECONDS
echo during > "$D/phase"
nsx lan1 python3 "$FUZZ" send eth0 "$lanmac" "$D/flows.json" lan $half "$SEED" $budget "$D/send-lan.json" &
FL=$!
nsx wan python3 "$FUZZ" send eth0 "$wanmac" "$D/flows.json" wan $half "$((SEED + 1))" $budget "$D/send-wan.json" &
FW=$!
wait $FL
rcl=$?
wait $FW
rcw=$?
log "fuzz took $((SECONDS - t0)) s (senders exited $rcl, $rcw)"
echo after > "$D/phase"
# The live flows go on: at least 16 KiB over TCP, 10 UDP answers and 10
# pings after the fuzz (or one of them gave up: a request never answered).
after_done() {
	jq -e '(.tcp.recv_after >= 16384 and .udp.answered_after >= 10 and
		.icmp.answered_after >= 10) or (.errors | length > 0)' "$D/legit.json"
}
poll $WAIT after_done || log "the live flows did little after the fuzz: $(cat "$D/legit.json")"
log "after the fuzz: $(jq -c '[.tcp.recv_after, .udp.answered_after, .icmp.answered_after]' "$D/legit.json") at ${SECONDS}s"
echo stop > "$D/phase"
poll $WAIT jq -e .done "$D/legit.json" || log "the live flows did not finish: $(cat "$D/legit.json")"
wait "$LEGIT"
touch "$D/stop"
wait_sniffers() { [ -s "$D/sniff-lan.json" ] && [ -s "$D/sniff-wan.json" ]; }
poll $WAIT wait_sniffers || log "sniffers did not finish"
log "live flows and sniffers done at ${SECONDS}s"
stable_snapshot 1
log "cpu seconds: live flows $(jq -c .cpu "$D/legit.json")"
log "stats: $(jq -c . "$D/stats1.json")"
log "nft: $(jq -c . "$D/nft1.json")"
for s in lan wan; do
	[ -s "$D/send-$s.json" ] && log "$s fates: $(jq -c .fates "$D/send-$s.json")"
	log "cpu seconds: $s sender $(jq -c .cpu "$D/send-$s.json" 2>/dev/null), $s sniffer $(jq -c .cpu "$D/sniff-$s.json" 2>/dev/null)"
done

# The judgement: one PASS/FAIL line per check in JUDGED.
out=$(python3 "$FUZZ" judge "$D" 2>&1)
jrc=$?
for n in $JUDGED; do
	line=$(echo "$out" | grep -E "^(PASS|FAIL) $n: " | sed -n 1p)
	case $line in
	PASS*) pass "$n"; log "${line#PASS }" ;;
	FAIL*) fail "$n" "${line#FAIL "$n": }" ;;
	*) fail "$n" "not judged (judge exited $jrc): $(echo "$out" | tail -n 3)" ;;
	esac
done

peer_server wan udp 5000 "$WAN1"
peer=$(ask lan1 udp "$WAN1" 5000 41999 | sed -n 1p)
expect_eq pktfuzz-new-flow-after "$NAT_EXT" "${peer%% *}" "UDP through natk after the fuzz"
check pktfuzz-status-answers nctl status
dmesg_check pktfuzz-kernel-log-clean

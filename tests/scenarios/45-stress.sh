#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Concurrency stress. For NATK_STRESS_SECONDS (30), and on until each has
# run NATK_STRESS_MIN (2) rounds, these loops run at the same time:
#   udp1, tcp1, udp2  short UDP/TCP exchanges from lan1 and lan2
#   churn2            python in lan2 opening 50 new UDP flows a round (to
#                     a closed port: the ICMP errors come back translated)
#   flush             natkctl flush
#   dump              natkctl -j flows
#   config            set timeout udp N, mapping and filtering toggles, port
#                     ranges, forward add/del
#   netns             a netns created, natk configured in it (dummy
#                     external device), deleted
# Then everything stops; natkctl must answer, traffic must work and every
# loop must have run at least NATK_STRESS_MIN (2) rounds. The traffic
# loops must have carried traffic in most rounds: at least half of each
# loop's, and 80% of all udp1, tcp1 and udp2 rounds together (a round
# fails when a flush or a configuration change catches its reply in
# flight: a few in a hundred); every churn datagram must reach wan, and
# no packet may reach wan with a lan address.
# Last, natk is removed and loaded again 5 times, each time right after a
# configured netns was deleted and with netns nat configured and carrying
# flows.
# The kernel log must stay clean throughout.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
LOOPS="udp1 tcp1 udp2 churn2 flush dump config netns"
for l in $LOOPS; do plan "stress-loop-$l-ran"; done
plan "$SCEN-natk-up" stress-status-answered-during stress-flush-no-errors \
	stress-config-no-errors stress-netns-no-errors stress-traffic-carried \
	stress-churn-delivered stress-no-leak stress-no-netns-left \
	stress-natkctl-answers stress-config-restore stress-flush-after \
	stress-udp-after stress-tcp-after stress-udp-lan2-after stress-rmmod \
	stress-modprobe stress-reload-works stress-no-lockup stress-kernel-log
dmesg_mark
require_natk stress-setup
STRESS_S=${NATK_STRESS_SECONDS:-30}
MIN=${NATK_STRESS_MIN:-2}
RELOADS=5
D=$(mktemp -d)
LOOP_PIDS=()

# stress_stop: end the loops (they also stop by themselves at the deadline)
loops_done() {
	local p
	for p in "${LOOP_PIDS[@]}"; do kill -0 "$p" 2>/dev/null && return 1; done
	return 0
}
stress_stop() {
	local p
	touch "$D/stop"
	[ ${#LOOP_PIDS[@]} -gt 0 ] || return 0
	poll 30 loops_done || for p in "${LOOP_PIDS[@]}"; do kill_tree "$p"; done
	wait "${LOOP_PIDS[@]}" 2>/dev/null
	LOOP_PIDS=()
}
# The loops must be gone before scenario_cleanup tears the namespaces
# down; keep scenario_cleanup's exit status.
trap 'rc=$?; stress_stop; for n in $(ip netns list 2>/dev/null | awk "/^stress/ {print \$1}"); do ip netns del $n; done; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT

topo_setup || { fail stress-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan tcp 5000
peer_server wan udp 5001 $WAN1
# wan counts the churn's datagrams, and anything with a lan address.
wan_counter_setup
nsx wan nft -f - <<-EOT || { fail stress-setup "nft counter in wan"; exit 1; }
	table ip churn {
		counter rx { }
		chain in {
			type filter hook input priority 0;
			ip saddr $NAT_EXT udp dport 5003 counter name rx
		}
	}
EOT
churn_rx() { nsx wan nft -j list counter ip churn rx | jq -r '.nftables[] | select(.counter) | .counter.packets'; }
# a first exchange resolves the neighbours before the loops start
ask lan1 udp $WAN1 5001 29999 > /dev/null
ask lan2 udp $WAN1 5001 29999 > /dev/null

# ------------------------------------------------------------ the loops
# loop NAME CMD...: run CMD until the deadline or $D/stop; after every
# round $D/NAME.count holds "OK FAILED", $D/NAME.err the failures' output.
loop() {
	local name=$1 ok=0 bad=0
	shift
	set +x	# thousands of rounds: keep the scenario's trace readable
	# Until the deadline, and on past it until MIN rounds (a churn round
	# can take 20 s on a busy host): the stop file ends it in any case.
	while [ ! -e "$D/stop" ] &&
		{ [ "$SECONDS" -lt "$END" ] || [ $((ok + bad)) -lt "$MIN" ]; }; do
		if "$@" > /dev/null 2>> "$D/$name.err"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "(round $((ok + bad)) failed)" >> "$D/$name.err"
		fi
		echo "$ok $bad" > "$D/$name.count"
	done
}

got_peer() { grep -q "^$NAT_EXT [0-9]"; }
t_udp1() { ask lan1 udp $WAN1 5001 $((30000 + RANDOM % 10000)) | got_peer; }
t_tcp1() { ask lan1 tcp $WAN1 5000 "" stress | got_peer; }
t_udp2() { ask lan2 udp $WAN1 5001 $((30000 + RANDOM % 10000)) | got_peer; }
t_churn2() {
	local base=$((40000 + RANDOM % 20000)) specs=() i
	for i in $(seq 0 49); do specs+=("0.0.0.0:$((base + i)):$WAN2:5003:churn"); done
	# a round takes seconds, or a minute on a debug kernel under load
	nsx lan2 timeout 120 python3 -c "$RFC_PY" udpmany "${specs[@]}"
}
c_flush() { nctl flush && sleep 0.3; }
c_dump() { nctl -j flows | jq -e 'type == "array"'; }
CFG_I=0
c_config() {
	local i=$((CFG_I++))
	case $((i % 10)) in
	0) nctl set timeout udp $((20 + i % 40)) ;;
	1) nctl set mapping address-port-dependent ;;
	2) nctl set filtering endpoint-independent ;;
	3) nctl set ports 20000-40000 ;;
	4) nctl forward add udp 7000 $LAN1:7000 ;;
	5) nctl set mapping endpoint-independent ;;
	6) nctl set filtering address-dependent ;;
	7) nctl set ports 1024-65535 ;;
	8) nctl forward del udp 7000 ;;
	9) nctl set filtering address-port-dependent timeout udp 300 ;;
	esac
}
NS_I=0
c_netns() {
	local ns=stress$((NS_I++)) rc
	ip netns add $ns &&
		ip -n $ns -b - <<-EOT &&
			link set lo up
			link add ext0 type dummy
			addr add 198.51.100.1/24 dev ext0
			link set ext0 up
		EOT
		natkctl -n $ns set external ext0 max-flows 100 timeout udp 5 &&
		natkctl -n $ns -j status | jq -e '.enabled == true and .external_interface == "ext0"'
	rc=$?
	ip netns del $ns || rc=1
	return $rc
}

END=$((SECONDS + STRESS_S))
for l in $LOOPS; do
	case $l in
	udp1) loop "$l" t_udp1 & ;;
	tcp1) loop "$l" t_tcp1 & ;;
	udp2) loop "$l" t_udp2 & ;;
	churn2) loop "$l" t_churn2 & ;;
	flush) loop "$l" c_flush & ;;
	dump) loop "$l" c_dump & ;;
	config) loop "$l" c_config & ;;
	netns) loop "$l" c_netns & ;;
	esac
	LOOP_PIDS+=($!)
done
log "stress: ${#LOOP_PIDS[@]} loops for $STRESS_S s"
# every loop has run MIN rounds: "OK FAILED" in each count file
loops_min() {
	local l ok bad
	for l in $LOOPS; do
		read -r ok bad 2> /dev/null < "$D/$l.count" || return 1
		[ $((ok + bad)) -ge "$MIN" ] || return 1
	done
}
# Meanwhile: natkctl status must keep answering. Until the deadline and
# every loop's MIN rounds (5 minutes more at most).
st_ok=0 st_bad=0
while [ "$SECONDS" -lt "$END" ] ||
	{ ! loops_min && [ "$SECONDS" -lt $((END + 300)) ]; }; do
	if nctl -j status | jq -e '.enabled == true' > /dev/null 2>&1; then
		st_ok=$((st_ok + 1))
	else
		st_bad=$((st_bad + 1))
	fi
	sleep 1
done
stress_stop

# ------------------------------------------------------------ results
expect_eq stress-status-answered-during "$st_ok 0" "$st_ok $st_bad" "natkctl -j status answered/failed during the stress"
tr_ok=0 tr_all=0
for l in $LOOPS; do
	read -r ok bad 2> /dev/null < "$D/$l.count" || { ok=0 bad=0; }
	log "loop $l: $((ok + bad)) rounds, $ok ok, $bad failed"
	case $l in
	udp1 | tcp1 | udp2) tr_ok=$((tr_ok + ok)) tr_all=$((tr_all + ok + bad)); least=$(( (ok + bad + 1) / 2 )) ;;
	*) least=1 ;;
	esac
	if [ $((ok + bad)) -ge "$MIN" ] && [ "$ok" -ge "$least" ]; then
		pass "stress-loop-$l-ran"
	else
		fail "stress-loop-$l-ran" "$((ok + bad)) rounds ($ok ok), want >= $MIN with >= $least ok; last errors: $(tail -n 4 "$D/$l.err" 2>/dev/null | tr '\n' ' ')"
	fi
done
# Most exchanges crossed natk, whatever ran alongside.
log "traffic loops: $tr_ok of $tr_all rounds carried traffic"
if [ "$tr_all" -ge $((3 * MIN)) ] && [ $((tr_ok * 10)) -ge $((tr_all * 8)) ]; then
	pass stress-traffic-carried
else
	fail stress-traffic-carried "$tr_ok of $tr_all udp1, tcp1 and udp2 rounds got their reply (want >= 80%, >= $((3 * MIN)) rounds)"
fi
# Each churn round's 50 datagrams made new flows and reached wan.
read -r ok bad 2> /dev/null < "$D/churn2.count" || { ok=0 bad=0; }
rx=$(churn_rx)
log "churn: $ok rounds ok, $bad failed; wan received $rx datagrams"
if [ "$ok" -ge 1 ] && [ "${rx:-0}" -ge $((50 * ok)) ] && [ "${rx:-0}" -le $((50 * (ok + bad))) ]; then
	pass stress-churn-delivered
else
	fail stress-churn-delivered "wan received ${rx:-0} churn datagrams for $ok complete rounds of 50 ($bad cut short)"
fi
expect_eq stress-no-leak 0 "$(wan_counter from_lan)" "packets with a 10.0.0.0/24 source that reached wan"
# natkctl commands that must not fail whatever runs alongside (traffic
# may: a flush or a configuration change can catch a reply in flight; a
# flow dump may give up after repeated interruptions).
for l in flush config netns; do
	read -r ok bad 2> /dev/null < "$D/$l.count" || { ok=0 bad=0; }
	if [ "$bad" = 0 ]; then
		pass "stress-$l-no-errors"
	else
		fail "stress-$l-no-errors" "$bad of $((ok + bad)) failed: $(grep -v '^(round' "$D/$l.err" | sort | uniq -c | sort -rn | head -n 3 | tr '\n' ' ')"
	fi
done
leftover=$(ip netns list | awk '/^stress/ {print $1}' | tr '\n' ' ')
expect_eq stress-no-netns-left "" "$leftover" "stress netns left behind"

# After: natkctl answers, back to defaults, traffic works.
check stress-natkctl-answers sh -c "ip netns exec nat $NATKCTL -j status | jq -e '.enabled == true'"
nctl forward del udp 7000 > /dev/null 2>&1
check stress-config-restore nctl set ports 1024-65535 mapping endpoint-independent \
	filtering address-port-dependent timeout udp 300
check stress-flush-after nctl flush
r=$(ask lan1 udp $WAN1 5001 29001 | sed -n 1p)
expect_eq stress-udp-after "$NAT_EXT 29001" "$r" "UDP reply to lan1:29001 after the stress"
r=$(ask lan1 tcp $WAN1 5000 29002 | sed -n 1p)
expect_eq stress-tcp-after "$NAT_EXT 29002" "$r" "TCP reply to lan1:29002 after the stress"
r=$(ask lan2 udp $WAN1 5001 29003 | sed -n 1p)
expect_eq stress-udp-lan2-after "$NAT_EXT 29003" "$r" "UDP reply to lan2:29003 after the stress"

# ------------------------------------------------------------ rmmod/modprobe
# Each round: a netns with natk configured is deleted (its cleanup runs
# asynchronously), then natk is removed while netns nat is configured
# with flows, loaded again, and nat reconfigured and used.
rm_ok=0 ld_ok=0 use_ok=0
for i in $(seq 1 $RELOADS); do
	ns=stressrm$i
	if ! { ip netns add "$ns" && ip -n "$ns" link set lo up &&
		ip -n "$ns" link add ext0 type dummy && ip -n "$ns" link set ext0 up &&
		ip -n "$ns" addr add 198.51.100.1/24 dev ext0 &&
		natkctl -n "$ns" set external ext0 > /dev/null; }; then
		log "round $i: netns $ns setup failed"
	fi
	ask lan1 udp $WAN1 5001 $((29100 + i)) > /dev/null
	ip netns del "$ns"
	if poll 30 rmmod natk; then
		rm_ok=$((rm_ok + 1))
	else
		log "round $i: rmmod natk kept failing for 30 s (refcnt $(cat /sys/module/natk/refcnt 2>/dev/null))"
		break
	fi
	if natk_load; then
		ld_ok=$((ld_ok + 1))
	else
		log "round $i: modprobe natk failed"
		break
	fi
	r=
	nctl set external wan0 > /dev/null && r=$(ask lan1 udp $WAN1 5001 $((29200 + i)) | sed -n 1p)
	if [ "$r" = "$NAT_EXT $((29200 + i))" ]; then
		use_ok=$((use_ok + 1))
	else
		log "round $i: after reload lan1 got '$r'"
	fi
done
log "reload rounds: $rm_ok rmmod, $ld_ok modprobe, $use_ok working afterwards (of $RELOADS)"
expect_eq stress-rmmod "$RELOADS" "$rm_ok" "successful rmmod natk"
expect_eq stress-modprobe "$RELOADS" "$ld_ok" "successful modprobe natk"
expect_eq stress-reload-works "$RELOADS" "$use_ok" "rounds where UDP worked after the reload"
stalls=$(dmesg_since | grep -Ei 'soft lockup|rcu.*stall' | head -n 3)
expect_eq stress-no-lockup "" "$stalls" "kernel log"
dmesg_check stress-kernel-log

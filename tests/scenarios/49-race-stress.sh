#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Race stress: the activities that race with flow and mapping publication,
# with the GC and with unhooking (docs/design.md, "Life of a flow and of a
# mapping"), all at once under traffic. With a NATK_RACE=y build (make
# check-debug) each window is widened. For NATK_STRESS_SECONDS (20), and
# until each management loop has run NATK_STRESS_MIN (3) rounds:
#   udp1, tcp1, udp2  short UDP/TCP exchanges from lan1 and lan2, each from
#                     a new source port (a new flow a round)
#   fwdin             UDP from wan to the two forwards below
#   flood             lan2 sends 500 datagrams a second, a new UDP flow
#                     each, to ports wan drops; with max-flows 1024 the
#                     table fills and the GC evicts while flows are created
#                     (for certain once the flush and modes loops stop)
#   flush             natkctl flush
#   modes             mapping and filtering flips (each flushes after the
#                     change)
#   fwd               two forwards to one internal endpoint (udp 7000 and
#                     7001 to lan1:7000) added, then deleted in turn
#   nspair            a scratch netns pair (a NAT with natk and a dummy
#                     external device, a client sending new flows through
#                     it) set up, then the NAT's netns deleted under the
#                     client's traffic, then the client's
# while natkctl status is sampled: it must always answer, enabled, with
# no more flows than max-flows. Then, with the traffic loops and the flood
# still running and a scratch pair carrying traffic through its own natk,
# natk is removed, loaded and configured again, 3 times.
# Asserted: every loop ran at least NATK_STRESS_MIN rounds, udp1, tcp1 and
# udp2 one OK; flush, modes and nspair never failed, fwd only with the
# refusals natk documents (a dynamic mapping in the way: "flush first"),
# once without; the GC evicted; every rmmod and modprobe worked, with every
# traffic loop alive across the rmmod and running through the reloads;
# afterwards UDP, TCP and a forward work; the kernel log is clean.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
dmesg_mark
require_natk race-stress-setup
STRESS_S=${NATK_STRESS_SECONDS:-20}
MIN=${NATK_STRESS_MIN:-3}
MAXF=1024
FLOOD_RATE=500
RELOADS=3
D=$(mktemp -d)
TRAFFIC="udp1 tcp1 udp2 fwdin"
MGMT="flush modes fwd nspair"
plan race-stress-natk-up race-stress-max-flows race-stress-status-answered \
	race-stress-max-flows-held race-stress-fwd-full-round race-stress-gc-evicted \
	race-stress-no-netns-left race-stress-rmmod race-stress-modprobe \
	race-stress-traffic-during-rmmod race-stress-traffic-ran-through-reloads \
	race-stress-no-netns-left-after-reloads race-stress-natkctl-answers race-stress-flush-after \
	race-stress-udp-after race-stress-tcp-after race-stress-udp-lan2-after \
	race-stress-forward-add-after race-stress-forward-after race-stress-no-lockup \
	race-stress-kernel-log
for l in $TRAFFIC $MGMT; do plan "race-stress-loop-$l-ran"; done
for l in $MGMT; do plan "race-stress-$l-no-errors"; done
T_PIDS=() M_PIDS=()
FLOOD=

loops_done() { # loops_done PID...: none of them runs
	local p
	for p in "$@"; do kill -0 "$p" 2>/dev/null && return 1; done
	return 0
}
# stop_loops STOPFILE PID...: ask, then make sure
stop_loops() {
	local f=$1 p
	shift
	touch "$f"
	[ $# -gt 0 ] || return 0
	poll 60 loops_done "$@" || for p in "$@"; do kill_tree "$p"; done
	wait "$@" 2>/dev/null
}
stress_stop() {
	stop_loops "$D/stop" "${M_PIDS[@]}"
	M_PIDS=()
	stop_loops "$D/stop-traffic" "${T_PIDS[@]}" $FLOOD
	T_PIDS=() FLOOD=
}
scratch_del() { # every scratch netns, NATs first
	local n
	for n in $(ip netns list 2>/dev/null | awk '/^rsn/ {print $1}'); do ip netns del "$n"; done
	for n in $(ip netns list 2>/dev/null | awk '/^rsc/ {print $1}'); do
		ns_kill "$n"
		ip netns del "$n"
	done
}
# Everything must be gone before scenario_cleanup tears the namespaces
# down; keep scenario_cleanup's exit status.
trap 'rc=$?; stress_stop; scratch_del; log "cleaned up at $SECONDS s"; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT

topo_setup || { fail race-stress-setup "topology setup failed"; exit 1; }
check race-stress-natk-up natk_up || exit 1
check race-stress-max-flows nctl set max-flows $MAXF
if [ -e /sys/module/natk/parameters/race_delay_us ]; then
	log "race build: windows widened by $(cat /sys/module/natk/parameters/race_delay_us) us," \
		"one in $(cat /sys/module/natk/parameters/race_one_in)"
fi
peer_server wan tcp 5000
peer_server wan udp 5001 $WAN1
peer_server lan1 udp 7000
# wan drops the flood (to WAN2, ports 9000-9999) before anything answers
nsx wan nft -f - <<-EOT || { fail race-stress-setup "nft sink in wan"; exit 1; }
	table ip sink {
		counter flood { }
		chain pre {
			type filter hook prerouting priority -400;
			ip daddr $WAN2 udp dport 9000-9999 counter name flood drop
		}
	}
EOT
sink() { nsx wan nft -j list counter ip sink flood | jq -r '.nftables[] | select(.counter) | .counter.packets'; }
# a first exchange resolves the neighbours before the loops start
ask lan1 udp $WAN1 5001 29999 > /dev/null
ask lan2 udp $WAN1 5001 29999 > /dev/null

# ------------------------------------------------------------ the loops
# loop NAME STOPFILE CMD...: run CMD until STOPFILE exists (or a hard
# deadline); after every round $D/NAME.count holds "OK FAILED", $D/NAME.err
# the failures' output. With STOPFILE "-", until END and at least MIN
# rounds (a slow round must not leave a loop short on a loaded machine).
loop() {
	local name=$1 stop=$2 ok=0 bad=0 t0 ms slow=0
	shift 2
	set +x	# thousands of rounds: keep the scenario's trace readable
	while [ "$SECONDS" -lt "$HARD_END" ] && [ ! -e "$D/stop" ] &&
		if [ "$stop" = - ]; then
			[ "$SECONDS" -lt "$END" ] || [ $((ok + bad)) -lt "$MIN" ]
		else
			[ ! -e "$stop" ]
		fi; do
		t0=${EPOCHREALTIME/./}
		if "$@" > /dev/null 2>> "$D/$name.err"; then
			ok=$((ok + 1))
		else
			bad=$((bad + 1))
			echo "(round $((ok + bad)) failed)" >> "$D/$name.err"
		fi
		ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
		[ "$ms" -gt "$slow" ] && slow=$ms
		echo "$ok $bad $slow" > "$D/$name.count.tmp" && mv "$D/$name.count.tmp" "$D/$name.count"
	done
}
counts() { # counts NAME: "OK FAILED SLOWEST-MS"
	cat "$D/$1.count" 2>/dev/null || echo "0 0 0"
}

got_peer() { grep -q "^$NAT_EXT [0-9]"; }
t_udp1() { ask lan1 udp $WAN1 5001 $((30000 + RANDOM % 10000)) | got_peer; }
t_tcp1() { ask lan1 tcp $WAN1 5000 "" race | got_peer; }
t_udp2() { ask lan2 udp $WAN1 5001 $((30000 + RANDOM % 10000)) | got_peer; }
t_fwdin() { ask wan udp $NAT_EXT $((7000 + RANDOM % 2)) | grep -q "^$WAN1 "; }

c_flush() { nctl flush && sleep 0.3; }
MODE_I=0
c_modes() {
	local i=$((MODE_I++))
	case $((i % 5)) in
	0) nctl set mapping address-port-dependent ;;
	1) nctl set filtering endpoint-independent ;;
	2) nctl set mapping endpoint-independent ;;
	3) nctl set filtering address-dependent ;;
	4) nctl set filtering address-port-dependent ;;
	esac && sleep 0.2
}
# fwdcmd OK_RE ARGS...: natkctl forward ARGS; 0 done, 1 refused with a
# message matching OK_RE (extended regex; empty: no refusal is right),
# 2 otherwise (said on stderr)
fwdcmd() {
	local re=$1 out
	shift
	out=$(nctl forward "$@" 2>&1) && return 0
	if [ -n "$re" ] && printf '%s\n' "$out" | grep -Eq -- "$re"; then
		return 1
	fi
	echo "forward $*: $out" >&2
	return 2
}
# Adding is refused while a dynamic mapping holds the port or the endpoint
# (flows of a deleted forward, until a flush); a forward that was added
# must delete, one that was not must be unknown. A round without refusals
# is appended to fwd.full.
FWD_I=0
c_fwd() {
	local i=$((FWD_I++)) p r err=0 full=1
	local -A added=()
	for p in 7000 7001; do
		fwdcmd 'flush first' add udp $p $LAN1:7000
		r=$?
		[ $r = 0 ] && added[$p]=1
		[ $r = 1 ] && full=0
		[ $r = 2 ] && err=1
	done
	sleep 0.2
	for p in $( [ $((i % 2)) = 0 ] && echo 7000 7001 || echo 7001 7000 ); do
		if [ -n "${added[$p]:-}" ]; then
			fwdcmd '' del udp $p || err=1
		else
			fwdcmd 'no such forward|no forward for' del udp $p
			[ $? = 2 ] && err=1
		fi
	done
	[ $full = 1 ] && [ $err = 0 ] && echo "$i" >> "$D/fwd.full"
	return $err
}
# pair_up N: scratch NAT rsnN (natk out of dummy ext0, 198.51.100.1/24,
# lan 10.9.0.1/24) and client rscN (10.9.0.2) sending new UDP flows through
# it (a new socket per datagram) until killed; the sender's pid in PAIR_PID.
# Fails unless natk in rsnN shows flows.
pair_up() {
	local a=rsn$1 b=rsc$1
	PAIR_PID=
	ip netns add $a && ip netns add $b || return 1
	pt netns-add
	ip -n $a -b - <<-EOT || return 1
		link set lo up
		link add ext0 type dummy
		addr add 198.51.100.1/24 dev ext0
		link set ext0 up
		link add lan type veth peer name eth0 netns $b
		addr add 10.9.0.1/24 dev lan
		link set lan up
	EOT
	ip -n $b -b - <<-EOT || return 1
		link set lo up
		addr add 10.9.0.2/24 dev eth0
		link set eth0 up
		route add default via 10.9.0.1
	EOT
	nsx $a sysctl -qw net.ipv4.ip_forward=1 || return 1
	pt links
	natkctl -n $a set external ext0 max-flows 200 timeout udp 5 || return 1
	pt natk
	ip netns exec $b bash -c 'while :; do for p in {9000..9019}; do
		echo x 2>/dev/null > /dev/udp/198.51.100.2/$((p + RANDOM % 50 * 20))
		done; sleep 0.1; done' > /dev/null 2>&1 &
	PAIR_PID=$!
	poll 20 sh -c "ip netns exec $a '$NATKCTL' -j status | grep -Eq '\"flows\": *[1-9]'" ||
		{ echo "pair $1: no flow in $a's natk" >&2; return 1; }
	pt flows
}
# pair_down N: the NAT's netns goes first, under the client's traffic
pair_down() {
	local rc=0
	ip netns del rsn$1 || rc=1
	pt nat-del
	sleep 0.2
	[ -n "${PAIR_PID:-}" ] && kill_tree "$PAIR_PID"
	ns_kill rsc$1
	ip netns del rsc$1 || rc=1
	pt client-del
	return $rc
}
# pt STEP: note how long STEP took (ms), in PT
pt() {
	local now=${EPOCHREALTIME/./}
	PT+=" $1 $(( (now - ${PT0:-$now}) / 1000 ))"
	PT0=$now
}
NS_I=0
c_nspair() {
	local i=$((NS_I++)) rc=0
	PT= PT0=${EPOCHREALTIME/./}
	pair_up $i || rc=1
	sleep 0.5
	PT0=${EPOCHREALTIME/./}
	pair_down $i || rc=1
	echo "round $i (ms):$PT" >> "$D/nspair.steps"
	return $rc
}

# flood: from lan2, 20 source ports to 1000 destination ports in turn: a
# new flow per datagram (with 1024 at most in the table, each 5-tuple comes
# back long after its flow was evicted or flushed), at most FLOOD_RATE a
# second: enough to fill the table between two flushes, not the whole CPU
cat > "$D/flood.py" <<'PY'
import os, socket, sys, time
dst, stop, count, rate = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
socks = []
for i in range(20):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", 45000 + i))
    socks.append(s)
n = r = 0
t0 = time.monotonic()
while not os.path.exists(stop):
    for j in range(50):
        a = (dst, 9000 + (r * 50 + j) % 1000)
        for s in socks:
            try:
                s.sendto(b"x", a)
                n += 1
            except OSError:
                pass
    r += 1
    with open(count + ".tmp", "w") as f:
        f.write("%d\n" % n)
    os.replace(count + ".tmp", count)
    ahead = t0 + n / rate - time.monotonic()
    if ahead > 0:
        time.sleep(ahead)
PY
nsx lan2 python3 "$D/flood.py" $WAN2 "$D/stop-traffic" "$D/flood.count" "$FLOOD_RATE" \
	> "$D/flood.out" 2>&1 &
FLOOD=$!

st0=$(nctl -j stats)
END=$((SECONDS + STRESS_S))
HARD_END=$((END + 900))	# the traffic also runs through the reloads
for l in $TRAFFIC; do
	loop "$l" "$D/stop-traffic" "t_$l" &
	T_PIDS+=($!)
done
for l in $MGMT; do
	loop "$l" - "c_$l" &
	M_PIDS+=($!)
done
log "stress at $SECONDS s: ${#T_PIDS[@]} traffic loops, the flood and ${#M_PIDS[@]} management loops for $STRESS_S s"
# Meanwhile: natkctl status must keep answering, never above max-flows.
st_ok=0 st_bad=0 fmax=0 over= st_slow=0
while [ "$SECONDS" -lt "$HARD_END" ] && ! loops_done "${M_PIDS[@]}"; do
	t0=${EPOCHREALTIME/./}
	# (grep, not jq: jq takes a while to start under TCG)
	f=$(nctl -j status 2>/dev/null | tr -d ' \n' | grep '"enabled":true' | grep -Eo '"flows":[0-9]+' | cut -d: -f2)
	ms=$(( (${EPOCHREALTIME/./} - t0) / 1000 ))
	[ "$ms" -gt "$st_slow" ] && st_slow=$ms
	if [ -n "$f" ] && [ "$f" != null ]; then
		st_ok=$((st_ok + 1))
		[ "$f" -gt "$fmax" ] && fmax=$f
		[ "$f" -gt $MAXF ] && over+="$f "
	else
		st_bad=$((st_bad + 1))
	fi
	sleep 1
done
M_PIDS=()
log "management loops stopped at $SECONDS s"

# The flush and modes loops empty the table every second or so, so the
# flood (500 new flows a second) does not always fill it between two of
# them on a slow host. With them stopped and the flood and the traffic
# loops still running, the table fills within seconds: the GC must evict
# while flows are created.
evicted() { # EVICTED-BEFORE: has flows_evicted grown since?
	local n
	n=$(nctl -j stats | grep -Eo '"flows_evicted": *[0-9]+' | grep -Eo '[0-9]+$')
	[ "${n:-0}" -gt "$1" ]
}
t_ev=$SECONDS
poll 60 evicted "$(echo "$st0" | jq -r .flows_evicted)"
log "after the management loops: flows_evicted grew within $((SECONDS - t_ev)) s"
st1=$(nctl -j stats)
declare -A C=()
for l in $TRAFFIC $MGMT; do C[$l]=$(counts "$l"); done
flood0=$(cat "$D/flood.count" 2>/dev/null || echo 0)

# ------------------------------------------------------------ results
log "natkctl status: $st_ok answers, the slowest $st_slow ms; at most $fmax flows"
expect_eq race-stress-status-answered "$st_ok 0" "$st_ok $st_bad" "natkctl -j status answered/failed during the stress"
if [ -z "$over" ]; then
	pass race-stress-max-flows-held
else
	fail race-stress-max-flows-held "natkctl status showed more than $MAXF flows: $over"
fi
for l in $TRAFFIC $MGMT; do
	read -r ok bad slow <<< "${C[$l]}"
	log "loop $l: $((ok + bad)) rounds, $ok ok, $bad failed, the slowest $slow ms"
	want_ok=1
	[ "$l" = fwdin ] && want_ok=0	# only while a forward is there
	[ "$l" = fwd ] && want_ok=0	# judged below
	if [ $((ok + bad)) -ge "$MIN" ] && [ "$ok" -ge "$want_ok" ]; then
		pass "race-stress-loop-$l-ran"
	else
		fail "race-stress-loop-$l-ran" "$((ok + bad)) rounds ($ok ok), want >= $MIN with $want_ok ok; last errors: $(tail -n 4 "$D/$l.err" 2>/dev/null | tr '\n' ' ')"
	fi
done
for l in $MGMT; do
	read -r ok bad slow <<< "${C[$l]}"
	if [ "$bad" = 0 ]; then
		pass "race-stress-$l-no-errors"
	else
		fail "race-stress-$l-no-errors" "$bad of $((ok + bad)) failed: $(grep -v '^(round' "$D/$l.err" | sort | uniq -c | sort -rn | head -n 3 | tr '\n' ' ')"
	fi
done
sed 's/^/nspair /' "$D/nspair.steps" 2>/dev/null | while read -r line; do log "$line"; done
full=$(wc -l < "$D/fwd.full" 2>/dev/null || echo 0)
log "fwd: $full rounds added and deleted both forwards without a refusal"
[ "$full" -ge 1 ] && pass race-stress-fwd-full-round ||
	fail race-stress-fwd-full-round "no round added both forwards (refused each time: $(tail -n 2 "$D/fwd.err" 2>/dev/null | tr '\n' ' '))"
ev=$(jq -n --argjson a "$st0" --argjson b "$st1" '$b.flows_evicted - $a.flows_evicted')
tf=$(jq -n --argjson a "$st0" --argjson b "$st1" '$b.drop_table_full - $a.drop_table_full')
log "flood: $flood0 datagrams sent, wan dropped $(sink); flows_evicted +$ev, drop_table_full +$tf; at most $fmax flows seen"
[ "${ev:-0}" -gt 0 ] && pass race-stress-gc-evicted ||
	fail race-stress-gc-evicted "flows_evicted did not grow (flood: $flood0 datagrams, drop_table_full +$tf)"
leftover=$(ip netns list | awk '/^rs[nc]/ {print $1}' | tr '\n' ' ')
expect_eq race-stress-no-netns-left "" "$leftover" "scratch netns left behind"

# ------------------------------------------------------------ rmmod/modprobe
# With the traffic loops and the flood running, and a scratch pair carrying
# traffic through its own natk: rmmod, modprobe, reconfigure both, again.
alive() { # every traffic loop and the flood run
	local p
	for p in "${T_PIDS[@]}" $FLOOD; do kill -0 "$p" 2>/dev/null || return 1; done
}
rm_ok=0 ld_ok=0 live=0
declare -A R0=()
for l in $TRAFFIC; do R0[$l]=$(counts "$l"); done
t0=$SECONDS
pair_up 1000 || log "reloads: the scratch pair carries no flows"
log "reloads: scratch pair up in $((SECONDS - t0)) s"
for i in $(seq 1 $RELOADS); do
	t0=$SECONDS
	a0=0; alive && a0=1
	if poll 30 rmmod natk; then
		rm_ok=$((rm_ok + 1))
	else
		log "reload $i: rmmod natk kept failing for 30 s (refcnt $(cat /sys/module/natk/refcnt 2>/dev/null))"
	fi
	a1=0; alive && a1=1
	[ "$a0$a1" = 11 ] && live=$((live + 1))
	t1=$SECONDS
	if natk_load && nctl set external wan0 max-flows $MAXF > /dev/null &&
		natkctl -n rsn1000 set external ext0 max-flows 200 timeout udp 5 > /dev/null; then
		ld_ok=$((ld_ok + 1))
	else
		log "reload $i: modprobe natk or set external failed"
	fi
	log "reload $i: rmmod $((t1 - t0)) s, modprobe and set external $((SECONDS - t1)) s"
	sleep 1	# traffic through the new module
done
t0=$SECONDS
pair_down 1000 || log "reloads: scratch pair deletion failed"
log "reloads: scratch pair down in $((SECONDS - t0)) s"
declare -A R1=()
for l in $TRAFFIC; do R1[$l]=$(counts "$l"); done
flood1=$(cat "$D/flood.count" 2>/dev/null || echo 0)
stop_loops "$D/stop-traffic" "${T_PIDS[@]}" $FLOOD
T_PIDS=() FLOOD=
log "traffic stopped at $SECONDS s"
grew=
for l in $TRAFFIC; do
	read -r o0 b0 _ <<< "${R0[$l]}"
	read -r o1 b1 _ <<< "${R1[$l]}"
	[ $((o1 + b1)) -gt $((o0 + b0)) ] || grew+="$l "
done
[ "$flood1" -gt "$flood0" ] || grew+="flood "
log "reload rounds: $rm_ok rmmod, $ld_ok modprobe, $live with every traffic loop alive across the rmmod (of $RELOADS); flood $flood0 -> $flood1"
expect_eq race-stress-rmmod "$RELOADS" "$rm_ok" "successful rmmod natk under traffic"
expect_eq race-stress-modprobe "$RELOADS" "$ld_ok" "successful modprobe natk and set external"
expect_eq race-stress-traffic-during-rmmod "$RELOADS" "$live" "reloads with every traffic loop alive before and after the rmmod"
expect_eq race-stress-traffic-ran-through-reloads "" "$grew" "loops that ran no round during the reloads"
leftover=$(ip netns list | awk '/^rs[nc]/ {print $1}' | tr '\n' ' ')
expect_eq race-stress-no-netns-left-after-reloads "" "$leftover" "scratch netns left behind"

# ------------------------------------------------------------ afterwards
check race-stress-natkctl-answers sh -c "ip netns exec nat $NATKCTL -j status | jq -e '.enabled == true'"
check race-stress-flush-after nctl flush
# (a datagram racing the flush's end may be lost: ask again)
try_udp() { [ "$(ask "$1" udp $WAN1 5001 "$2" | sed -n 1p)" = "$NAT_EXT $2" ]; }
try_tcp() { [ "$(ask lan1 tcp $WAN1 5000 "$1" | sed -n 1p)" = "$NAT_EXT $1" ]; }
poll 15 try_udp lan1 29001 && pass race-stress-udp-after ||
	fail race-stress-udp-after "no UDP reply to lan1:29001 ($(nctl -j status | jq -c '{flows, max_flows}'))"
poll 15 try_tcp 29002 && pass race-stress-tcp-after ||
	fail race-stress-tcp-after "no TCP reply to lan1:29002"
poll 15 try_udp lan2 29003 && pass race-stress-udp-lan2-after ||
	fail race-stress-udp-lan2-after "no UDP reply to lan2:29003"
check race-stress-forward-add-after nctl forward add udp 7000 $LAN1:7000
try_fwd() { ask wan udp $NAT_EXT 7000 | grep -q "^$WAN1 "; }
poll 15 try_fwd && pass race-stress-forward-after ||
	fail race-stress-forward-after "no reply from lan1:7000 through the forward"
stalls=$(dmesg_since | grep -Ei 'soft lockup|rcu.*stall' | head -n 3)
expect_eq race-stress-no-lockup "" "$stalls" "kernel log"
dmesg_check race-stress-kernel-log
log "done at $SECONDS s"

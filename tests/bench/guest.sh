#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk benchmark, runs inside the VM (tests/bench.sh boots it with
# MODE=tests/bench/guest.sh). Reports, never fails: every figure goes as one
# JSON object a line to RESULTS/raw.jsonl; tests/bench/report.py turns them
# into tables.
#
# Variants, each on its own fresh lan1 -- [lan0 bridge] nat [wan0] -- wan
# topology (the shape of tests/lib/netns.sh; the netns names carry the
# variant letter so nothing leaks between variants):
#   a  plain IPv4 forwarding, no netfilter table in nat
#   b  nf_conntrack + nftables masquerade
#   c  b + an nftables software flowtable on lan0, wan0
#   f  c with lan0's port vlan1 in the flowtable too (offloaded before the
#      bridge, as natk's fast path does; OpenWrt's fw4 lists ports so)
#   d  natk with its fast path off (natkctl set external wan0 fast-path off)
#   e  natk with its fast path (fast-path auto: nothing else is hooked)
# Phases (BENCH_PHASES, default the first three): basic (metrics 1, 2, 4, 5),
# load (3: per-packet cost with a preloaded table), teardown (6: deleting
# a nat netns holding BENCH_TEARDOWN_SIZE flows, and rmmod natk with them);
# only when named: smp (7: one flow on one CPU against two flows on two
# CPUs, for a VM of 2 vCPUs without icount), profile (where natk's time
# goes, from the function_graph tracer), insns (the same, exactly: a QEMU
# plugin counts every instruction; the marker program before and after
# each run, PG_MARK, has it dump its counts).
# Traffic: kernel pktgen in lan1 (64-byte UDP, clone_skb 0, unshared) to 192.0.2.2;
# wan drops UDP at its eth0 ingress and counts it (nft netdev counter).
# iperf3 for TCP.
# Read whole before running (the file may be edited during a long run).
{
set -uo pipefail
REPO=${NATK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/netns.sh"
RESDIR=$(dirname "${NATK_RESULTS:-/run/natk-results/results.txt}")
[ -r "$RESDIR/bench.env" ] && . "$RESDIR/bench.env"

RUNS=${BENCH_RUNS:-5}
VARIANTS=${BENCH_VARIANTS:-a b c d e f}
PPS_COUNT=${BENCH_PPS_COUNT:-50000}     # packets per single-flow run
NEWFLOWS=${BENCH_NEWFLOWS:-20000}        # flows per new-flow run
SIZES=${BENCH_SIZES:-1000 100000 1000000}
LOAD_RUNS=${BENCH_LOAD_RUNS:-$RUNS}
LOAD_COUNT=${BENCH_LOAD_COUNT:-20000}  # packets per loaded-table run
IPERF_TIME=${BENCH_IPERF_TIME:-1}
SKIP=${BENCH_SKIP:-}                     # e.g. "iperf load"
PHASES=${BENCH_PHASES:-basic load mem1 teardown}
MEM1_HOSTS=${BENCH_MEM1_HOSTS:-17}       # phase mem1: internal hosts
MEM1_PORTS=${BENCH_MEM1_PORTS:-60000}    # phase mem1: flows (ports) each
TD_SIZE=${BENCH_TEARDOWN_SIZE:-1000000}  # flows at teardown
TD_VARIANTS=${BENCH_TEARDOWN_VARIANTS:-e b}  # natk (d or e), conntrack (b)
TD_LIMIT=${BENCH_TEARDOWN_LIMIT:-600}    # guest seconds to wait at most
RAW=$RESDIR/raw.jsonl
: > "$RAW"

T0=$(date +%s)
say() { echo "bench[$(( $(date +%s) - T0 ))s]: $*"; }
emit() { echo "$1" >> "$RAW"; }   # emit JSON-OBJECT
skip() { case " $SKIP " in *" $1 "*) return 0 ;; esac; return 1; }
phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

# ------------------------------------------------------------ topology
# topo V: lan1V eth0 10.0.0.2 -- vlan1 in bridge lan0 10.0.0.1 (natV)
#         natV wan0 192.0.2.1 -- eth0 192.0.2.2 (wanV), UDP sink there.
# wan routes 10.0.0.0/24 back via the nat (plain forwarding needs it for
# TCP; with NAT nothing ever goes there).
topo() {
	local v=$1 l=lan1$1 n=nat$1 w=wan$1
	topo_del "$v"
	for ns in $l $n $w; do ip netns add $ns && ip -n $ns link set lo up || return 1; done
	nsx $n sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n $n -b - <<-EOT || return 1
		link add lan0 type bridge forward_delay 0 stp_state 0
		link add vlan1 type veth peer name eth0 netns $l
		link add wan0 type veth peer name eth0 netns $w
		link set vlan1 master lan0
		addr add $LAN_GW/24 dev lan0
		addr add $NAT_EXT/24 dev wan0
		link set lan0 up
		link set vlan1 up
		link set wan0 up
	EOT
	ip -n $l -b - <<-EOT || return 1
		addr add $LAN1/24 dev eth0
		link set eth0 up
		route add default via $LAN_GW
	EOT
	ip -n $w -b - <<-EOT || return 1
		addr add $WAN1/24 dev eth0
		link set eth0 up
		route add 10.0.0.0/24 via $NAT_EXT
	EOT
	nsx $w nft -f - <<-EOT || return 1
		table netdev sink {
			counter rx { }
			chain in {
				type filter hook ingress device eth0 priority 0;
				meta l4proto udp counter name rx drop
			}
		}
	EOT
	poll 10 nsx $l ping -c1 -W1 $LAN_GW || { say "topo $v: lan1 cannot reach gateway"; return 1; }
	poll 10 nsx $w ping -c1 -W1 $NAT_EXT || { say "topo $v: wan cannot reach nat"; return 1; }
	nsx $n ping -c1 -W1 $WAN1 > /dev/null 2>&1   # resolve the neighbour
	variant_up "$v"
}

topo_del() {
	local ns
	for ns in lan1$1 nat$1 wan$1; do
		ip netns list | grep -qw "^$ns" || continue
		ns_kill $ns
		ip netns del $ns
	done
	return 0
}

variant_up() {
	local v=$1 n=nat$1
	case $v in
	a) ;;
	b|c|f)
		{
		cat <<-EOT
			table ip nat {
				chain post {
					type nat hook postrouting priority srcnat; oifname "wan0" masquerade
				}
			}
		EOT
		[ "$v" = b ] || cat <<-EOT
			table ip filter {
				flowtable ft { hook ingress priority 0; devices = { lan0, $([ "$v" = f ] && echo "vlan1, ")wan0 }; }
				chain fw {
					type filter hook forward priority filter;
					ip protocol { tcp, udp } flow add @ft
				}
			}
		EOT
		} | nsx $n nft -f - || return 1
		# Unreplied UDP would expire in 30 s: keep preloaded flows.
		nsx $n sysctl -qw net.netfilter.nf_conntrack_udp_timeout=3600 \
			net.netfilter.nf_conntrack_udp_timeout_stream=3600
		nsx $n sh -c '[ ! -e /proc/sys/net/netfilter/nf_flowtable_udp_timeout ] ||
			sysctl -qw net.netfilter.nf_flowtable_udp_timeout=3600'
		;;
	d|e)
		nsx $n "$NATKCTL" set external wan0 max-flows 4000000 timeout udp 3600 \
			fast-path "$([ "$v" = e ] && echo ${BENCH_FP_MODE:-auto} || echo off)" || return 1
		;;
	esac
	return 0
}

# table size in nat (flows tracked)
flows() {
	case $1 in
	a) echo 0 ;;
	b|c|f) nsx nat$1 cat /proc/sys/net/netfilter/nf_conntrack_count ;;
	d|e) nsx nat$1 "$NATKCTL" -j status | jq -r .flows ;;
	esac
}

sink() { # delivered UDP packets at wan
	nsx wan$1 nft -j list counter netdev sink rx | jq -r '.nftables[] | select(.counter) | .counter.packets'
}

# ------------------------------------------------------------ pktgen
NAT_MAC=
pg() { # pg V FILE CMD: write a pktgen command in lan1V
	nsx lan1$1 sh -c "echo '$3' > /proc/net/pktgen/$2" ||
		{ say "pktgen: '$3' > $2: $(nsx lan1$1 grep -a Result: /proc/net/pktgen/$2)"; return 1; }
}

# pgflag V DEV: pktgen's skbs unshared (flag !SHARED, 5.13+), as a NIC's
# are: by default pktgen keeps a reference to every skb it sends, so the
# receiving side sees a shared skb, which the bridge clones
# (skb_share_check()) and natk's ingress hook leaves to the normal path.
pgflag() {
	nsx lan1$1 sh -c "echo 'flag !SHARED' > /proc/net/pktgen/$2" 2>/dev/null
	nsx lan1$1 grep -aq 'Result: OK' /proc/net/pktgen/$2 ||
		say "pktgen: no flag !SHARED here: skbs stay shared"
}

# pgrun V COUNT SRC SPORT_MIN NSPORT DPORT_MIN NDPORT: send COUNT packets,
# each port field stepping through its N values (coprime N: all pairs).
# Prints "usec sent delivered".
pgrun() {
	local v=$1 count=$2 src=$3 smin=$4 ns=$5 dmin=$6 nd=$7 mac d0 d1 res
	mac=$(nsx nat$v cat /sys/class/net/lan0/address)
	pg $v kpktgend_0 rem_device_all
	pg $v kpktgend_0 "add_device eth0"
	pg $v eth0 "count $count"
	pg $v eth0 "clone_skb 0"
	pgflag $v eth0
	pg $v eth0 "pkt_size 64"
	pg $v eth0 "delay 0"
	pg $v eth0 "dst $WAN1"
	pg $v eth0 "dst_mac $mac"
	pg $v eth0 "src_min $src"
	pg $v eth0 "src_max $src"
	pg $v eth0 "udp_src_min $smin"
	# pktgen steps a port through [min, max): max = min + n (n = 1: fixed)
	pg $v eth0 "udp_src_max $((ns > 1 ? smin + ns : smin))"
	pg $v eth0 "udp_dst_min $dmin"
	pg $v eth0 "udp_dst_max $((nd > 1 ? dmin + nd : dmin))"
	d0=$(sink $v)
	if [ -n "${PG_MARK:-}" ]; then
		# phase insns: the marker right before and after the run
		nsx lan1$v sh -c "$PG_MARK; echo start > /proc/net/pktgen/pgctrl; $PG_MARK"
	else
		pg $v pgctrl start
	fi
	d1=$(sink $v)
	res=$(nsx lan1$v cat /proc/net/pktgen/eth0)
	# Result: OK: 1234(c1200+d34) usec, 1000 (64byte,0frags)
	echo "$res" | awk -v del=$((d1 - d0)) '/Result: OK:/ {
		u = $3; sub(/\(.*/, "", u); s = $5; print u, s, del; exit }'
}

# ------------------------------------------------------------ metrics
# establish V SPORT: 200 packets from lan1:SPORT to wan:5000 (c, f: so the
# flowtable offloads the flow); natk's fast path takes a flow once it has
# seen both directions: one reply from wan (natk preserves the port).
establish() {
	pgrun $1 200 $LAN1 $2 1 5000 1 > /dev/null
	case $1 in d|e)
		nsx wan$1 python3 -c 'import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", 5000)); s.sendto(b"r", (sys.argv[1], int(sys.argv[2])))' $NAT_EXT $2 ;;
	esac
}

# 1: single established flow
m_pps() { # V RUN [SIZE]
	local v=$1 r=$2 size=${3:-0} out usec sent del
	establish $v 40000
	out=$(pgrun $v "${PPS:-$PPS_COUNT}" $LAN1 40000 1 5000 1)
	read -r usec sent del <<< "$out"
	[ -n "$usec" ] || { say "pps $v: pktgen gave no result"; return 1; }
	# natk: how its packets went (fast path, and of those from ingress)
	local fp=null
	case $v in d|e) fp=$(nsx nat$v "$NATKCTL" -j stats | jq -c '{fastpath_packets, fastpath_ingress}') || fp=null ;; esac
	emit "{\"m\":\"pps\",\"v\":\"$v\",\"run\":$r,\"size\":$size,\"table\":$(flows $v),\"usec\":$usec,\"sent\":$sent,\"delivered\":$del,\"pps\":$(( del * 1000000 / usec )),\"natk\":$fp}"
	say "pps $v run $r size $size: $(( del * 1000000 / usec )) pps ($del of $sent in $usec us)"
}

# 7 (phase smp, 2 vCPUs): one established flow from pktgen's thread on
# CPU 0, then two (source ports 40000 and 40001) from the threads on CPUs
# 0 and 1 at once: does forwarding scale with a second CPU? Each thread's
# device sends PPS_COUNT packets; rates are delivered packets over the
# longer of the two threads' times.
pgdev() { # V THREAD DEV COUNT SPORT: a single-flow pktgen device
	local v=$1 mac c
	mac=$(nsx nat$v cat /sys/class/net/lan0/address)
	pg $v "$2" "add_device $3" || return 1
	for c in "count $4" "clone_skb 0" "pkt_size 64" "delay 0" "dst $WAN1" \
		"dst_mac $mac" "src_min $LAN1" "src_max $LAN1" "udp_src_min $5" \
		"udp_src_max $5" "udp_dst_min 5000" "udp_dst_max 5000"; do
		pg $v "$3" "$c" || return 1
	done
	pgflag $v "$3"
}
pgusec() { # V DEV: the last run's time (usec)
	nsx lan1$1 cat /proc/net/pktgen/$2 | awk '/Result: OK:/ { u = $3; sub(/\(.*/, "", u); print u; exit }'
}
m_smp() { # V RUN
	local v=$1 r=$2 d0 d1 d2 u1 ua ub
	establish $v 40000; establish $v 40001
	pg $v kpktgend_0 rem_device_all; pg $v kpktgend_1 rem_device_all
	pgdev $v kpktgend_0 eth0 "$PPS_COUNT" 40000 || return 1
	d0=$(sink $v); pg $v pgctrl start; d1=$(sink $v)
	u1=$(pgusec $v eth0)
	pgdev $v kpktgend_1 eth0@1 "$PPS_COUNT" 40001 || return 1
	pg $v pgctrl start; d2=$(sink $v)
	ua=$(pgusec $v eth0); ub=$(pgusec $v eth0@1)
	[ -n "$u1" ] && [ -n "$ua" ] && [ -n "$ub" ] || { say "smp $v: pktgen gave no result"; return 1; }
	[ "$ub" -gt "$ua" ] && ua=$ub
	emit "{\"m\":\"smp\",\"v\":\"$v\",\"run\":$r,\"pps1\":$(( (d1 - d0) * 1000000 / u1 )),\"pps2\":$(( (d2 - d1) * 1000000 / ua )),\"delivered1\":$((d1 - d0)),\"delivered2\":$((d2 - d1))}"
	say "smp $v run $r: 1 flow $(( (d1 - d0) * 1000000 / u1 )) pps, 2 flows on 2 CPUs $(( (d2 - d1) * 1000000 / ua )) pps"
	pg $v kpktgend_0 rem_device_all; pg $v kpktgend_1 rem_device_all
}

slab() { awk '/^Slab:/ { print $2 * 1024 }' /proc/meminfo; }
vmalloc() { awk '/^VmallocUsed:/ { print $2 * 1024 }' /proc/meminfo; }

# 2 (+4): NEWFLOWS new flows, every packet a new source port
m_newflows() { # V RUN
	local v=$1 r=$2 out usec sent del f0 f1 s0 s1 m0 m1
	f0=$(flows $v); s0=$(slab); m0=$(vmalloc)
	out=$(pgrun $v "$NEWFLOWS" 10.0.0.3 1024 "$NEWFLOWS" 7000 1)
	read -r usec sent del <<< "$out"
	sleep 1
	f1=$(flows $v); s1=$(slab); m1=$(vmalloc)
	[ -n "$usec" ] || { say "newflows $v: pktgen gave no result"; return 1; }
	emit "{\"m\":\"newflows\",\"v\":\"$v\",\"run\":$r,\"usec\":$usec,\"sent\":$sent,\"delivered\":$del,\"flows_before\":$f0,\"flows_after\":$f1,\"slab_delta\":$((s1 - s0)),\"vmalloc_delta\":$((m1 - m0)),\"pps\":$(( del * 1000000 / usec ))}"
	say "newflows $v run $r: $del delivered in $usec us, flows $f0 -> $f1, slab +$((s1 - s0))"
}

# 5: iperf3, 1 and 4 streams
m_iperf() { # V RUN
	local v=$1 r=$2 p bps js
	nsx wan$v iperf3 -s -D -p 5201 > /dev/null 2>&1
	wait_listen wan$v tcp 5201
	for p in 1 4; do
		js=$(nsx lan1$v timeout $((IPERF_TIME * 10 + 60)) iperf3 -c $WAN1 -t "$IPERF_TIME" -P $p -J 2>&1)
		bps=$(echo "$js" | jq -r '.end.sum_received.bits_per_second // empty' 2> /dev/null)
		[ -n "$bps" ] || say "iperf3 -P $p $v: $(echo "$js" | jq -r '.error // empty' 2> /dev/null || echo "$js" | tail -n 2)"
		emit "{\"m\":\"iperf$p\",\"v\":\"$v\",\"run\":$r,\"bps\":${bps:-null}}"
		say "iperf3 -P $p $v run $r: ${bps:-failed} bit/s"
	done
}

# ------------------------------------------------------------ setup
say "kernel $(uname -r), $(nproc) CPU, $(awk '/MemTotal/ {print $2}' /proc/meminfo) kB"
emit "{\"m\":\"env\",\"kernel\":\"$(uname -r)\",\"cpus\":$(nproc),\"memkb\":$(awk '/MemTotal/ {print $2}' /proc/meminfo)}"
modprobe pktgen || { say "no pktgen"; exit 0; }
# natk's tables sized for 65535 flows from each netns's start, as
# nf_conntrack's hash below is sized (natk.flows_hint; 0: grow from 64).
FLOWS_HINT=${BENCH_FLOWS_HINT:-65535}
natk_hint() { [ ! -w /sys/module/natk/parameters/flows_hint ] || echo "$FLOWS_HINT" > /sys/module/natk/parameters/flows_hint; }
natk_load && natk_hint || { say "natk.ko does not load: variants d, e skipped"; VARIANTS=${VARIANTS//[de]/}; }
[ -r /sys/module/natk/parameters/flows_hint ] &&
	emit "{\"m\":\"natk\",\"flows_hint\":$(cat /sys/module/natk/parameters/flows_hint)}"
# Conntrack sized for the largest table, the same for every run. Loading
# the module hooks nothing: netns only get conntrack hooks from a rule.
modprobe nf_conntrack && modprobe nf_nat && modprobe nft_flow_offload && modprobe nft_masq
echo 1048576 > /sys/module/nf_conntrack/parameters/hashsize
sysctl -qw net.netfilter.nf_conntrack_max=4000000
sysctl -qw net.core.netdev_max_backlog=1000

# ------------------------------------------------------------ phase 1
# Metrics 1, 2, 4 and 5, variants interleaved: run 1: a b c d, run 2: ...
phase basic && for r in $(seq 1 "$RUNS"); do
	for v in $VARIANTS; do
		topo $v || { say "topology $v failed"; topo_del $v; continue; }
		[ $r = 1 ] && emit "{\"m\":\"hooks\",\"v\":\"$v\",\"text\":$(nsx nat$v nft list hooks ip 2>&1 | jq -Rs .)}"
		m_pps $v $r
		skip newflows || m_newflows $v $r
		skip iperf || m_iperf $v $r
		topo_del $v
	done
done

# ------------------------------------------------------------ phase smp
# Metric 7, only when asked (BENCH_PHASES=smp; tests/bench.sh boots 2
# vCPUs without icount for it): variants interleaved as in phase 1.
if phase smp; then
	if [ "$(nproc)" -lt 2 ]; then
		say "phase smp needs 2 CPUs (NATK_VM_SMP=2): skipped"
	else
		for r in $(seq 1 "$RUNS"); do
			for v in $VARIANTS; do
				topo $v || { say "topology $v failed"; topo_del $v; continue; }
				m_smp $v $r
				topo_del $v
			done
		done
	fi
fi

# ------------------------------------------------------------ phase profile
# Only when named (BENCH_PHASES=profile, a run of its own: tracing slows
# everything it traces): where the time of natk's variants goes. One
# new-flow run (PROFILE_COUNT packets, each a new flow) and one
# single-flow run (PROFILE_COUNT packets) under the function_graph tracer,
# limited to PROFILE_FNS: natk's steps and the stack's main ones. Under
# icount a duration is guest instructions, including its traced callees
# and the tracer's own cost for each of them (about 0.5 to 1 us): read a
# leaf's figure as its cost, a parent's only roughly.
PROFILE_COUNT=${BENCH_PROFILE_COUNT:-5000}
PROFILE_FNS=${BENCH_PROFILE_FNS:-"process_backlog br_handle_frame ip_rcv
	ip_route_input_noref fib_table_lookup ip_forward ip_finish_output2
	__dev_queue_xmit veth_xmit kmem_cache_alloc_noprof __kmalloc_noprof
	natk_fp_ingress natk_fp_flow natk_fp_send natk_fast natk_in natk_out
	natk_flow_lookup_out natk_flow_lookup_in natk_flow_is_reply
	natk_flow_create natk_host_get natk_map_get natk_port_search
	natk_map_lookup_ext natk_port_local_use natk_filter_add natk_event
	natk_event_flow_map"}
TR=/sys/kernel/tracing
prof_on() {
	[ -e $TR/current_tracer ] || mount -t tracefs nodev $TR 2> /dev/null
	[ -e $TR/current_tracer ] || return 1
	echo 0 > $TR/tracing_on
	echo 65536 > $TR/buffer_size_kb
	: > $TR/set_ftrace_filter
	local f
	for f in $PROFILE_FNS; do
		echo "$f" >> $TR/set_ftrace_filter 2> /dev/null || say "profile: no function $f"
	done
	echo function_graph > $TR/current_tracer || return 1
	echo 1 > $TR/options/funcgraph-tail
	echo 0 > $TR/options/funcgraph-irqs
	: > $TR/trace
	echo 1 > $TR/tracing_on
}
prof_off() { # V WHAT PACKETS: one record per traced function
	echo 0 > $TR/tracing_on
	awk -v v="$1" -v what="$2" -v pk="$3" '{ gsub(/ \[[a-z_0-9]+\]/, "") }
	/ us / {
		n = ""
		if (match($0, /\/\* [a-z_0-9.]+ \*\//)) n = substr($0, RSTART + 3, RLENGTH - 6)
		else if (match($0, /[a-z_0-9.]+\(\);/)) n = substr($0, RSTART, RLENGTH - 3)
		if (n != "" && match($0, /[0-9]+\.[0-9]+ us/)) { c[n]++; t[n] += substr($0, RSTART, RLENGTH - 3) }
	}
	END { for (k in c) printf "{\"m\":\"profile\",\"v\":\"%s\",\"what\":\"%s\",\"packets\":%d,\"fn\":\"%s\",\"calls\":%d,\"ns\":%.0f}\n", v, what, pk, k, c[k], t[k] * 1000 }' \
		$TR/trace >> "$RAW"
	echo nop > $TR/current_tracer
	: > $TR/trace
}
if phase profile; then
	for v in $VARIANTS; do
		case $v in d|e) ;; *) continue ;; esac
		topo $v || { say "topology $v failed"; topo_del $v; continue; }
		establish $v 40000
		# As in the basic phase, whose new-flow run follows a one-flow
		# run: the fast path has hooked the ingress of the flow's devices
		# (a worker does it after its first packets), so new flows pay
		# the ingress hook's miss here too.
		pgrun $v 2000 $LAN1 40000 1 5000 1 > /dev/null
		pgrun $v 2000 $LAN1 40000 1 5000 1 > /dev/null
		prof_on || { say "profile: no function_graph tracer"; topo_del $v; break; }
		pgrun $v "$PROFILE_COUNT" 10.0.0.3 1024 "$PROFILE_COUNT" 7000 1 > /dev/null
		prof_off $v newflows "$PROFILE_COUNT"
		prof_on
		pgrun $v "$PROFILE_COUNT" $LAN1 40000 1 5000 1 > /dev/null
		prof_off $v pps "$PROFILE_COUNT"
		say "profile $v: $(grep -c '"m":"profile","v":"'$v'"' "$RAW") records"
		topo_del $v
	done
fi

if phase insns; then
	# Exact instruction counts (tests/bench/insnprof): the host's QEMU
	# plugin dumps its per-block counts each time the marker program
	# runs; the windows between dumps are the runs below.
	# (Run from tmpfs: from the 9p share its exec costs more, and counts.)
	MARK=/tmp/insn-marker
	cp "$RESDIR/${BENCH_INSN_MARKER:?}" "$MARK" || { say "insns: no marker"; exit 1; }
	for v in $VARIANTS; do
		topo $v || { say "topology $v failed"; topo_del $v; continue; }
		establish $v 40000
		pgrun $v 2000 $LAN1 40000 1 5000 1 > /dev/null
		pgrun $v 2000 $LAN1 40000 1 5000 1 > /dev/null
		echo "$v newflows $PROFILE_COUNT" >> "$RESDIR/insn-windows"
		PG_MARK=$MARK pgrun $v "$PROFILE_COUNT" 10.0.0.3 1024 "$PROFILE_COUNT" 7000 1 > /dev/null
		echo "$v pps $PROFILE_COUNT" >> "$RESDIR/insn-windows"
		PG_MARK=$MARK pgrun $v "$PROFILE_COUNT" $LAN1 40000 1 5000 1 > /dev/null
		topo_del $v
	done
	cat /proc/kallsyms > "$RESDIR/kallsyms"
fi

# object sizes of the per-flow caches
for c in natk_flow natk_map nf_conntrack; do
	[ -r /sys/kernel/slab/$c/object_size ] &&
		emit "{\"m\":\"objsize\",\"cache\":\"$c\",\"object_size\":$(cat /sys/kernel/slab/$c/object_size),\"slab_size\":$(cat /sys/kernel/slab/$c/slab_size)}"
done
grep -E '^(natk|nf_conntrack)' /proc/slabinfo > "$RESDIR/slabinfo.txt" 2>/dev/null

# ------------------------------------------------------------ phase 2
# Metric 3: single-flow pps with the table preloaded to each size, variant
# by variant (each holds its table; conntrack's table is global, so two
# loaded variants at once would share one hash), repeated LOAD_RUNS times
# per size. Preload: a block of new 5-tuples per step, source ports times
# destination ports (coprime counts, so pktgen's stepping visits each pair
# once).
gcd() { local a=$1 b=$2 t; while [ "$b" != 0 ]; do t=$((a % b)) a=$b b=$t; done; echo "$a"; }

preload() { # V FROM TO: add TO-FROM flows
	local v=$1 n=$(( $3 - $2 )) ns nd src out
	[ "$n" -gt 0 ] || return 0
	# ns * nd >= n with gcd(ns, nd) = 1
	if [ "$n" -le 1000 ]; then
		ns=$n nd=1
	else
		ns=1000 nd=$(( (n + 999) / 1000 ))
		# gcd(ns, nd) = 1: try ns = 1000, 999, 998 ... (nd, ns close)
		while [ "$(gcd $ns $nd)" != 1 ]; do
			ns=$((ns - 1)) nd=$(( (n + ns - 1) / ns ))
		done
	fi
	src=10.0.0.$(( 10 + ${#PRELOADED} ))
	PRELOADED+=x
	out=$(pgrun $v $((ns * nd)) $src 2000 $ns 10000 $nd)
	say "preload $v: +$((ns * nd)) tuples from $src: $out, table $(flows $v)"
}

# natk first: if the VM runs out of time, the figures that matter most are in.
phase load && ! skip load && for v in e d b c f; do
	case " $VARIANTS " in *" $v "*) ;; *) continue ;; esac
	topo $v || { say "topology $v failed"; topo_del $v; continue; }
	PRELOADED=
	have=0
	sleep 10   # let the previous variant's table be freed (RCU, workers)
	s0=$(slab); m0=$(vmalloc); f0=$(flows $v)
	for size in $SIZES; do
		t=$(date +%s)
		preload $v $have $size
		have=$size
		emit "{\"m\":\"preload\",\"v\":\"$v\",\"size\":$size,\"table\":$(flows $v),\"seconds\":$(( $(date +%s) - t )),\"slab_delta\":$(( $(slab) - s0 )),\"vmalloc_delta\":$(( $(vmalloc) - m0 )),\"flows_before\":$f0}"
		for r in $(seq 1 "$LOAD_RUNS"); do PPS=$LOAD_COUNT m_pps $v $r $size; done
	done
	t=$(date +%s)
	topo_del $v
	say "teardown $v: $(( $(date +%s) - t ))s"
done

# ------------------------------------------------------------ phase mem1
# Metric 4b: kernel memory per flow at MEM1_HOSTS x MEM1_PORTS (1,020,000)
# flows with one mapping each (issue 15's target counts everything: flow,
# mapping, bucket arrays). Every flow is its own internal endpoint (a
# source address, a source port) to one destination, so each needs an
# external port of its own: natk (e) masquerades behind MEM1_HOSTS + 1
# addresses of wan0 (192.0.2.1 and 192.0.2.10 on), and paired pooling
# gives each internal host one. Slab and VmallocUsed before and after,
# divided by the flows made (the tables' first bucket arrays, sized by
# natk.flows_hint, were there before).
if phase mem1 && ! skip mem1; then
	for v in e; do
		case " $VARIANTS " in *" $v "*) ;; *) continue ;; esac
		topo $v || { say "topology $v failed"; topo_del $v; continue; }
		for i in $(seq 1 "$MEM1_HOSTS"); do
			echo "addr add 192.0.2.$((9 + i))/24 dev wan0"
		done | ip -n nat$v -b - || { say "mem1: addresses failed"; topo_del $v; continue; }
		nsx nat$v "$NATKCTL" set addresses all || { say "mem1: natkctl set addresses all failed"; topo_del $v; continue; }
		sleep 10   # let the previous variant's table be freed (RCU, workers)
		s0=$(slab); m0=$(vmalloc); f0=$(flows $v); t=$(date +%s)
		for i in $(seq 1 "$MEM1_HOSTS"); do
			pgrun $v "$MEM1_PORTS" 10.0.0.$((99 + i)) 2000 "$MEM1_PORTS" 10000 1 > /dev/null
		done
		f1=$(flows $v)
		maps=$(nsx nat$v "$NATKCTL" -j status | jq '[.addresses.pool[]?.ports.udp // 0] | add // 0')
		emit "{\"m\":\"mem1\",\"v\":\"$v\",\"flows_before\":$f0,\"flows\":$f1,\"mappings\":${maps:-0},\"seconds\":$(( $(date +%s) - t )),\"slab_delta\":$(( $(slab) - s0 )),\"vmalloc_delta\":$(( $(vmalloc) - m0 ))}"
		say "mem1 $v: $f0 -> $f1 flows, $maps UDP mappings, Slab +$(( $(slab) - s0 )), vmalloc +$(( $(vmalloc) - m0 ))"
		topo_del $v
	done
fi

# ------------------------------------------------------------ phase 3
# Metric 6: teardown with a full table. Deleting the nat netns: cleanup_net
# runs asynchronously after "ip netns del", so the time is until the
# per-flow objects are freed (objects in use in the flow cache, which SLUB
# may share with others: back to the count before the preload, within 1%
# of the table). natk: /sys/kernel/slab/natk_flow, then again with the
# table preloaded and "rmmod natk" (which tears down every netns's natk
# and waits for RCU callbacks before it returns). nf_conntrack: the
# nf_conntrack cache. Only shell builtins run while waiting (EPOCHREALTIME,
# read -t), so nothing is loaded over 9p meanwhile.
slab_objs() { # CACHE: objects in use in its (possibly merged) slab cache
	local o=
	read -r o _ < "/sys/kernel/slab/$1/objects" 2> /dev/null
	echo "${o:-0}"
}
now_us() { local t=${EPOCHREALTIME/./}; echo $(( 10#$t )); }
# A FIFO open for reading and writing: read -t on it is a sleep, no fork.
NAP=
mkfifo /run/natk-bench-nap 2> /dev/null && exec {NAP}<> /run/natk-bench-nap
nap() { if [ -n "$NAP" ]; then read -r -t "$1" -u "$NAP" _; else sleep "$1"; fi; }
# freed_wait CACHE BASE SLACK T0: until at most BASE + SLACK objects are in
# use; prints microseconds since T0 (-1 after TD_LIMIT seconds)
freed_wait() {
	local c=$1 lim=$(( $2 + $3 )) t0=$4 o
	while :; do
		read -r o _ < "/sys/kernel/slab/$c/objects" || break
		[ "$o" -le "$lim" ] && { echo $(( $(now_us) - t0 )); return 0; }
		[ $(( $(now_us) - t0 )) -ge $(( TD_LIMIT * 1000000 )) ] && break
		nap 0.02
	done
	echo -1
}

# settle: until no flow objects are being freed (a deleted netns's, whose
# cleanup may still run: netns cleanup is one work item for all of them, so
# a teardown measured behind another netns's would include it), checked a
# second apart, at most TD_LIMIT seconds.
settle() {
	local c o1 o2 t0
	t0=$(now_us)
	for c in natk_flow nf_conntrack; do
		[ -r "/sys/kernel/slab/$c/objects" ] || continue
		o2=$(slab_objs $c)
		while :; do
			o1=$o2
			nap 1
			o2=$(slab_objs $c)
			[ $(( o1 - o2 )) -lt 1000 ] && break
			[ $(( $(now_us) - t0 )) -ge $(( TD_LIMIT * 1000000 )) ] && break
		done
	done
}

m_teardown() { # V
	local v=$1 cache base n t0 us what
	case $v in
	b|c|f) cache=nf_conntrack ;;
	d|e) cache=natk_flow ;;
	*) return 0 ;;
	esac
	for what in netns rmmod; do
		case $what:$v in rmmod:[bc]) continue ;; esac
		topo $v || { say "teardown $v: topology failed"; topo_del $v; return 1; }
		sleep 5   # RCU callbacks and workers of whatever ran before
		settle
		base=$(slab_objs $cache)
		PRELOADED=
		preload $v 0 "$TD_SIZE"
		n=$(flows $v)
		ns_kill nat$v
		ip -V > /dev/null; rmmod -V > /dev/null   # in the page cache
		nap 0.01
		t0=$(now_us)
		if [ $what = netns ]; then
			ip netns del nat$v
			us=$(freed_wait $cache "$base" $(( n / 100 + 1000 )) "$t0")
		else
			rmmod natk
			us=$(( $(now_us) - t0 ))
			[ -d /sys/module/natk ] && us=-1
		fi
		emit "{\"m\":\"teardown\",\"v\":\"$v\",\"what\":\"$what\",\"size\":$TD_SIZE,\"table\":${n:-0},\"us\":$us,\"cache\":\"$cache\"}"
		say "teardown $v $what with ${n:-?} flows: $(( us / 1000 )) ms"
		topo_del $v
		[ $what = rmmod ] && { natk_load && natk_hint || { say "natk does not load again"; return 1; }; }
	done
	return 0
}

phase teardown && for v in $TD_VARIANTS; do
	case " $VARIANTS " in *" $v "*) ;; *) continue ;; esac
	m_teardown $v
done
say "done"
exit 0
}

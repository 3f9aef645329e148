#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Table-full flood (RFC 6888 REQ-11): max-flows 2000; while an established
# TCP transfer (30 MB from lan1, paced to last until the flood is over)
# runs through natk,
# kernel pktgen in lan2 sends 64-byte UDP packets for 30 s, as fast as it
# can, each from another source port (a new flow each).
#  - the transfer completes and the md5 the wan computed matches lan1's;
#  - the flow table itself, sampled during the flood, never holds more
#    than max-flows flows: natkctl -j status .hash_entries, the table's
#    own count (.flows cannot show it: it is the admission counter, which
#    stops at the limit by construction);
#  - the table fills: .flows reaches 15/16 of the limit;
#  - the flood is dropped as table-full and/or evicted (counters grow);
#  - Slab (/proc/meminfo) grows by less than 64 MiB over the flood;
#  - after the flood a new flow from lan1 works.
# NATK_FLOOD_SECONDS (30) and NATK_FLOOD_MB (30) change the sizes.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" table-flood-set-max-flows table-flood-transfer-established \
	table-flood-pktgen-ran table-flood-flows-capped table-flood-table-filled \
	table-flood-counted table-flood-slab-bounded table-flood-transfer-overlapped \
	table-flood-transfer-md5 table-flood-transfer-acked table-flood-status-answers \
	table-flood-new-flow-works table-flood-no-lockup table-flood-kernel-log
dmesg_mark
require_natk table-flood-setup
FLOOD_S=${NATK_FLOOD_SECONDS:-30}
MB=${NATK_FLOOD_MB:-30}
PACE_S=$((FLOOD_S + 120))	# paced to outlast the flood; sped up after it
MAXF=2000
SLAB_MAX_KB=$((64 * 1024))
D=$(mktemp -d)
PGPID=

pg() { # pg FILE CMD: one pktgen command in lan2
	nsx lan2 sh -c "echo '$2' > /proc/net/pktgen/$1" ||
		{ log "pktgen: '$2' > $1: $(nsx lan2 grep -a Result: /proc/net/pktgen/"$1")"; return 1; }
}

flood_stop() {
	[ -n "$PGPID" ] || return 0
	nsx lan2 sh -c 'echo stop > /proc/net/pktgen/pgctrl' 2>/dev/null
	poll 10 sh -c "! kill -0 $PGPID" || kill "$PGPID" 2>/dev/null
	wait "$PGPID" 2>/dev/null
	PGPID=
}

# The flood must stop before scenario_cleanup tears the namespaces down;
# keep scenario_cleanup's exit status.
trap 'rc=$?; flood_stop; rmmod pktgen 2>/dev/null; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT

topo_setup || { fail table-flood-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
check table-flood-set-max-flows nctl set max-flows $MAXF
modprobe pktgen || { fail table-flood-setup "modprobe pktgen failed"; exit 1; }

# wan drops the flood (UDP to 9000-9099) at ingress and counts it, so it
# answers no ICMP errors that would come back through natk.
nsx wan nft -f - <<-EOT || { fail table-flood-setup "nft sink in wan"; exit 1; }
	table netdev sink {
		counter rx { }
		chain in {
			type filter hook ingress device eth0 priority 0;
			udp dport 9000-9099 counter name rx drop
		}
	}
EOT
sink() { nsx wan nft -j list counter netdev sink rx | jq -r '.nftables[] | select(.counter) | .counter.packets'; }
peer_server wan udp 5001 $WAN1
slab_kb() { awk '/^Slab:/ { print $2 }' /proc/meminfo; }

# xfer.py sink BIND PORT: one connection, read to EOF, print and answer
#   "LEN MD5";
# xfer.py send DST PORT FILE SECONDS FAST: send FILE paced over SECONDS, or
#   at full speed from when the file FAST exists; print the sink's answer
#   and the seconds it took.
cat > "$D/xfer.py" <<'PY'
import hashlib, os, socket, sys, time
if sys.argv[1] == "sink":
    ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((sys.argv[2], int(sys.argv[3]))); ls.listen(1)
    c, _ = ls.accept()
    c.settimeout(300)
    h = hashlib.md5(); n = 0
    while True:
        b = c.recv(262144)
        if not b:
            break
        h.update(b); n += len(b)
    res = "%d %s" % (n, h.hexdigest())
    c.sendall((res + "\n").encode()); c.close()
    print(res, flush=True)
else:
    dst, port, path, secs, fast = sys.argv[2], int(sys.argv[3]), sys.argv[4], float(sys.argv[5]), sys.argv[6]
    data = open(path, "rb").read()
    s = socket.create_connection((dst, port), timeout=300)
    print("connected", flush=True)
    t0 = time.time(); off = 0; chunk = 65536
    while off < len(data):
        s.sendall(data[off:off + chunk]); off += chunk
        ahead = t0 + secs * off / len(data) - time.time()
        if ahead > 0 and not os.path.exists(fast):
            time.sleep(min(ahead, 0.5))
    s.shutdown(socket.SHUT_WR)
    r = s.makefile().readline().strip()
    print("%s %.1f" % (r, time.time() - t0), flush=True)
PY
head -c "${MB}M" /dev/urandom > "$D/payload"
want="$(stat -c %s "$D/payload") $(md5sum < "$D/payload" | cut -d' ' -f1)"

# pktgen in lan2, ready to start
mac=$(nsx nat cat /sys/class/net/lan0/address)
pg_setup() {
	local c
	pg kpktgend_0 rem_device_all && pg kpktgend_0 "add_device eth0" || return 1
	for c in "count 0" "clone_skb 0" "pkt_size 64" "delay 0" "dst $WAN1" \
		"dst_mac $mac" "src_min $LAN2" "src_max $LAN2" \
		"udp_src_min 1024" "udp_src_max 65535" \
		"udp_dst_min 9000" "udp_dst_max 9007"; do
		pg eth0 "$c" || return 1
	done
}
pg_setup || { fail table-flood-setup "pktgen configuration failed"; exit 1; }
# (source ports step through 64511 values, destination ports through 7:
# coprime, so 451577 distinct flows before one repeats)

nsx wan python3 "$D/xfer.py" sink $WAN1 6000 > "$D/sink.out" 2>&1 &
wait_listen wan tcp 6000
nsx lan1 timeout 240 python3 "$D/xfer.py" send $WAN1 6000 "$D/payload" "$PACE_S" "$D/fast" > "$D/send.out" 2>&1 &
sender=$!
T0=$(date +%s)
est() { nctl -j flows proto tcp | jq -e '.[] | select(.state == "established")'; }
if poll 60 est; then	# a debug kernel takes seconds per natkctl call
	pass table-flood-transfer-established
else
	fail table-flood-transfer-established "no established TCP flow: $(cat "$D/send.out") $(nctl -j flows | jq -c .)"
fi

# --- the flood
slab0=$(slab_kb)
tf0=$(stat_of drop_table_full)
ev0=$(stat_of flows_evicted)
in0=$(stat_of packets_in_from_source)
dr0=$(stat_of packets_dropped)
rx0=$(sink)
kill -0 $sender 2>/dev/null && alive_start=1 || alive_start=0
nsx lan2 sh -c 'echo start > /proc/net/pktgen/pgctrl' &
PGPID=$!
t0=$(date +%s%N)
end=$(( $(date +%s) + FLOOD_S ))
max=0 samples=0 hmax=0 over=
while [ "$(date +%s)" -lt "$end" ]; do
	read -r f h <<< "$(nctl -j status | jq -r '"\(.flows) \(.hash_entries)"')"
	if [ -n "$h" ] && [ "$h" != null ]; then
		samples=$((samples + 1))
		[ "$f" -gt "$max" ] && max=$f
		[ "$h" -gt "$hmax" ] && hmax=$h
		[ "$h" -gt $MAXF ] && over+="$h "
	fi
	sleep 0.2
done
flood_stop
t1=$(date +%s%N)
kill -0 $sender 2>/dev/null && alive_end=1 || alive_end=0
touch "$D/fast"	# the flood is over: the transfer may finish now
res=$(nsx lan2 cat /proc/net/pktgen/eth0)
sleep 1
slab1=$(slab_kb)

# Result: OK: 30001234(c30001000+d234) usec, 912345 (64byte,0frags)
#   30411pps 15Mb/sec (15570432bps) errors: 0
read -r usec sent <<< "$(echo "$res" | awk '/Result: OK:/ { u = $3; sub(/\(.*/, "", u); print u, $5; exit }')"
if [ -n "$sent" ] && [ "${usec:-0}" -gt 0 ]; then
	log "flood: $sent packets in $((usec / 1000000)) s, $((sent * 1000000 / usec)) pps (pktgen in lan2)"
	pass table-flood-pktgen-ran
else
	fail table-flood-pktgen-ran "no pktgen result after $(( (t1 - t0) / 1000000 )) ms: $(echo "$res" | grep -a -A1 Result: | tr '\n' ' ')"
	sent=0 usec=1
fi
tf=$(stat_delta drop_table_full "$tf0")
ev=$(stat_delta flows_evicted "$ev0")
in=$(stat_delta packets_in_from_source "$in0")
dr=$(stat_delta packets_dropped "$dr0")
rx=$(( $(sink) - rx0 ))
secs=$(( usec / 1000000 )); [ "$secs" -gt 0 ] || secs=1
log "flood at natk: $((in + dr)) packets ($(( (in + dr) / secs )) pps): packets_in_from_source +$in, packets_dropped +$dr (drop_table_full +$tf), flows_evicted +$ev; wan received $rx"

# --- assertions on the flood
log "natkctl status sampled $samples times during the flood: flows at most $max, the table held at most $hmax (max-flows $MAXF)"
if [ "$samples" -ge 3 ] && [ -z "$over" ] && [ "$hmax" -ge $((MAXF / 2)) ]; then
	pass table-flood-flows-capped
else
	fail table-flood-flows-capped "$samples samples, the table held at most $hmax flows (want >= $((MAXF / 2)), never over $MAXF); over: ${over:-none}"
fi
if [ "$max" -ge $((MAXF * 15 / 16)) ]; then
	pass table-flood-table-filled
else
	fail table-flood-table-filled "the flood never filled the table (max $max of $MAXF flows)"
fi
if [ "$tf" -gt 0 ] && [ "$ev" -gt 0 ]; then
	log "both grew: drop_table_full +$tf, flows_evicted +$ev"
	pass table-flood-counted
elif [ "$tf" -gt 0 ] || [ "$ev" -gt 0 ]; then
	log "only one grew: drop_table_full +$tf, flows_evicted +$ev"
	pass table-flood-counted
else
	fail table-flood-counted "neither drop_table_full nor flows_evicted grew ($sent packets sent)"
fi
slab_d=$((slab1 - slab0))
log "Slab ${slab0} kB before the flood, ${slab1} kB after: $((slab_d / 1024)) MiB ($slab_d kB)"
if [ "$slab_d" -lt $SLAB_MAX_KB ]; then
	pass table-flood-slab-bounded
else
	fail table-flood-slab-bounded "Slab grew by $slab_d kB over the flood (limit $SLAB_MAX_KB kB)"
fi
if [ "$alive_start" = 1 ] && [ "$alive_end" = 1 ]; then
	pass table-flood-transfer-overlapped
else
	fail table-flood-transfer-overlapped "the transfer was not running during the whole flood (at start: $alive_start, at end: $alive_end)"
fi

# --- the transfer
if poll 150 sh -c "! kill -0 $sender"; then :; else log "sender still running after 150 s"; kill_tree $sender; fi
wait $sender
src=$?
got=$(sed -n 1p "$D/sink.out")
log "transfer: rc=$src, sender (LEN MD5 SECONDS, paced for $PACE_S s): $(tail -n1 "$D/send.out") (started $(( $(date +%s) - T0 )) s ago), sink: $got"
expect_eq table-flood-transfer-md5 "$want" "$got" "LEN MD5 the wan received"
expect_eq table-flood-transfer-acked "$want" "$(tail -n1 "$D/send.out" | cut -d' ' -f1,2)" "the sink's answer at lan1"

# --- after the flood: natkctl answers and a new flow works (its first
# datagram may find the table full and kick the eviction: retry)
check table-flood-status-answers sh -c "ip netns exec nat $NATKCTL -j status | jq -e '.flows <= $MAXF'"
tries=0
fresh() { tries=$((tries + 1)); ask lan1 udp $WAN1 5001 41100 | grep -qx "$NAT_EXT [0-9]*"; }
if poll 20 fresh; then
	log "new flow from lan1 answered (attempt $tries)"
	pass table-flood-new-flow-works
else
	fail table-flood-new-flow-works "no reply to lan1:41100 within 20 s ($(nctl -j status | jq -c '{flows, max_flows}'))"
fi
stalls=$(dmesg_since | grep -Ei 'soft lockup|rcu.*stall' | head -n 3)
expect_eq table-flood-no-lockup "" "$stalls" "kernel log"
dmesg_check table-flood-kernel-log

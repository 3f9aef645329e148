#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A 100,000-flow dump is complete and consistent: lan1 sends one UDP
# datagram from each of 100 source ports to each of 1000 destination ports
# of wan (which drops them), so natk holds exactly 100000 flows. Then
# natkctl -j flows (parsed with python3's json) has as many entries as
# natkctl -j status .flows, 100000, every
# 5-tuple is there exactly once (no duplicates, nothing missing), the
# mapping is consistent (one external port per internal port, distinct),
# a filtered dump over the big table finds its 1000 flows, and flush empties
# it. NATK_DUMP_SRC / NATK_DUMP_DST change the 100 x 1000 grid.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan dump-natk-up dump-set-limits dump-status-flows dump-stats-active dump-stats-no-drops \
	dump-exit-status dump-no-stderr dump-length dump-length-equals-status dump-no-duplicates \
	dump-only-generated-flows dump-mapping-one-per-internal-port dump-mapping-distinct dump-text-lines \
	dump-filtered dump-filtered-none dump-flush dump-flush-status-zero dump-flush-empty \
	dump-flush-active-zero
require_natk dump-natk-built
topo_setup || { fail dump-topology "topology setup failed"; exit 1; }
check dump-natk-up natk_up || exit 1
NSRC=${NATK_DUMP_SRC:-100}
NDST=${NATK_DUMP_DST:-1000}
TOTAL=$((NSRC * NDST))
SP0=20000
DP0=30000
check dump-set-limits nctl set max-flows $((TOTAL * 2)) timeout udp 1h
# wan drops the datagrams early: no ICMP port unreachable, no sockets.
nsx wan nft -f - <<-EOT
	table ip sink {
		chain pre {
			type filter hook prerouting priority -400;
			udp dport $DP0-$((DP0 + NDST - 1)) drop
		}
	}
EOT

cat > "$CTL_TMP/gen.py" <<'PY'
import socket, sys, time
dst, nsrc, ndst, sp0, dp0 = sys.argv[1], *map(int, sys.argv[2:6])
t0 = time.monotonic()
socks = []
for i in range(nsrc):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
    s.bind(("", sp0 + i))
    socks.append(s)
addrs = [(dst, dp0 + j) for j in range(ndst)]
err = 0
for s in socks:
    send = s.sendto
    for a in addrs:
        try:
            send(b"x", a)
        except OSError:
            err += 1
print("sent %d datagrams (%d errors) in %.1f s" % (nsrc * ndst, err, time.monotonic() - t0))
PY

t0=$(date +%s)
for try in 1 2 3; do
	log "generator pass $try: $(nsx lan1 python3 "$CTL_TMP/gen.py" $WAN1 $NSRC $NDST $SP0 $DP0 2>&1)"
	# flows are created synchronously with the sends; allow stragglers
	poll 10 flows_is nat $TOTAL && break
	log "after pass $try: $(flow_count nat) flows"
done
t1=$(date +%s)
log "created $(flow_count nat) flows in $((t1 - t0))s"
expect_eq dump-status-flows "$TOTAL" "$(flow_count nat)" "natkctl -j status .flows"
st=$(nctl -j stats)
json_expect dump-stats-active "$st" ".active_connections == $TOTAL"
json_expect dump-stats-no-drops "$st" '.drop_table_full == 0 and .drop_no_port == 0 and .port_allocation_errors == 0 and .flows_evicted == 0'

t0=$(date +%s)
nctl -j flows > "$CTL_TMP/flows.json" 2> "$CTL_TMP/flows.err"
rc=$?
t1=$(date +%s)
log "natkctl -j flows: exit $rc, $(stat -c %s "$CTL_TMP/flows.json") bytes in $((t1 - t0))s; stderr: $(head -c 300 "$CTL_TMP/flows.err")"
expect_eq dump-exit-status 0 "$rc" "natkctl -j flows exit status"
expect_eq dump-no-stderr "" "$(head -c 300 "$CTL_TMP/flows.err")" "natkctl -j flows stderr"
# python3's json is much faster than jq on 26 MB under TCG; same result as
# jq -r '.[] | [.proto, ...] | @tsv'
python3 -c '
import json, sys
for f in json.load(open(sys.argv[1])):
    print("\t".join(str(f[k]) for k in ("proto", "internal_address", "internal_port",
        "remote_address", "remote_port", "external_address", "external_port")))
' "$CTL_TMP/flows.json" > "$CTL_TMP/tuples" 2> "$CTL_TMP/json.err"
log "parsing the JSON took $(( $(date +%s) - t1 ))s: $(head -c 300 "$CTL_TMP/json.err")"
n=$(wc -l < "$CTL_TMP/tuples")
expect_eq dump-length "$TOTAL" "$n" "flows in natkctl -j flows"
expect_eq dump-length-equals-status "$(flow_count nat)" "$n" "natkctl -j flows | length vs status .flows"
uniq5=$(cut -f1-5 "$CTL_TMP/tuples" | sort -u | wc -l)
expect_eq dump-no-duplicates "$n" "$uniq5" "unique 5-tuples in the dump"
# exactly the generated grid: proto udp, lan1, ports in range, wan1
bad=$(awk -F'\t' -v sp0=$SP0 -v dp0=$DP0 -v ns=$NSRC -v nd=$NDST -v l=$LAN1 -v w=$WAN1 -v e=$NAT_EXT \
	'$1 != "udp" || $2 != l || $3 < sp0 || $3 >= sp0 + ns || $4 != w || $5 < dp0 || $5 >= dp0 + nd || $6 != e { n++; if (n < 4) printf "%s; ", $0 } END { print n + 0 }' \
	"$CTL_TMP/tuples")
expect_eq dump-only-generated-flows 0 "${bad##*; }" "flows outside the generated grid (${bad%"${bad##*; }"})"
# endpoint-independent mapping: each internal port has one external port,
# and no two internal ports share one
m1=$(cut -f3,7 "$CTL_TMP/tuples" | sort -u | wc -l)
m2=$(cut -f7 "$CTL_TMP/tuples" | sort -u | wc -l)
expect_eq dump-mapping-one-per-internal-port "$NSRC" "$m1" "distinct (internal port, external port) pairs"
expect_eq dump-mapping-distinct "$NSRC" "$m2" "distinct external ports"

# The text output has the same number of lines.
t0=$(date +%s)
nt=$(nctl flows | wc -l)
log "natkctl flows (text): $(( $(date +%s) - t0 ))s"
expect_eq dump-text-lines "$TOTAL" "$nt" "lines of natkctl flows"
# A filtered dump walks the whole table and finds exactly its flows.
f=$(nctl -j flows proto udp internal $LAN1:$((SP0 + 7)) | jq -r '[length, (map(.remote_port) | unique | length), (map(.internal_port) | unique)] | @json')
expect_eq dump-filtered "[$NDST,$NDST,[$((SP0 + 7))]]" "$f" "[count, distinct remote ports, internal ports] of the filtered dump"
expect_eq dump-filtered-none "0" "$(nctl -j flows proto tcp | jq length)" "tcp flows"

check dump-flush nctl flush
poll 10 flows_is nat 0 && pass dump-flush-status-zero || fail dump-flush-status-zero "status .flows $(flow_count nat)"
expect_eq dump-flush-empty 0 "$(nctl -j flows | jq length)" "flows after flush"
json_expect dump-flush-active-zero "$(nctl -j stats)" '.active_connections == 0'

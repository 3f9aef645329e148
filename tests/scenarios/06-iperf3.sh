#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# iperf3 through natk, both directions, ~3 s each: must complete with
# nonzero throughput (no speed assertion: this is TCG).
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan "$SCEN-natk-up" iperf3-upload iperf3-download
require_natk iperf3-upload
topo_setup || { fail iperf3-upload "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1

nsx wan iperf3 -s -B $WAN1 -p 5201 > /dev/null 2>&1 &
wait_listen wan tcp 5201
for dir in upload download; do
	opt=
	[ $dir = download ] && opt=-R
	js=$(nsx lan1 timeout 60 iperf3 -J -c $WAN1 -p 5201 -t 3 $opt 2>&1)
	bps=$(echo "$js" | jq -r '.end.sum_received.bits_per_second // 0' 2>/dev/null)
	if awk -v b="${bps:-0}" 'BEGIN { exit !(b > 0) }'; then
		pass iperf3-$dir
		log "$dir: $(awk -v b="$bps" 'BEGIN { printf "%.1f Mbit/s", b / 1e6 }')"
	else
		fail iperf3-$dir "no throughput: $(echo "$js" | jq -r '.error // empty' 2>/dev/null | head -c 300)"
	fi
done

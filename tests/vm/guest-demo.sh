#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk demo, runs inside the VM (tests/demo.sh boots it).
REPO=${NATK_REPO:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
. "$REPO/tests/lib/netns.sh"

# Whatever way the demo ends, stop its servers and unload natk; the exit
# status says whether a step failed.
cleanup() {
	local rc=$?
	# The servers' parent subshells first, quietly: killed after their
	# server, each would print "Terminated" into the demo's output.
	exec 2>/dev/null
	pkill_orphans
	topo_teardown
	natk_unload || { fail demo-unload "rmmod natk failed"; rc=1; }
	grep -q '^FAIL' "$NATK_RESULTS" 2>/dev/null && rc=1
	exit "$rc"
}
trap cleanup EXIT

say() { printf '\n### %s\n' "$*"; }
run() { # run NS CMD...: show and run a command in a namespace
	local ns=$1
	shift
	printf '%s# %s\n' "$ns" "$*"
	nsx "$ns" "$@" 2>&1 | sed 's/^/    /'
	return "${PIPESTATUS[0]}"
}

say "Topology"
cat <<'EOT'
    lan1 10.0.0.2 --\                                   /-- wan 192.0.2.2
                     [lan0 10.0.0.1] nat [wan0 192.0.2.1]
    lan2 10.0.0.3 --/        natk masquerades here     \-- wan 192.0.2.3
    (wan has no route back to 10.0.0.0/24: only translated traffic works)
EOT
topo_setup || { fail demo-topology "setup failed"; exit 1; }

say "Without natk, lan1 cannot reach the internet side"
run lan1 ping -c1 -W1 $WAN1 || true

say "Loading natk and masquerading out of wan0"
natk_load || { fail demo-load "cannot load natk.ko"; exit 1; }
printf 'nat# natkctl set external wan0\n'
nctl set external wan0 || { fail demo-up "natkctl set external failed"; exit 1; }
run nat "$NATKCTL" status

say "ping from lan1 through natk"
run lan1 ping -c3 -i0.2 $WAN1 && pass demo-ping || fail demo-ping

say "TCP: a web-ish server in wan tells who it sees (socat)"
peer_server wan tcp 80 > /dev/null
printf 'lan1# echo GET / | socat - TCP:%s:80\n' $WAN1
out=$(ask lan1 tcp $WAN1 80 "" "GET /")
echo "$out" | sed 's/^/    server saw peer: /; 2,$s/server saw peer: /echo: /'
[ "${out%% *}" = "$NAT_EXT" ] && pass demo-tcp || fail demo-tcp "peer was '${out%%$'\n'*}'"

say "UDP from lan1 and lan2, both with source port 40002"
peer_server wan udp 53 $WAN2 > /dev/null
for ns in lan1 lan2; do
	out=$(ask $ns udp $WAN2 53 40002 query | sed -n 1p)
	printf '%s# socat - UDP:%s:53,sourceport=40002  -> server saw %s\n' $ns $WAN2 "$out"
done

say "natkctl status / stats / flows"
run nat "$NATKCTL" status
run nat "$NATKCTL" stats
run nat "$NATKCTL" flows

say "Done"

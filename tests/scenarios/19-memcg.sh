#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk's memory is charged to the memory cgroup of whoever turned it on in
# a netns (a container's natkctl), not to nobody: the flows, mappings and
# hosts that packets create in softirq count against that cgroup. Here
# natkctl sets the external interface from inside cgroup natk-test, and
# lan1 (in the root cgroup) opens 2000 UDP flows, each from a source port
# of its own (each flow is its own mapping: the flow object, 64 bytes):
# natk-test's slab must grow by at least 64 bytes a flow. Then a second
# flow from each of those ports (to another remote port) makes each
# endpoint a mapping object of its own besides: at least 128 bytes more
# an endpoint. A flush gives it back.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan memcg-natk-up memcg-flows-created memcg-flows-charged memcg-mappings-charged memcg-flush-uncharged "$SCEN-kernel-log"
dmesg_mark
require_natk memcg-setup
CG=/sys/fs/cgroup
N=2000
if [ ! -e $CG/cgroup.controllers ] || ! grep -qw memory $CG/cgroup.controllers; then
	fail memcg-setup "no cgroup2 memory controller at $CG"
	exit 1
fi
echo +memory > $CG/cgroup.subtree_control 2>/dev/null
mkdir -p $CG/natk-test || { fail memcg-setup "cannot create $CG/natk-test"; exit 1; }
cleanup_cg() {
	rmdir $CG/natk-test 2>/dev/null
}
trap 'cleanup_cg; scenario_cleanup' EXIT
topo_setup || { fail memcg-setup "topology setup failed"; exit 1; }
natk_load || { fail memcg-setup "cannot load natk"; exit 1; }
slab() { awk '$1 == "slab" { print $2 }' $CG/natk-test/memory.stat; }

# natkctl runs inside the cgroup; it leaves it when it exits.
if sh -c "echo \$\$ > $CG/natk-test/cgroup.procs && exec ip netns exec nat '$NATKCTL' set external wan0 max-flows 100000 timeout udp 600"; then
	pass memcg-natk-up
else
	fail memcg-natk-up "natkctl set external from cgroup natk-test failed"
	exit 1
fi
nsx wan nft -f - <<-EOT
	table ip sink {
		chain pre {
			type filter hook prerouting priority -400;
			udp dport { 9, 10 } drop
		}
	}
EOT
send() { # DPORT: one datagram from each of the N source ports
	nsx lan1 python3 - "$WAN1" "$N" "$1" <<-'PY'
		import socket, sys
		dst, n, dport = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
		for i in range(n):
		    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
		    s.bind(("0.0.0.0", 20000 + i))
		    s.sendto(b"x", (dst, dport))
		    s.close()
	PY
}
flows_ge() { [ "$(nctl -j status | jq -r .flows)" -ge "$1" ]; }
s0=$(slab)
send 9
if poll 20 flows_ge $N; then
	pass memcg-flows-created
else
	fail memcg-flows-created "only $(nctl -j status | jq -r .flows) of $N flows"
fi
s1=$(slab)
grew=$(( (s1 - s0) / N ))
log "natk-test slab: $s0 -> $s1 bytes ($grew per flow)"
if [ "$grew" -ge 64 ]; then
	pass memcg-flows-charged
else
	fail memcg-flows-charged "cgroup natk-test's slab grew by $grew bytes a flow for $N flows; natk's allocations are not charged to it"
fi
send 10
poll 20 flows_ge $(( 2 * N )) ||
	log "only $(nctl -j status | jq -r .flows) of $(( 2 * N )) flows"
s2=$(slab)
grew=$(( (s2 - s1) / N ))
log "natk-test slab: $s1 -> $s2 bytes ($grew per endpoint's second flow)"
if [ "$grew" -ge 128 ]; then
	pass memcg-mappings-charged
else
	fail memcg-mappings-charged "cgroup natk-test's slab grew by $grew bytes for each endpoint's second flow and mapping ($N endpoints); the mappings made for them are not charged to it"
fi
s1=$s2
nctl flush
# Freed after an RCU grace period; slab accounting catches up soon after.
shrunk() { [ $(( $(slab) - s0 )) -lt $(( (s1 - s0) / 2 )) ]; }
if poll 20 shrunk; then
	pass memcg-flush-uncharged
else
	fail memcg-flush-uncharged "slab still $(slab) after flush (was $s0 before, $s1 with the flows)"
fi
dmesg_check "$SCEN-kernel-log"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The kernel log says what is wrong (kmod/log.c), once, prefixed "natk: ":
#  - NAT started ("masquerading out of wan0 as 192.0.2.1");
#  - a host over max-flows-per-host: one line for 10.0.0.2 however many
#    flows it tries within the minute;
#  - the UDP port pool exhausted: one line, with the range;
#  - the flow table full: one line, with max-flows;
#  - the external address changed (old and new address);
#  - natkctl down ("stopped masquerading");
#  - the external interface deleted ("wan0 is gone: waiting for it").
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan klog-natk-up klog-started klog-host-limit klog-host-limit-once \
	klog-ports-exhausted klog-ports-once klog-table-full klog-table-once \
	klog-addr-changed klog-down klog-dev-gone klog-kernel-log
dmesg_mark
require_natk klog-natk-built
topo_setup || { fail klog-topology "topology setup failed"; exit 1; }
check klog-natk-up natk_up || exit 1

# since: the kernel log lines natk wrote since the mark
since() { dmesg_since | grep 'natk: ' ; }
# count RE: how many of them match RE
count() { since | grep -cE "$1"; }
# wait_line NAME RE WHAT: PASS once a line matches (polled)
wait_line() {
	if poll 10 dmesg_has "$2"; then
		pass "$1"
	else
		fail "$1" "no kernel log line for $3 (want /$2/); natk's lines: $(since | tail -n 5 | tr '\n' '|')"
	fi
}
# burst SPORT0 N [DPORT]: N datagrams from lan1, one per source port
burst() {
	nsx lan1 python3 -c '
import socket, sys
p0, n, dst, dport = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
for i in range(n):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("", p0 + i)); s.sendto(b"x", (dst, dport)); s.close()
' "$1" "$2" $WAN1 "${3:-9}"
}

P='natk: (netns [0-9]+: )?'	# natk's lines name a netns other than init_net
wait_line klog-started "$P"'masquerading out of wan0 as 192\.0\.2\.1' "NAT starting"

nctl set max-flows-per-host 3
burst 30000 10
wait_line klog-host-limit "$P"'10\.0\.0\.2 reached max-flows-per-host 3' "the per-host limit"
burst 30100 10
expect_eq klog-host-limit-once 1 "$(count 'reached max-flows-per-host')" \
	"per-host limit lines after 20 refused flows"
nctl set max-flows-per-host 0
nctl flush

nctl set ports 20000-20003
burst 31000 8
wait_line klog-ports-exhausted "$P"'UDP port pool of 192\.0\.2\.1 exhausted \(ports 20000-20003 in use\)' "UDP port exhaustion"
burst 31100 8
expect_eq klog-ports-once 1 "$(count 'UDP port pool of [0-9.]+ exhausted')" \
	"port exhaustion lines after two bursts"
nctl set ports 1024-65535
nctl flush

nctl set max-flows 1024
burst 32000 1100
wait_line klog-table-full "$P"'flow table full \(max-flows 1024\)' "a full table"
burst 34000 200
expect_eq klog-table-once 1 "$(count 'flow table full')" "table-full lines after two bursts"
nctl flush

# .9 takes over as primary when .1 goes (promote_secondaries): one change.
nsx nat sysctl -qw net.ipv4.conf.wan0.promote_secondaries=1
nsx nat ip addr add 192.0.2.9/24 dev wan0
nsx nat ip addr del $NAT_EXT/24 dev wan0
wait_line klog-addr-changed "$P"'external address of wan0 changed from 192\.0\.2\.1 to 192\.0\.2\.9' \
	"the address change"
nsx nat ip addr add $NAT_EXT/24 dev wan0

nctl down
wait_line klog-down "$P"'stopped masquerading out of wan0' "natkctl down"

nctl set external wan0
nsx nat ip link del wan0
wait_line klog-dev-gone "$P"'external interface wan0 is gone: waiting for it, flows kept' "the interface being deleted"
dmesg_check klog-kernel-log

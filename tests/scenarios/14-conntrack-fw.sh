#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk coexists with an nf_conntrack stateful firewall on the NAT host:
# forward policy drop, established/related and lan-originated accepted.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
require_natk fw-tcp
topo_setup || { fail fw-tcp "topology setup failed"; exit 1; }
check fw-ruleset nsx nat nft -f - <<'EOT'
table inet fw {
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state established,related accept
		iifname "lan0" accept
	}
}
EOT
check "$SCEN-natk-up" natk_up || exit 1
peer_server wan tcp 5000
peer_server wan udp 5001 $WAN1

p=$(ask lan1 tcp $WAN1 5000 "" fw-data)
expect_eq fw-tcp "fw-data" "$(echo "$p" | sed -n 2p)" "TCP echo through firewall + natk"
p=$(ask lan1 udp $WAN1 5001 41300 | sed -n 1p)
expect_eq fw-udp "$NAT_EXT" "${p%% *}" "UDP reply through firewall + natk"
check fw-ping nsx lan1 ping -c2 -i0.2 -W2 $WAN1
D=$(mktemp -d)
head -c 2M /dev/urandom > "$D/f"
nsx wan socat -u TCP-LISTEN:5002,reuseaddr OPEN:"$D/g",creat &
wait_listen wan tcp 5002
nsx lan1 timeout 60 socat -u OPEN:"$D/f" TCP:$WAN1:5002
poll 10 cmp -s "$D/f" "$D/g"
check fw-tcp-2mb cmp "$D/f" "$D/g"
rm -rf "$D"

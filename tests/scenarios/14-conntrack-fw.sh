#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk coexists with an nf_conntrack stateful firewall on the NAT host:
# forward policy drop, established/related and lan-originated accepted.
. "$NATK_REPO/tests/lib/netns.sh"
scenario_init
plan fw-ruleset "$SCEN-natk-up" fw-tcp fw-udp fw-ping fw-tcp-2mb fw-no-invalid \
	fw-no-policy-drop
require_natk fw-tcp
topo_setup || { fail fw-tcp "topology setup failed"; exit 1; }
check fw-ruleset nsx nat nft -f - <<'EOT'
table inet fw {
	counter invalid { }
	counter dropped { }
	chain forward {
		type filter hook forward priority 0; policy drop;
		ct state invalid counter name invalid
		ct state established,related accept
		iifname "lan0" accept
		counter name dropped
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
fwcount() { nsx nat nft list counter inet fw "$1" | awk '/packets/ { for (i = 1; i < NF; i++) if ($i == "packets") print $(i + 1) }'; }
D=$(mktemp -d)
head -c 2M /dev/urandom > "$D/f"
nsx wan socat -u TCP-LISTEN:5002,reuseaddr OPEN:"$D/g",creat &
wait_listen wan tcp 5002
nsx lan1 timeout 60 socat -u OPEN:"$D/f" TCP:$WAN1:5002
poll 10 cmp -s "$D/f" "$D/g"
check fw-tcp-2mb cmp "$D/f" "$D/g"
inv=$(fwcount invalid)
drop=$(fwcount dropped)
log "forward chain: ct invalid $inv, dropped by policy $drop"
expect_eq fw-no-invalid 0 "$inv" "packets conntrack saw as invalid in forward"
expect_eq fw-no-policy-drop 0 "$drop" "packets dropped by the forward policy"
rm -rf "$D"

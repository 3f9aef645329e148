#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Which traffic natk translates (issue 18, item 4): `set no-nat PREFIX...`
# leaves traffic to those destinations untranslated (VPC-internal or VPN
# prefixes leaving by the same interface), `set internal PREFIX...`
# masquerades only those sources, as iptables' `! -d` and `-s` on a
# MASQUERADE rule. Checked as a user sees it: what the server on the wan
# side sees as its peer, for UDP and TCP; a narrower scope ends the flows
# it leaves out and keeps the others (same external port); a port forward
# to a host outside the scope still works; a bad prefix is refused and
# changes nothing; save writes the lists and apply restores them (a file
# without them resets them); `internal all` and `no-nat none` put
# everything back. The wan side routes 10.0.0.0/24 back to the NAT, as a
# peered network does, so untranslated traffic gets its answers.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan scope-natk-up scope-status-default scope-set-no-nat scope-status-no-nat \
	scope-no-nat-udp-untranslated scope-no-nat-tcp-untranslated scope-no-nat-no-flow \
	scope-other-dest-masqueraded scope-counted scope-flows-before scope-set-internal \
	scope-status-internal scope-text-status scope-narrowed-flow-ended scope-kept-flow \
	scope-kept-flow-port scope-internal-untranslated scope-internal-masqueraded \
	scope-forward-out-of-scope scope-bad-prefix scope-bad-nothing-changed scope-save \
	scope-save-lines scope-apply-reset scope-apply-reset-applied scope-apply-saved \
	scope-apply-saved-applied scope-set-all scope-all-masqueraded scope-kernel-log
dmesg_mark
require_natk scope-setup
topo_setup || { fail scope-setup "topology setup failed"; exit 1; }
check scope-natk-up natk_up || exit 1
nsx wan ip route add 10.0.0.0/24 via $NAT_EXT
D=$CTL_TMP

# peer NAME NS PROTO DST PORT [SRCPORT]: the address (and port) the server
# at DST saw, into $peer; empty if no answer came back.
peer_of() {
	peer=$(ask "$2" "$3" "$4" "$5" "${6:-}" | sed -n 1p)
	log "$1: $3 from $2 to $4:$5 seen as '$peer'"
}

peer_server wan udp 5000 $WAN1
# Bound to $WAN2: a socket on 0.0.0.0 would answer from $WAN1.
peer_server wan udp 5002 $WAN2
peer_server wan tcp 5001

json_expect scope-status-default "$(nctl -j status)" \
	'.internal == [] and .no_nat == []' "natkctl -j status: internal and no_nat, empty"

# ------------------------------------------------------------ no-nat
expect_ok scope-set-no-nat nat set no-nat $WAN2/32
json_expect scope-status-no-nat "$(nctl -j status)" '.no_nat == ["'$WAN2'/32"] and .internal == []'
before=$(stat_of passed_out_of_scope)
peer_of no-nat-udp lan1 udp $WAN2 5002 41000
expect_eq scope-no-nat-udp-untranslated "$LAN1 41000" "$peer" "UDP peer seen by $WAN2 (no-nat)"
peer_of no-nat-tcp lan1 tcp $WAN2 5001 41001
expect_eq scope-no-nat-tcp-untranslated "$LAN1 41001" "$peer" "TCP peer seen by $WAN2 (no-nat)"
n=$(nctl -j flows | jq '[.[] | select(.remote_address == "'$WAN2'")] | length')
expect_eq scope-no-nat-no-flow 0 "$n" "flows to the no-nat destination $WAN2"
peer_of other-dest lan1 udp $WAN1 5000 41100
expect_eq scope-other-dest-masqueraded "$NAT_EXT" "${peer%% *}" "UDP peer seen by $WAN1 (not in no-nat)"
after=$(stat_of passed_out_of_scope)
# UDP: a datagram; TCP: at least the SYN, its ACK, data and FIN.
if [ -n "$before" ] && [ -n "$after" ] && [ "$after" -ge $((before + 4)) ]; then
	pass scope-counted
else
	fail scope-counted "passed_out_of_scope went from '$before' to '$after' (want at least +4)"
fi

# ------------------------------------------------------------ internal
peer_of lan2-before lan2 udp $WAN1 5000 41200
ext1=$(flow_field udp $LAN1 41100 external_port)
if flow_present udp $LAN2 41200 && [ -n "$ext1" ] && [ "$ext1" != null ]; then
	pass scope-flows-before
else
	fail scope-flows-before "want flows of $LAN1:41100 and $LAN2:41200: $(nctl -j flows)"
fi
expect_ok scope-set-internal nat set internal $LAN1/32
json_expect scope-status-internal "$(nctl -j status)" '.internal == ["'$LAN1'/32"] and .no_nat == ["'$WAN2'/32"]'
txt=$(nctl status)
if printf '%s\n' "$txt" | grep -Eq "internal: +$LAN1/32" &&
	printf '%s\n' "$txt" | grep -Eq "no-nat: +$WAN2/32"; then
	pass scope-text-status
else
	fail scope-text-status "natkctl status: $txt"
fi
if poll 5 flow_absent udp $LAN2 41200; then
	pass scope-narrowed-flow-ended
else
	fail scope-narrowed-flow-ended "the flow of $LAN2:41200, now out of scope, is still there: $(flow_get udp $LAN2 41200)"
fi
if flow_present udp $LAN1 41100; then
	pass scope-kept-flow
else
	fail scope-kept-flow "the flow of $LAN1:41100, in scope, was ended"
fi
peer_of lan2-after lan2 udp $WAN1 5000 41201
expect_eq scope-internal-untranslated "$LAN2 41201" "$peer" "UDP peer seen by $WAN1 from $LAN2 (not internal)"
peer_of lan1-after lan1 udp $WAN1 5000 41100
expect_eq scope-internal-masqueraded "$NAT_EXT" "${peer%% *}" "UDP peer seen by $WAN1 from $LAN1 (internal)"
expect_eq scope-kept-flow-port "$ext1" "${peer##* }" "external port of $LAN1:41100 before and after the change"

# A forward to a host outside the scope: inbound works, replies translated.
nctl forward add tcp 8080 $LAN2:80 > /dev/null
peer_server lan2 tcp 80 "" lan2-server
r=$(ask wan tcp $NAT_EXT 8080 41300 | sed -n 1p)
expect_eq scope-forward-out-of-scope lan2-server "$r" "answer through forward tcp 8080 -> $LAN2:80"
nctl forward del tcp 8080 > /dev/null

# ------------------------------------------------------------ errors
expect_err scope-bad-prefix 'host bits' nat set internal 10.0.0.1/24
json_expect scope-bad-nothing-changed "$(nctl -j status)" '.internal == ["'$LAN1'/32"] and .no_nat == ["'$WAN2'/32"]'

# ------------------------------------------------------------ save, apply
expect_ok scope-save nat save "$D/saved.conf"
if grep -Eq "^internal +$LAN1/32\$" "$D/saved.conf" && grep -Eq "^no-nat +$WAN2/32\$" "$D/saved.conf"; then
	pass scope-save-lines
else
	fail scope-save-lines "saved file: $(tr '\n' '|' < "$D/saved.conf")"
fi
grep -Ev '^(internal|no-nat) ' "$D/saved.conf" > "$D/plain.conf"
expect_ok scope-apply-reset nat apply "$D/plain.conf"
json_expect scope-apply-reset-applied "$(nctl -j status)" '.internal == [] and .no_nat == []' "after applying a file without internal/no-nat"
expect_ok scope-apply-saved nat apply "$D/saved.conf"
json_expect scope-apply-saved-applied "$(nctl -j status)" '.internal == ["'$LAN1'/32"] and .no_nat == ["'$WAN2'/32"]' "after applying the saved file"

# ------------------------------------------------------------ back to all
expect_ok scope-set-all nat set internal all no-nat none
peer_of lan2-all lan2 udp $WAN2 5002 41202
expect_eq scope-all-masqueraded "$NAT_EXT" "${peer%% *}" "UDP peer seen by $WAN2 from $LAN2 with the scope reset"

kernel_log_check scope-kernel-log

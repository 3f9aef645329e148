#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natkctl with traffic and state (second half of 20-cli): forward
# add/del/list (text and -j), flows with proto and internal ADDR[:PORT]
# filters (and their abbreviations), ids, flows del (by id, by a filter),
# stats (text and every JSON key), flush,
# down (settings kept, no masquerading) and up again, save and apply.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan cli-flows-natk-up cli-forward-add cli-forward-add-default-port cli-forward-list-json \
	cli-forward-list-json-content cli-forward-list-text cli-forward-list-text-lines \
	cli-forward-bare-is-list cli-forward-bare-same cli-status-shows-forwards cli-forward-add-duplicate \
	cli-forward-del cli-forward-del-gone cli-forward-del-missing cli-flows-created cli-flows-json \
	cli-flows-json-keys cli-flows-json-ext-address cli-flows-proto-udp cli-flows-proto-udp-only \
	cli-flows-proto-tcp cli-flows-proto-tcp-only cli-flows-proto-icmp cli-flows-proto-icmp-only \
	cli-flows-internal-addr cli-flows-internal-addr-only cli-flows-internal-addr-port \
	cli-flows-internal-addr-port-only cli-flows-proto-and-internal cli-flows-proto-and-internal-none \
	cli-flows-abbrev-filters cli-flows-abbrev-filters-one cli-flows-text cli-flows-text-line \
	cli-flows-count cli-flows-count-all cli-flows-count-text cli-flows-count-text-udp \
	cli-flows-remote cli-flows-remote-only cli-flows-external-port cli-flows-external-port-only \
	cli-flows-state cli-flows-state-only cli-flows-id cli-flows-id-only cli-flows-del-id \
	cli-flows-del-id-text cli-flows-del-id-only-that cli-flows-del-id-missing cli-flows-del-filter \
	cli-flows-del-filter-count cli-flows-del-filter-gone \
	cli-stats-json cli-stats-json-all-counters cli-stats-active-connections cli-stats-text \
	cli-stats-text-lines cli-flush cli-flush-no-flows cli-flush-dump-empty cli-flows-after-flush \
	cli-set-before-down cli-down cli-down-status cli-down-text cli-down-text-disabled \
	cli-down-no-masquerade cli-up-again cli-up-again-kept cli-up-again-masquerades cli-save \
	cli-save-content cli-apply-check-saved cli-apply cli-apply-applied cli-apply-replaces cli-apply-bad-file-line \
	cli-apply-bad-file-nothing cli-apply-stdin cli-apply-stdin-restored cli-save-file \
	cli-save-file-content cli-save-file-refused cli-save-file-untouched
require_natk cli-flows-natk-built
topo_setup || { fail cli-flows-topology "topology setup failed"; exit 1; }
# ICMP's 60 s would let the ping's flow expire between the counts below on
# a slow (debug-kernel) guest: the checks are about natkctl, not expiry.
check cli-flows-natk-up natk_up timeout icmp 600 || exit 1

# ------------------------------------------------------------ forward
expect_ok cli-forward-add nat forward add tcp 8080 $LAN1:80
expect_ok cli-forward-add-default-port nat forward add udp 5353 $LAN2
expect_ok cli-forward-list-json nat -j forward list
json_expect cli-forward-list-json-content "$CTL_OUT" \
	"length == 2 and (map(select(.proto == \"tcp\" and .external_port == 8080 and .internal_address == \"$LAN1\" and .internal_port == 80)) | length) == 1 and (map(select(.proto == \"udp\" and .external_port == 5353 and .internal_address == \"$LAN2\" and .internal_port == 5353)) | length) == 1"
expect_ok cli-forward-list-text nat forward list
printf '%s\n' "$CTL_OUT" | grep -qx "tcp 8080 -> $LAN1:80" &&
	printf '%s\n' "$CTL_OUT" | grep -qx "udp 5353 -> $LAN2:5353" &&
	pass cli-forward-list-text-lines || fail cli-forward-list-text-lines "natkctl forward list: $CTL_OUT"
expect_ok cli-forward-bare-is-list nat -j forward
expect_eq cli-forward-bare-same "$(nsx nat "$NATKCTL" -j forward list | jq -c 'sort_by(.external_port)')" \
	"$(printf '%s' "$CTL_OUT" | jq -c 'sort_by(.external_port)')" "natkctl -j forward vs forward list"
json_expect cli-status-shows-forwards "$(nsx nat "$NATKCTL" -j status)" '(.forwards | length) == 2'
EXPECT_ERR_RC=2 expect_err cli-forward-add-duplicate 'tcp port 8080 is already forwarded' nat forward add tcp 8080 $LAN2:81
expect_ok cli-forward-del nat forward del tcp 8080
json_expect cli-forward-del-gone "$(nsx nat "$NATKCTL" -j forward list)" \
	"length == 1 and .[0].proto == \"udp\" and .[0].external_port == 5353"
EXPECT_ERR_RC=2 expect_err cli-forward-del-missing 'no forward for tcp port 8080' nat forward del tcp 8080

# ------------------------------------------------------------ flows + filters
peer_server wan udp 5000 $WAN1
peer_server wan tcp 5001 $WAN1
ask lan1 udp $WAN1 5000 40001 > /dev/null
ask lan2 udp $WAN1 5000 40002 > /dev/null
ask lan1 tcp $WAN1 5001 40003 > /dev/null
nsx lan1 ping -c1 -W2 $WAN1 > /dev/null
if poll 5 flows_is nat 4; then pass cli-flows-created; else
	fail cli-flows-created "want 4 flows, status says $(flow_count nat): $(nsx nat "$NATKCTL" flows)"
fi
expect_ok cli-flows-json nat -j flows
all=$CTL_OUT
json_expect cli-flows-json-keys "$all" \
	'length == 4 and all(.[]; has("proto") and has("internal_address") and has("internal_port") and has("external_address") and has("external_port") and has("remote_address") and has("remote_port") and has("state") and has("expires") and has("age") and has("seen_out") and has("seen_in") and (has("packets_out") or has("bytes_out") or has("packets_in") or has("bytes_in") | not))'
json_expect cli-flows-json-ext-address "$all" "all(.[]; .external_address == \"$NAT_EXT\")"
expect_ok cli-flows-proto-udp nat -j flows proto udp
json_expect cli-flows-proto-udp-only "$CTL_OUT" 'length == 2 and all(.[]; .proto == "udp" and .state == "-")'
expect_ok cli-flows-proto-tcp nat -j flows proto tcp
json_expect cli-flows-proto-tcp-only "$CTL_OUT" "length == 1 and .[0].proto == \"tcp\" and .[0].internal_port == 40003 and .[0].remote_port == 5001"
expect_ok cli-flows-proto-icmp nat -j flows proto icmp
json_expect cli-flows-proto-icmp-only "$CTL_OUT" "length == 1 and .[0].proto == \"icmp\" and .[0].internal_address == \"$LAN1\""
expect_ok cli-flows-internal-addr nat -j flows internal $LAN1
json_expect cli-flows-internal-addr-only "$CTL_OUT" "length == 3 and all(.[]; .internal_address == \"$LAN1\")"
expect_ok cli-flows-internal-addr-port nat -j flows internal $LAN1:40001
json_expect cli-flows-internal-addr-port-only "$CTL_OUT" "length == 1 and .[0].internal_port == 40001 and .[0].proto == \"udp\""
expect_ok cli-flows-proto-and-internal nat -j flows proto tcp internal $LAN2
json_expect cli-flows-proto-and-internal-none "$CTL_OUT" 'length == 0'
expect_ok cli-flows-abbrev-filters nat -j flows pro udp int $LAN2:40002
json_expect cli-flows-abbrev-filters-one "$CTL_OUT" "length == 1 and .[0].internal_address == \"$LAN2\""
expect_ok cli-flows-text nat flows proto udp internal $LAN1:40001
printf '%s\n' "$CTL_OUT" | grep -Eqx "udp $LAN1:40001 -> $NAT_EXT:[0-9]+ -> $WAN1:5000 - expires [0-9]+s id [0-9]+" &&
	[ "$(printf '%s\n' "$CTL_OUT" | wc -l)" -eq 1 ] &&
	pass cli-flows-text-line || fail cli-flows-text-line "natkctl flows proto udp internal $LAN1:40001: $CTL_OUT"

# ------------------------------------------------------------ stats
expect_ok cli-stats-json nat -j stats
json_expect cli-stats-json-all-counters "$CTL_OUT" \
	'. as $s | ["active_connections","connection_attempts","connections_established","idle_timeouts","port_allocation_errors","packets_in_from_source","bytes_in_from_source","packets_out_to_destination","bytes_out_to_destination","packets_in_from_destination","bytes_in_from_destination","packets_out_to_source","bytes_out_to_source","packets_dropped","drop_table_full","drop_no_port","drop_invalid","drop_unsolicited","drop_no_memory","drop_host_limit","drop_bad_checksum","drop_no_flow","drop_fragment","icmp_errors_translated","flows_evicted","events_lost","passed_no_flow","hairpinned","drop_icmp_ratelimit"] | all(. as $k | ($s[$k] | type) == "number")'
json_expect cli-stats-active-connections "$CTL_OUT" '.active_connections == 4'
stj=$CTL_OUT
expect_ok cli-stats-text nat stats
printf '%s\n' "$CTL_OUT" | grep -qx 'active_connections: 4' &&
	[ "$(printf '%s\n' "$CTL_OUT" | grep -c '^[a-z_]*: [0-9]*$')" -eq "$(printf '%s' "$stj" | jq length)" ] &&
	pass cli-stats-text-lines || fail cli-stats-text-lines "natkctl stats: $CTL_OUT"

# Filters natkctl applies itself (remote, external port, state) and count
# (after the stats, which count the ping's flow: it lasts only 60 s).
expect_ok cli-flows-count nat -j flows count internal $LAN2
json_expect cli-flows-count-all "$CTL_OUT" '.flows == 1'
expect_ok cli-flows-count-text nat flows count proto udp
expect_eq cli-flows-count-text-udp 2 "$CTL_OUT" "natkctl flows count proto udp"
expect_ok cli-flows-remote nat -j flows remote $WAN1:5000
json_expect cli-flows-remote-only "$CTL_OUT" "length == 2 and all(.[]; .remote_port == 5000 and .proto == \"udp\")"
eport=$(printf '%s' "$all" | jq -r ".[] | select(.internal_address == \"$LAN2\") | .external_port")
expect_ok cli-flows-external-port nat -j flows external-port "$eport"
json_expect cli-flows-external-port-only "$CTL_OUT" "length == 1 and .[0].internal_address == \"$LAN2\""
tstate=$(printf '%s' "$all" | jq -r '.[] | select(.proto == "tcp") | .state')
expect_ok cli-flows-state nat -j flows state "$tstate"
json_expect cli-flows-state-only "$CTL_OUT" "length >= 1 and all(.[]; .proto == \"tcp\" and .state == \"$tstate\")"

# Flow ids, and flows del (by id, then by a filter), as conntrack -D.
id1=$(printf '%s' "$all" | jq -r ".[] | select(.internal_address == \"$LAN1\" and .internal_port == 40001) | .id")
expect_ok cli-flows-id nat -j flows id "${id1:-0}"
json_expect cli-flows-id-only "$CTL_OUT" "length == 1 and .[0].internal_port == 40001 and .[0].id == ${id1:-0}"
# (UDP only: the ping's ICMP flow may expire meanwhile)
expect_ok cli-flows-del-id nat flows del id "${id1:-0}"
expect_eq cli-flows-del-id-text "1 flow deleted" "$CTL_OUT" "natkctl flows del id"
if flow_absent udp $LAN1 40001 && flow_present udp $LAN2 40002; then
	pass cli-flows-del-id-only-that
else
	fail cli-flows-del-id-only-that "flows after deleting lan1:40001: $(nsx nat "$NATKCTL" flows)"
fi
EXPECT_ERR_RC=2 expect_err cli-flows-del-id-missing "no flow with id" nat flows del id "${id1:-0}"
expect_ok cli-flows-del-filter nat -j flows del proto tcp
json_expect cli-flows-del-filter-count "$CTL_OUT" '.deleted == 1'
expect_eq cli-flows-del-filter-gone "0 1" \
	"$(nsx nat "$NATKCTL" flows count proto tcp) $(nsx nat "$NATKCTL" flows count proto udp)" "tcp flows, udp flows after flows del proto tcp"

# ------------------------------------------------------------ flush, down
expect_ok cli-flush nat flush
json_expect cli-flush-no-flows "$(nsx nat "$NATKCTL" -j status)" '.flows == 0 and .enabled == true and (.forwards | length) == 1'
json_expect cli-flush-dump-empty "$(nsx nat "$NATKCTL" -j flows)" 'length == 0'
ask lan1 udp $WAN1 5000 40004 > /dev/null
poll 5 flows_is nat 1 && pass cli-flows-after-flush || fail cli-flows-after-flush "flows: $(flow_count nat)"
expect_ok cli-set-before-down nat set timeout udp 77
expect_ok cli-down nat down
json_expect cli-down-status "$(nsx nat "$NATKCTL" -j status)" \
	'.enabled == false and .external_interface == null and .external_address == null and .flows == 0 and .timeouts.udp == 77 and (.forwards | length) == 1'
expect_inactive cli-down-text nat status
printf '%s\n' "$CTL_OUT" | grep -qx 'natk: disabled' && pass cli-down-text-disabled || fail cli-down-text-disabled "$CTL_OUT"
# With natk down, traffic is not masqueraded (wan has no route back).
p=$(ask lan1 udp $WAN1 5000 40005 | sed -n 1p)
[ -z "$p" ] && pass cli-down-no-masquerade || fail cli-down-no-masquerade "wan answered '$p' with natk down"
expect_ok cli-up-again nat set external wan0
json_expect cli-up-again-kept "$(nsx nat "$NATKCTL" -j status)" '.enabled == true and .timeouts.udp == 77 and .flows == 0'
# (up to 3 tries: a loaded TCG guest may miss socat's 1 s reply window)
for sp in 40006 40007 40008; do
	p=$(ask lan1 udp $WAN1 5000 $sp | sed -n 1p)
	[ -n "$p" ] && break
done
expect_eq cli-up-again-masquerades "$NAT_EXT" "${p%% *}" "peer seen by wan after down + set external" ||
	log "flows: $(nctl -j flows); stats: $(nctl -j stats | jq -c .)"

# ------------------------------------------------------------ save, apply
expect_ok cli-save nat save
saved=$CTL_OUT
printf '%s\n' "$saved" | grep -qx 'external wan0' && printf '%s\n' "$saved" | grep -qx 'timeout udp 77' &&
	printf '%s\n' "$saved" | grep -qx "forward udp 5353 $LAN2:5353" &&
	pass cli-save-content || fail cli-save-content "natkctl save: $saved"
printf '%s\n' "$saved" > "$CTL_TMP/saved.conf"
expect_ok cli-apply-check-saved nat apply --check "$CTL_TMP/saved.conf"
printf 'timeout udp 88\nforward tcp 2222 %s:22\n' "$LAN1" > "$CTL_TMP/a.conf"
nctl set ports 20000-29999
expect_ok cli-apply nat apply "$CTL_TMP/a.conf"
json_expect cli-apply-applied "$(nsx nat "$NATKCTL" -j status)" \
	".timeouts.udp == 88 and (.forwards | length) == 1 and .forwards[0].external_port == 2222 and .forwards[0].internal_address == \"$LAN1\""
# apply replaces: what the file does not say is back to its default (the
# ports set just before; no external line: natk stops), as wg syncconf.
json_expect cli-apply-replaces "$(nsx nat "$NATKCTL" -j status)" \
	'.port_min == 1024 and .port_max == 65535 and .state == "down" and .timeouts.tcp_established == 7440'
printf 'timeout udp 99\nports 9-8\n' > "$CTL_TMP/bad.conf"
run_ctl nat apply "$CTL_TMP/bad.conf"
[ "$CTL_RC" -eq 1 ] && printf '%s\n' "$CTL_ERR" | grep -q "bad.conf:2:" &&
	pass cli-apply-bad-file-line || fail cli-apply-bad-file-line "exit $CTL_RC: $CTL_ERR"
json_expect cli-apply-bad-file-nothing "$(nsx nat "$NATKCTL" -j status)" '.timeouts.udp == 88'
expect_ok cli-apply-stdin nat apply - < "$CTL_TMP/saved.conf"
json_expect cli-apply-stdin-restored "$(nsx nat "$NATKCTL" -j status)" \
	'.timeouts.udp == 77 and (.forwards | length) == 1 and .forwards[0].external_port == 5353'

# save FILE: the same content, written whole; refused while natk is down,
# with the file left as it was.
expect_ok cli-save-file nat save "$CTL_TMP/natk.conf"
expect_eq cli-save-file-content "$saved" "$(cat "$CTL_TMP/natk.conf" 2>/dev/null)" "natkctl save FILE vs natkctl save"
nctl down
EXPECT_ERR_RC=2 expect_err cli-save-file-refused "no external interface.*would not start it" nat save "$CTL_TMP/natk.conf"
expect_eq cli-save-file-untouched "$saved" "$(cat "$CTL_TMP/natk.conf" 2>/dev/null)" "natk.conf after a refused save"

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The external interface is bound by name, and natk recovers by itself
# (as nft's oifname does; a late ENI, a driver reload):
#  - set to a name that does not exist yet: natkctl succeeds with a
#    warning, status says "waiting" (exit 3), and natk starts masquerading
#    on its own when the interface appears and gets its address;
#  - the interface deleted: natk stays enabled, waits for it, keeps its
#    flows and forwards; re-created with the same address, natk resumes
#    with no natkctl command, and an existing UDP mapping keeps its
#    external port (ports 20000-29999: not the source port preserved);
#  - re-created with another address: the old flows are flushed;
#  - renamed: natk follows the device, status and save name the new name;
#  - every step is in the kernel log ("natk: ...") and on natkctl monitor.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan ext-late-set ext-late-warning ext-late-waiting ext-late-status-exit \
	ext-late-resumes ext-late-masquerades ext-late-logged \
	ext-before ext-monitor-subscribed ext-del-waiting ext-del-status-text ext-del-status-exit \
	ext-del-flows-kept ext-del-forward-kept ext-del-save ext-del-logged ext-del-event \
	ext-recreate-resumes ext-recreate-same-port ext-recreate-new-flow ext-recreate-logged \
	ext-recreate-event ext-newaddr-resumes ext-newaddr-flushed ext-newaddr-source \
	ext-newaddr-logged ext-rename-follows ext-rename-save ext-rename-traffic ext-rename-logged \
	ext-kernel-log
dmesg_mark
require_natk ext-natk-built
topo_setup || { fail ext-topology "topology setup failed"; exit 1; }
natk_load || { fail ext-load "natk did not load"; exit 1; }
peer_server wan udp 5000 $WAN1
NEW=192.0.2.9
P='natk: (netns [0-9]+: )?'
state_is() { [ "$(nctl -j status | jq -r .state)" = "$1" ]; }
# mon_has JQ-EXPR: some line natkctl -j monitor wrote matches
mon_has() { jq -e -s "any(.[]; $1)" "$CTL_TMP/mon" > /dev/null 2>&1; }
# logged NAME RE WHAT: PASS once a kernel log line since the mark matches
logged() {
	if poll 10 dmesg_has "$P$2"; then
		pass "$1"
	else
		fail "$1" "no kernel log line for $3 (/$2/): $(dmesg_since | grep 'natk: ' | tail -n 3 | tr '\n' '|')"
	fi
}
# wan0 (re)created as topo_setup makes it, with address $1
mk_wan0() {
	ip -n nat link add wan0 type veth peer name eth0 netns wan &&
		ip -n nat addr add "$1"/24 dev wan0 &&
		ip -n nat link set wan0 up &&
		ip -n wan addr add $WAN1/24 dev eth0 &&
		ip -n wan addr add $WAN2/24 dev eth0 &&
		ip -n wan link set eth0 up
}

# ------------------------------------------------------------ late interface
ip -n nat link del wan0
run_ctl nat set external wan0 ports 20000-29999
if [ "$CTL_RC" = 0 ]; then pass ext-late-set; else
	fail ext-late-set "set external wan0 with no wan0: exit $CTL_RC: $CTL_ERR"
fi
if printf '%s' "$CTL_ERR" | grep -q "no interface 'wan0'.*waits for it"; then
	pass ext-late-warning
else
	fail ext-late-warning "stderr: $CTL_ERR"
fi
json_expect ext-late-waiting "$(nctl -j status)" \
	'.enabled == true and .state == "waiting-interface" and .external_interface == "wan0" and .external_address == null'
expect_inactive ext-late-status-exit nat status
mk_wan0 $NAT_EXT || log "could not create wan0"
if poll 10 state_is active; then pass ext-late-resumes; else
	fail ext-late-resumes "status: $(nctl -j status | jq -c '{enabled, state, external_interface, external_address}')"
fi
poll 10 nsx wan ping -c1 -W1 $NAT_EXT || log "new wan0 link not up"
r=$(ask lan1 udp $WAN1 5000 40800 | sed -n 1p)
case $r in
"$NAT_EXT "2[0-9][0-9][0-9][0-9]) pass ext-late-masquerades ;;
*) fail ext-late-masquerades "wan saw lan1:40800 as '$r', want $NAT_EXT and a port in 20000-29999" ;;
esac
logged ext-late-logged 'external interface wan0 does not exist: waiting for it' "waiting at set"

# ------------------------------------------------------------ deleted, re-created
ext1=${r#* }
log "lan1:40800 maps to port $ext1"
expect_eq ext-before "$ext1" "$(flow_field udp $LAN1 40800 external_port)" "the flow's external port"
nctl forward add tcp 8080 $LAN1:80
ip netns exec nat "$NATKCTL" -j monitor > "$CTL_TMP/mon" 2> "$CTL_TMP/mon.err" &
mon=$!
# The monitor has no "subscribed" signal: new flows until it shows one.
sub=0
for port in $(seq 40900 40930); do
	udp_oneshot lan1 "$port" $WAN1 5000
	if poll 2 mon_has '.event == "new"'; then sub=1; break; fi
done
if [ $sub = 1 ]; then pass ext-monitor-subscribed; else
	fail ext-monitor-subscribed "no event on natkctl monitor: $(cat "$CTL_TMP/mon.err")"
fi

ip -n nat link del wan0
if poll 10 state_is waiting-interface; then pass ext-del-waiting; else
	fail ext-del-waiting "status after ip link del wan0: $(nctl -j status | jq -c '{enabled, state, external_interface}')"
fi
if nctl status | grep -qx '  state: waiting for wan0 (no such interface)'; then
	pass ext-del-status-text
else
	fail ext-del-status-text "natkctl status: $(nctl status | tr '\n' '|')"
fi
expect_inactive ext-del-status-exit nat status
if flow_present udp $LAN1 40800; then pass ext-del-flows-kept; else
	fail ext-del-flows-kept "the flow of lan1:40800 is gone while natk waits"
fi
expect_eq ext-del-forward-kept 1 "$(nctl -j forward list | jq length)" "forwards while natk waits"
if nctl save | grep -qx 'external wan0'; then pass ext-del-save; else
	fail ext-del-save "natkctl save: $(nctl save 2>&1 | tr '\n' '|')"
fi
logged ext-del-logged 'external interface wan0 is gone: waiting for it, flows kept' "the deletion"
if poll 5 mon_has '.event == "state" and .state == "waiting-interface" and .external_interface == "wan0" and .external_address == null'; then
	pass ext-del-event
else
	fail ext-del-event "monitor: $(grep -v '"new"' "$CTL_TMP/mon" | tr '\n' ' ')"
fi

mk_wan0 $NAT_EXT || log "could not re-create wan0"
if poll 10 state_is active; then pass ext-recreate-resumes; else
	fail ext-recreate-resumes "status: $(nctl -j status | jq -c '{enabled, state, external_interface, external_address}')"
fi
poll 10 nsx wan ping -c1 -W1 $NAT_EXT || log "re-created wan0 link not up"
r=$(ask lan1 udp $WAN1 5000 40800 | sed -n 1p)
expect_eq ext-recreate-same-port "$NAT_EXT $ext1" "$r" "wan saw lan1:40800 (mapped before the deletion) as"
r=$(ask lan1 udp $WAN1 5000 40801 | sed -n 1p)
case $r in
"$NAT_EXT "2[0-9][0-9][0-9][0-9]) pass ext-recreate-new-flow ;;
*) fail ext-recreate-new-flow "wan saw lan1:40801 as '$r'" ;;
esac
logged ext-recreate-logged 'external interface wan0 is back with 192\.0\.2\.1: masquerading again, flows kept' "the resume"
if poll 5 mon_has ".event == \"state\" and .state == \"active\" and .external_interface == \"wan0\" and .external_address == \"$NAT_EXT\""; then
	pass ext-recreate-event
else
	fail ext-recreate-event "monitor: $(grep '"state"' "$CTL_TMP/mon" | tr '\n' ' ')"
fi
kill "$mon" 2>/dev/null
wait "$mon" 2>/dev/null

# ------------------------------------------------------------ another address
ip -n nat link del wan0
poll 10 state_is waiting-interface || log "not waiting after the second deletion"
mk_wan0 $NEW || log "could not re-create wan0 with $NEW"
if poll 10 sh -c "ip netns exec nat $NATKCTL -j status | jq -e '.state == \"active\" and .external_address == \"$NEW\"' > /dev/null"; then
	pass ext-newaddr-resumes
else
	fail ext-newaddr-resumes "status: $(nctl -j status | jq -c '{state, external_address}')"
fi
if flow_absent udp $LAN1 40800; then pass ext-newaddr-flushed; else
	fail ext-newaddr-flushed "the flow of lan1:40800 (made as $NAT_EXT) is still there"
fi
poll 10 nsx wan ping -c1 -W1 $NEW || log "wan0 with $NEW not up"
r=$(ask lan1 udp $WAN1 5000 40802 | sed -n 1p)
expect_eq ext-newaddr-source "$NEW" "${r%% *}" "wan saw lan1:40802 from"
logged ext-newaddr-logged 'external interface wan0 is back with 192\.0\.2\.9: masquerading again, flows of the old address flushed' "a new address"

# ------------------------------------------------------------ renamed
r=$(ask lan1 udp $WAN1 5000 40803 | sed -n 1p)
ip -n nat link set wan0 down
ip -n nat link set wan0 name ext0
ip -n nat link set ext0 up
if poll 10 sh -c "ip netns exec nat $NATKCTL -j status | jq -e '.state == \"active\" and .external_interface == \"ext0\"' > /dev/null"; then
	pass ext-rename-follows
else
	fail ext-rename-follows "status: $(nctl -j status | jq -c '{state, external_interface}')"
fi
if nctl save | grep -qx 'external ext0'; then pass ext-rename-save; else
	fail ext-rename-save "natkctl save: $(nctl save 2>&1 | grep external)"
fi
poll 10 nsx wan ping -c1 -W1 $NEW || log "ext0 not up"
r2=$(ask lan1 udp $WAN1 5000 40803 | sed -n 1p)
expect_eq ext-rename-traffic "$r" "$r2" "wan saw lan1:40803 (before and after the rename) as"
logged ext-rename-logged 'external interface wan0 was renamed ext0: natk follows it' "the rename"
dmesg_check ext-kernel-log

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The mapping log (issue 18, item 3; RFC 6888 REQ-12): `natkctl log`
# writes one line when a mapping is made and one when its external port is
# free again, whatever the number of flows through it; a log started late
# lists the mappings already in use; `natkctl who ADDR:PORT` names the
# internal endpoint from the live table, and `who ... at TIME` from the log
# (rotated files included) after the flow is gone; with address-and-port-
# dependent mapping every flow is logged as a mapping of its own; the
# journal gets the
# same events as structured fields; port forwards are not logged; nothing
# is lost. Checked as an admin answering an abuse report would.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan maplog-natk-up maplog-started maplog-live-at-start maplog-udp-new-once \
	maplog-udp-new-fields maplog-tcp-new maplog-who-live maplog-who-live-json \
	maplog-forward-not-logged maplog-udp-del maplog-udp-del-once maplog-live-del \
	maplog-who-at maplog-who-at-json maplog-who-before maplog-who-before-rc \
	maplog-journal-fields maplog-rotated maplog-who-rotated \
	maplog-apdm-new maplog-apdm-who-live maplog-apdm-del maplog-apdm-who-at maplog-nothing-lost \
	maplog-stopped maplog-kernel-log
dmesg_mark
require_natk maplog-setup
topo_setup || { fail maplog-setup "topology setup failed"; exit 1; }
check maplog-natk-up natk_up || exit 1
D=$CTL_TMP
# Everything started in the namespaces ends with them (ctl_cleanup).

utc_now() { date -u +%Y-%m-%dT%H:%M:%S.%6NZ; }
# count_lines FILE REGEX: matching lines (0 if the file is missing)
count_lines() { grep -Ec -- "$2" "$1" 2> /dev/null || true; }

peer_server wan udp 5000 $WAN1
peer_server wan udp 5002 $WAN2
peer_server wan tcp 5001 $WAN1
peer_server lan1 tcp 80

# A mapping made before any logger runs.
ask lan2 udp $WAN1 5000 41500 > /dev/null
ext2=$(flow_field udp $LAN2 41500 external_port)

# The journal, as journald's native socket receives it.
nsx nat python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "ab", buffering=0) as f:
    while True:
        d = s.recv(65536)
        f.write(d + b"\n--\n")
' "$D/journal.sock" "$D/journal.txt" &
poll 10 test -S "$D/journal.sock"

# ip netns exec execs natkctl: $! is natkctl's own pid.
ip netns exec nat "$NATKCTL" log file "$D/m.log" 2> "$D/m.err" &
mpid=$!
nsx nat env NATK_JOURNAL_SOCKET="$D/journal.sock" "$NATKCTL" log journal 2> "$D/j.err" &
nsx nat "$NATKCTL" log file "$D/r.log" max-size 300 keep 9 2> "$D/r.err" &
live_re="^[^ ]+Z live udp $LAN2:41500 $NAT_EXT:$ext2\$"
if poll 10 grep -Eq -- "$live_re" "$D/m.log" && poll 10 grep -Eq -- "$live_re" "$D/r.log" &&
	poll 10 grep -q "NATK_EVENT=live" "$D/journal.txt"; then
	pass maplog-started
else
	fail maplog-started "the loggers did not start: m.log: $(tail -n 3 "$D/m.log" 2>&1 | tr '\n' '|') stderr: $(cat "$D/m.err" "$D/j.err" "$D/r.err" 2>&1 | tr '\n' '|')"
fi
expect_eq maplog-live-at-start 1 "$(count_lines "$D/m.log" "$live_re")" "'live' lines for the mapping of $LAN2:41500 made before the log started"

# One mapping (endpoint-independent), two flows: one line.
t_before=$(utc_now)
ask lan1 udp $WAN1 5000 41000 > /dev/null
ask lan1 udp $WAN2 5002 41000 > /dev/null
ext=$(flow_field udp $LAN1 41000 external_port)
nflows=$(nctl -j flows | jq '[.[] | select(.proto == "udp" and .internal_port == 41000)] | length')
log "udp $LAN1:41000 -> $NAT_EXT:$ext, $nflows flows"
new_re="^[^ ]+Z new udp $LAN1:41000 $NAT_EXT:$ext\$"
poll 5 grep -Eq -- "$new_re" "$D/m.log"
if [ "$nflows" = 2 ]; then
	expect_eq maplog-udp-new-once 1 "$(count_lines "$D/m.log" "new udp $LAN1:41000 ")" "'new' lines for one mapping with two flows"
else
	fail maplog-udp-new-once "want 2 flows of $LAN1:41000 (to $WAN1 and $WAN2), got $nflows"
fi
expect_eq maplog-udp-new-fields 1 "$(count_lines "$D/m.log" "$new_re")" "line 'TIME new udp $LAN1:41000 $NAT_EXT:$ext' in: $(tr '\n' '|' < "$D/m.log")"
ask lan1 tcp $WAN1 5001 41001 > /dev/null
text=$(flow_field tcp $LAN1 41001 external_port)
if poll 5 grep -Eq -- "^[^ ]+Z new tcp $LAN1:41001 $NAT_EXT:$text\$" "$D/m.log"; then
	pass maplog-tcp-new
else
	fail maplog-tcp-new "no 'new tcp $LAN1:41001 $NAT_EXT:$text' line: $(tr '\n' '|' < "$D/m.log")"
fi
t_mid=$(utc_now)

run_ctl nat who $NAT_EXT:$ext proto udp
if [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "$LAN1:41000"; then
	pass maplog-who-live
else
	fail maplog-who-live "natkctl who $NAT_EXT:$ext: exit $CTL_RC, $CTL_OUT $CTL_ERR"
fi
json_expect maplog-who-live-json "$(nctl -j who $NAT_EXT:$ext)" \
	'length == 1 and .[0].proto == "udp" and .[0].internal_address == "'$LAN1'" and .[0].internal_port == 41000 and .[0].external_port == '"${ext:-0}"

# A port forward is configuration, not a mapping to log.
nctl forward add tcp 8080 $LAN1:80 > /dev/null
ask wan tcp $NAT_EXT 8080 41600 > /dev/null
nctl forward del tcp 8080 > /dev/null

# The flows end (3 s), then the hold (1 s): the port is free, one 'del'.
nctl set timeout udp 3 port-hold 1 > /dev/null
del_re="^[^ ]+Z del udp $LAN1:41000 $NAT_EXT:$ext\$"
if poll 40 grep -Eq -- "$del_re" "$D/m.log"; then
	pass maplog-udp-del
else
	fail maplog-udp-del "no 'del udp $LAN1:41000 $NAT_EXT:$ext' line within 40 s: $(tr '\n' '|' < "$D/m.log"); flows: $(nctl -j flows | jq -c '.[] | select(.internal_port == 41000)')"
fi
expect_eq maplog-udp-del-once 1 "$(count_lines "$D/m.log" "del udp $LAN1:41000 ")" "'del' lines for the mapping"
if poll 10 grep -Eq -- "^[^ ]+Z del udp $LAN2:41500 $NAT_EXT:$ext2\$" "$D/m.log"; then
	pass maplog-live-del
else
	fail maplog-live-del "no 'del' for the mapping logged as live: $(tr '\n' '|' < "$D/m.log")"
fi

# After the fact, from the log.
run_ctl nat who $NAT_EXT:$ext at "$t_mid" log "$D/m.log"
if [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "udp $NAT_EXT:$ext $LAN1:41000 from "; then
	pass maplog-who-at
else
	fail maplog-who-at "natkctl who $NAT_EXT:$ext at $t_mid: exit $CTL_RC, $CTL_OUT $CTL_ERR"
fi
json_expect maplog-who-at-json "$(nctl -j who $NAT_EXT:$ext at "$t_mid" log "$D/m.log")" \
	'length == 1 and .[0].internal_address == "'$LAN1'" and .[0].internal_port == 41000 and .[0].from != null and .[0].to != null'
run_ctl nat who $NAT_EXT:$ext proto udp at "$t_before" log "$D/m.log"
expect_eq maplog-who-before nobody "$CTL_OUT" "natkctl who $NAT_EXT:$ext at $t_before (before the mapping)"
expect_eq maplog-who-before-rc 3 "$CTL_RC" "exit status of who with no answer"

j=$(tr '\n' ' ' < "$D/journal.txt")
if grep -q "NATK_EVENT=new" "$D/journal.txt" && grep -qx "NATK_INTERNAL=$LAN1:41000" "$D/journal.txt" &&
	grep -qx "NATK_EXTERNAL=$NAT_EXT:$ext" "$D/journal.txt" &&
	grep -qx "SYSLOG_IDENTIFIER=natk-maplog" "$D/journal.txt" && grep -qx "NATK_PROTO=udp" "$D/journal.txt" &&
	grep -q "^MESSAGE=" "$D/journal.txt"; then
	pass maplog-journal-fields
else
	fail maplog-journal-fields "journal datagrams: ${j:0:600}"
fi

if [ -e "$D/r.log.1" ]; then pass maplog-rotated; else fail maplog-rotated "no $D/r.log.1 after more than 300 bytes: $(ls -l "$D" | tr '\n' '|')"; fi
run_ctl nat who $NAT_EXT:$ext at "$t_mid" log "$D/r.log"
if [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "$LAN1:41000"; then
	pass maplog-who-rotated
else
	fail maplog-who-rotated "natkctl who ... log r.log (rotated): exit $CTL_RC, $CTL_OUT $CTL_ERR; files: $(ls "$D" | tr '\n' ' ')"
fi

# Address-and-port-dependent mapping: no mapping objects, every flow is a
# mapping of its own (setting the mapping flushes the flows).
# (UDP flows live 60 s until the 'del' check: 3 s let the first expire
# before the second was made on a slow kernel.)
nctl set mapping address-port-dependent timeout udp 60 > /dev/null
ask lan2 udp $WAN1 5000 42000 > /dev/null
ask lan2 udp $WAN2 5002 42000 > /dev/null
t_apdm=$(utc_now)
pa=$(nctl -j flows | jq -r --arg a "$LAN2" '[.[] | select(.internal_address == $a and .internal_port == 42000) | .external_port] | sort | map(tostring) | join(" ")')
[ "$(echo $pa | wc -w)" = 2 ] || log "lan2:42000 should have two flows, has ports '$pa'"
log "lan2:42000 has external ports '$pa' (address-port-dependent)"
# lines_are N REGEX: exactly N lines of the log match (polled for)
lines_are() { [ "$(count_lines "$D/m.log" "$2")" = "$1" ]; }
# one 'new' line per flow, whether or not both flows got the same port
poll 10 lines_are 2 "^[^ ]+Z new udp $LAN2:42000 $NAT_EXT:[0-9]+\$"
got=$(grep -Eo -- "^[^ ]+Z new udp $LAN2:42000 $NAT_EXT:[0-9]+\$" "$D/m.log" | sed 's/.*://' | sort -n | tr '\n' ' ')
expect_eq maplog-apdm-new "$pa " "$got" "ports of the 'new' lines of lan2:42000, one per flow (the flows' ports: $pa)"
p1=${pa%% *}
run_ctl nat who $NAT_EXT:${p1:-0} proto udp
if [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "$LAN2:42000"; then
	pass maplog-apdm-who-live
else
	fail maplog-apdm-who-live "natkctl who $NAT_EXT:$p1: exit $CTL_RC, $CTL_OUT $CTL_ERR"
fi
nctl set timeout udp 3 > /dev/null
poll 20 lines_are 2 "^[^ ]+Z del udp $LAN2:42000 $NAT_EXT:[0-9]+\$"
expect_eq maplog-apdm-del 2 "$(count_lines "$D/m.log" "^[^ ]+Z del udp $LAN2:42000 ")" "'del' lines of lan2:42000 after its two flows expired (3 s)"
run_ctl nat who $NAT_EXT:${p1:-0} proto udp at "$t_apdm" log "$D/m.log"
if [ "$CTL_RC" = 0 ] && printf '%s\n' "$CTL_OUT" | grep -q "$LAN2:42000"; then
	pass maplog-apdm-who-at
else
	fail maplog-apdm-who-at "natkctl who $NAT_EXT:$p1 at $t_apdm log m.log: exit $CTL_RC, $CTL_OUT $CTL_ERR; log: $(tail -n 6 "$D/m.log" | tr '\n' '|')"
fi

# The forward was made, used, deleted, and its flow ended: not one line
# (a deleted forward's mapping once logged its end). Asked last, seconds
# after that flow ended, so that such a line has long been written.
poll 20 flow_absent tcp $LAN1 80
expect_eq maplog-forward-not-logged 0 "$(count_lines "$D/m.log" ":8080\$")" "lines for the forward's port 8080 (made, used, deleted, its flow ended: $(flow_absent tcp $LAN1 80 && echo yes || echo no))"

lost=$(stat_of map_events_lost)
if [ "$(count_lines "$D/m.log" ' lost')" = 0 ] && [ "$lost" = 0 ]; then
	pass maplog-nothing-lost
else
	fail maplog-nothing-lost "map_events_lost '$lost', lost lines: $(grep ' lost' "$D/m.log" | tr '\n' '|')"
fi

kill "$mpid"
rc=0
for _ in $(seq 50); do kill -0 "$mpid" 2> /dev/null || break; sleep 0.1; done
wait "$mpid" 2> /dev/null || rc=$?
expect_eq maplog-stopped 0 "$rc" "exit status of natkctl log after SIGTERM (stderr: $(cat "$D/m.err"))"
kernel_log_check maplog-kernel-log

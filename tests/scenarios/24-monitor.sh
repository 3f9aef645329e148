#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natkctl -j monitor: JSON lines parsed with jq. A background
# "monitor count 2" sees the "new" event of a flow lan1 opens and then its
# "destroy" event with reason "flush", and exits by itself after exactly 2
# events; a plain monitor sees a UDP flow expire (reason "expired") and
# stops on SIGTERM with status 0. Events carry the flow's keys as natkctl -j flows does.
# A monitor filtered on one internal host shows only its flows; a flow's id
# is the same in events and dumps; flows del id sends reason "deleted".
# Update events (NATK_CMD_FLOW_UPDATE): a TCP connection's handshake and
# close send one "update" per state change (synack_in, established,
# fin_out, fin_both), in text too; with "timeout udp 10" a UDP flow with
# steady traffic gets expiry refresh updates, at least 4 s apart, whose
# expires is back near the full 10 s, and a flow without traffic after its
# first packet gets none until it expires.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan monitor-natk-up monitor-sees-new monitor-new-event monitor-time-format monitor-time-is-now \
	monitor-flush monitor-count-exits monitor-count-exit-status monitor-count-lines \
	monitor-destroy-flush monitor-all-lines-json monitor-no-stderr monitor-short-udp-timeout \
	monitor-destroy-expired monitor-expired-has-counters monitor-new-before-destroy \
	monitor-sigterm-exit monitor-events-lost monitor-text-line monitor-filter-subscribed \
	monitor-id-matches-dump monitor-deleted-event monitor-filter-only-matching \
	monitor-update-subscribed monitor-update-tcp-closed monitor-update-tcp-states \
	monitor-update-tcp-same-id monitor-update-text-line monitor-update-udp-timeout \
	monitor-update-refresh monitor-update-refresh-spaced monitor-update-idle-expired \
	monitor-update-idle-none monitor-update-events-lost
require_natk monitor-natk-built
topo_setup || { fail monitor-topology "topology setup failed"; exit 1; }
check monitor-natk-up natk_up accounting on || exit 1
peer_server wan udp 5000 $WAN1

lines() { [ -s "$1" ] && wc -l < "$1" || echo 0; }

# subscribe_wait FILE FIRST_PORT: the monitor writing FILE has no "I am
# subscribed" signal; open new flows (one per source port, FIRST_PORT on)
# until it reports one. Prints the last source port used.
subscribe_wait() {
	local f=$1 port=$2 end=$(( $(date +%s) + 30 ))
	while [ "$(date +%s)" -lt "$end" ]; do
		udp_oneshot lan1 "$port" $WAN1 5000
		if poll 2 test -s "$f"; then
			echo "$port"
			return 0
		fi
		port=$((port + 1))
	done
	return 1
}

# ------------------------------------------------------------ count 2: new + flush
ip netns exec nat "$NATKCTL" -j monitor count 2 > "$CTL_TMP/m1" 2> "$CTL_TMP/m1.err" &
mon=$!
if port=$(subscribe_wait "$CTL_TMP/m1" 42000); then
	pass monitor-sees-new
else
	fail monitor-sees-new "no event within 30 s: $(cat "$CTL_TMP/m1.err")"
fi
ev=$(sed -n 1p "$CTL_TMP/m1")
log "first event: $ev"
json_expect monitor-new-event "$ev" \
	"(.event == \"new\") and .reason == null and .proto == \"udp\" and .internal_address == \"$LAN1\" and .internal_port == ${port:-0} and .remote_address == \"$WAN1\" and .remote_port == 5000 and .external_address == \"$NAT_EXT\" and (.external_port | type) == \"number\""
json_expect monitor-time-format "$ev" '.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{6}Z$")'
# the event's time is now (UTC), give or take a minute
now=$(date -u +%s)
evt=$(printf '%s' "$ev" | jq -r '.time | sub("\\.[0-9]+Z$"; "Z") | fromdateiso8601' 2>/dev/null)
if [ -n "$evt" ] && [ $((now - evt)) -le 60 ] && [ $((evt - now)) -le 60 ]; then
	pass monitor-time-is-now
else
	fail monitor-time-is-now "event time $evt, now $now"
fi
# Flush: the destroy events arrive; the monitor stops after its 2nd event.
check monitor-flush nctl flush
if poll 15 sh -c "! kill -0 $mon"; then
	pass monitor-count-exits
	wait "$mon"
	expect_eq monitor-count-exit-status 0 "$?" "exit status of natkctl monitor count 2"
else
	fail monitor-count-exits "natkctl monitor count 2 still running; output: $(cat "$CTL_TMP/m1")"
	kill "$mon" 2>/dev/null
fi
expect_eq monitor-count-lines 2 "$(lines "$CTL_TMP/m1")" "lines printed by monitor count 2"
ev2=$(sed -n 2p "$CTL_TMP/m1")
log "second event: $ev2"
json_expect monitor-destroy-flush "$ev2" \
	".event == \"destroy\" and .reason == \"flush\" and .proto == \"udp\" and .internal_address == \"$LAN1\" and (.internal_port | type) == \"number\""
json_expect monitor-all-lines-json "$(jq -s . "$CTL_TMP/m1" 2>/dev/null || echo null)" \
	'type == "array" and all(.[]; type == "object" and has("time") and has("event") and has("reason") and has("proto") and has("internal_address") and has("internal_port") and has("external_address") and has("external_port") and has("remote_address") and has("remote_port") and has("state"))'
expect_eq monitor-no-stderr "" "$(cat "$CTL_TMP/m1.err")" "monitor stderr"

# ------------------------------------------------------------ expiry
check monitor-short-udp-timeout nctl set timeout udp 2
ip netns exec nat "$NATKCTL" -j monitor > "$CTL_TMP/m2" 2> "$CTL_TMP/m2.err" &
mon=$!
port=$(subscribe_wait "$CTL_TMP/m2" 43000) || fail monitor-second-subscribes "no event in 30 s"
# every flow opened by subscribe_wait expires; wait for the destroy of ours
exp_seen() {
	jq -e -s --argjson p "${port:-0}" \
		'any(.[]; .event == "destroy" and .reason == "expired" and .internal_port == $p)' \
		"$CTL_TMP/m2" > /dev/null 2>&1
}
if poll 30 exp_seen; then
	pass monitor-destroy-expired
else
	fail monitor-destroy-expired "no expired destroy for port $port: $(cat "$CTL_TMP/m2")"
fi
json_expect monitor-expired-has-counters "$(jq -c -s --argjson p "${port:-0}" \
	'map(select(.event == "destroy" and .internal_port == $p)) | .[0]' "$CTL_TMP/m2")" \
	'.packets_out >= 1 and .bytes_out >= 29'
# new and destroy pair up: every destroyed port was created
json_expect monitor-new-before-destroy "$(jq -s . "$CTL_TMP/m2")" \
	'(map(select(.event == "new") | .internal_port)) as $n | all(.[] | select(.event == "destroy"); .internal_port as $p | $n | index($p) != null)'
kill -TERM "$mon"
if poll 5 sh -c "! kill -0 $mon"; then
	wait "$mon"
	expect_eq monitor-sigterm-exit 0 "$?" "exit status of natkctl monitor after SIGTERM"
else
	fail monitor-sigterm-exit "natkctl monitor ignores SIGTERM"
	kill -9 "$mon" 2>/dev/null
fi
expect_eq monitor-events-lost 0 "$(stat_of events_lost)" "events_lost"

# ------------------------------------------------------------ text output
ip netns exec nat "$NATKCTL" monitor count 1 > "$CTL_TMP/m3" 2>&1 &
mon=$!
port=$(subscribe_wait "$CTL_TMP/m3" 44000)
poll 10 sh -c "! kill -0 $mon"
kill "$mon" 2> /dev/null
grep -Eq "^[0-9T:.-]+Z new +udp $LAN1:[0-9]+ -> $NAT_EXT:[0-9]+ -> $WAN1:5000" "$CTL_TMP/m3" &&
	pass monitor-text-line || fail monitor-text-line "natkctl monitor count 1 printed: $(cat "$CTL_TMP/m3")"

# ------------------------------------------------------------ filters, ids, flows del
# A monitor filtered on lan2 sees lan2's flows, never lan1's opened at the
# same time; the id of a flow in its event is the one flows -j gives; and
# deleting that flow by its id (natkctl flows del id) sends its destroy
# event with reason "deleted".
nctl set timeout udp 300
ip netns exec nat "$NATKCTL" -j monitor internal $LAN2 > "$CTL_TMP/m4" 2> "$CTL_TMP/m4.err" &
mon=$!
m4_has() { jq -e -s "any(.[]; $1)" "$CTL_TMP/m4" > /dev/null 2>&1; }
sub=
for port in $(seq 45000 45030); do
	udp_oneshot lan1 "$port" $WAN1 5000
	udp_oneshot lan2 "$port" $WAN1 5000
	if poll 2 m4_has '.event == "new"'; then sub=$port; break; fi
done
if [ -n "$sub" ]; then pass monitor-filter-subscribed; else
	fail monitor-filter-subscribed "no event in 30 tries: $(cat "$CTL_TMP/m4.err")"
fi
poll 5 m4_has ".event == \"new\" and .internal_port == ${sub:-0}"
id=$(nctl -j flows internal $LAN2:${sub:-0} | jq -r '.[0].id')
evid=$(jq -r -s "map(select(.event == \"new\" and .internal_port == ${sub:-0})) | .[0].id" "$CTL_TMP/m4")
if [ -n "$id" ] && [ "$id" != null ] && [ "$id" = "$evid" ]; then
	pass monitor-id-matches-dump
else
	fail monitor-id-matches-dump "flows -j id '$id', the new event's id '$evid'"
fi
nctl flows del id "${id:-0}" > /dev/null
if poll 5 m4_has ".event == \"destroy\" and .reason == \"deleted\" and .id == ${id:-0}"; then
	pass monitor-deleted-event
else
	fail monitor-deleted-event "monitor: $(cat "$CTL_TMP/m4")"
fi
json_expect monitor-filter-only-matching "$(jq -s . "$CTL_TMP/m4" 2>/dev/null || echo null)" \
	"type == \"array\" and length >= 2 and all(.[]; .internal_address == \"$LAN2\")"
kill "$mon" 2>/dev/null
wait "$mon" 2>/dev/null

# ------------------------------------------------------------ update events
# Two unfiltered monitors, JSON and text, each subscribed before anything
# is measured. A TCP connection from lan1:46100 goes through its handshake,
# carries a line each way and is closed by lan1 (shutdown: FIN) and then
# by the server, with every byte read so that nothing ends in a RST.
peer_server wan tcp 5001
ip netns exec nat "$NATKCTL" -j monitor > "$CTL_TMP/m5" 2> "$CTL_TMP/m5.err" &
mon5=$!
ip netns exec nat "$NATKCTL" monitor > "$CTL_TMP/m6" 2> "$CTL_TMP/m6.err" &
mon6=$!
m5_has() { jq -e -s "any(.[]; $1)" "$CTL_TMP/m5" > /dev/null 2>&1; }
if subscribe_wait "$CTL_TMP/m5" 46000 > /dev/null &&
	subscribe_wait "$CTL_TMP/m6" 46050 > /dev/null; then
	pass monitor-update-subscribed
else
	fail monitor-update-subscribed "no event in 30 s: $(cat "$CTL_TMP/m5.err" "$CTL_TMP/m6.err")"
fi
nsx lan1 timeout 20 python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 46100))
s.connect((sys.argv[1], 5001))
s.sendall(b"hello\n")
got = b""
while got.count(b"\n") < 2:     # the peer line, then the echo
    d = s.recv(4096)
    if not d:
        break
    got += d
s.shutdown(socket.SHUT_WR)
while s.recv(4096):
    pass
s.close()
print(got.decode().split("\n")[1])
' $WAN1 > "$CTL_TMP/tcp.out" 2>&1
tcp_upd() {
	jq -c -s '[.[] | select(.proto == "tcp" and .internal_port == 46100 and .event == "update") | .state]' \
		"$CTL_TMP/m5" 2>/dev/null
}
if poll 15 m5_has '.event == "update" and .proto == "tcp" and .internal_port == 46100 and .state == "fin_both"'; then
	pass monitor-update-tcp-closed
else
	fail monitor-update-tcp-closed "no fin_both update for tcp $LAN1:46100 (client: $(cat "$CTL_TMP/tcp.out")): $(grep 46100 "$CTL_TMP/m5" | tr '\n' ' ')"
fi
m6_line() {
	grep -Eq "^[0-9T:.-]+Z update +tcp $LAN1:46100 -> $NAT_EXT:[0-9]+ -> $WAN1:5001 established expires [0-9]+s" "$CTL_TMP/m6"
}
if poll 5 m6_line; then
	pass monitor-update-text-line
else
	fail monitor-update-text-line "natkctl monitor printed: $(grep 46100 "$CTL_TMP/m6" | tr '\n' ' ')"
fi
kill "$mon6" 2>/dev/null
wait "$mon6" 2>/dev/null

# Expiry refresh. With a 10 s UDP timeout a flow is announced again at
# most every 5 s, and only if it carried traffic since: lan1:46200 sends a
# datagram to the echo server every 0.5 s for 14 s; lan1:46201 sends one
# datagram to a closed port (the ICMP error it gets back refreshes
# nothing) and is then left alone until it expires.
check monitor-update-udp-timeout nctl set timeout udp 10
nsx lan1 python3 -c '
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", 46200))
end = time.monotonic() + 14
while time.monotonic() < end:
    s.sendto(b"steady", (sys.argv[1], 5000))
    time.sleep(0.5)
' $WAN1 > /dev/null 2>&1 &
steady=$!
udp_oneshot lan1 46201 $WAN1 5009
refresh() {
	jq -c -s '[.[] | select(.proto == "udp" and .internal_port == 46200 and .event == "update")]' \
		"$CTL_TMP/m5" 2>/dev/null
}
# The first refresh: 5 s after the flow's new event, expiry back near 10 s.
if poll 20 m5_has '.event == "update" and .proto == "udp" and .internal_port == 46200 and .age >= 4 and .expires >= 8 and .packets_out >= 4'; then
	pass monitor-update-refresh
else
	fail monitor-update-refresh "no refresh update of udp $LAN1:46200 with expires >= 8 s: $(refresh)"
fi
# While the sender runs, a second one, no sooner than 4 s after the first
# (both near the full timeout); after it stops, at most one more.
poll 12 sh -c "! kill -0 $steady"
wait "$steady" 2>/dev/null
json_expect monitor-update-refresh-spaced "$(refresh)" \
	'. as $u | length >= 2 and length <= 4 and all(range(1; $u | length); $u[.].age - $u[. - 1].age >= 4) and all(.[0:2][]; .expires >= 8) and all(.[]; .reason == null)'
if poll 20 m5_has '.event == "destroy" and .reason == "expired" and .internal_port == 46201'; then
	pass monitor-update-idle-expired
else
	fail monitor-update-idle-expired "no expired destroy for udp $LAN1:46201: $(grep 46201 "$CTL_TMP/m5" | tr '\n' ' ')"
fi
json_expect monitor-update-idle-none "$(jq -c -s '[.[] | select(.internal_port == 46201)]' "$CTL_TMP/m5")" \
	'map(.event) == ["new", "destroy"]'
# Checked only now, 20 s after the connection closed, so that a late or
# repeated event would be there: one update per transition, in order, all
# of the same flow.
expect_eq monitor-update-tcp-states '["synack_in","established","fin_out","fin_both"]' \
	"$(tcp_upd)" "states of the update events of tcp $LAN1:46100"
json_expect monitor-update-tcp-same-id "$(jq -c -s \
	'[.[] | select(.proto == "tcp" and .internal_port == 46100)]' "$CTL_TMP/m5")" \
	'length == 5 and .[0].event == "new" and .[0].state == "syn_out" and (map(.id) | unique | length) == 1 and all(.[1:][]; .event == "update" and .reason == null)'
kill "$mon5" 2>/dev/null
wait "$mon5" 2>/dev/null
expect_eq monitor-update-events-lost 0 "$(stat_of events_lost)" "events_lost"

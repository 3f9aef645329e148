#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natk.service's state is NAT's state. The unit's own programs run here as
# systemd runs them, without systemd: packaging/natk-start (ExecStart, which
# becomes `natkctl supervise`) with NOTIFY_SOCKET pointing at a socket this
# test reads, and packaging/natk-stop (ExecStopPost) with the EXIT_STATUS
# systemd would give it.
#  - natk-start applies the file, turns forwarding on (and notes it), and
#    supervise says READY=1 with "masquerading out of wan0 (192.0.2.1)";
#  - the interface goes away: supervise exits 3 (the unit restarts);
#    natk-stop keeps configuration and flows, turns forwarding off;
#  - started again while the interface is missing: natk-start waits for
#    it, no READY until natk masquerades; the flow of before keeps its id;
#  - the address goes away: exit 3 again; started again without the
#    address, supervise is not READY and says "waiting for an IPv4
#    address on wan0" until it is back;
#  - natkctl down: exit 4 (no restart); natk unloaded: exit 4;
#  - SIGTERM (systemctl stop): exit 0; natk-stop stops NAT, and leaves
#    forwarding on when the host forwarded before natk;
#  - a file without external: natk-start exits 2 (no restart).
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
LISTENER=
sv_cleanup() {
	local rc=$?
	[ -n "$LISTENER" ] && kill "$LISTENER" 2>/dev/null
	[ -n "$SV" ] && kill "$SV" 2>/dev/null
	(exit "$rc")
	ctl_cleanup
}
trap sv_cleanup EXIT
plan sv-ready sv-forwarding-on sv-running sv-masquerades \
	sv-wait-exit sv-wait-status sv-wait-config-kept stop-wait-flows-kept stop-wait-forwarding-off \
	restart-waits restart-not-ready restart-ready restart-flow-kept restart-forwarding-on \
	sv-noaddr-exit restart-noaddr-status restart-noaddr-ready \
	sv-down-exit sv-down-status stop-down-forwarding-off \
	sv-term-exit stop-term-down stop-term-keeps-forwarding \
	sv-unload-exit start-bad-conf-exit
require_natk sv-natk-built
topo_setup || { fail sv-topology "topology setup failed"; exit 1; }
natk_load || { fail sv-load "natk did not load"; exit 1; }
peer_server wan udp 5000 $WAN1

SOCK=$CTL_TMP/notify.sock
NOTES=$CTL_TMP/notify.log
RUN=$CTL_TMP/run
SV=
for f in natk-start natk-stop; do
	sed "s|@SBINDIR@|$(dirname "$NATKCTL")|g" "$NATK_REPO/packaging/$f.in" > "$CTL_TMP/$f"
done
# One line per datagram, its fields joined by " | ".
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
f = open(sys.argv[2], "a", buffering=1)
while True:
    f.write(s.recv(4096).decode().replace("\n", " | ") + "\n")
' "$SOCK" "$NOTES" &
LISTENER=$!
poll 10 test -S "$SOCK" || log "the notify socket did not appear"
printf 'external wan0\nports 20000-29999\n' > "$CTL_TMP/natk.conf"

# start: natk-start in netns nat, as natk.service runs it;
# SV is its pid (it becomes natkctl supervise), output in $CTL_TMP/sv.out
start() {
	: > "$NOTES"
	env NOTIFY_SOCKET="$SOCK" NATK_RUNDIR="$RUN" NATKCTL="$NATKCTL" NATK_WAIT=30 \
		ip netns exec nat sh "$CTL_TMP/natk-start" "$CTL_TMP/natk.conf" > "$CTL_TMP/sv.out" 2>&1 &
	SV=$!
}
# sv_exit NAME WANT WHY: PASS once supervise exited with status WANT
sv_exit() {
	local rc
	if ! poll 20 sh -c "! kill -0 $SV"; then
		fail "$1" "supervise still runs after $3"
		kill "$SV" 2>/dev/null
		wait "$SV" 2>/dev/null
		return
	fi
	wait "$SV"
	rc=$?
	if [ "$rc" = "$2" ]; then pass "$1"; else
		fail "$1" "supervise exited $rc after $3, want $2: $(tail -n 3 "$CTL_TMP/sv.out" | tr '\n' '|')"
	fi
}
# stop [EXIT_STATUS]: natk-stop, as ExecStopPost after the main process
stop() {
	env NATK_RUNDIR="$RUN" NATKCTL="$NATKCTL" EXIT_STATUS="$1" \
		ip netns exec nat sh "$CTL_TMP/natk-stop" >> "$CTL_TMP/stop.out" 2>&1
}
noted() { grep -qF -- "$1" "$NOTES"; }
ready() { grep -q 'READY=1' "$NOTES"; }
fwd() { nsx nat cat /proc/sys/net/ipv4/ip_forward; }
state_is() { [ "$(nctl -j status | jq -r .state)" = "$1" ]; }
mk_wan0() {
	ip -n nat link add wan0 type veth peer name eth0 netns wan &&
		ip -n nat addr add $NAT_EXT/24 dev wan0 &&
		ip -n nat link set wan0 up &&
		ip -n wan addr add $WAN1/24 dev eth0 &&
		ip -n wan addr add $WAN2/24 dev eth0 &&
		ip -n wan link set eth0 up
}

# ------------------------------------------------------------ start
nsx nat sysctl -qw net.ipv4.ip_forward=0
start
if poll 20 noted "READY=1 | STATUS=masquerading out of wan0 ($NAT_EXT)"; then
	pass sv-ready
else
	fail sv-ready "notifications: $(tr '\n' '/' < "$NOTES"); output: $(tail -n 5 "$CTL_TMP/sv.out" | tr '\n' '|')"
fi
if [ "$(fwd)" = 1 ] && [ -e "$RUN/ip_forward" ]; then pass sv-forwarding-on; else
	fail sv-forwarding-on "ip_forward $(fwd), note $(ls "$RUN" 2>&1)"
fi
if kill -0 "$SV" 2>/dev/null && grep -q "supervise" "/proc/$SV/cmdline"; then
	pass sv-running
else
	fail sv-running "natk-start did not become natkctl supervise: $(tr '\0' ' ' < "/proc/$SV/cmdline" 2>&1)"
fi
r=$(ask lan1 udp $WAN1 5000 40800 | sed -n 1p)
case $r in
"$NAT_EXT "2[0-9][0-9][0-9][0-9]) pass sv-masquerades ;;
*) fail sv-masquerades "wan saw lan1:40800 as '$r'" ;;
esac
id1=$(nctl -j flows proto udp internal $LAN1:40800 | jq -r '.[0].id')
log "lan1:40800 is flow $id1"

# ------------------------------------------------------------ interface gone
ip -n nat link del wan0
sv_exit sv-wait-exit 3 "ip link del wan0"
if noted 'STATUS=NAT stopped, natk is waiting for wan0 (no such interface)'; then
	pass sv-wait-status
else
	fail sv-wait-status "notifications: $(tr '\n' '/' < "$NOTES")"
fi
if state_is waiting-interface; then pass sv-wait-config-kept; else
	fail sv-wait-config-kept "status: $(nctl -j status | jq -c '{enabled, state}')"
fi
stop 3
if flow_present udp $LAN1 40800 && state_is waiting-interface; then
	pass stop-wait-flows-kept
else
	fail stop-wait-flows-kept "after natk-stop (EXIT_STATUS=3): state $(nctl -j status | jq -r .state), flows $(flow_count nat)"
fi
if [ "$(fwd)" = 0 ] && [ ! -e "$RUN/ip_forward" ]; then pass stop-wait-forwarding-off; else
	fail stop-wait-forwarding-off "ip_forward $(fwd), note $(ls "$RUN" 2>&1); natk-stop: $(tr '\n' '|' < "$CTL_TMP/stop.out")"
fi

# ------------------------------------------------------------ restart, waits
start
if poll 20 grep -q 'waiting up to 30s for external interface wan0' "$CTL_TMP/sv.out"; then
	pass restart-waits
else
	fail restart-waits "natk-start: $(tr '\n' '|' < "$CTL_TMP/sv.out")"
fi
if ! ready && kill -0 "$SV" 2>/dev/null; then pass restart-not-ready; else
	fail restart-not-ready "READY before wan0 exists, or natk-start exited: $(tr '\n' '/' < "$NOTES")"
fi
mk_wan0 || log "could not re-create wan0"
if poll 20 noted "READY=1 | STATUS=masquerading out of wan0 ($NAT_EXT)"; then
	pass restart-ready
else
	fail restart-ready "notifications: $(tr '\n' '/' < "$NOTES"); output: $(tail -n 5 "$CTL_TMP/sv.out" | tr '\n' '|')"
fi
id2=$(nctl -j flows proto udp internal $LAN1:40800 | jq -r '.[0].id')
expect_eq restart-flow-kept "$id1" "$id2" "the id of lan1:40800's flow after the restart"
if [ "$(fwd)" = 1 ]; then pass restart-forwarding-on; else
	fail restart-forwarding-on "ip_forward $(fwd)"
fi

# ------------------------------------------------------------ address gone
ip -n nat addr flush dev wan0
sv_exit sv-noaddr-exit 3 "ip addr flush dev wan0"
stop 3
start
if poll 20 noted 'STATUS=not masquerading yet: waiting for an IPv4 address on wan0' && ! ready; then
	pass restart-noaddr-status
else
	fail restart-noaddr-status "notifications: $(tr '\n' '/' < "$NOTES"); output: $(tail -n 5 "$CTL_TMP/sv.out" | tr '\n' '|')"
fi
ip -n nat addr add $NAT_EXT/24 dev wan0
if poll 20 noted "READY=1 | STATUS=masquerading out of wan0 ($NAT_EXT)"; then
	pass restart-noaddr-ready
else
	fail restart-noaddr-ready "notifications: $(tr '\n' '/' < "$NOTES")"
fi

# ------------------------------------------------------------ natkctl down
nctl down
sv_exit sv-down-exit 4 "natkctl down"
if noted 'STOPPING=1 | STATUS=NAT was stopped'; then pass sv-down-status; else
	fail sv-down-status "notifications: $(tr '\n' '/' < "$NOTES")"
fi
stop 4
if [ "$(fwd)" = 0 ]; then pass stop-down-forwarding-off; else
	fail stop-down-forwarding-off "ip_forward $(fwd) after natk-stop"
fi

# ------------------------------------------------------------ systemctl stop
# The host forwarded before natk: natk-start notes nothing, natk-stop
# leaves forwarding on.
nsx nat sysctl -qw net.ipv4.ip_forward=1
start
poll 20 ready || log "not READY: $(tr '\n' '/' < "$NOTES")"
kill -TERM "$SV"
sv_exit sv-term-exit 0 "SIGTERM"
stop 0
if state_is down; then pass stop-term-down; else
	fail stop-term-down "after natk-stop: state $(nctl -j status | jq -r .state); natk-stop: $(tr '\n' '|' < "$CTL_TMP/stop.out")"
fi
if [ "$(fwd)" = 1 ]; then pass stop-term-keeps-forwarding; else
	fail stop-term-keeps-forwarding "ip_forward $(fwd): natk-stop turned off forwarding natk had not turned on"
fi

# ------------------------------------------------------------ unloaded
start
poll 20 ready || log "not READY: $(tr '\n' '/' < "$NOTES")"
poll 30 natk_unload || log "rmmod natk failed"
sv_exit sv-unload-exit 4 "rmmod natk"
natk_load || log "natk did not load again"

# ------------------------------------------------------------ bad file
printf 'ports 20000-29999\n' > "$CTL_TMP/natk.conf"
start
sv_exit start-bad-conf-exit 2 "a file without external"

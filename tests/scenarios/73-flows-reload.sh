#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Flows survive a module reload (issue 17, item 5): `natkctl flows save`
# before rmmod, `flows restore` after insmod (the import path of
# NATK_CMD_FLOW_ADD). An established TCP connection carries data after the
# reload, to the same server, which still sees the same external port; a
# UDP mapping keeps its external port. A second connection held across
# the same reload but left out of the restored file stalls: without the
# restore the test fails. Restoring twice adds nothing; a file made under
# another external address is refused, flow by flow, and says so.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan reload-natk-up reload-conns-up reload-save reload-save-lines reload-save-mode \
	reload-unloaded reload-reloaded reload-restore reload-restore-count \
	reload-flows-back reload-tcp-state reload-tcp-port reload-udp-port \
	reload-tcp-carries-on reload-tcp-same-peer reload-not-restored-stalls \
	reload-restore-again reload-restore-again-nothing reload-other-addr-refused \
	reload-other-addr-message reload-kernel-log
dmesg_mark
require_natk reload-setup
topo_setup || { fail reload-setup "topology setup failed"; exit 1; }
check reload-natk-up natk_up || exit 1
# Source ports outside the range: the external port is not the internal
# one preserved, so a restore that searched a port would be seen.
nctl set ports 20000-20999 > /dev/null
D=$CTL_TMP

# conn NAME SPORT: from lan1, a TCP connection to wan's echo server that
# stays open; $D/NAME.first gets the server's first line (the peer it
# sees). Once $D/NAME.go exists it sends "after" and $D/NAME.after gets
# the echo, or the error, within 8 s.
conn() {
	nsx lan1 python3 -c '
import os, socket, sys, time
name, sport = sys.argv[1], int(sys.argv[2])
s = socket.create_connection(("'$WAN1'", 5000), timeout=10,
                             source_address=("'$LAN1'", sport))
f = s.makefile("rb")
open(name + ".first", "w").write(f.readline().decode())
while not os.path.exists(name + ".go"):
    time.sleep(0.1)
s.settimeout(8)
try:
    s.sendall(b"after\n")
    r = f.readline().decode().strip()
except OSError as e:
    r = "error: %s" % e
open(name + ".after", "w").write(r)
' "$D/$1" "$2" &
}

peer_server wan tcp 5000 $WAN1
peer_server wan udp 5001 $WAN1
conn kept 41700
conn dropped 41701
ask lan1 udp $WAN1 5001 41702 > /dev/null
if poll 10 test -s "$D/kept.first" -a -s "$D/dropped.first" &&
	poll 5 flow_state_is tcp $LAN1 41700 established; then
	pass reload-conns-up
else
	fail reload-conns-up "connections not up: $(cat "$D"/*.first 2>&1 | tr '\n' '|'); flows: $(nctl -j flows)"
fi
tport=$(flow_field tcp $LAN1 41700 external_port)
uport=$(flow_field udp $LAN1 41702 external_port)
log "before: tcp $LAN1:41700 -> $NAT_EXT:$tport, udp $LAN1:41702 -> $NAT_EXT:$uport; server saw $(cat "$D/kept.first")"

expect_ok reload-save nat flows save "$D/flows.txt"
# Leave the second connection out of the file: it must stall.
grep -v " $LAN1:41701 " "$D/flows.txt" > "$D/kept.txt"
n=$(grep -cv '^#' "$D/kept.txt")
if [ "$n" -ge 2 ] && grep -Eq "^tcp $LAN1:41700 $NAT_EXT:$tport $WAN1:5000 established " "$D/kept.txt" &&
	grep -Eq "^udp $LAN1:41702 $NAT_EXT:$uport $WAN1:5001 " "$D/kept.txt"; then
	pass reload-save-lines
else
	fail reload-save-lines "saved file: $(tr '\n' '|' < "$D/flows.txt")"
fi
expect_eq reload-save-mode 600 "$(stat -c %a "$D/flows.txt")" "mode of the saved file (internal addresses)"

check reload-unloaded natk_unload
check reload-reloaded natk_up
nctl set ports 20000-20999 > /dev/null	# as natk-start applies natk.conf
run_ctl nat flows restore "$D/kept.txt"
if [ "$CTL_RC" = 0 ] && [ -z "$CTL_ERR" ]; then
	pass reload-restore
else
	fail reload-restore "natkctl flows restore: exit $CTL_RC, stdout $CTL_OUT, stderr $CTL_ERR"
fi
expect_eq reload-restore-count "restored $n flows (0 present, 0 refused)" "$CTL_OUT" "natkctl flows restore says"
expect_eq reload-flows-back "$n" "$(nctl -j flows | jq length)" "flows after the restore"
expect_eq reload-tcp-state established "$(flow_field tcp $LAN1 41700 state)" "state of the restored TCP flow"
expect_eq reload-tcp-port "$tport" "$(flow_field tcp $LAN1 41700 external_port)" "external port of the restored TCP flow"

peer=$(ask lan1 udp $WAN1 5001 41702 | sed -n 1p)
expect_eq reload-udp-port "$NAT_EXT $uport" "$peer" "the UDP peer as the server sees it after the reload"

touch "$D/kept.go" "$D/dropped.go"
poll 12 test -e "$D/kept.after"
expect_eq reload-tcp-carries-on after "$(cat "$D/kept.after" 2>&1)" "echo through the connection held across the reload"
expect_eq reload-tcp-same-peer "$NAT_EXT $tport" "$(cat "$D/kept.first")" "the peer the server saw (the external port the restored flow keeps)"
poll 12 test -e "$D/dropped.after"
r=$(cat "$D/dropped.after" 2>&1)
if [ "$r" != after ]; then
	pass reload-not-restored-stalls
else
	fail reload-not-restored-stalls "the connection left out of the restore carried data: natk made it up"
fi
log "the connection not restored: '$r'"

run_ctl nat flows restore "$D/kept.txt"
expect_eq reload-restore-again "0 restored 0 flows ($n present, 0 refused)" "$CTL_RC $CTL_OUT" "exit status and summary of a second restore"
nrest=$(nctl -j flows | jq "[.[] | select(.internal_port == 41700 or .internal_port == 41702)] | length")
expect_eq reload-restore-again-nothing 2 "$nrest" "flows of the restored tuples after restoring twice"

sed "s/ $NAT_EXT:/ 192.0.2.99:/" "$D/kept.txt" > "$D/other.txt"
nctl flush > /dev/null
run_ctl nat flows restore "$D/other.txt"
expect_eq reload-other-addr-refused "2 0" "$CTL_RC $(nctl -j flows | jq length)" "exit status and flows after restoring a file of another external address"
if printf '%s\n' "$CTL_ERR" | grep -q "external address is not one of natk's"; then
	pass reload-other-addr-message
else
	fail reload-other-addr-message "stderr: $CTL_ERR"
fi
kernel_log_check reload-kernel-log

#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# natkctl apply is one kernel transaction (SET_CONFIG with
# NATK_A_FWD_REPLACE): the file's settings and its complete list of port
# forwards change together, or nothing changes.
#  - a forward listed as it is keeps its open connection;
#  - a forward whose internal endpoint changed sends new connections to
#    the new endpoint at once, while a connection made through it before
#    goes on to the old one (the delete-then-add of before was refused:
#    the old connection's flow still held the port);
#  - a forward the file no longer lists goes and a new one comes, with the
#    settings;
#  - a file the kernel refuses (a forward to an internal endpoint that a
#    dynamic mapping has) changes nothing, settings included, and the
#    error names the forward's FILE:LINE; apply --check finds it first;
#  - 1,000 forwards applied at once, then replaced by 1,000 others.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/ctl.sh"
ctl_init
plan apply-txn-natk-up apply-txn-first apply-txn-first-applied apply-txn-conns-up \
	apply-txn-replace apply-txn-replace-applied apply-txn-moved-new-conn apply-txn-added \
	apply-txn-deleted apply-txn-kept-conn apply-txn-moved-old-conn \
	apply-txn-check-refused apply-txn-check-nothing apply-txn-refused apply-txn-refused-nothing \
	apply-txn-refused-then-ok apply-txn-many apply-txn-many-count apply-txn-many-replaced \
	apply-txn-many-replaced-count apply-txn-kernel-log
dmesg_mark
require_natk apply-txn-setup
topo_setup || { fail apply-txn-setup "topology setup failed"; exit 1; }
check apply-txn-natk-up natk_up || exit 1
D=$CTL_TMP

# tagged_server NS PORT TAG: TCP server that sends "TAG" to every
# connection, then echoes its lines.
tagged_server() { peer_server "$1" tcp "$2" "" "$3"; }

# hold_conn NAME PORT: from wan, a connection to the NAT's PORT that stays
# open; $D/NAME.first gets the server's first line. Once $D/NAME.go exists
# it sends "after" and $D/NAME.after gets the echo (or the error).
hold_conn() {
	nsx wan python3 -c '
import os, socket, sys, time
d, name, dst, port = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
try:
    s = socket.create_connection((dst, port), timeout=30)
    f = s.makefile("rb")
    open(d + "/" + name + ".first", "w").write(f.readline().decode())
    end = time.time() + 600
    while not os.path.exists(d + "/" + name + ".go") and time.time() < end:
        time.sleep(0.1)
    s.sendall(b"after\n")
    line = f.readline().decode()
except OSError as e:
    line = "error: %s\n" % e
open(d + "/" + name + ".after.tmp", "w").write(line)
os.rename(d + "/" + name + ".after.tmp", d + "/" + name + ".after")
' "$D" "$1" "$NAT_EXT" "$2" &
}

# first_line PORT: the first line a new connection from wan to the NAT's
# PORT gets
first_line() {
	nsx wan timeout 30 python3 -c '
import socket, sys
s = socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=10)
print(s.makefile("rb").readline().decode().strip())
' "$NAT_EXT" "$1" 2>&1
}

# fwds: the forwards as "proto eport addr:iport" lines, sorted
fwds() {
	nctl -j forward list | jq -r '.[] | "\(.proto) \(.external_port) \(.internal_address):\(.internal_port)"' | sort
}

# expect_applied NAME UDP FORWARD...: the UDP timeout is UDP and the
# forwards are exactly FORWARD... ("proto eport addr:iport")
expect_applied() {
	local name=$1 udp=$2 want got u
	shift 2
	want=$(printf '%s\n' "$@" | sort)
	got=$(fwds)
	u=$(nctl -j status | jq -r .timeouts.udp)
	if [ "$got" = "$want" ] && [ "$u" = "$udp" ]; then
		pass "$name"
	else
		fail "$name" "forwards '$(echo "$got" | tr '\n' ',')', udp timeout $u; want '$(echo "$want" | tr '\n' ',')', $udp"
	fi
}

tagged_server lan1 80 lan1-80
tagged_server lan1 81 lan1-81
tagged_server lan2 80 lan2-80
tagged_server lan1 22 lan1-22

cat > "$D/a.conf" <<EOF
external wan0
timeout udp 77
forward tcp 8080 $LAN1:80
forward tcp 8081 $LAN1:81
forward udp 5353 $LAN2:53
EOF
expect_ok apply-txn-first nat apply "$D/a.conf"
expect_applied apply-txn-first-applied 77 "tcp 8080 $LAN1:80" "tcp 8081 $LAN1:81" "udp 5353 $LAN2:53"

hold_conn keep 8081
hold_conn moved 8080
poll 20 sh -c "[ -s '$D/keep.first' ] && [ -s '$D/moved.first' ]"
expect_eq apply-txn-conns-up "lan1-81 lan1-80" \
	"$(cat "$D/keep.first" 2>/dev/null | tr -d '\n') $(cat "$D/moved.first" 2>/dev/null | tr -d '\n')" \
	"first lines of the connections through 8081 and 8080"

# 8081 as it is; 8080 to lan2; udp 5353 gone; tcp 2222 new; a setting.
cat > "$D/b.conf" <<EOF
external wan0
timeout udp 88
forward tcp 8080 $LAN2:80
forward tcp 8081 $LAN1:81
forward tcp 2222 $LAN1:22
EOF
expect_ok apply-txn-replace nat apply "$D/b.conf"
expect_applied apply-txn-replace-applied 88 "tcp 2222 $LAN1:22" "tcp 8080 $LAN2:80" "tcp 8081 $LAN1:81"
got=$(fwds)
expect_eq apply-txn-moved-new-conn lan2-80 "$(first_line 8080)" "a new connection to 8080 reached"
expect_eq apply-txn-added lan1-22 "$(first_line 2222)" "a new connection to 2222 reached"
if echo "$got" | grep -q '^udp 5353 '; then
	fail apply-txn-deleted "udp 5353 still forwarded: $(echo "$got" | tr '\n' ',')"
else
	pass apply-txn-deleted
fi
touch "$D/keep.go" "$D/moved.go"
poll 30 sh -c "[ -e '$D/keep.after' ] && [ -e '$D/moved.after' ]"
expect_eq apply-txn-kept-conn after "$(cat "$D/keep.after" 2>/dev/null | tr -d '\n')" \
	"echo on the connection through 8081 (listed as it was)"
expect_eq apply-txn-moved-old-conn after "$(cat "$D/moved.after" 2>/dev/null | tr -d '\n')" \
	"echo on the connection made through 8080 to lan1 before the change"

# lan1:5555 gets a dynamic mapping; a forward to it is refused, and with
# it the whole file: settings, the forward it drops and the one it adds.
peer_server wan udp 5000
ask lan1 udp "$WAN1" 5000 5555 > /dev/null
poll 10 flow_present udp "$LAN1" 5555 || log "no flow of lan1:5555"
cat > "$D/c.conf" <<EOF
external wan0
timeout udp 99
ports 30000-39999
forward tcp 8081 $LAN1:81
forward tcp 3333 $LAN1:22
forward udp 6000 $LAN1:5555
EOF
state() {
	nctl -j status | jq -c "{udp: .timeouts.udp, min: .port_min, max: .port_max}"
	fwds
}
before=$(state)
run_ctl nat apply --check "$D/c.conf"
if [ "$CTL_RC" = 1 ] && printf '%s\n' "$CTL_ERR" | grep -q "c.conf:6: .*dynamic mapping"; then
	pass apply-txn-check-refused
else
	fail apply-txn-check-refused "apply --check: exit $CTL_RC, stderr: $CTL_ERR"
fi
expect_eq apply-txn-check-nothing "$before" "$(state)" "settings and forwards after apply --check"
run_ctl nat apply "$D/c.conf"
if [ "$CTL_RC" = 2 ] && printf '%s\n' "$CTL_ERR" | grep -q "c.conf:6: .*dynamic mapping" &&
	printf '%s\n' "$CTL_ERR" | grep -q "nothing applied"; then
	pass apply-txn-refused
else
	fail apply-txn-refused "apply: exit $CTL_RC, stderr: $CTL_ERR"
fi
expect_eq apply-txn-refused-nothing "$before" "$(state)" "settings and forwards after the refused apply"
# Without that line the same file applies.
sed -i '/^forward udp 6000/d' "$D/c.conf"
expect_ok apply-txn-refused-then-ok nat apply "$D/c.conf"

# Many at once: 1,000 forwards, then 1,000 others in their place.
{ echo "external wan0"; for p in $(seq 10000 10999); do echo "forward tcp $p $LAN1:$p"; done; } > "$D/m1.conf"
{ echo "external wan0"; for p in $(seq 20000 20999); do echo "forward udp $p $LAN2:$p"; done; } > "$D/m2.conf"
expect_ok apply-txn-many nat apply "$D/m1.conf"
expect_eq apply-txn-many-count "1000 10000 10999" \
	"$(nctl -j forward list | jq -r '[.[] | select(.proto == "tcp")] | "\(length) \(map(.external_port) | min) \(map(.external_port) | max)"')" \
	"tcp forwards: count, lowest and highest port"
expect_ok apply-txn-many-replaced nat apply "$D/m2.conf"
expect_eq apply-txn-many-replaced-count "1000 0 20000 20999" \
	"$(nctl -j forward list | jq -r '"\([.[] | select(.proto == "udp")] | length) \([.[] | select(.proto == "tcp")] | length) \(map(.external_port) | min) \(map(.external_port) | max)"')" \
	"udp forwards, tcp forwards, lowest and highest port"
dmesg_check apply-txn-kernel-log

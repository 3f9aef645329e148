#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# An established TCP connection idles out end to end. With
# "natkctl set timeout tcp-established 20", lan1 opens two connections to
# a wan server: one stays silent, the other sends a line every second.
#  - the silent one's flow is still there 12 s after its last packet, and
#    gone 20 s (and at most 10 s more) after it; idle_timeouts
#    counts it and natkctl monitor reports its destroy with reason
#    "expired";
#  - the busy one lives on, every line echoed;
#  - when lan1 then writes to the expired connection, natk drops the
#    segment (no flow, and a segment without SYN opens none: drop_no_flow),
#    the server never gets it, lan1 gets no answer, and nothing leaves
#    with lan1's own address.
. "$NATK_REPO/tests/lib/netns.sh"
. "$NATK_REPO/tests/lib/rfc.sh"
scenario_init
plan "$SCEN-natk-up" tcp-idle-set-timeout tcp-idle-both-established \
	tcp-idle-lives-before-timeout tcp-idle-expires-on-time tcp-idle-counted \
	tcp-idle-monitor-expired tcp-idle-busy-kept tcp-idle-late-data-dropped \
	tcp-idle-late-data-not-delivered tcp-idle-no-leak tcp-idle-kernel-log
dmesg_mark
require_natk tcp-idle-setup
TO=20
ALIVE=12	# seconds after the last packet the idle flow must still be there
D=$(mktemp -d)
MONPID=
trap 'rc=$?; [ -n "$MONPID" ] && kill_tree "$MONPID"; rm -rf "$D"; (exit $rc); scenario_cleanup' EXIT
topo_setup || { fail tcp-idle-setup "topology setup failed"; exit 1; }
check "$SCEN-natk-up" natk_up || exit 1
wan_counter_setup
check tcp-idle-set-timeout sh -c "ip netns exec nat $NATKCTL set timeout tcp-established $TO &&
	ip netns exec nat $NATKCTL -j status | jq -e '.timeouts.tcp_established == $TO'"

# wan: greets each connection with "hello", logs every line it receives
# ("PORT LINE") and echoes it.
cat > "$D/srv.py" <<'PY'
import socket, sys, threading
log = open(sys.argv[2], "a", buffering=1)
def serve(c, a):
    c.sendall(b"hello\n")
    f = c.makefile("rb")
    for line in f:
        log.write("%d %s\n" % (a[1], line.decode(errors="replace").strip()))
        try:
            c.sendall(line)
        except OSError:
            break
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], 5000))
s.listen(16)
while True:
    c, a = s.accept()
    threading.Thread(target=serve, args=(c, a), daemon=True).start()
PY
# lan1: idle SPORT GO: connect, read the greeting, wait for file GO, send
# "late", report whether it comes back. busy SPORT STOP: a line a second
# until file STOP, then "ok N bad M".
cat > "$D/cli.py" <<'PY'
import os, socket, sys, time
mode, dst, sport, flag = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", sport))
s.settimeout(10)
s.connect((dst, 5000))
f = s.makefile("rb")
greeting = f.readline().decode().strip()
# when the greeting was read: lan1's ACK of it is the last packet
print("connected", greeting, "%d" % time.time_ns(), flush=True)
if mode == "idle":
    end = time.time() + 120
    while not os.path.exists(flag) and time.time() < end:
        time.sleep(0.1)
    s.sendall(b"late\n")
    s.settimeout(5)
    try:
        line = f.readline()
        print("echo", line.decode().strip() if line else "EOF", flush=True)
    except socket.timeout:
        print("no-echo", flush=True)
    except OSError as e:
        print("error", e.errno, flush=True)
else:
    ok = bad = 0
    while not os.path.exists(flag):
        try:
            s.sendall(b"tick\n")
            ok += f.readline() == b"tick\n"
        except OSError:
            bad += 1
        time.sleep(1)
    print("ok", ok, "bad", bad, flush=True)
PY
nsx wan python3 "$D/srv.py" $WAN1 "$D/srv.log" &
wait_listen wan tcp 5000
ip netns exec nat "$NATKCTL" -j monitor > "$D/mon" 2> "$D/mon.err" &
MONPID=$!
nsx lan1 timeout 200 python3 "$D/cli.py" idle $WAN1 43000 "$D/go" > "$D/idle.out" 2>&1 &
idle=$!
nsx lan1 timeout 200 python3 "$D/cli.py" busy $WAN1 43001 "$D/stop" > "$D/busy.out" 2>&1 &
busy=$!
to0=$(stat_of idle_timeouts)
if poll 20 grep -q '^connected hello' "$D/idle.out" &&
	poll 10 flow_state_is tcp $LAN1 43000 established &&
	poll 10 flow_state_is tcp $LAN1 43001 established; then
	pass tcp-idle-both-established
else
	fail tcp-idle-both-established "idle: '$(cat "$D/idle.out")' busy: '$(cat "$D/busy.out")' flows: $(nctl -j flows proto tcp | jq -c .)"
fi
# The silent connection's last packet: lan1's ACK of the greeting, sent
# when the greeting was read (the client's clock is the guest's).
t0=$(awk '/^connected/ { print $3 }' "$D/idle.out")
[ -n "$t0" ] || t0=$(date +%s%N)
since_ms() { echo $(( ($(date +%s%N) - t0) / 1000000 )); }
while [ "$(since_ms)" -lt $((ALIVE * 1000)) ]; do sleep 0.1; done
f=$(flow_get tcp $LAN1 43000)
at=$(since_ms)
exp=$(echo "$f" | jq -r .expires)
log "$at ms after the last packet: ${f:-no flow}"
if [ -n "$f" ] && [ "$exp" -ge 1 ] 2>/dev/null && [ "$exp" -le $TO ]; then
	pass tcp-idle-lives-before-timeout
elif [ -z "$f" ] && [ "$at" -ge $(( (TO - 1) * 1000 )) ]; then
	fail tcp-idle-lives-before-timeout "natkctl flows took until $at ms: too slow to tell whether the flow lived $ALIVE s"
else
	fail tcp-idle-lives-before-timeout "$at ms into an idle timeout of $TO s the flow is '${f:-gone}'"
fi
if poll $((TO + 10)) flow_absent tcp $LAN1 43000; then
	lived=$(since_ms)
	log "the idle flow was gone ${lived} ms after its last packet (timeout $TO s)"
	if [ "$lived" -ge $((TO * 1000 - 1000)) ] && [ "$lived" -le $((TO * 1000 + 10000)) ]; then
		pass tcp-idle-expires-on-time
	else
		fail tcp-idle-expires-on-time "gone after $lived ms, timeout $TO s"
	fi
else
	fail tcp-idle-expires-on-time "still there $((TO + 15)) s after its last packet: $(flow_get tcp $LAN1 43000)"
fi
expect_eq tcp-idle-counted 1 "$(stat_delta idle_timeouts "$to0")" "idle_timeouts increase (the busy flow must not expire)"
if poll 5 sh -c "jq -e 'select(.event == \"destroy\" and .proto == \"tcp\" and .internal_port == 43000 and .reason == \"expired\")' '$D/mon' | grep -q ."; then
	pass tcp-idle-monitor-expired
else
	fail tcp-idle-monitor-expired "natkctl monitor: $(grep 43000 "$D/mon" | tr '\n' ' ') $(cat "$D/mon.err")"
fi

# Now lan1 writes on the expired connection.
nf0=$(stat_of drop_no_flow)
touch "$D/go"
poll 15 grep -q '^\(echo\|no-echo\|error\)' "$D/idle.out"
log "lan1 after writing on the expired connection: $(tail -n 1 "$D/idle.out")"
nf=$(stat_delta drop_no_flow "$nf0")
if [ "$nf" -ge 1 ] && flow_absent tcp $LAN1 43000; then
	pass tcp-idle-late-data-dropped
else
	fail tcp-idle-late-data-dropped "drop_no_flow +$nf; flow: $(flow_get tcp $LAN1 43000)"
fi
if grep -qx 'no-echo' "$D/idle.out" && ! grep -q ' late$' "$D/srv.log"; then
	pass tcp-idle-late-data-not-delivered
else
	fail tcp-idle-late-data-not-delivered "lan1: '$(tail -n 1 "$D/idle.out")'; the server received: '$(tr '\n' '|' < "$D/srv.log" | grep -o '[0-9]* late' | head -n 1)'"
fi
expect_eq tcp-idle-no-leak 0 "$(wan_counter from_lan)" "packets from 10.0.0.0/24 that reached wan"

busy_state=$(flow_field tcp $LAN1 43001 state)
touch "$D/stop"
wait $busy
b=$(cat "$D/busy.out")
ticks=$(grep -c ' tick$' "$D/srv.log")
log "busy connection: $(echo "$b" | tr '\n' ' '); the server got $ticks ticks"
if echo "$b" | grep -q "^ok [0-9]* bad 0$" && [ "$(echo "$b" | awk '/^ok/ { print $2 }')" -ge $((TO + 5)) ] &&
	[ "$(echo "$b" | awk '/^ok/ { print $2 }')" = "$ticks" ] && [ "$busy_state" = established ]; then
	pass tcp-idle-busy-kept
else
	fail tcp-idle-busy-kept "busy client: '$(echo "$b" | tr '\n' ' ')', server got $ticks ticks, its flow was '$busy_state' at the end"
fi
wait $idle
dmesg_check tcp-idle-kernel-log

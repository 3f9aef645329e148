# SPDX-License-Identifier: GPL-2.0
# Helpers for the natkctl / generic netlink scenarios (tests/scenarios/2*).
# Source after tests/lib/netns.sh; it is bash.
# shellcheck shell=bash

# Scratch directory of the scenario, removed by ctl_cleanup.
CTL_TMP=$(mktemp -d /tmp/natk-ctl.XXXXXX)

# run_ctl NS ARGS...: natkctl in netns NS ("-" for the current one); sets
# CTL_RC, CTL_OUT (stdout) and CTL_ERR (stderr).
run_ctl() {
	local ns=$1
	shift
	if [ "$ns" = - ]; then
		"$NATKCTL" "$@" > "$CTL_TMP/out" 2> "$CTL_TMP/err"
	else
		nsx "$ns" "$NATKCTL" "$@" > "$CTL_TMP/out" 2> "$CTL_TMP/err"
	fi
	CTL_RC=$?
	CTL_OUT=$(cat "$CTL_TMP/out")
	CTL_ERR=$(cat "$CTL_TMP/err")
}

# expect_ok NAME NS ARGS...: natkctl succeeds with an empty stderr.
expect_ok() {
	local name=$1
	shift
	run_ctl "$@"
	if [ "$CTL_RC" -eq 0 ] && [ -z "$CTL_ERR" ]; then
		pass "$name"
	else
		fail "$name" "natkctl ${*:2}: exit $CTL_RC, stderr: $CTL_ERR"
		return 1
	fi
}

# expect_inactive NAME NS ARGS...: natkctl status (with ARGS) answers with
# an empty stderr and exits 3: NAT is not active (down, or no address).
# expect_status NAME NS ARGS...: the same, active or not (0 or 3).
expect_inactive() {
	local name=$1
	shift
	run_ctl "$@"
	if [ "$CTL_RC" -eq 3 ] && [ -z "$CTL_ERR" ] && [ -n "$CTL_OUT" ]; then
		pass "$name"
	else
		fail "$name" "natkctl ${*:2}: exit $CTL_RC (want 3: not active), stderr: $CTL_ERR"
		return 1
	fi
}

expect_status() {
	local name=$1
	shift
	run_ctl "$@"
	if { [ "$CTL_RC" -eq 0 ] || [ "$CTL_RC" -eq 3 ]; } && [ -z "$CTL_ERR" ] && [ -n "$CTL_OUT" ]; then
		pass "$name"
	else
		fail "$name" "natkctl ${*:2}: exit $CTL_RC (want 0 or 3), stderr: $CTL_ERR"
		return 1
	fi
}

# expect_err NAME REGEX NS ARGS...: natkctl exits 1 (bad usage or value;
# EXPECT_ERR_RC=2 for an error of the kernel or the system), prints
# nothing on stdout and one error line on stderr, "natkctl: ..." matching
# REGEX (extended, case-insensitive). Usage errors may add the command's
# usage: everything from a line starting with "Usage: " on.
expect_err() {
	local name=$1 re=$2 first nlines want=${EXPECT_ERR_RC:-1}
	shift 2
	run_ctl "$@"
	first=$(printf '%s\n' "$CTL_ERR" | sed -n 1p)
	nlines=$(printf '%s\n' "$CTL_ERR" | sed '/^Usage: /,$d' | wc -l)
	if [ "$CTL_RC" -ne "$want" ]; then
		fail "$name" "natkctl ${*:2}: exit $CTL_RC (want $want), stderr: $CTL_ERR"
	elif [ -n "$CTL_OUT" ]; then
		fail "$name" "natkctl ${*:2}: printed on stdout: $CTL_OUT"
	elif [ "$nlines" -ne 1 ]; then
		fail "$name" "natkctl ${*:2}: want one error line, got $nlines: $CTL_ERR"
	elif ! printf '%s\n' "$first" | grep -q '^natkctl: '; then
		fail "$name" "natkctl ${*:2}: error does not start with 'natkctl: ': $first"
	elif ! printf '%s\n' "$first" | grep -Eiq -- "$re"; then
		fail "$name" "natkctl ${*:2}: error '$first' does not match /$re/"
	else
		pass "$name"
		return 0
	fi
	return 1
}

# json_expect NAME JSON JQ-EXPR [what]: PASS if jq -e EXPR holds on JSON.
json_expect() {
	if printf '%s\n' "$2" | jq -e "$3" > /dev/null 2>&1; then
		pass "$1"
	else
		fail "$1" "${4:-jq} '$3' does not hold on: $(printf '%s' "$2" | head -c 600)"
		return 1
	fi
}

# status_key NS KEY: one key of natkctl -j status (jq path, e.g. .timeouts.udp)
status_key() {
	local ns=$1
	shift
	nsx "$ns" "$NATKCTL" -j status | jq -c "$1"
}

# ctl_stats_json NS: natkctl -j stats in NS
ctl_stats_json() { nsx "$1" "$NATKCTL" -j stats; }

# stat_delta BEFORE_JSON AFTER_JSON KEY: AFTER.KEY - BEFORE.KEY
stat_delta() {
	jq -n --argjson a "$1" --argjson b "$2" --arg k "$3" '$b[$k] - $a[$k]'
}

# udp_echo_server NS ADDR PORT REPLY_SIZE: background python3 server that
# answers every datagram with REPLY_SIZE bytes; waits until it is bound.
udp_echo_server() {
	nsx "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
reply = b"r" * int(sys.argv[3])
while True:
    d, peer = s.recvfrom(65535)
    try:
        s.sendto(reply, peer)
    except OSError:
        pass  # e.g. no route back to an untranslated source
' "$2" "$3" "$4" > /dev/null 2>&1 &
	wait_listen "$1" udp "$3" "$2"
}

# udp_pingpong NS SRC_PORT DST DPORT COUNT SIZE: send COUNT datagrams of
# SIZE bytes one after the other, each waiting (up to 3 s, one resend is
# NOT made) for its reply; prints the number of replies received.
udp_pingpong() {
	nsx "$1" python3 -c '
import socket, sys
sport, dst, dport, n, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("", sport)); s.settimeout(3)
got = 0
for i in range(n):
    s.sendto(b"q" * size, (dst, dport))
    try:
        s.recvfrom(65535); got += 1
    except socket.timeout:
        pass
print(got)
' "$2" "$3" "$4" "$5" "$6"
}

# udp_oneshot NS SRC_PORT DST DPORT: one datagram, no reply expected
udp_oneshot() {
	nsx "$1" python3 -c '
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("", int(sys.argv[1]))); s.sendto(b"x", (sys.argv[2], int(sys.argv[3])))
' "$2" "$3" "$4"
}

# flow_count NS: flows in use (natkctl -j status .flows)
flow_count() { status_key "$1" .flows; }

# flows_is NS N: natkctl -j status .flows == N
flows_is() { [ "$(flow_count "$1")" = "$2" ]; }

ctl_cleanup() {
	local rc=$?
	rm -rf "$CTL_TMP"
	reset_all
	exit $rc
}

# ctl_init: like scenario_init, also removing CTL_TMP at the end.
ctl_init() {
	reset_all
	trap ctl_cleanup EXIT
}

# nat_only: just netns "nat" with a dummy wan0 (192.0.2.1/24), for
# scenarios that configure natk but send no traffic (faster than
# topo_setup).
nat_only() {
	topo_teardown
	_ns_base nat || return 1
	ip -n nat link add wan0 type dummy &&
		ip -n nat addr add $NAT_EXT/24 dev wan0 &&
		ip -n nat link set wan0 up
}
